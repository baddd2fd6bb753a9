# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Customers: the CRM fields of party.party (PL-01, PL-02, PL-05, PL-22)"
from trytond.model import Index, ModelSQL, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction

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


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    crm_stage = fields.Selection(
        [(None, "")] + STAGES, "Stage", sort=False,
        help="Where the customer stands in the sales pipeline.\n"
        "Empty for parties that are not telesales customers.")
    crm_ownership = fields.Selection(
        [(None, "")] + OWNERSHIPS, "Ownership", sort=False,
        states={
            'required': Bool(Eval('crm_stage')),
            })
    crm_owner = fields.Many2One(
        'company.employee', "Owner", ondelete='RESTRICT',
        states={
            'required': Eval('crm_ownership', '').in_(
                ['personal', 'collaborative']),
            'invisible': Eval('crm_ownership') == 'shared',
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

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t,
                    (t.crm_stage, Index.Equality(cardinality='low')),
                    (t.crm_next_callback, Index.Range())),
                Index(t, (t.crm_owner, Index.Range())),
                Index(t,
                    (t.crm_ownership, Index.Equality(cardinality='low')),
                    where=t.crm_ownership == 'shared'),
                })

    @classmethod
    def default_crm_stage(cls):
        if Transaction().context.get('crm_customer'):
            return 'reserve'

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

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('crm_ownership') == 'shared':
            values['crm_owner'] = None
        return values

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('crm_followups', None)
        default.setdefault('crm_last_contact', None)
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
