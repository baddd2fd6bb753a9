# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal

from sql import Null

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSingleton, ModelSQL, ModelView, Workflow, fields)
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval, Id
from trytond.transaction import Transaction, without_check_access

from telesales_pipeline.access import CustomerDataMixin, check_rules, checking
from .common import (
    FROZEN_FIELDS, GUARDED_FIELDS, RATE_DIGITS, is_loan_admin, new_channel_key)
from .disbursement import ApplicationDisbursementMixin
from .exceptions import (
    ApplicationError, ConfigurationError, SignedChangeError, SignError)
from .repayment import ApplicationRepaymentMixin


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


class Application(
        ApplicationDisbursementMixin, ApplicationRepaymentMixin,
        CustomerDataMixin, Workflow, ModelSQL, ModelView):
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


