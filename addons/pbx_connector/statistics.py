# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Calls per rep and day"
from sql import Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case

from crm_base.masking import MaskedExportMixin

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool



class CallStatistics(MaskedExportMixin, ModelSQL, ModelView):
    __string__ = "Call Statistics"
    __name__ = 'pbx.call.statistics'
    date = fields.Date("Date")
    employee = fields.Many2One('company.employee', "Employee")
    company = fields.Many2One('company.company', "Company")
    calls = fields.Integer("Calls")
    outbound = fields.Integer("Outbound")
    inbound = fields.Integer("Inbound")
    answered = fields.Integer("Answered")
    talk_time = fields.Integer("Talk Time (s)")
    talk_minutes = fields.Function(fields.Float("Talk Time (min)",
            digits=(16, 1)), 'get_talk_minutes')
    answer_rate = fields.Function(fields.Float("Answer Rate (%)",
            digits=(5, 1)), 'get_answer_rate')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('employee', 'ASC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        call = pool.get('pbx.call').__table__()
        date = cls.date.sql_cast(call.start)
        answered = Case((call.disposition == 'answered', 1), else_=0)
        row_id = Min(call.id)
        return call.select(
            row_id.as_('id'),
            date.as_('date'),
            call.employee.as_('employee'),
            call.company.as_('company'),
            Count(call.id).as_('calls'),
            Sum(Case((call.direction == 'outbound', 1), else_=0)).as_(
                'outbound'),
            Sum(Case((call.direction == 'inbound', 1), else_=0)).as_(
                'inbound'),
            Sum(answered).as_('answered'),
            Sum(Case((call.duration != Null, call.duration), else_=0)).as_(
                'talk_time'),
            where=(call.state == 'ended') & (call.start != Null),
            group_by=[date, call.employee, call.company])

    def get_talk_minutes(self, name):
        return round((self.talk_time or 0) / 60, 1)

    def get_answer_rate(self, name):
        if not self.calls:
            return 0.0
        return round(100.0 * (self.answered or 0) / self.calls, 1)
