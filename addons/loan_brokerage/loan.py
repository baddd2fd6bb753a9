# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import secrets
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from sql import Null

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSingleton, ModelSQL, ModelView, Workflow, fields)
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, Id, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from telesales_pipeline.access import CustomerDataMixin, check_rules, checking
from .exceptions import (
    ApplicationError, ConfigurationError, DisburseBusyError, DisburseError,
    RepaymentError, SignedChangeError, SignError)

RATE_DIGITS = (6, 4)
# Terms an application keeps once out of draft unless a business admin
# changes them (LN-05); every such change is logged. They decide the money:
# the amount and fee invoiced, and who earns the commission.
GUARDED_FIELDS = [
    'amount', 'signing_date', 'expected_disbursement_date', 'fee_rate',
    'product', 'party', 'employee', 'agent']
# fields nobody changes once the application left draft
FROZEN_FIELDS = ['company']
SIGNED_STATES = ['signed', 'disbursing', 'disbursed', 'repaying', 'closed']
# what a rep enters on a pending repayment, kept once received
RECEIPT_FIELDS = {'received_date', 'received_amount'}
# PostgreSQL: the row is locked by another transaction (FOR UPDATE NOWAIT)
LOCK_NOT_AVAILABLE = '55P03'


def new_channel_key():
    "A random key hiding the ids of the channel lookup rows"
    return secrets.randbelow(2 ** 30 - 1) + 1


def is_loan_admin():
    "Whether the current user belongs to the business-admin group"
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    if Transaction().user == 0:
        return True
    return ModelData.get_id(
        'loan_brokerage', 'group_loan_admin') in User.get_groups()


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Loan Brokerage Configuration"
    __name__ = 'loan.configuration'
    fee_product = fields.Many2One(
        'product.product', "Fee Product",
        domain=[('type', '=', 'service')],
        help="The service invoiced to lenders for the firm's fee.")
    post_fee_invoices = fields.Boolean(
        "Post Fee Invoices",
        help="Post the fee invoice of a disbursement at once, "
        "which also creates the reps' commissions.")

    @classmethod
    def default_post_fee_invoices(cls):
        return True

    @classmethod
    def get_fee_product(cls):
        config = cls(1)
        if not config.fee_product:
            raise ConfigurationError(
                gettext('loan_brokerage.msg_configuration_fee_product'))
        return config.fee_product


class Product(CustomerDataMixin, DeactivableMixin, ModelSQL, ModelView):
    "Financial Product"
    __name__ = 'loan.product'
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code")
    company = fields.Many2One('company.company', "Company", required=True)
    lender = fields.Many2One(
        'party.party', "Lender", required=True,
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The bank or fund that lends and pays the firm's fee.")
    type_ = fields.Selection([
            ('loan', "Loan"),
            ('investment', "Investment"),
            ('asset_management', "Asset Management"),
            ], "Type", required=True)
    term = fields.Integer(
        "Term", required=True, domain=[('term', '>', 0)],
        help="In months.")
    rate = fields.Numeric(
        "Annual Rate", digits=RATE_DIGITS, required=True,
        domain=[('rate', '>=', 0)],
        help="The annual interest rate the customer pays, e.g. 0.0600.")
    fee_rate = fields.Numeric(
        "Fee Rate", digits=RATE_DIGITS, required=True,
        domain=[('fee_rate', '>=', 0), ('fee_rate', '<', 1)],
        help="The part of the disbursed amount the lender pays the firm, "
        "e.g. 0.0200.")
    description = fields.Text("Description")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_type_(cls):
        return 'loan'

    @classmethod
    def default_term(cls):
        return 12

    @classmethod
    def default_rate(cls):
        return Decimal(0)

    @classmethod
    def default_fee_rate(cls):
        return Decimal(0)

    def get_rec_name(self, name):
        if self.code:
            return f'[{self.code}] {self.name}'
        return self.name

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        return [bool_op,
            ('name', operator, operand, *extra),
            ('code', operator, operand, *extra),
            ]


class Application(CustomerDataMixin, Workflow, ModelSQL, ModelView):
    "Loan Application"
    __name__ = 'loan.application'
    _guarded_states = {
        'readonly': (Eval('state') != 'draft') & ~Id(
            'loan_brokerage', 'group_loan_admin').in_(
            Eval('context', {}).get('groups', [])),
        }
    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={'readonly': Eval('state') != 'draft'})
    party = fields.Many2One(
        'party.party', "Customer", required=True,
        states=_guarded_states,
        context={'company': Eval('company', -1)}, depends={'company'})
    product = fields.Many2One(
        'loan.product', "Product", required=True,
        domain=[('company', '=', Eval('company', -1))],
        states=_guarded_states)
    lender = fields.Function(
        fields.Many2One(
            'party.party', "Lender",
            context={'company': Eval('company', -1)}, depends={'company'}),
        'on_change_with_lender')
    employee = fields.Many2One(
        'company.employee', "Rep",
        domain=[('company', '=', Eval('company', -1))],
        states=_guarded_states,
        help="The rep who signed the customer and earns the commission.")
    agent = fields.Many2One(
        'commission.agent', "Commission Agent",
        domain=[
            ('type_', '=', 'agent'),
            ('company', '=', Eval('company', -1)),
            ],
        states=_guarded_states,
        help="Set from the rep's agent selection when signing.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    amount = Monetary(
        "Signed Amount", currency='currency', digits='currency',
        states=_guarded_states)
    signing_date = fields.Date("Signing Date", states=_guarded_states)
    expected_disbursement_date = fields.Date(
        "Expected Disbursement Date", states=_guarded_states)
    fee_rate = fields.Numeric(
        "Fee Rate", digits=RATE_DIGITS, states=_guarded_states,
        help="Copied from the product when signing.")
    disbursements = fields.One2Many(
        'loan.disbursement', 'application', "Disbursements", readonly=True)
    repayments = fields.One2Many(
        'loan.repayment', 'application', "Repayments",
        states={'readonly': ~Eval('state').in_(['disbursed', 'repaying'])})
    changes = fields.One2Many(
        'loan.application.change', 'application', "Changes", readonly=True)
    disbursed_amount = fields.Function(Monetary(
            "Disbursed", currency='currency', digits='currency'),
        'get_amounts')
    fee_amount = fields.Function(Monetary(
            "Fee", currency='currency', digits='currency'), 'get_amounts')
    repaid_amount = fields.Function(Monetary(
            "Repaid", currency='currency', digits='currency'), 'get_amounts')
    state = fields.Selection([
            ('draft', "Draft"),
            ('signed', "Signed"),
            ('disbursing', "Partly Disbursed"),
            ('disbursed', "Disbursed"),
            ('repaying', "Repaying"),
            ('closed', "Closed"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    note = fields.Text("Note")
    channel_key = fields.Integer(
        "Channel Key", readonly=True,
        help="A random number in the ids of the channel lookup rows.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('signing_date', 'DESC NULLS FIRST'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'signed'),
            ('draft', 'cancelled'),
            ('signed', 'cancelled'),
            ('cancelled', 'draft'),
            ('signed', 'disbursing'),
            ('signed', 'disbursed'),
            ('disbursing', 'disbursing'),
            ('disbursing', 'disbursed'),
            ('disbursed', 'repaying'),
            ('disbursed', 'closed'),
            ('repaying', 'closed'),
            }
        cls._buttons.update({
                'sign': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'signed']),
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'cancelled',
                    'depends': ['state'],
                    },
                # the disburse button only shows once signed (LN-04)
                'disburse': {
                    'invisible': ~Eval('state').in_(['signed', 'disbursing']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.id, where=table.channel_key == Null))
        for id_, in cursor.fetchall():
            cursor.execute(*table.update(
                    [table.channel_key], [new_channel_key()],
                    where=table.id == id_))

    @classmethod
    def default_channel_key(cls):
        return new_channel_key()

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_state(cls):
        return 'draft'

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @fields.depends('product')
    def on_change_with_lender(self, name=None):
        return self.product.lender if self.product else None

    @fields.depends('product', 'fee_rate', 'state')
    def on_change_product(self):
        if self.product and self.state in {None, 'draft'}:
            self.fee_rate = self.product.fee_rate

    def get_rec_name(self, name):
        return f'{self.party.rec_name} / {self.product.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        return [bool_op,
            ('party.rec_name', operator, operand, *extra),
            ('product.rec_name', operator, operand, *extra),
            ]

    @classmethod
    def get_amounts(cls, applications, names):
        result = {n: {a.id: Decimal(0) for a in applications} for n in names}
        for application in applications:
            values = {
                'disbursed_amount': sum(
                    (d.amount or Decimal(0)
                        for d in application.disbursements), Decimal(0)),
                # a disbursement has no fee until its invoice is made
                'fee_amount': sum(
                    (d.fee_amount or Decimal(0)
                        for d in application.disbursements), Decimal(0)),
                'repaid_amount': sum(
                    (r.received_amount or Decimal(0)
                        for r in application.repayments
                        if r.state == 'received'), Decimal(0)),
                }
            for name in names:
                result[name][application.id] = values[name]
        return result

    @property
    def remaining_amount(self):
        return (self.amount or Decimal(0)) - self.disbursed_amount

    @classmethod
    def write(cls, *args):
        # the old values, before the write: check_modification refuses the
        # changes of anybody but a business admin
        changes = cls._guarded_changes(args) if is_loan_admin() else []
        actions = iter(args)
        new_product = [a for records, values in zip(actions, actions)
            if 'product' in values
            for a in records if a.state == 'draft'
            and a.product.id != values['product']]
        super().write(*args)
        for application in new_product:
            cls._log_product(application)
        if changes:
            Change = Pool().get('loan.application.change')
            with without_check_access():
                Change.save(changes)
            cls._log_changes(changes)

    @classmethod
    def _guarded_changes(cls, args):
        "The changes of the terms of applications out of draft (LN-05)"
        Change = Pool().get('loan.application.change')
        changes = []
        actions = iter(args)
        for applications, values in zip(actions, actions):
            for application, name in cls._changed_terms(
                    applications, values, GUARDED_FIELDS):
                changes.append(Change.from_values(
                        application, name, getattr(application, name),
                        values[name]))
        return changes

    @classmethod
    def _changed_terms(cls, applications, values, names):
        "Yield (application out of draft, field of names) values change"
        Change = Pool().get('loan.application.change')
        names = [n for n in names if n in values]
        if not names:
            return
        for application in applications:
            if application.state == 'draft':
                continue
            for name in names:
                if not Change.same(getattr(application, name), values[name]):
                    yield application, name

    @classmethod
    def check_modification(cls, mode, applications, values=None,
            external=False):
        super().check_modification(
            mode, applications, values=values, external=external)
        if mode == 'write':
            cls.check_terms(applications, values, external)
        elif mode == 'delete':
            cls.check_delete(applications, external)

    @classmethod
    def check_terms(cls, applications, values, external=False):
        "Only a business admin changes the terms once out of draft (LN-05)"
        refused = [('msg_application_frozen', a, n) for a, n in
            cls._changed_terms(applications, values, FROZEN_FIELDS)]
        if not is_loan_admin():
            refused += [('msg_application_signed_readonly', a, n) for a, n in
                cls._changed_terms(applications, values, GUARDED_FIELDS)]
        for message, application, name in refused[:1]:
            if external or checking():
                # name nothing the caller may not see
                check_rules(cls, [application], 'write')
            raise SignedChangeError(gettext(
                    'loan_brokerage.' + message,
                    application=application.rec_name,
                    field=cls.__names__(name)['field']))

    @classmethod
    def check_delete(cls, applications, external=False):
        for application in applications:
            if application.state not in {'draft', 'cancelled'}:
                if external or checking():
                    check_rules(cls, [application], 'delete')
                raise ApplicationError(gettext(
                        'loan_brokerage.msg_application_delete_signed',
                        application=application.rec_name))

    @classmethod
    def _log_changes(cls, changes):
        "Log the accepted changes of signed terms as follow-ups (PL-07)"
        for change in changes:
            cls._followup(change.application, gettext(
                    'loan_brokerage.msg_followup_changed',
                    application=change.application.rec_name,
                    field=change.field_label,
                    old=change.old_value, new=change.new_value))

    @classmethod
    def _followup(cls, application, content, origin=None):
        Followup = Pool().get('crm.followup')
        return Followup.log(
            application.party, content, method='system',
            origin=origin or application,
            employee=Transaction().context.get('employee'))

    @classmethod
    def create(cls, vlist):
        applications = super().create(vlist)
        for application in applications:
            cls._log_product(application)
        return applications

    @classmethod
    def _log_product(cls, application):
        cls._followup(application, gettext(
                'loan_brokerage.msg_followup_product',
                product=application.product.rec_name,
                lender=application.product.lender.rec_name,
                amount=application.amount or ''))

    @classmethod
    def copy(cls, applications, default=None):
        default = default.copy() if default else {}
        for name in ['disbursements', 'repayments', 'changes', 'signing_date',
                'agent']:
            default.setdefault(name, None)
        default.setdefault('channel_key', lambda data: new_channel_key())
        return super().copy(applications, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, applications):
        for application in applications:
            cls._followup(application, gettext(
                    'loan_brokerage.msg_followup_cancelled',
                    application=application.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, applications):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('signed')
    def sign(cls, applications):
        pool = Pool()
        Date = pool.get('ir.date')
        for application in applications:
            if not application.amount or application.amount <= 0:
                raise SignError(gettext(
                        'loan_brokerage.msg_application_sign_amount',
                        application=application.rec_name))
            if not application.employee:
                raise SignError(gettext(
                        'loan_brokerage.msg_application_sign_employee',
                        application=application.rec_name))
        to_save = []
        for application in applications:
            if not application.signing_date:
                with Transaction().set_context(
                        company=application.company.id):
                    application.signing_date = Date.today()
            if application.fee_rate is None:
                application.fee_rate = application.product.fee_rate
            if not application.agent:
                application.agent = application.find_agent()
            to_save.append(application)
        cls.save(to_save)
        for application in applications:
            cls._followup(application, gettext(
                    'loan_brokerage.msg_followup_signed',
                    application=application.rec_name,
                    amount=application.amount,
                    date=application.signing_date))

    def _get_agent_pattern(self):
        return {
            'date': self.signing_date,
            'company': self.company.id,
            'party': self.party.id,
            'employee': self.employee.id if self.employee else None,
            }

    def find_agent(self):
        """Return the commission agent of the rep

        It uses the host's agent selections (employee, customer, dates) and
        falls back to the agent whose party is the rep's party."""
        pool = Pool()
        Selection = pool.get('commission.agent.selection')
        Agent = pool.get('commission.agent')
        pattern = self._get_agent_pattern()
        for selection in Selection.search([
                    ('agent.company', '=', self.company.id),
                    ('party', 'in', [None, self.party.id]),
                    ('employee', 'in', [None, pattern['employee']]),
                    ('agent.active', '=', True),
                    ]):
            if selection.match(pattern):
                return selection.agent
        if self.employee:
            agents = Agent.search([
                    ('party', '=', self.employee.party.id),
                    ('type_', '=', 'agent'),
                    ('company', '=', self.company.id),
                    ], limit=1)
            if agents:
                return agents[0]

    @classmethod
    @ModelView.button_action('loan_brokerage.wizard_disburse')
    def disburse(cls, applications):
        pass

    def check_disbursable(self, amount, remaining=None):
        if remaining is None:
            remaining = self.remaining_amount
        if self.state not in {'signed', 'disbursing'}:
            raise DisburseError(gettext(
                    'loan_brokerage.msg_disburse_not_signed',
                    application=self.rec_name))
        if amount is None or amount <= 0:
            raise DisburseError(gettext(
                    'loan_brokerage.msg_disburse_amount_positive',
                    application=self.rec_name))
        if amount > remaining:
            raise DisburseError(gettext(
                    'loan_brokerage.msg_disburse_amount_exceeds',
                    application=self.rec_name,
                    amount=amount, remaining=remaining))

    @classmethod
    def add_disbursement(cls, application, amount, date):
        "Disburse amount on date; return the disbursement"
        disbursement, = cls.add_disbursements([(application, amount, date)])
        return disbursement

    @classmethod
    def add_disbursements(cls, items):
        """Disburse each (application, amount, date): the disbursements,
        their fee invoices to the lenders (which the host turns into the
        reps' commissions when posted), the states and, once fully
        disbursed, the repayment schedules."""
        pool = Pool()
        Disbursement = pool.get('loan.disbursement')
        cls.lock_disbursing(list({a for a, _, _ in items}))
        disbursements, remaining = [], {}
        for application, amount, date in items:
            application = cls(application.id)
            if application.id not in remaining:
                remaining[application.id] = application.remaining_amount
            application.check_disbursable(amount, remaining[application.id])
            remaining[application.id] -= amount
            disbursements.append(Disbursement(
                    application=application, amount=amount, date=date))
        Disbursement.save(disbursements)
        Disbursement.create_fee_invoices(disbursements)
        applications = cls.browse(list(remaining))
        full = [a for a in applications if not remaining[a.id]]
        cls.disbursed(full)
        cls.disbursing([a for a in applications if remaining[a.id]])
        for application in full:
            application.create_schedule()
        for disbursement in disbursements:
            cls._log_disbursement(disbursement)
        return disbursements

    @classmethod
    def lock_disbursing(cls, applications):
        """Serialise concurrent disbursements of the same applications

        ``FOR UPDATE NOWAIT`` in the running transaction: the loser of a race
        is told to try again at once. (``ModelSQL.lock`` restarts the
        transaction to take the lock first; when that keeps failing the
        dispatcher answers HTTP 503 with no message.) A row changed by a
        transaction committed since this one started raises a serialisation
        failure, which the dispatcher retries with fresh data."""
        transaction = Transaction()
        # the transaction cannot read anything once the lock failed
        busy = gettext('loan_brokerage.msg_disburse_busy',
            application=', '.join(a.rec_name for a in applications))
        try:
            transaction.database.lock_records(
                transaction.connection, cls._table,
                [a.id for a in applications])
        except backend.DatabaseOperationalError as exception:
            if getattr(exception, 'sqlstate', None) != LOCK_NOT_AVAILABLE:
                raise
            raise DisburseBusyError(busy) from exception

    @classmethod
    def _log_disbursement(cls, disbursement):
        "Log the disbursement as a follow-up (PL-07)"
        cls._followup(disbursement.application, gettext(
                'loan_brokerage.msg_followup_disbursed',
                application=disbursement.application.rec_name,
                amount=disbursement.amount, date=disbursement.date,
                fee=disbursement.fee_amount), origin=disbursement)

    @classmethod
    @Workflow.transition('disbursing')
    def disbursing(cls, applications):
        pass

    @classmethod
    @Workflow.transition('disbursed')
    def disbursed(cls, applications):
        pass

    @classmethod
    @Workflow.transition('repaying')
    def repaying(cls, applications):
        pass

    @classmethod
    @Workflow.transition('closed')
    def close(cls, applications):
        pass

    def create_schedule(self):
        "Create the monthly repayment schedule (equal principal)"
        pool = Pool()
        Repayment = pool.get('loan.repayment')
        if self.repayments:
            return []
        start = max(d.date for d in self.disbursements)
        term = self.product.term
        rate = self.product.rate or Decimal(0)
        round_ = self.currency.round
        outstanding = self.amount
        principal = round_(self.amount / term)
        lines = []
        for number in range(1, term + 1):
            if number == term:
                principal = outstanding
            interest = round_(outstanding * rate / 12)
            lines.append(Repayment(
                    application=self, number=number,
                    due_date=start + relativedelta(months=number),
                    principal=principal, interest=interest))
            outstanding -= principal
        Repayment.save(lines)
        return lines

    @classmethod
    def update_repayment_state(cls, applications):
        to_repaying, to_close = [], []
        for application in applications:
            if application.state not in {'disbursed', 'repaying'}:
                continue
            repayments = application.repayments
            if repayments and all(r.state == 'received' for r in repayments):
                to_close.append(application)
            elif (application.state == 'disbursed'
                    and any(r.state == 'received' for r in repayments)):
                to_repaying.append(application)
        if to_repaying:
            cls.repaying(to_repaying)
        if to_close:
            cls.close(to_close)


class ApplicationChange(CustomerDataMixin, ModelSQL, ModelView):
    "Loan Application Change"
    __name__ = 'loan.application.change'
    application = fields.Many2One(
        'loan.application', "Application", required=True,
        ondelete='CASCADE')
    date = fields.DateTime("Date", required=True, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    field = fields.Char("Field", readonly=True, required=True)
    field_label = fields.Char("Field Label", readonly=True)
    old_value = fields.Char("Old Value", readonly=True)
    new_value = fields.Char("New Value", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_date(cls):
        return dt.datetime.now()

    @staticmethod
    def _plain(value):
        if isinstance(value, ModelSQL):
            return value.id
        return value

    @classmethod
    def same(cls, old, new):
        return cls._plain(old) == cls._plain(new)

    @classmethod
    def _text(cls, Model, name, value):
        field = Model._fields[name]
        if value is None:
            return ''
        if field._type == 'many2one':
            Target = Pool().get(field.model_name)
            return Target(cls._plain(value)).rec_name
        return str(value)

    @classmethod
    def from_values(cls, application, name, old, new):
        Application = application.__class__
        return cls(
            application=application,
            user=Transaction().user,
            field=name,
            field_label=Application.__names__(name)['field'],
            old_value=cls._text(Application, name, old),
            new_value=cls._text(Application, name, new))


# Made by the Disburse wizard only: its model access gives no one create or
# write, so it has no ``__access__`` to the application (whose write access
# would grant both); the application's visibility is repeated in its rules.
class Disbursement(CustomerDataMixin, ModelSQL, ModelView):
    "Loan Disbursement"
    __name__ = 'loan.disbursement'
    application = fields.Many2One(
        'loan.application', "Application", required=True, readonly=True,
        ondelete='RESTRICT')
    company = fields.Function(
        fields.Many2One('company.company', "Company"),
        'on_change_with_company', searcher='search_application_field')
    party = fields.Function(
        fields.Many2One(
            'party.party', "Customer",
            context={'company': Eval('company', -1)}, depends={'company'}),
        'on_change_with_party', searcher='search_application_field')
    product = fields.Function(
        fields.Many2One('loan.product', "Product"),
        'on_change_with_product', searcher='search_application_field')
    lender = fields.Function(
        fields.Many2One(
            'party.party', "Lender",
            context={'company': Eval('company', -1)}, depends={'company'}),
        'on_change_with_lender', searcher='search_lender')
    employee = fields.Function(
        fields.Many2One('company.employee', "Rep"),
        'on_change_with_employee', searcher='search_application_field')
    agent = fields.Function(
        fields.Many2One('commission.agent', "Commission Agent"),
        'on_change_with_agent', searcher='search_application_field')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    date = fields.Date("Date", required=True, readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True)
    fee_rate = fields.Numeric(
        "Fee Rate", digits=RATE_DIGITS, readonly=True)
    fee_amount = Monetary(
        "Fee", currency='currency', digits='currency', readonly=True)
    fee_invoice = fields.Many2One(
        'account.invoice', "Fee Invoice", readonly=True, ondelete='RESTRICT')
    fee_invoice_state = fields.Function(fields.Selection(
            'get_invoice_states', "Fee Invoice State"),
        'get_fee_invoice_state', searcher='search_fee_invoice_state')
    commission_amount = fields.Function(Monetary(
            "Commission", currency='currency', digits='currency'),
        'get_commission')
    commission_state = fields.Function(fields.Selection([
                ('', ""),
                ('pending', "To Invoice"),
                ('invoiced', "Invoiced"),
                ('paid', "Paid"),
                ('cancelled', "Cancelled"),
                ], "Commission State"), 'get_commission')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @fields.depends('application', '_parent_application.company')
    def on_change_with_company(self, name=None):
        return self.application.company if self.application else None

    @fields.depends('application', '_parent_application.party')
    def on_change_with_party(self, name=None):
        return self.application.party if self.application else None

    @fields.depends('application', '_parent_application.product')
    def on_change_with_product(self, name=None):
        return self.application.product if self.application else None

    @fields.depends('application', '_parent_application.product')
    def on_change_with_lender(self, name=None):
        return self.application.product.lender if self.application else None

    @fields.depends('application', '_parent_application.employee')
    def on_change_with_employee(self, name=None):
        return self.application.employee if self.application else None

    @fields.depends('application', '_parent_application.agent')
    def on_change_with_agent(self, name=None):
        return self.application.agent if self.application else None

    @fields.depends('application', '_parent_application.company')
    def on_change_with_currency(self, name=None):
        if self.application and self.application.company:
            return self.application.company.currency

    @classmethod
    def search_application_field(cls, name, clause):
        return [('application.' + clause[0], *clause[1:])]

    @classmethod
    def search_lender(cls, name, clause):
        return [('application.product.lender' + clause[0][len(name):],
                *clause[1:])]

    @classmethod
    def get_invoice_states(cls):
        Invoice = Pool().get('account.invoice')
        return [('', '')] + Invoice.fields_get(['state'])['state']['selection']

    def get_fee_invoice_state(self, name):
        return self.fee_invoice.state if self.fee_invoice else ''

    @classmethod
    def search_fee_invoice_state(cls, name, clause):
        return [('fee_invoice.state', *clause[1:])]

    @classmethod
    def get_commission(cls, disbursements, names):
        "Commission amount and state from the host commissions of the fee"
        pool = Pool()
        Commission = pool.get('commission')
        by_invoice = defaultdict(list)
        invoice_ids = [d.fee_invoice.id for d in disbursements
            if d.fee_invoice]
        # the commission of a disbursement the user sees is part of it,
        # whosever agent earns it
        with without_check_access():
            for sub_ids in grouped_slice(invoice_ids, 1000):
                for commission in Commission.search([
                            ('origin.invoice', 'in', list(sub_ids),
                                'account.invoice.line'),
                            ]):
                    by_invoice[commission.origin.invoice.id].append(
                        commission)
        amounts, states = {}, {}
        for disbursement in disbursements:
            commissions = by_invoice.get(
                disbursement.fee_invoice.id if disbursement.fee_invoice
                else None, [])
            amounts[disbursement.id] = disbursement.currency.round(sum(
                    (c.amount for c in commissions), Decimal(0)))
            states[disbursement.id] = cls._commission_state(commissions)
        result = {}
        if 'commission_amount' in names:
            result['commission_amount'] = amounts
        if 'commission_state' in names:
            result['commission_state'] = states
        return result

    @staticmethod
    def _commission_state(commissions):
        if not commissions:
            return ''
        invoice_states = {c.invoice_state for c in commissions}
        if invoice_states == {'paid'}:
            return 'paid'
        elif '' in invoice_states:
            return 'pending'
        elif invoice_states == {'cancelled'}:
            return 'cancelled'
        return 'invoiced'

    def compute_fee(self):
        rate = self.application.fee_rate
        if rate is None:
            rate = self.application.product.fee_rate
        fee = (self.amount * rate).quantize(
            Decimal(1) / 10 ** self.currency.digits, rounding=ROUND_HALF_UP)
        return rate, fee

    @classmethod
    def create_fee_invoices(cls, disbursements):
        "Invoice the firm's fee of each disbursement to its lender (LN-06)"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Configuration = pool.get('loan.configuration')
        invoices = []
        for disbursement in disbursements:
            disbursement.fee_rate, disbursement.fee_amount = (
                disbursement.compute_fee())
            if disbursement.fee_amount and not disbursement.fee_invoice:
                disbursement.fee_invoice = disbursement._get_fee_invoice()
                invoices.append(disbursement.fee_invoice)
        Invoice.save(invoices)
        cls.save(disbursements)
        if invoices:
            Invoice.update_taxes(invoices)
            if Configuration(1).post_fee_invoices:
                # posting numbers the invoice from the fiscal year's strict
                # sequence, a lock every posting of the company shares: it
                # is done by a task after the commit (and by the cron for
                # any left over), so that concurrent disbursements do not
                # fail on it
                cls.__queue__.post_fee_invoices(disbursements)
        return invoices

    @classmethod
    def post_fee_invoices(cls, disbursements=None):
        """Post the fee invoices still in draft: those of disbursements and
        any other left by an earlier run (queued task and cron)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Configuration = pool.get('loan.configuration')
        if not Configuration(1).post_fee_invoices:
            return
        domain = [
            ('fee_invoice.state', 'in', ['draft', 'validated']),
            # never numbered: not one an accountant took back to correct
            ('fee_invoice.number', '=', None),
            ]
        if disbursements is not None:
            domain.append(('id', 'in', [d.id for d in disbursements]))
        invoices = list({d.fee_invoice: None for d in cls.search(
                    domain, order=[('date', 'ASC'), ('id', 'ASC')])})
        if invoices:
            Invoice.post(invoices)

    def _get_fee_invoice(self):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Line = pool.get('account.invoice.line')
        Configuration = pool.get('loan.configuration')
        application = self.application
        lender = application.product.lender
        invoice = Invoice(
            company=application.company,
            type='out',
            party=lender,
            invoice_date=self.date,
            currency=application.company.currency,
            agent=application.agent,
            description=gettext(
                'loan_brokerage.msg_fee_invoice_description',
                application=application.rec_name))
        invoice.on_change_type()
        invoice.on_change_party()
        line = Line(
            invoice=invoice,
            company=application.company,
            currency=application.company.currency,
            type='line',
            product=Configuration.get_fee_product().id,
            quantity=1,
            origin=self)
        line.on_change_product()
        line.unit_price = self.fee_amount
        line.description = gettext(
            'loan_brokerage.msg_fee_line_description',
            customer=application.party.rec_name,
            product=application.product.rec_name,
            amount=self.amount, rate=self.fee_rate)
        invoice.lines = [line]
        return invoice

    def get_rec_name(self, name):
        return f'{self.application.rec_name} @ {self.date}'

    @classmethod
    def delete(cls, disbursements):
        raise DisburseError(gettext('loan_brokerage.msg_disbursement_delete'))


class Repayment(CustomerDataMixin, ModelSQL, ModelView):
    "Loan Repayment"
    __name__ = 'loan.repayment'
    application = fields.Many2One(
        'loan.application', "Application", required=True,
        ondelete='CASCADE')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    number = fields.Integer("Number", readonly=True)
    due_date = fields.Date("Due Date", required=True, readonly=True)
    principal = Monetary(
        "Principal", currency='currency', digits='currency', readonly=True)
    interest = Monetary(
        "Interest", currency='currency', digits='currency', readonly=True)
    amount = fields.Function(Monetary(
            "Amount Due", currency='currency', digits='currency'),
        'get_amount')
    received_date = fields.Date(
        "Received Date",
        states={'readonly': Eval('state') == 'received'})
    received_amount = Monetary(
        "Received Amount", currency='currency', digits='currency',
        states={'readonly': Eval('state') == 'received'})
    state = fields.Selection([
            ('pending', "Pending"),
            ('received', "Received"),
            ], "State", readonly=True, required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('application', 'ASC'), ('number', 'ASC'), ('id', 'ASC')]
        cls._buttons.update({
                'receive': {
                    'invisible': Eval('state') != 'pending',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'pending'

    @fields.depends('application', '_parent_application.company')
    def on_change_with_currency(self, name=None):
        if self.application and self.application.company:
            return self.application.company.currency

    def get_amount(self, name):
        return (self.principal or Decimal(0)) + (self.interest or Decimal(0))

    @classmethod
    def check_modification(cls, mode, repayments, values=None,
            external=False):
        super().check_modification(
            mode, repayments, values=values, external=external)
        if mode == 'write' and values.keys() & RECEIPT_FIELDS:
            for repayment in repayments:
                if repayment.state == 'received':
                    if external or checking():
                        check_rules(cls, [repayment], 'write')
                    raise RepaymentError(gettext(
                            'loan_brokerage.msg_repayment_received_readonly',
                            application=repayment.application.rec_name,
                            number=repayment.number))

    @classmethod
    @ModelView.button
    def receive(cls, repayments):
        "Mark repayments received (the full amount today unless entered)"
        pool = Pool()
        Date = pool.get('ir.date')
        Application = pool.get('loan.application')
        today = Date.today()
        for repayment in repayments:
            if repayment.application.state not in {'disbursed', 'repaying'}:
                raise RepaymentError(gettext(
                        'loan_brokerage.msg_repayment_not_disbursed',
                        application=repayment.application.rec_name))
            if repayment.received_amount is None:
                repayment.received_amount = repayment.amount
            if repayment.received_amount <= 0:
                raise RepaymentError(gettext(
                        'loan_brokerage.msg_repayment_amount_positive'))
            repayment.received_date = repayment.received_date or today
            repayment.state = 'received'
        cls.save(repayments)
        Application.update_repayment_state(
            list({r.application for r in repayments}))


class DisburseStart(ModelView):
    "Disburse Loan"
    __name__ = 'loan.application.disburse.start'
    application = fields.Many2One(
        'loan.application', "Application", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    remaining = Monetary(
        "Remaining", currency='currency', digits='currency', readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        domain=[
            ('amount', '>', 0),
            If(Bool(Eval('remaining')),
                ('amount', '<=', Eval('remaining')), ()),
            ])
    date = fields.Date("Date", required=True)


class Disburse(Wizard):
    "Disburse Loan"
    __name__ = 'loan.application.disburse'
    start = StateView(
        'loan.application.disburse.start',
        'loan_brokerage.disburse_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Disburse", 'disburse', 'tryton-ok', default=True),
            ])
    disburse = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Date = pool.get('ir.date')
        application = self.record
        application.check_disbursable(application.remaining_amount)
        return {
            'application': application.id,
            'currency': application.currency.id,
            'remaining': application.remaining_amount,
            'amount': application.remaining_amount,
            'date': Date.today(),
            }

    def transition_disburse(self):
        self.model.add_disbursement(
            self.record, self.start.amount, self.start.date)
        return 'end'


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('loan.disbursement|post_fee_invoices', "Post Fee Invoices"))
