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

from crm_base.bulk import bulk_create

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, Id, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import (
    ClaimQuotaError, ClaimTakenError, CollaboratorError, CustomerDeleteError,
    MarkerError, NoEmployeeError, OwnerAssignError, OwnershipError,
    ProtectedFieldError, ReleaseError, StageError, StageLockedError,
    VIPApprovalError)
from .guard import (
    TextCheckMixin, check_visible, field_labels,
    is_administrator, lock_rows, readonly_fields, refuse_changes,
    visible_ids)
from .spreadsheet import IN_MAX


def _crm_race(exception, message, check=None):
    """Answer a button pressed on customers that changed meanwhile

    ModelView.button first reads the records under the visibility rules and
    checks the button's states: a customer another user claimed, released or
    moved a moment ago would be refused with a generic access error or an
    untranslated "You can not call". Instead, ids the user cannot see (any
    more) are refused with message, which names neither the customer nor
    its owner (the ids may be anyone's, or no customer's at all); then
    check(cls, parties) is given the visible ones: it returns those to act
    on (an action already done is skipped) or raises the business refusal.
    """
    def decorator(func):
        @wraps(func)
        def wrapper(cls, parties, *args, **kwargs):
            transaction = Transaction()
            ids = {p.id for p in parties if p.id is not None and p.id >= 0}
            if transaction.user and transaction.check_access and ids:
                if visible_ids(cls, ids) != ids:
                    raise exception(gettext(message))
                if check:
                    # still through the button: its groups are checked
                    # even when nothing is left to do
                    parties = check(cls, cls.browse(sorted(ids)))
            return func(cls, parties, *args, **kwargs)
        return wrapper
    return decorator


def _claimable(cls, parties):
    for party in parties:
        if party.crm_ownership != 'shared' or not party.crm_stage:
            raise cls._crm_taken_error(party)
    return parties


def _owned(cls, parties):
    "Those not in the pool (released already)"
    return [p for p in parties if p.crm_ownership != 'shared']


def _movable(step):
    def check(cls, parties):
        for party in parties:
            cls._crm_check_stage_step(party, step)
        return parties
    return check


def _pending(cls, parties):
    for party in parties:
        if party.crm_vip_state != 'pending':
            raise VIPApprovalError(gettext(
                    'telesales_pipeline.msg_vip_not_pending',
                    customer=party.rec_name,
                    state=party.crm_vip_state_string or '-'))
    return parties


def _customers(cls, parties):
    for party in parties:
        if not party.crm_stage:
            raise StageError(gettext(
                    'telesales_pipeline.msg_not_customer',
                    customer=party.rec_name))
    return parties


def _not_shared(cls, parties):
    for party in parties:
        if party.crm_ownership not in {'personal', 'collaborative'}:
            raise CollaboratorError(gettext(
                    'telesales_pipeline.msg_collaborators_shared',
                    customer=party.rec_name))
    return parties


class CustomerWizardMixin:
    "A wizard on customers: those the user cannot see are named nowhere"
    __slots__ = ()

    @classmethod
    def check_access(cls):
        transaction = Transaction()
        context = transaction.context
        if transaction.user and context.get('active_model') == 'party.party':
            ids = set(context.get('active_ids') or [])
            if context.get('active_id') is not None:
                ids.add(context['active_id'])
            Party = Pool().get('party.party')
            ids = {i for i in ids if isinstance(i, int) and i >= 0}
            if ids and visible_ids(Party, ids) != ids:
                # Tryton's rule error has no Chinese text
                raise ReleaseError(gettext(
                        'telesales_pipeline.msg_customer_unavailable'))
        super().check_access()


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


class Party(TextCheckMixin, metaclass=PoolMeta):
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
            'readonly': Eval('id', -1) >= 0,
            },
        help="Changed by the claim, release, reassign and collaborators "
        "buttons.")
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
            'readonly': Eval('id', -1) >= 0,
            },
        help="Changed by the owner or a supervisor with the collaborators "
        "button.")
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
                'crm_write_followup': {
                    'invisible': ~Eval('crm_stage') | (Eval('id', -1) < 0),
                    'depends': ['crm_stage', 'id'],
                    },
                'crm_collaborate': {
                    'invisible': ~Eval('crm_ownership', '').in_(
                        ['personal', 'collaborative']),
                    'depends': ['crm_ownership'],
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

    # the pages other modules add to the party form, shown only to the
    # users of those modules: noise on a sales rep's customer form
    _crm_foreign_pages = [
        # (page id, a field of the page, module, group)
        ('accounting', 'account_receivable', 'account', 'group_account'),
        ('stock', 'customer_location', 'stock', 'group_stock'),
        ('commissions', 'agents', 'commission', 'group_commission'),
        ]

    @classmethod
    def view_attributes(cls):
        attributes = super().view_attributes()
        groups = Eval('context', {}).get('groups', [])
        for page, field, module, group in cls._crm_foreign_pages:
            if field in cls._fields:
                attributes.append((f'//page[@id="{page}"]', 'states', {
                            'invisible': ~Id(module, group).in_(groups),
                            }))
        return attributes

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
                'crm_collaborators', 'crm_marker'}:
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
        if self.crm_collaborators and self.crm_ownership != 'collaborative':
            raise OwnershipError(gettext(
                    'telesales_pipeline.msg_customer_collaborators_ownership',
                    customer=self.rec_name))
        if (self.crm_marker
                and self.crm_marker not in STAGE_MARKERS[self.crm_stage]):
            raise MarkerError(gettext(
                    'telesales_pipeline.msg_customer_marker_stage',
                    customer=self.rec_name,
                    marker=self.crm_marker_string,
                    stage=self.crm_stage_string))

    crm_stage_string = crm_stage.translated('crm_stage')
    crm_vip_state_string = crm_vip_state.translated('crm_vip_state')
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
        if not ({'crm_stage', 'crm_ownership', 'crm_owner',
                    'crm_collaborators'} & values.keys()):
            return callbacks
        old = {p.id: (p.crm_stage, p.crm_ownership,
                p.crm_owner.id if p.crm_owner else None,
                frozenset(e.id for e in p.crm_collaborators))
            for p in parties}
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
        collaborative = []
        for sub_ids in grouped_slice(ids, IN_MAX):
            cursor.execute(*table.select(
                    table.id, table.crm_ownership, table.crm_owner,
                    where=table.id.in_(list(sub_ids))
                    & (table.crm_stage != Null)))
            for id_, ownership, owner in cursor:
                if (ownership, owner) == (None, None):
                    continue
                histories.append({
                        'party': id_, 'action': action,
                        'from_ownership': None, 'from_owner': None,
                        'to_ownership': ownership, 'to_owner': owner})
                if ownership == 'collaborative':
                    collaborative.append(histories[-1])
        # imports create no collaborative customers: read them one by one
        for history in collaborative:
            history['collaborators'] = cls(
                history['party'])._crm_collaborator_names()
        with without_check_access():
            bulk_create(History, histories)

    def _crm_collaborator_names(self):
        return ', '.join(sorted(e.rec_name for e in self.crm_collaborators))

    @classmethod
    def _crm_record_changes(cls, parties, old, action):
        pool = Pool()
        History = pool.get('crm.party.owner.history')
        Followup = pool.get('crm.followup')
        stages = dict(cls.fields_get(['crm_stage'])['crm_stage']['selection'])
        histories = []
        with without_check_access():
            for party in parties:
                stage, ownership, owner, collaborators = old[party.id]
                new_owner = party.crm_owner.id if party.crm_owner else None
                new_collaborators = frozenset(
                    e.id for e in party.crm_collaborators)
                if ((ownership, owner, collaborators)
                        != (party.crm_ownership, new_owner,
                            new_collaborators)):
                    histories.append({
                            'party': party.id, 'action': action,
                            'from_ownership': ownership, 'from_owner': owner,
                            'to_ownership': party.crm_ownership,
                            'to_owner': new_owner,
                            'collaborators': (
                                party._crm_collaborator_names() or None),
                            })
                    if ownership is not None:
                        Followup.log(party, party._crm_owner_message(
                                action, ownership, owner))
                if stage is not None and stage != party.crm_stage:
                    Followup.log(party, gettext(
                            'telesales_pipeline.msg_log_stage',
                            from_=stages.get(stage) or '',
                            to=stages.get(party.crm_stage) or ''))
            # rows made here from the party's checked values
            bulk_create(History, histories)

    def _crm_owner_message(self, action, old_ownership, old_owner):
        Employee = Pool().get('company.employee')
        old_name = Employee(old_owner).rec_name if old_owner else ''
        new_name = self.crm_owner.rec_name if self.crm_owner else ''
        if (old_owner and self.crm_owner and old_owner == self.crm_owner.id
                and old_ownership != 'shared'
                and self.crm_ownership != 'shared'):
            # the owner stays: the collaborators changed
            return gettext('telesales_pipeline.msg_log_collaborators',
                collaborators=self._crm_collaborator_names() or '-')
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
    def _crm_lock(cls, parties):
        """Wait for concurrent changes of parties; return them as committed

        A concurrent claim, release, reassign or stage change of the same
        customers that committed meanwhile starts the call again (see
        guard.lock_rows): the caller then answers from its result."""
        lock_rows(cls, parties)
        return cls.browse([p.id for p in parties])

    @classmethod
    @_crm_race(ClaimTakenError, 'telesales_pipeline.msg_claim_taken_hidden',
        _claimable)
    @ModelView.button
    def crm_claim(cls, parties):
        "Claim shared customers for the current employee within the quota"
        pool = Pool()
        Employee = pool.get('company.employee')
        Configuration = pool.get('crm.configuration')
        employee = cls._crm_employee()
        # Customers first, then the employee (whose row holds the day's
        # claims): every claim locks in this order, so none deadlocks
        parties = cls._crm_lock(parties)
        lock_rows(Employee, [employee])
        for party in parties:
            if party.crm_ownership != 'shared' or not party.crm_stage:
                raise cls._crm_taken_error(party)
        quota = Configuration.get_user_claim_quota()
        claimed = cls._crm_count_claims(employee, len(parties), quota)
        with Transaction().set_context(_crm_action='claim'):
            cls.write(parties, {
                    'crm_ownership': 'personal',
                    'crm_owner': employee.id,
                    })
        # the confirmation: the pool's row disappears from the user's list
        cls.notify_user(parties, 'tryton-ok', gettext(
                'telesales_pipeline.msg_claimed',
                customers=', '.join(p.rec_name for p in parties[:3])
                + ('…' if len(parties) > 3 else ''),
                count=len(parties), remaining=max(quota - claimed, 0)))

    @classmethod
    def _crm_taken_error(cls, party):
        """The refusal of a claim of party, which is not in the pool

        It names the customer and its owner only to a user who may see the
        customer (a supervisor sees the team's customers)."""
        if party.id not in visible_ids(cls, [party.id]):
            return ClaimTakenError(gettext(
                    'telesales_pipeline.msg_claim_taken_hidden'))
        with without_check_access():
            owner = party.crm_owner.rec_name if party.crm_owner else ''
        return ClaimTakenError(gettext(
                'telesales_pipeline.msg_claim_taken',
                customer=party.rec_name, owner=owner))

    @classmethod
    def _crm_count_claims(cls, employee, count, quota):
        """Add count to the employee's claims of the day or raise; return
        the day's claims"""
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
        return claimed + count

    @classmethod
    def _crm_check_owner_or_supervisor(cls, party, message):
        "Refuse with message unless the user owns party or supervises"
        User = Pool().get('res.user')
        if (not Transaction().user
                or user_in_group('group_telesales_supervisor')
                or user_in_group('group_telesales_admin')):
            return
        if (not party.crm_owner
                or party.crm_owner.id not in User.get_employees()):
            raise ReleaseError(gettext(message, customer=party.rec_name))

    @classmethod
    @_crm_race(ReleaseError, 'telesales_pipeline.msg_customer_unavailable',
        _owned)
    @ModelView.button
    def crm_release(cls, parties):
        "Release customers to the shared pool"
        parties = cls._crm_lock(parties)
        to_release = [p for p in parties if p.crm_ownership != 'shared']
        for party in to_release:
            cls._crm_check_owner_or_supervisor(
                party, 'telesales_pipeline.msg_release_not_owner')
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
    @_crm_race(StageError, 'telesales_pipeline.msg_customer_unavailable',
        _movable(1))
    @ModelView.button
    def crm_stage_up(cls, parties):
        cls._crm_move_stage(parties, 1)

    @classmethod
    @_crm_race(StageError, 'telesales_pipeline.msg_customer_unavailable',
        _movable(-1))
    @ModelView.button
    def crm_stage_down(cls, parties):
        cls._crm_move_stage(parties, -1)

    @classmethod
    def _crm_check_stage_step(cls, party, step):
        "Return the stage step away from party's or raise"
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
        return STAGE_ORDER[index]

    @classmethod
    def _crm_move_stage(cls, parties, step):
        parties = cls._crm_lock(parties)
        to_write = []
        for party in parties:
            stage = cls._crm_check_stage_step(party, step)
            if stage == 'reserve' and party.crm_ownership != 'shared':
                # back to reserve is a release to the pool
                cls._crm_check_owner_or_supervisor(
                    party, 'telesales_pipeline.msg_stage_reserve_not_owner')
            to_write.extend(([party], cls._crm_stage_values(party, stage)))
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
                cls.write(cls._crm_lock(parties), {'crm_stage': stage})

    # Reassign (supervisors and above)

    @classmethod
    @_crm_race(ReleaseError, 'telesales_pipeline.msg_customer_unavailable',
        _customers)
    @ModelView.button_action('telesales_pipeline.wizard_customer_reassign')
    def crm_reassign(cls, parties):
        pass

    @classmethod
    def crm_assign(cls, parties, employee):
        """Give the customers to employee as personal owner

        The collaborators go: the new owner shares the customer again if he
        wishes."""
        if not (user_in_group('group_telesales_supervisor')
                or user_in_group('group_telesales_admin')
                or is_administrator()):
            raise ReleaseError(gettext(
                    'telesales_pipeline.msg_reassign_not_supervisor'))
        if not cls._crm_may_own(employee):
            raise ReleaseError(gettext(
                    'telesales_pipeline.msg_reassign_outside_team',
                    employee=employee.rec_name))
        parties = cls._crm_lock(parties)
        with Transaction().set_context(_crm_action='reassign'):
            cls.write(parties, {
                    'crm_ownership': 'personal',
                    'crm_owner': employee.id,
                    'crm_collaborators': [('remove', [
                                e.id for p in parties
                                for e in p.crm_collaborators])],
                    })

    @classmethod
    def _crm_may_own(cls, employee):
        """Whether the user may give customers to employee

        A representative only to himself, a supervisor within the team
        under him, telesales and system administrators to anyone."""
        pool = Pool()
        User = pool.get('res.user')
        Employee = pool.get('company.employee')
        if (not Transaction().user or is_administrator()
                or user_in_group('group_telesales_admin')):
            return True
        employees = list(User.get_employees())
        if employee.id in employees:
            return True
        if not user_in_group('group_telesales_supervisor'):
            return False
        with without_check_access():
            return bool(Employee.search([
                        ('id', '=', employee.id),
                        ('supervisor', 'child_of', employees),
                        ]))

    @classmethod
    @ModelView.button_action('telesales_pipeline.act_followup_write')
    def crm_write_followup(cls, parties):
        "写跟进: the follow-up form of the customer, from its own form"
        pass

    # Collaborators (PL-02)

    @classmethod
    @_crm_race(CollaboratorError,
        'telesales_pipeline.msg_customer_unavailable', _not_shared)
    @ModelView.button_action(
        'telesales_pipeline.wizard_customer_collaborators')
    def crm_collaborate(cls, parties):
        pass

    @classmethod
    def crm_set_collaborators(cls, parties, employees):
        """Share the customers with employees: collaborative ownership

        Without employees the customers are personal again. Only their
        owner, a supervisor or a telesales administrator may."""
        parties = cls._crm_lock(parties)
        new = {e.id for e in employees}
        to_write = []
        for party in parties:
            if party.crm_ownership not in {'personal', 'collaborative'}:
                raise CollaboratorError(gettext(
                        'telesales_pipeline.msg_collaborators_shared',
                        customer=party.rec_name))
            cls._crm_check_owner_or_supervisor(
                party, 'telesales_pipeline.msg_collaborators_not_owner')
            wanted = new - {party.crm_owner.id}
            current = {e.id for e in party.crm_collaborators}
            ownership = 'collaborative' if wanted else 'personal'
            if (wanted, ownership) == (current, party.crm_ownership):
                continue
            to_write.extend(([party], {
                        'crm_ownership': ownership,
                        'crm_collaborators': [
                            ('remove', list(current - wanted)),
                            ('add', list(wanted - current))],
                        }))
        if to_write:
            with Transaction().set_context(_crm_action='collaborate'):
                cls.write(*to_write)

    # VIP approval (PL-23)

    @classmethod
    @_crm_race(VIPApprovalError,
        'telesales_pipeline.msg_customer_unavailable', _pending)
    @ModelView.button
    def crm_approve_vip(cls, parties):
        cls._crm_decide_vip(parties, 'approved')

    @classmethod
    @_crm_race(VIPApprovalError,
        'telesales_pipeline.msg_customer_unavailable', _pending)
    @ModelView.button
    def crm_reject_vip(cls, parties):
        cls._crm_decide_vip(parties, 'rejected')

    @classmethod
    def _crm_decide_vip(cls, parties, state):
        Followup = Pool().get('crm.followup')
        if not user_in_group('group_telesales_supervisor'):
            raise VIPApprovalError(gettext(
                    'telesales_pipeline.msg_vip_not_supervisor'))
        parties = [p for p in cls._crm_lock(parties)
            if p.crm_vip_state == 'pending']
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
        # the contact data and collaborators given with the customer are
        # checked with it
        with Transaction().set_context(
                _crm_locked_checked=True, _crm_collaborators_checked=True):
            return super().create(vlist)

    @classmethod
    def write(cls, *args):
        with Transaction().set_context(
                _crm_locked_checked=True, _crm_collaborators_checked=True):
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

    # Fields set by buttons and wizards only

    @classmethod
    def _crm_protected_fields(cls):
        """The fields a user's plain write may not change

        Stage: stage up and down (and the opportunities); ownership, owner
        and collaborators: claim, release, reassign and collaborators; and
        every stored field the views show read-only (VIP state: approve and
        reject; last contact: the follow-ups; the normalised keys…).
        """
        return (readonly_fields(cls)
            | {'crm_stage', 'crm_ownership', 'crm_owner', 'crm_collaborators'})

    @classmethod
    def _crm_corrected_fields(cls):
        "The protected fields a system administrator may still correct"
        # logged like the buttons' changes: owner history and follow-ups
        return {'crm_stage', 'crm_ownership', 'crm_owner', 'crm_collaborators'}

    @classmethod
    def _crm_check_created(cls, parties):
        """Refuse a user's new customers with what only buttons may set

        The stage, the ownership and the collaborators of a new customer are
        the user's choice, its owner within the user's reach (himself for a
        representative, the team for a supervisor); a VIP waits for its
        approval (PL-23) and the follow-ups set the last contact."""
        for party in parties:
            wrong = set()
            if party.crm_vip_state != cls._crm_vip_state(party.crm_vip):
                wrong.add('crm_vip_state')
            if party.crm_last_contact:
                wrong.add('crm_last_contact')
            if wrong:
                raise ProtectedFieldError(gettext(
                        'telesales_pipeline.msg_field_protected_create',
                        model=cls.__names__()['model'],
                        fields=field_labels(cls, wrong)))
            if (party.crm_stage and party.crm_owner
                    and not cls._crm_may_own(party.crm_owner)):
                raise OwnerAssignError(gettext(
                        'telesales_pipeline.msg_customer_owner_not_allowed',
                        customer=party.rec_name,
                        employee=party.crm_owner.rec_name))

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        if external and mode in {'write', 'delete'}:
            # before any message naming them
            check_visible(cls, parties)
        super().check_modification(
            mode, parties, values=values, external=external)
        if mode == 'write' and external:
            protected = cls._crm_protected_fields()
            if is_administrator():
                protected -= cls._crm_corrected_fields()
            if values.keys() & protected:
                for party in parties:
                    refuse_changes(party, values, protected)
        if mode == 'create' and external:
            cls._crm_check_created(parties)
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
        transaction = Transaction()
        # Checked first, so nothing is removed when one party is refused
        cls.check_modification('delete', parties,
            external=bool(transaction.user and transaction.check_access))
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
    def _crm_check_copy(cls, parties):
        """Refuse a user's copy of customers

        A copy of a pool customer, with its phones, would be the user's
        without a claim (PL-03); administrators may still copy."""
        if is_administrator() or user_in_group('group_telesales_admin'):
            return
        for party in parties:
            if party.crm_stage:
                raise ProtectedFieldError(gettext(
                        'telesales_pipeline.msg_customer_copy',
                        customer=party.rec_name))

    @classmethod
    def copy(cls, parties, default=None):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # copy reads the originals past the record rules
            check_visible(cls, parties)
            cls._crm_check_copy(parties)
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

    @classmethod
    def check_modification(
            cls, mode, collaborators, values=None, external=False):
        super().check_modification(
            mode, collaborators, values=values, external=external)
        # the customer checked them (its crm_collaborators)
        if external and not Transaction().context.get(
                '_crm_collaborators_checked'):
            raise ProtectedFieldError(gettext(
                    'telesales_pipeline.msg_collaborators_direct'))


class PartyAddress(TextCheckMixin, metaclass=PoolMeta):
    __name__ = 'party.address'


class PartyContactMechanism(TextCheckMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'


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
            ('collaborate', "Collaborators"),
            ('edit', "Edit"),
            ], "Action", readonly=True)
    from_ownership = fields.Selection(
        [(None, "")] + OWNERSHIPS, "From Ownership", readonly=True)
    from_owner = fields.Many2One(
        'company.employee', "From Owner", readonly=True)
    to_ownership = fields.Selection(
        [(None, "")] + OWNERSHIPS, "To Ownership", readonly=True)
    to_owner = fields.Many2One('company.employee', "To Owner", readonly=True)
    collaborators = fields.Char(
        "Collaborators", readonly=True,
        help="The collaborators after the change.")

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

    @classmethod
    def check_modification(
            cls, mode, employees, values=None, external=False):
        super().check_modification(
            mode, employees, values=values, external=external)
        # the day's claims are counted by the claims only (PL-03)
        if mode == 'write' and external:
            names = {'crm_claim_date', 'crm_claim_count'}
            if values.keys() & names:
                for employee in employees:
                    refuse_changes(employee, values, names)


class CustomerReassign(CustomerWizardMixin, Wizard):
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


class CustomerCollaborators(CustomerWizardMixin, Wizard):
    __name__ = 'crm.customer.collaborators'
    __string__ = "Customer Collaborators"
    start = StateView('crm.customer.collaborators.start',
        'telesales_pipeline.customer_collaborators_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Save", 'save', 'tryton-ok', default=True),
            ])
    save = StateTransition()

    def default_start(self, fields):
        collaborators = {frozenset(e.id for e in r.crm_collaborators)
            for r in self.records}
        if len(collaborators) == 1:
            return {'employees': sorted(collaborators.pop())}
        return {}

    def transition_save(self):
        Party = Pool().get('party.party')
        Party.crm_set_collaborators(self.records, self.start.employees)
        return 'end'


class CustomerCollaboratorsStart(ModelView):
    __name__ = 'crm.customer.collaborators.start'
    __string__ = "Customer Collaborators"
    employees = fields.Many2Many(
        'company.employee', None, None, "Collaborators",
        domain=[
            ('company', '=', Eval('context', {}).get('company', -1)),
            ],
        help="The colleagues who work on the customers with their owner; "
        "none makes them personal again.")


class CustomerBulk(CustomerWizardMixin, Wizard):
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
