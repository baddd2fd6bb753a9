# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from sql import Literal, Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case
from sql.functions import DateTrunc
from sql.operators import Exists

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from telesales_pipeline.access import CustomerDataMixin
from .common import SIGNED_STATES

DISBURSED_STATES = ['disbursing', 'disbursed', 'repaying', 'closed']
INTENT_STAGES = ['potential', 'opportunity', 'closed']
QUASI_STAGES = ['opportunity', 'closed']


def _period_where(column):
    context = Transaction().context
    where = Literal(True)
    if context.get('from_date'):
        where &= column >= context['from_date']
    if context.get('to_date'):
        where &= column <= context['to_date']
    return where


def _ratio(numerator, denominator):
    if not denominator:
        return None
    return round(numerator / denominator, 4)


class Workload(CustomerDataMixin, ModelSQL, ModelView):
    "Rep Workload"
    __name__ = 'loan.statistics.workload'
    company = fields.Many2One('company.company', "Company")
    employee = fields.Many2One('company.employee', "Rep")
    date = fields.Date("Date")
    followups = fields.Integer("Follow-ups")
    calls = fields.Integer("Calls")
    sms = fields.Integer("SMS")
    automatic = fields.Integer("Automatic")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('employee', 'ASC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Followup = pool.get('crm.followup')
        Method = pool.get('crm.followup.method')
        Employee = pool.get('company.employee')
        followup = Followup.__table__()
        method = Method.__table__()
        employee = Employee.__table__()
        date = cls.date.sql_cast(DateTrunc('day', followup.date))

        def count_code(code):
            return Sum(Case((method.code == code, 1), else_=0))
        return (followup
            .join(employee, condition=followup.employee == employee.id)
            .join(method, 'LEFT', condition=followup.method == method.id)
            .select(
                Min(followup.id).as_('id'),
                employee.company.as_('company'),
                followup.employee.as_('employee'),
                date.as_('date'),
                Count(followup.id).as_('followups'),
                count_code('phone').as_('calls'),
                count_code('sms').as_('sms'),
                Sum(Case((followup.automatic == Literal(True), 1),
                        else_=0)).as_('automatic'),
                where=_period_where(date),
                group_by=[employee.company, followup.employee,
                    date.as_('date')]))


class Callback(CustomerDataMixin, ModelSQL, ModelView):
    "Callback Statistics"
    __name__ = 'loan.statistics.callback'
    company = fields.Many2One('company.company', "Company")
    employee = fields.Many2One('company.employee', "Rep")
    planned = fields.Integer("Planned", help="Follow-ups with a callback date.")
    done = fields.Integer("Done")
    open = fields.Integer("Open")
    overdue = fields.Integer("Overdue")
    done_rate = fields.Function(fields.Float("Done Rate", digits=(1, 4)),
        'get_done_rate')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('employee', 'ASC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Followup = pool.get('crm.followup')
        Employee = pool.get('company.employee')
        Date = pool.get('ir.date')
        followup = Followup.__table__()
        employee = Employee.__table__()
        today = Date.today()
        return (followup
            .join(employee, condition=followup.employee == employee.id)
            .select(
                Min(followup.id).as_('id'),
                employee.company.as_('company'),
                followup.employee.as_('employee'),
                Count(followup.id).as_('planned'),
                Sum(Case((followup.reminder_state == 'done', 1),
                        else_=0)).as_('done'),
                Sum(Case((followup.reminder_state == 'open', 1),
                        else_=0)).as_('open'),
                Sum(Case(((followup.reminder_state == 'open')
                            & (followup.next_callback < today), 1),
                        else_=0)).as_('overdue'),
                where=(followup.next_callback != Null)
                & _period_where(followup.next_callback),
                group_by=[employee.company, followup.employee]))

    def get_done_rate(self, name):
        return _ratio(self.done or 0, self.planned)


class Funnel(CustomerDataMixin, ModelSQL, ModelView):
    "Sales Funnel"
    __name__ = 'loan.statistics.funnel'
    company = fields.Many2One('company.company', "Company")
    employee = fields.Many2One('company.employee', "Rep")
    intent = fields.Integer(
        "Intent", help="Customers at the potential stage or beyond.")
    quasi = fields.Integer(
        "Quasi", help="Customers at the opportunity stage or beyond.")
    signed = fields.Integer("Signed", help="Customers with a signed product.")
    disbursed = fields.Integer(
        "Disbursed", help="Customers with a disbursed product.")
    quasi_rate = fields.Function(
        fields.Float("Intent → Quasi", digits=(1, 4)), 'get_rates')
    signed_rate = fields.Function(
        fields.Float("Quasi → Signed", digits=(1, 4)), 'get_rates')
    disbursed_rate = fields.Function(
        fields.Float("Signed → Disbursed", digits=(1, 4)), 'get_rates')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('employee', 'ASC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Application = pool.get('loan.application')
        Employee = pool.get('company.employee')
        party = Party.__table__()
        employee = Employee.__table__()

        def has_application(states):
            application = Application.__table__()
            return Exists(application.select(
                    application.id,
                    where=(application.party == party.id)
                    & application.state.in_(states)
                    & _period_where(application.signing_date)))

        signed = has_application(SIGNED_STATES)
        disbursed = has_application(DISBURSED_STATES)

        def count(condition):
            return Sum(Case((condition, 1), else_=0))
        return (party
            .join(employee, condition=party.crm_owner == employee.id)
            .select(
                employee.id.as_('id'),
                employee.company.as_('company'),
                employee.id.as_('employee'),
                count(party.crm_stage.in_(INTENT_STAGES) | signed).as_(
                    'intent'),
                count(party.crm_stage.in_(QUASI_STAGES) | signed).as_(
                    'quasi'),
                count(signed).as_('signed'),
                count(disbursed).as_('disbursed'),
                group_by=[employee.id, employee.company]))

    @classmethod
    def get_rates(cls, rows, names):
        result = {n: {} for n in names}
        for row in rows:
            values = {
                'quasi_rate': _ratio(row.quasi or 0, row.intent),
                'signed_rate': _ratio(row.signed or 0, row.quasi),
                'disbursed_rate': _ratio(row.disbursed or 0, row.signed),
                }
            for name in names:
                result[name][row.id] = values[name]
        return result
