# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Customers: the CRM fields and actions of party.party

Stages (PL-01), ownership (PL-02), claim/release with daily quota (PL-03),
stage up/down (PL-04), markers (PL-05), owner-change history (PL-08),
lists (PL-22), VIP approval (PL-23), delete rules (PL-21).
"""
import datetime

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, Id, If
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .customer import (
    CustomerWizardMixin, DEFAULT_MARKERS, LOCKED_FIELDS, LOCKED_STAGES,
    MARKERS, OWNERSHIPS, STAGES, STAGE_MARKERS, user_in_group)
from .exceptions import MarkerError, OwnershipError, ProtectedFieldError
from .guard import TextCheckMixin, refuse_changes
from .ownership import PartyOwnershipMixin
from .protection import PartyProtectionMixin
from .stage import PartyStageMixin


class Party(
        PartyProtectionMixin, PartyOwnershipMixin, PartyStageMixin,
        TextCheckMixin, metaclass=PoolMeta):
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
        cls._buttons.update(cls._crm_buttons())

    @classmethod
    def _crm_buttons(cls):
        "The states of the CRM buttons of the customer form"
        return {
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
            }

    @classmethod
    def crm_summaries(cls, parties, followups=3, reminders=2):
        """The customers at a glance, for other modules (the PBX screen
        pop): {party id: {'stage': label, 'owner': name, 'followups':
        [(date, content)], 'reminders': [date]}} with the last
        ``followups`` follow-ups and the next ``reminders`` open callbacks
        of each party, read for all of them at once"""
        Followup = Pool().get('crm.followup')
        stages = dict(cls.fields_get(['crm_stage'])['crm_stage']['selection'])
        ids = [p.id for p in parties]
        summaries = {r['id']: {
                'stage': stages.get(r['crm_stage']),
                'owner': (r['crm_owner.'] or {}).get('rec_name'),
                'followups': [], 'reminders': [],
                } for r in cls.read(ids, ['crm_stage', 'crm_owner.rec_name'])}
        for row in Followup.search_read([('party', 'in', ids)],
                order=[('date', 'DESC'), ('id', 'DESC')],
                fields_names=['party', 'date', 'content']):
            lines = summaries[row['party']]['followups']
            if len(lines) < followups:
                lines.append((row['date'], row['content']))
        for row in Followup.search_read([('party', 'in', ids),
                    ('reminder_state', '=', 'open'),
                    ('next_callback', '!=', None)],
                order=[('next_callback', 'ASC'), ('id', 'ASC')],
                fields_names=['party', 'next_callback']):
            dates = summaries[row['party']]['reminders']
            if len(dates) < reminders:
                dates.append(row['next_callback'])
        return summaries

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
