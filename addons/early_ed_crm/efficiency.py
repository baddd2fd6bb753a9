# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Consultant sales efficiency (ED-09)"

from sql import Cast, Literal, Null, Union
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import ToChar

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool

from .access import OnChangeScopeMixin


class ConsultantEfficiency(OnChangeScopeMixin, ModelSQL, ModelView):
    __name__ = 'early_ed.consultant.efficiency'
    __string__ = "Consultant Efficiency"
    employee = fields.Many2One('company.employee', "Consultant",
        readonly=True)
    month = fields.Char("Month", readonly=True)
    followups = fields.Integer("Follow-ups", readonly=True)
    visits = fields.Integer("Visits", readonly=True)
    customers = fields.Integer("Customers Followed", readonly=True)
    signings = fields.Integer("Contracts Signed", readonly=True)
    revenue = fields.Numeric("Revenue", digits=(16, 2), readonly=True)
    conversion_rate = fields.Function(
        fields.Float("Conversion Rate", digits=(16, 4)),
        'get_conversion_rate')
    conversion_cycle = fields.Function(
        fields.Float("Conversion Cycle (days)", digits=(16, 1)),
        'get_conversion_cycle')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'DESC'), ('employee', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Followup = pool.get('crm.followup')
        Method = pool.get('crm.followup.method')
        Sale = pool.get('sale.sale')
        f, m, s = Followup.__table__(), Method.__table__(), Sale.__table__()
        zero = Literal(0)
        # the month is computed in a sub-query and grouped by its column:
        # PostgreSQL binds the format of each TO_CHAR as its own parameter,
        # so the same expression in the select and the group by differs
        f_rows = f.join(m, 'LEFT', condition=f.method == m.id).select(
            f.id.as_('id'), f.employee.as_('employee'), f.party.as_('party'),
            ToChar(f.date, 'YYYY-MM').as_('month'),
            Case((m.code == 'visit', 1), else_=0).as_('visit'),
            where=(f.employee != Null) & (f.automatic != Literal(True)))
        followups = f_rows.select(
            Min(f_rows.id * 2).as_('row'),
            f_rows.employee.as_('employee'), f_rows.month.as_('month'),
            Count(f_rows.id).as_('followups'),
            Sum(f_rows.visit).as_('visits'),
            Count(f_rows.party, distinct=True).as_('customers'),
            zero.as_('signings'), zero.as_('revenue'),
            group_by=[f_rows.employee, f_rows.month])
        s_rows = s.select(
            s.id.as_('id'), s.confirmed_by.as_('employee'),
            ToChar(s.sale_date, 'YYYY-MM').as_('month'),
            Coalesce(s.untaxed_amount_cache, 0).as_('amount'),
            where=(s.confirmed_by != Null) & (s.member_card != Null)
            & s.state.in_(['processing', 'done']))
        sales = s_rows.select(
            Min(s_rows.id * 2 + 1).as_('row'),
            s_rows.employee.as_('employee'), s_rows.month.as_('month'),
            zero, zero, zero,
            Count(s_rows.id),
            Sum(s_rows.amount),
            group_by=[s_rows.employee, s_rows.month])
        union = Union(followups, sales, all_=True)
        return union.select(
            Min(union.row).as_('id'),
            union.employee, union.month,
            Cast(Sum(union.followups), 'INTEGER').as_('followups'),
            Cast(Sum(union.visits), 'INTEGER').as_('visits'),
            Cast(Sum(union.customers), 'INTEGER').as_('customers'),
            Cast(Sum(union.signings), 'INTEGER').as_('signings'),
            Sum(union.revenue).as_('revenue'),
            group_by=[union.employee, union.month])

    def get_conversion_rate(self, name):
        if self.customers:
            return round((self.signings or 0) / self.customers, 4)
        return 0.0

    def _signed_sales(self):
        Sale = Pool().get('sale.sale')
        return [s for s in Sale.search([
                    ('confirmed_by', '=', self.employee.id),
                    ('member_card', '!=', None),
                    ('state', 'in', ['processing', 'done']),
                    ]) if s.sale_date
            and s.sale_date.strftime('%Y-%m') == self.month]

    def get_conversion_cycle(self, name):
        "Average days from the first follow-up to the signing"
        Followup = Pool().get('crm.followup')
        days = []
        for sale in self._signed_sales():
            first = Followup.search([('party', '=', sale.party.id)],
                order=[('date', 'ASC')], limit=1)
            if first:
                days.append((sale.sale_date - first[0].date.date()).days)
        return round(sum(days) / len(days), 1) if days else None
