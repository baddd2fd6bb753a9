# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Repayments: the schedule of a disbursed loan and its receipts"
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval

from telesales_pipeline.access import CustomerDataMixin, check_rules, checking
from .common import RECEIPT_FIELDS
from .exceptions import RepaymentError


class ApplicationRepaymentMixin:
    "What a loan application does with its repayments"
    __slots__ = ()

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
