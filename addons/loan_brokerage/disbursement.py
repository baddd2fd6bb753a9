# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Disbursements: paying out a signed loan, its fee invoice and its posting"
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from telesales_pipeline.access import CustomerDataMixin
from .common import LOCK_NOT_AVAILABLE, RATE_DIGITS
from .exceptions import DisburseBusyError, DisburseError


class ApplicationDisbursementMixin:
    "What a loan application does to be disbursed"
    __slots__ = ()

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
