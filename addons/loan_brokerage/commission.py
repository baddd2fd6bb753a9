# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sql import Literal, Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import DateTrunc

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from telesales_pipeline.access import CustomerDataMixin, check_rules, checking
from .exceptions import CommissionError

MONEY_FIELDS = {'fee_amount', 'amount', 'invoiced_amount', 'paid_amount'}


class Agent(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'commission.agent'
    employee = fields.Function(
        fields.Many2One('company.employee', "Employee",
            help="The employee of the company whose party is the agent."),
        'get_employee', searcher='search_employee')

    @classmethod
    def get_employee(cls, agents, name):
        pool = Pool()
        Employee = pool.get('company.employee')
        employees = Employee.search([
                ('party', 'in', list({a.party.id for a in agents})),
                ], order=[('id', 'ASC')])
        by_party = {}
        for employee in employees:
            by_party.setdefault(
                (employee.party.id, employee.company.id), employee.id)
        return {a.id: by_party.get((a.party.id, a.company.id))
            for a in agents}

    @classmethod
    def search_employee(cls, name, clause):
        "The agents whose party is that of the employees of clause"
        pool = Pool()
        Employee = pool.get('company.employee')
        agent = cls.__table__()
        employee = Employee.__table__()
        _, operator, value, *extra = clause
        nested = clause[0][len(name) + 1:]
        if operator == 'where' and not nested:
            domain = value
        elif operator.endswith(('child_of', 'parent_of')) and not nested:
            # 'id' has no tree operators: the parent field pointing to its
            # own model gives the same records
            parent, = extra
            domain = [(parent, operator, value, parent)]
        else:
            domain = [(nested or 'id', operator, value, *extra)]
        employees = Employee.search(domain, order=[], query=True)
        return [('id', 'in', agent.join(employee, condition=(
                        (employee.party == agent.party)
                        & (employee.company == agent.company))
                    ).select(agent.id, where=employee.id.in_(employees)))]


class Commission(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'commission'

    @classmethod
    def check_modification(cls, mode, commissions, values=None,
            external=False):
        "The commissions of loan fees change only with their fee invoice"
        super().check_modification(
            mode, commissions, values=values, external=external)
        if not (external or checking()):
            return
        for commission in commissions:
            if commission.is_loan_fee():
                check_rules(cls, [commission], mode)
                raise CommissionError(gettext(
                        'loan_brokerage.msg_commission_loan_fee',
                        invoice=commission.origin.invoice.rec_name))

    def is_loan_fee(self):
        "Whether the commission was computed on a loan fee invoice line"
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        Disbursement = pool.get('loan.disbursement')
        return (isinstance(self.origin, InvoiceLine)
            and isinstance(self.origin.origin, Disbursement))


class CommissionStatement(CustomerDataMixin, ModelSQL, ModelView):
    "Rep Commission Statement"
    __name__ = 'loan.commission.statement'
    company = fields.Many2One('company.company', "Company")
    agent = fields.Many2One('commission.agent', "Commission Agent")
    employee = fields.Many2One('company.employee', "Rep")
    period = fields.Date("Period", help="The first day of the month.")
    currency = fields.Many2One('currency.currency', "Currency")
    number = fields.Integer("Commissions")
    fee_amount = Monetary(
        "Fee", currency='currency', digits='currency',
        help="The firm's fees the commissions were computed on.")
    amount = Monetary("Commission", currency='currency', digits='currency')
    invoiced_amount = Monetary(
        "Invoiced", currency='currency', digits='currency')
    paid_amount = Monetary("Paid", currency='currency', digits='currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('period', 'DESC'), ('employee', 'ASC'), ('id', 'DESC')]

    @classmethod
    def read(cls, ids, fields_names):
        # SQLite sums numerics as floats, PostgreSQL with the scale of
        # the commission amounts
        rows = super().read(ids, fields_names)
        money = [n for n in fields_names if n in MONEY_FIELDS]
        if money:
            cent = Decimal('0.01')
            for row in rows:
                for name in money:
                    if row[name] is not None:
                        row[name] = Decimal(str(row[name])).quantize(cent)
        return rows

    @classmethod
    def table_query(cls):
        pool = Pool()
        Commission = pool.get('commission')
        Agent = pool.get('commission.agent')
        Employee = pool.get('company.employee')
        Company = pool.get('company.company')
        InvoiceLine = pool.get('account.invoice.line')
        Invoice = pool.get('account.invoice')
        commission = Commission.__table__()
        agent = Agent.__table__()
        employee = Employee.__table__()
        company = Company.__table__()
        line = InvoiceLine.__table__()
        invoice = Invoice.__table__()
        context = Transaction().context

        date = Coalesce(commission.date, commission.create_date)
        period = cls.period.sql_cast(DateTrunc('month', date))
        where = agent.type_ == 'agent'
        if context.get('from_date'):
            where &= date >= context['from_date']
        if context.get('to_date'):
            where &= date < context['to_date'] + relativedelta(days=1)
        zero = Literal(0)
        return (commission
            .join(agent, condition=commission.agent == agent.id)
            .join(company, condition=agent.company == company.id)
            .join(employee, 'LEFT', condition=(
                    (employee.party == agent.party)
                    & (employee.company == agent.company)))
            .join(line, 'LEFT', condition=commission.invoice_line == line.id)
            .join(invoice, 'LEFT', condition=line.invoice == invoice.id)
            .select(
                Min(commission.id).as_('id'),
                agent.company.as_('company'),
                commission.agent.as_('agent'),
                employee.id.as_('employee'),
                period.as_('period'),
                company.currency.as_('currency'),
                Count(commission.id).as_('number'),
                Sum(Coalesce(commission.base_amount, zero)).as_('fee_amount'),
                Sum(commission.amount).as_('amount'),
                Sum(Case((commission.invoice_line != Null, commission.amount),
                        else_=zero)).as_('invoiced_amount'),
                Sum(Case((invoice.state == 'paid', commission.amount),
                        else_=zero)).as_('paid_amount'),
                where=where,
                # the alias: PostgreSQL does not match the parametrised
                # DATE_TRUNC of the select list
                group_by=[agent.company, commission.agent, employee.id,
                    period.as_('period'), company.currency]))


class StatementContext(ModelView):
    "Loan Statement Context"
    __name__ = 'loan.statement.context'
    from_date = fields.Date(
        "From Date",
        domain=[If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')), ())])
    to_date = fields.Date(
        "To Date",
        domain=[If(Eval('from_date') & Eval('to_date'),
                ('to_date', '>=', Eval('from_date')), ())])

    @classmethod
    def default_from_date(cls):
        context = Transaction().context
        if 'from_date' in context:
            return context['from_date']
        return Pool().get('ir.date').today().replace(day=1)

    @classmethod
    def default_to_date(cls):
        return Transaction().context.get('to_date')
