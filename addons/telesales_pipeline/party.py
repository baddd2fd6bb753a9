# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Customers: the CRM fields and actions of party.party

Stages (PL-01), ownership (PL-02), claim/release with daily quota (PL-03),
stage up/down (PL-04), markers (PL-05), owner-change history (PL-08),
lists (PL-22), VIP approval (PL-23), delete rules (PL-21).
"""
import datetime
from functools import wraps

from sql import Null
from sql.conditionals import Case, Coalesce

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .bulk import bulk_create
from .exceptions import (
    ClaimQuotaError, ClaimTakenError, CustomerDeleteError, MarkerError,
    NoEmployeeError, OwnershipError, ReleaseError, StageError,
    StageLockedError, VIPApprovalError)
from .spreadsheet import IN_MAX



def _claim_race(func):
    """Refuse a claim of customers that left the pool with a clear message

    ModelView.button first reads the records under the visibility rules: a
    customer another rep claimed a moment ago is no longer visible to this
    rep and the read would fail with a generic access error."""
    @wraps(func)
    def wrapper(cls, parties, *args, **kwargs):
        transaction = Transaction()
        ids = [p.id for p in parties if p.id is not None and p.id >= 0]
        if transaction.user and transaction.check_access and ids:
            visible = {p.id for p in cls.search([('id', 'in', ids)])}
            hidden = [i for i in ids if i not in visible]
            with without_check_access():
                for party in cls.browse(hidden):
                    if party.crm_ownership != 'shared':
                        raise ClaimTakenError(gettext(
                                'telesales_pipeline.msg_claim_taken',
                                customer=party.rec_name,
                                owner=party.crm_owner.rec_name
                                if party.crm_owner else ''))
        return func(cls, parties, *args, **kwargs)
    return wrapper


STAGES = [
    ('reserve', "Reserve"),
    ('target', "Target"),
    ('potential', "Potential"),
    ('opportunity', "Opportunity"),
    ('closed', "Closed"),
    ]
STAGE_ORDER = [s for s, _ in STAGES]
OWNERSHIPS = [
    ('personal', "Personal"),
    ('collaborative', "Collaborative"),
    ('shared', "Shared"),
    ]
MARKERS = [
    ('uncontacted', "Not Contacted"),
    ('contacted', "Contacted"),
    ('tracking', "Tracking"),
    ('tracking_paused', "Tracking Paused"),
    ('selling', "Selling"),
    ('sale_paused', "Sale Paused"),
    ('sale_ended', "Sale Ended"),
    ('order_followup', "Order Follow-up"),
    ]
STAGE_MARKERS = {
    'reserve': ['uncontacted', 'contacted'],
    'target': ['uncontacted', 'contacted'],
    'potential': ['tracking', 'tracking_paused'],
    'opportunity': [
        'tracking', 'tracking_paused', 'selling', 'sale_paused',
        'sale_ended'],
    'closed': ['order_followup'],
    }
DEFAULT_MARKERS = {
    'reserve': 'uncontacted',
    'target': 'uncontacted',
    'potential': 'tracking',
    'opportunity': 'selling',
    'closed': 'order_followup',
    }
# From potential on, the contact data is the pipeline's record (PL-04)
LOCKED_STAGES = ['potential', 'opportunity', 'closed']
LOCKED_FIELDS = [
    'name', 'addresses', 'contact_mechanisms', 'crm_source', 'crm_industry']


def _group_id(xml_id):
    ModelData = Pool().get('ir.model.data')
    return ModelData.get_id('telesales_pipeline', xml_id)


def user_in_group(xml_id):
    "Whether the current user is in the group (or a group below it)"
    User = Pool().get('res.user')
    if Transaction().user == 0:
        return True
    return _group_id(xml_id) in User.get_groups()


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    crm_stage = fields.Selection(
        [(None, "")] + STAGES, "Stage", sort=False,
        states={
            'readonly': Eval('id', -1) >= 0,
            },
        help="Where the customer stands in the sales pipeline.\n"
        "Empty for parties that are not telesales customers.\n"
        "Change it with the stage up and down buttons.")
    crm_marker = fields.Selection(
        [(None, "")] + MARKERS, "Marker", sort=False,
        domain=[If(Bool(Eval('crm_stage')),
                ('crm_marker', 'in', If(Eval('crm_stage') == 'reserve',
                        STAGE_MARKERS['reserve'],
                        If(Eval('crm_stage') == 'target',
                            STAGE_MARKERS['target'],
                            If(Eval('crm_stage') == 'potential',
                                STAGE_MARKERS['potential'],
                                If(Eval('crm_stage') == 'opportunity',
                                    STAGE_MARKERS['opportunity'],
                                    STAGE_MARKERS['closed']))))),
                ('crm_marker', '=', None))],
        states={
            'invisible': ~Eval('crm_stage'),
            })
    crm_ownership = fields.Selection(
        [(None, "")] + OWNERSHIPS, "Ownership", sort=False,
        states={
            'required': Bool(Eval('crm_stage')),
            'invisible': ~Eval('crm_stage'),
            })
    crm_owner = fields.Many2One(
        'company.employee', "Owner", ondelete='RESTRICT',
        states={
            'required': Eval('crm_ownership', '').in_(
                ['personal', 'collaborative']),
            'invisible': Eval('crm_ownership') == 'shared',
            'readonly': Eval('id', -1) >= 0,
            })
    crm_collaborators = fields.Many2Many(
        'party.party-company.employee', 'party', 'employee',
        "Collaborators",
        states={
            'invisible': Eval('crm_ownership') != 'collaborative',
            })
    crm_level = fields.Many2One('crm.level', "Level", ondelete='RESTRICT')
    crm_source = fields.Many2One('crm.source', "Source", ondelete='RESTRICT')
    crm_status = fields.Many2One('crm.status', "Status", ondelete='RESTRICT')
    crm_industry = fields.Many2One(
        'crm.industry', "Industry", ondelete='RESTRICT')
    crm_last_contact = fields.DateTime("Last Contact", readonly=True)
    crm_next_callback = fields.Date("Next Callback")
    crm_followups = fields.One2Many(
        'crm.followup', 'party', "Follow-ups", readonly=True)
    crm_owner_history = fields.One2Many(
        'crm.party.owner.history', 'party', "Owner History", readonly=True)
    crm_vip = fields.Boolean(
        "VIP",
        help="A VIP customer entered by a representative takes effect "
        "once a supervisor approves it.")
    crm_vip_state = fields.Selection([
            (None, ""),
            ('pending', "Pending Approval"),
            ('approved', "Approved"),
            ('rejected', "Rejected"),
            ], "VIP Approval", readonly=True,
        states={
            'invisible': ~Eval('crm_vip_state'),
            })
    crm_vip_active = fields.Function(
        fields.Boolean("Approved VIP"), 'get_crm_vip_active',
        searcher='search_crm_vip_active')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t,
                    (t.crm_stage, Index.Equality(cardinality='low')),
                    (t.crm_next_callback, Index.Range())),
                Index(t,
                    (t.crm_stage, Index.Equality(cardinality='low')),
                    (t.crm_last_contact, Index.Range())),
                Index(t, (t.crm_next_callback, Index.Range())),
                Index(t, (t.crm_last_contact, Index.Range())),
                Index(t, (t.crm_owner, Index.Range())),
                Index(t,
                    (t.crm_ownership, Index.Equality(cardinality='low')),
                    where=t.crm_ownership == 'shared'),
                Index(t,
                    (t.crm_vip_state, Index.Equality(cardinality='low')),
                    where=t.crm_vip_state == 'pending'),
                })
        locked = Eval('crm_stage', '').in_(LOCKED_STAGES)
        for name in LOCKED_FIELDS:
            field = getattr(cls, name)
            field.states = field.states.copy()
            field.states['readonly'] = (
                field.states.get('readonly', False) | locked)
        cls._buttons.update({
                'crm_claim': {
                    'invisible': Eval('crm_ownership') != 'shared',
                    'depends': ['crm_ownership'],
                    },
                'crm_release': {
                    'invisible': ~Eval('crm_ownership', '').in_(
                        ['personal', 'collaborative']),
                    'depends': ['crm_ownership'],
                    },
                'crm_stage_up': {
                    'invisible': (~Eval('crm_stage')
                        | (Eval('crm_stage') == 'closed')),
                    'depends': ['crm_stage'],
                    },
                'crm_stage_down': {
                    'invisible': (~Eval('crm_stage')
                        | (Eval('crm_stage') == 'reserve')),
                    'depends': ['crm_stage'],
                    },
                'crm_reassign': {
                    'invisible': ~Eval('crm_stage'),
                    'depends': ['crm_stage'],
                    },
                'crm_approve_vip': {
                    'invisible': Eval('crm_vip_state') != 'pending',
                    'depends': ['crm_vip_state'],
                    },
                'crm_reject_vip': {
                    'invisible': Eval('crm_vip_state') != 'pending',
                    'depends': ['crm_vip_state'],
                    },
                })

    @classmethod
    def default_crm_stage(cls):
        if Transaction().context.get('crm_customer'):
            return 'reserve'

    @classmethod
    def default_crm_marker(cls):
        if Transaction().context.get('crm_customer'):
            return 'uncontacted'

    @classmethod
    def default_crm_ownership(cls):
        context = Transaction().context
        if context.get('crm_customer'):
            return 'personal' if context.get('employee') else 'shared'

    @classmethod
    def default_crm_owner(cls):
        context = Transaction().context
        if context.get('crm_customer'):
            return context.get('employee')

    @classmethod
    def default_crm_vip(cls):
        return False

    @fields.depends('crm_ownership', 'crm_owner', 'crm_collaborators')
    def on_change_crm_ownership(self):
        if self.crm_ownership == 'shared':
            self.crm_owner = None
            self.crm_collaborators = []
        elif self.crm_ownership == 'personal':
            self.crm_collaborators = []
        elif not self.crm_owner:
            employee = Transaction().context.get('employee')
            if employee is not None:
                self.crm_owner = employee

    @fields.depends('crm_stage', 'crm_marker')
    def on_change_crm_stage(self):
        if self.crm_marker not in STAGE_MARKERS.get(self.crm_stage, [None]):
            self.crm_marker = DEFAULT_MARKERS.get(self.crm_stage)

    def get_crm_vip_active(self, name):
        return bool(self.crm_vip and self.crm_vip_state == 'approved')

    @classmethod
    def search_crm_vip_active(cls, name, clause):
        _, operator, value = clause
        positive = [('crm_vip', '=', True), ('crm_vip_state', '=', 'approved')]
        if (operator == '=') == bool(value):
            return positive
        return ['OR', ('crm_vip', '=', False),
            ('crm_vip_state', '!=', 'approved'),
            ('crm_vip_state', '=', None)]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('crm_ownership') == 'shared':
            values['crm_owner'] = None
        stage = values.get('crm_stage')
        if stage and 'crm_marker' not in values:
            values['crm_marker'] = DEFAULT_MARKERS[stage]
        if 'crm_vip' in values:
            values['crm_vip_state'] = cls._crm_vip_state(values['crm_vip'])
        return values

    @classmethod
    def _crm_vip_state(cls, vip):
        "Representatives' VIP entries wait for a supervisor (PL-23)"
        if not vip:
            return None
        if user_in_group('group_telesales_supervisor'):
            return 'approved'
        return 'pending'

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        if field_names & {'crm_stage', 'crm_ownership', 'crm_owner',
                'crm_marker'}:
            for party in parties:
                party.check_crm()

    def check_crm(self):
        if not self.crm_stage:
            return
        if self.crm_ownership in {'personal', 'collaborative'}:
            if not self.crm_owner:
                raise OwnershipError(gettext(
                        'telesales_pipeline.msg_customer_owner_required',
                        customer=self.rec_name))
        elif self.crm_ownership == 'shared' and self.crm_owner:
            raise OwnershipError(gettext(
                    'telesales_pipeline.msg_customer_shared_owner',
                    customer=self.rec_name))
        if (self.crm_marker
                and self.crm_marker not in STAGE_MARKERS[self.crm_stage]):
            raise MarkerError(gettext(
                    'telesales_pipeline.msg_customer_marker_stage',
                    customer=self.rec_name,
                    marker=self.crm_marker_string,
                    stage=self.crm_stage_string))

    crm_stage_string = crm_stage.translated('crm_stage')
    crm_marker_string = crm_marker.translated('crm_marker')

    # Owner-change history and automatic follow-ups (PL-07, PL-08)

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'create':
            cls._crm_record_created(
                [p.id for p in parties],
                Transaction().context.get('_crm_action', 'create'))

    @classmethod
    def on_write(cls, parties, values):
        callbacks = super().on_write(parties, values)
        if not ({'crm_stage', 'crm_ownership', 'crm_owner'} & values.keys()):
            return callbacks
        old = {p.id: (p.crm_stage, p.crm_ownership,
                p.crm_owner.id if p.crm_owner else None) for p in parties}
        action = Transaction().context.get('_crm_action', 'edit')

        def record():
            cls._crm_record_changes(cls.browse(list(old)), old, action)
        callbacks.append(record)
        return callbacks

    @classmethod
    def _crm_record_created(cls, ids, action):
        "The owner history of new customers (as _crm_record_changes would)"
        History = Pool().get('crm.party.owner.history')
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        histories = []
        for sub_ids in grouped_slice(ids, IN_MAX):
            cursor.execute(*table.select(
                    table.id, table.crm_ownership, table.crm_owner,
                    where=reduce_ids(table.id, sub_ids)
                    & (table.crm_stage != Null)))
            histories.extend({
                    'party': id_, 'action': action,
                    'from_ownership': None, 'from_owner': None,
                    'to_ownership': ownership, 'to_owner': owner}
                for id_, ownership, owner in cursor
                if (ownership, owner) != (None, None))
        with without_check_access():
            bulk_create(History, histories)

    @classmethod
    def _crm_record_changes(cls, parties, old, action):
        pool = Pool()
        History = pool.get('crm.party.owner.history')
        Followup = pool.get('crm.followup')
        stages = dict(cls.fields_get(['crm_stage'])['crm_stage']['selection'])
        histories = []
        with without_check_access():
            for party in parties:
                stage, ownership, owner = old[party.id]
                new_owner = party.crm_owner.id if party.crm_owner else None
                if (ownership, owner) != (party.crm_ownership, new_owner):
                    histories.append({
                            'party': party.id, 'action': action,
                            'from_ownership': ownership, 'from_owner': owner,
                            'to_ownership': party.crm_ownership,
                            'to_owner': new_owner})
                    if ownership is not None:
                        Followup.log(party, party._crm_owner_message(
                                action, owner))
                if stage is not None and stage != party.crm_stage:
                    Followup.log(party, gettext(
                            'telesales_pipeline.msg_log_stage',
                            from_=stages.get(stage) or '',
                            to=stages.get(party.crm_stage) or ''))
            # rows made here from the party's checked values
            bulk_create(History, histories)

    def _crm_owner_message(self, action, old_owner):
        Employee = Pool().get('company.employee')
        old_name = Employee(old_owner).rec_name if old_owner else ''
        new_name = self.crm_owner.rec_name if self.crm_owner else ''
        if self.crm_ownership == 'shared':
            return gettext('telesales_pipeline.msg_log_released',
                owner=old_name)
        if action == 'claim':
            return gettext('telesales_pipeline.msg_log_claimed',
                owner=new_name)
        return gettext('telesales_pipeline.msg_log_owner',
            from_=old_name, to=new_name)

    # Claim and release (PL-03)

    @classmethod
    def _crm_employee(cls):
        Employee = Pool().get('company.employee')
        employee = Transaction().context.get('employee')
        if employee is None:
            raise NoEmployeeError(gettext(
                    'telesales_pipeline.msg_no_employee'))
        return Employee(employee)

    @classmethod
    @_claim_race
    @ModelView.button
    def crm_claim(cls, parties):
        "Claim shared customers for the current employee within the quota"
        pool = Pool()
        Employee = pool.get('company.employee')
        Configuration = pool.get('crm.configuration')
        employee = cls._crm_employee()
        # Row locks taken when the transaction starts (Tryton restarts it
        # on the first call): a concurrent claim of the same customers or
        # by the same employee waits or retries, it never reads stale rows.
        cls.lock(parties)
        Employee.lock([employee])
        # Read past the visibility rules: the customer may have left the
        # pool (and the rep's view) a moment ago, which deserves a clear
        # refusal rather than an access error
        with without_check_access():
            for party in cls.browse(parties):
                if party.crm_ownership != 'shared' or not party.crm_stage:
                    raise ClaimTakenError(gettext(
                            'telesales_pipeline.msg_claim_taken',
                            customer=party.rec_name,
                            owner=party.crm_owner.rec_name
                            if party.crm_owner else ''))
        quota = Configuration.get_user_claim_quota()
        cls._crm_count_claims(employee, len(parties), quota)
        with Transaction().set_context(_crm_action='claim'):
            cls.write(parties, {
                    'crm_ownership': 'personal',
                    'crm_owner': employee.id,
                    })

    @classmethod
    def _crm_count_claims(cls, employee, count, quota):
        "Add count to the employee's claims of the day or raise"
        pool = Pool()
        Employee = pool.get('company.employee')
        Date = pool.get('ir.date')
        today = Date.today()
        table = Employee.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                Case((table.crm_claim_date == today,
                        Coalesce(table.crm_claim_count, 0)),
                    else_=0),
                where=table.id == employee.id))
        claimed, = cursor.fetchone()
        if claimed + count > quota:
            raise ClaimQuotaError(gettext(
                    'telesales_pipeline.msg_claim_quota_exceeded',
                    quota=quota, claimed=claimed, count=count))
        cursor.execute(*table.update(
                [table.crm_claim_date, table.crm_claim_count],
                [today, claimed + count],
                where=table.id == employee.id))

    @classmethod
    @ModelView.button
    def crm_release(cls, parties):
        "Release customers to the shared pool"
        pool = Pool()
        User = pool.get('res.user')
        supervisor = user_in_group('group_telesales_supervisor')
        employees = set(User.get_employees())
        for party in parties:
            if party.crm_ownership == 'shared':
                continue
            if (not supervisor and Transaction().user
                    and (not party.crm_owner
                        or party.crm_owner.id not in employees)):
                raise ReleaseError(gettext(
                        'telesales_pipeline.msg_release_not_owner',
                        customer=party.rec_name))
        to_release = [p for p in parties if p.crm_ownership != 'shared']
        if to_release:
            with Transaction().set_context(_crm_action='release'):
                cls.write(to_release, {
                        'crm_ownership': 'shared',
                        'crm_owner': None,
                        'crm_collaborators': [('remove', [
                                    e.id for p in to_release
                                    for e in p.crm_collaborators])],
                        })

    # Stage up and down (PL-04)

    @classmethod
    @ModelView.button
    def crm_stage_up(cls, parties):
        cls._crm_move_stage(parties, 1)

    @classmethod
    @ModelView.button
    def crm_stage_down(cls, parties):
        cls._crm_move_stage(parties, -1)

    @classmethod
    def _crm_move_stage(cls, parties, step):
        to_write = []
        for party in parties:
            if not party.crm_stage:
                raise StageError(gettext(
                        'telesales_pipeline.msg_not_customer',
                        customer=party.rec_name))
            index = STAGE_ORDER.index(party.crm_stage) + step
            if not 0 <= index < len(STAGE_ORDER):
                raise StageError(gettext(
                        'telesales_pipeline.msg_stage_limit',
                        customer=party.rec_name,
                        stage=party.crm_stage_string))
            to_write.extend(([party], cls._crm_stage_values(
                        party, STAGE_ORDER[index])))
        if to_write:
            with Transaction().set_context(_crm_action='stage'):
                cls.write(*to_write)

    @classmethod
    def _crm_stage_values(cls, party, stage):
        values = {'crm_stage': stage}
        if stage == 'reserve':
            # Downgraded to reserve, the customer goes back to the pool
            values.update({
                    'crm_ownership': 'shared',
                    'crm_owner': None,
                    'crm_collaborators': [('remove', [
                                e.id for e in party.crm_collaborators])],
                    })
        if stage in {'reserve', 'target'} and party.crm_last_contact:
            values['crm_marker'] = 'contacted'
        return values

    @classmethod
    def crm_set_stage(cls, parties, stage):
        "Raise the parties to at least stage (used by opportunities)"
        index = STAGE_ORDER.index(stage)
        parties = [p for p in parties if p.crm_stage
            and STAGE_ORDER.index(p.crm_stage) < index]
        if parties:
            with Transaction().set_context(_crm_action='stage'), \
                    without_check_access():
                cls.write(parties, {'crm_stage': stage})

    # Reassign (supervisors and above)

    @classmethod
    @ModelView.button_action('telesales_pipeline.wizard_customer_reassign')
    def crm_reassign(cls, parties):
        pass

    @classmethod
    def crm_assign(cls, parties, employee):
        "Give the customers to employee as personal owner"
        pool = Pool()
        User = pool.get('res.user')
        Employee = pool.get('company.employee')
        if not user_in_group('group_telesales_supervisor'):
            raise ReleaseError(gettext(
                    'telesales_pipeline.msg_reassign_not_supervisor'))
        if (Transaction().user and not user_in_group('group_telesales_admin')
                and not Employee.search([
                        ('id', '=', employee.id),
                        ('supervisor', 'child_of',
                            list(User.get_employees())),
                        ])):
            raise ReleaseError(gettext(
                    'telesales_pipeline.msg_reassign_outside_team',
                    employee=employee.rec_name))
        with Transaction().set_context(_crm_action='reassign'):
            cls.write(list(parties), {
                    'crm_ownership': 'personal',
                    'crm_owner': employee.id,
                    })

    # VIP approval (PL-23)

    @classmethod
    @ModelView.button
    def crm_approve_vip(cls, parties):
        cls._crm_decide_vip(parties, 'approved')

    @classmethod
    @ModelView.button
    def crm_reject_vip(cls, parties):
        cls._crm_decide_vip(parties, 'rejected')

    @classmethod
    def _crm_decide_vip(cls, parties, state):
        Followup = Pool().get('crm.followup')
        if not user_in_group('group_telesales_supervisor'):
            raise VIPApprovalError(gettext(
                    'telesales_pipeline.msg_vip_not_supervisor'))
        parties = [p for p in parties if p.crm_vip_state == 'pending']
        cls.write(parties, {'crm_vip_state': state})
        for party in parties:
            Followup.log(party, gettext(
                    'telesales_pipeline.msg_log_vip_%s' % state))

    # Read-only fields by stage (PL-04)

    @classmethod
    def crm_check_locked(cls, parties, field_names):
        """Refuse a change of field_names of customers in a locked stage

        The form makes them read-only; this holds for every other client.
        Supervisors and telesales administrators may still correct them.
        """
        if (user_in_group('group_telesales_supervisor')
                or user_in_group('group_telesales_admin')):
            return
        for party in parties:
            if party.crm_stage in LOCKED_STAGES:
                names = cls.fields_get(sorted(field_names))
                raise StageLockedError(gettext(
                        'telesales_pipeline.msg_customer_stage_locked',
                        customer=party.rec_name,
                        stage=party.crm_stage_string,
                        fields=', '.join(
                            names[n]['string'] for n in sorted(names))))

    @classmethod
    def create(cls, vlist):
        # the contact data given with the customer is checked with it
        with Transaction().set_context(_crm_locked_checked=True):
            return super().create(vlist)

    @classmethod
    def write(cls, *args):
        with Transaction().set_context(_crm_locked_checked=True):
            super().write(*args)

    def _crm_locked_changes(self, values):
        "The locked fields values would change"
        changed = set()
        for name in LOCKED_FIELDS:
            if name not in values:
                continue
            value = getattr(self, name)
            if isinstance(value, ModelSQL):
                value = value.id
            if name in {'addresses', 'contact_mechanisms'} or (
                    value != values[name]):
                changed.add(name)
        return changed

    # Delete (PL-21)

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        super().check_modification(
            mode, parties, values=values, external=external)
        if mode == 'write' and external and values.keys() & set(
                LOCKED_FIELDS):
            for party in parties:
                changed = party._crm_locked_changes(values)
                if changed:
                    cls.crm_check_locked([party], changed)
        if mode == 'delete':
            for party in parties:
                reason = party.crm_delete_blocker()
                if reason:
                    raise CustomerDeleteError(gettext(
                            'telesales_pipeline.msg_customer_delete_refused',
                            customer=party.rec_name, reason=reason))

    def crm_delete_blocker(self):
        """Return why the party may not be deleted, or None

        Extend it for contracts, cards, signings… (PL-21, LN-05).
        """
        pool = Pool()
        Sale = pool.get('sale.sale')
        with without_check_access():
            if Sale.search([
                        ('party', '=', self.id),
                        ('state', 'in', ['confirmed', 'processing', 'done']),
                        ], limit=1, order=[]):
                return gettext('telesales_pipeline.msg_reason_sale')
            try:
                Line = pool.get('account.move.line')
            except KeyError:
                Line = None
            try:
                Invoice = pool.get('account.invoice')
            except KeyError:
                Invoice = None
            if Invoice and Invoice.search([
                        ('party', '=', self.id),
                        ('state', 'in', ['validated', 'posted', 'paid']),
                        ], limit=1, order=[]):
                return gettext('telesales_pipeline.msg_reason_invoice')
            # the moves of a posted invoice are named above as the invoice
            if Line and Line.search(
                    [('party', '=', self.id)], limit=1, order=[]):
                return gettext('telesales_pipeline.msg_reason_money')

    @classmethod
    def delete(cls, parties):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Sale = pool.get('sale.sale')
        # Checked first, so nothing is removed when one party is refused
        cls.check_modification('delete', parties)
        with without_check_access():
            opportunities = Opportunity.search([
                    ('party', 'in', [p.id for p in parties])])
            open_ = [o for o in opportunities
                if o.state in {'lead', 'opportunity'}]
            Opportunity.cancel(open_)
            Opportunity.write(opportunities, {'state': 'cancelled'})
            Opportunity.delete(opportunities)
            sales = Sale.search([('party', 'in', [p.id for p in parties])])
            Sale.cancel([s for s in sales if s.state != 'cancelled'])
            Sale.delete(sales)
        super().delete(parties)

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        for name in ['crm_followups', 'crm_last_contact', 'crm_owner_history',
                'crm_vip_state']:
            default.setdefault(name, None)
        return super().copy(parties, default=default)


class PartyCollaborator(ModelSQL):
    __name__ = 'party.party-company.employee'
    __string__ = "Customer Collaborator"
    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(
                t, (t.employee, Index.Range()), (t.party, Index.Range())))


class OwnerHistory(ModelSQL, ModelView):
    __name__ = 'crm.party.owner.history'
    __string__ = "Owner History"
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE')
    date = fields.DateTime("Date", required=True, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    action = fields.Selection([
            ('create', "Create"),
            ('claim', "Claim"),
            ('release', "Release"),
            ('reassign', "Reassign"),
            ('stage', "Stage Change"),
            ('import', "Import"),
            ('edit', "Edit"),
            ], "Action", readonly=True)
    from_ownership = fields.Selection(
        [(None, "")] + OWNERSHIPS, "From Ownership", readonly=True)
    from_owner = fields.Many2One(
        'company.employee', "From Owner", readonly=True)
    to_ownership = fields.Selection(
        [(None, "")] + OWNERSHIPS, "To Ownership", readonly=True)
    to_owner = fields.Many2One('company.employee', "To Owner", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Range()), (t.date, Index.Range())),
                Index(t, (t.to_owner, Index.Range()), (t.date, Index.Range()),
                    where=t.action == 'claim'),
                })

    @classmethod
    def default_date(cls):
        return datetime.datetime.now()

    @classmethod
    def default_user(cls):
        return Transaction().user or None


class Employee(metaclass=PoolMeta):
    __name__ = 'company.employee'
    # Claims of the day: the row is locked and updated by every claim, so
    # concurrent claims by one employee serialize (PL-03)
    crm_claim_date = fields.Date("Last Claim Date", readonly=True)
    crm_claim_count = fields.Integer("Claims on Last Claim Date", readonly=True)


class CustomerReassign(Wizard):
    __name__ = 'crm.customer.reassign'
    __string__ = "Reassign Customers"
    start = StateView('crm.customer.reassign.start',
        'telesales_pipeline.customer_reassign_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reassign", 'reassign', 'tryton-ok', default=True),
            ])
    reassign = StateTransition()

    def transition_reassign(self):
        Party = Pool().get('party.party')
        Party.crm_assign(self.records, self.start.employee)
        return 'end'


class CustomerReassignStart(ModelView):
    __name__ = 'crm.customer.reassign.start'
    __string__ = "Reassign Customers"
    employee = fields.Many2One(
        'company.employee', "Employee", required=True,
        domain=[
            ('company', '=', Eval('context', {}).get('company', -1)),
            ])


class CustomerBulk(Wizard):
    __name__ = 'crm.customer.bulk'
    __string__ = "Customers Bulk Action"
    start = StateView('crm.customer.bulk.start',
        'telesales_pipeline.customer_bulk_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Apply", 'apply', 'tryton-ok', default=True),
            ])
    apply = StateTransition()

    def transition_apply(self):
        Party = Pool().get('party.party')
        operation = self.start.operation
        if operation == 'reassign':
            Party.crm_assign(self.records, self.start.employee)
        else:
            getattr(Party, 'crm_%s' % operation)(list(self.records))
        return 'end'


class CustomerBulkStart(ModelView):
    __name__ = 'crm.customer.bulk.start'
    __string__ = "Customers Bulk Action"
    operation = fields.Selection([
            ('claim', "Claim"),
            ('release', "Release"),
            ('stage_up', "Stage Up"),
            ('stage_down', "Stage Down"),
            ('reassign', "Reassign"),
            ], "Operation", required=True)
    employee = fields.Many2One(
        'company.employee', "Employee",
        domain=[
            ('company', '=', Eval('context', {}).get('company', -1)),
            ],
        states={
            'required': Eval('operation') == 'reassign',
            'invisible': Eval('operation') != 'reassign',
            })
