# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Work review and analysis (PL-20, PL-24): SQL views for lists and graphs

Every view counts only what the user may read (their record rules) and,
for opportunities and sales, the context's company.

Each model is a ``table_query`` over the pipeline's tables, so the numbers
are always current and can be filtered, grouped and charted by the client.
"""
from sql import Literal, Null, Union, Window
from sql.aggregate import Avg, Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Ceil, DateTrunc, Extract

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from .customer import STAGES

WON_SALE_STATES = ['confirmed', 'processing', 'done']
PERIODS = [
    ('day', "Day"),
    ('month', "Month"),
    ('year', "Year"),
    ]


def _date_filter(column):
    "Condition of the analysis context's from and to dates on column"
    context = Transaction().context
    condition = Literal(True)
    if context.get('from_date'):
        condition &= column >= context['from_date']
    if context.get('to_date'):
        condition &= column <= context['to_date']
    return condition


def _visible(model_name, column):
    """Condition keeping the rows of records the user may read

    The analyses are SQL views over the pipeline's tables, which the record
    rules (ir.rule) of the models do not reach: a representative would count
    and list the customers of the whole firm. The rules of the user are
    applied here to each table read; server calls (no access check) see all.
    """
    Rule = Pool().get('ir.rule')
    if Rule.domain_get(model_name, mode='read'):
        return column.in_(Rule.query_get(model_name, mode='read'))
    return Literal(True)


def _company(column):
    "Condition of the context's company on column (opportunities, sales)"
    company = Transaction().context.get('company')
    if company is not None:
        return column == company
    return Literal(True)


class AnalysisContext(ModelView):
    "Telesales Analysis Context"
    __name__ = 'crm.analysis.context'
    __string__ = "Telesales Analysis Context"

    from_date = fields.Date("From Date")
    to_date = fields.Date("To Date")
    period = fields.Selection(PERIODS, "Period", required=True)

    @classmethod
    def default_period(cls):
        return Transaction().context.get('period', 'month')


class FollowupDaily(ModelSQL, ModelView):
    "Follow-ups per Rep per Day"
    __name__ = 'crm.analysis.followup'
    __string__ = "Follow-ups per Rep per Day"

    date = fields.Date("Date")
    employee = fields.Many2One('company.employee', "Representative")
    followups = fields.Integer("Follow-ups")
    customers = fields.Integer("Customers",
        help="Distinct customers followed up.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('employee', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Followup = pool.get('crm.followup')
        followup = Followup.__table__()
        # bucket in a subquery: PostgreSQL does not match a parametrised
        # expression of the select list with the same one in GROUP BY
        daily = followup.select(
            followup.id.as_('id'),
            cls.date.sql_cast(DateTrunc('day', followup.date)).as_('date'),
            followup.employee.as_('employee'),
            followup.party.as_('party'),
            where=((followup.automatic == Null)
                | (followup.automatic == Literal(False)))
            & (followup.employee != Null)
            & _date_filter(followup.date)
            & _visible('crm.followup', followup.id))
        return daily.select(
            Min(daily.id).as_('id'),
            daily.date.as_('date'),
            daily.employee.as_('employee'),
            Count(daily.id).as_('followups'),
            Count(daily.party, distinct=True).as_('customers'),
            group_by=[daily.date, daily.employee])


def _period_bucket(field):
    """The function that truncates a date column to the start of the
    context's period (day, month or year), cast as field"""
    period = Transaction().context.get('period', 'month')
    if period not in dict(PERIODS):
        period = 'month'

    def bucket(column):
        return field.sql_cast(DateTrunc(period, column))
    return bucket


def _events(counters, sources):
    """The union of one row per event of sources, to be summed per period.

    Each source is (from, id column, date, counter, extra columns, where):
    its rows count 1 in their counter and 0 in the other counters, and
    carry the extra columns (same names in every source); the ids of the
    sources are interleaved so that they stay unique."""
    one, zero = Literal(1), Literal(0)
    selects = []
    for index, (from_, id_, date, counter, extra, where) in enumerate(
            sources):
        selects.append(from_.select(
                (id_ * len(sources) + index).as_('id'),
                date.as_('date'),
                *[c.as_(n) for n, c in extra.items()],
                *[(one if c == counter else zero).as_(c) for c in counters],
                where=where))
    return Union(*selects, all_=True)


class NewPerPeriod(ModelSQL, ModelView):
    "New Customers, Opportunities and Orders per Period"
    __name__ = 'crm.analysis.new'
    __string__ = "New Customers, Opportunities and Orders per Period"

    date = fields.Date("Period Start")
    customers = fields.Integer("New Customers")
    opportunities = fields.Integer("New Opportunities")
    orders = fields.Integer("New Orders")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Opportunity = pool.get('sale.opportunity')
        Sale = pool.get('sale.sale')
        party = Party.__table__()
        opportunity = Opportunity.__table__()
        sale = Sale.__table__()
        bucket = _period_bucket(cls.date)
        events = _events(['customer', 'opportunity', 'sale'], [
                (party, party.id, bucket(party.create_date), 'customer', {},
                    (party.crm_stage != Null)
                    & _date_filter(party.create_date)
                    & _visible('party.party', party.id)),
                (opportunity, opportunity.id,
                    bucket(opportunity.start_date), 'opportunity', {},
                    _date_filter(opportunity.start_date)
                    & _company(opportunity.company)
                    & _visible('sale.opportunity', opportunity.id)),
                (sale, sale.id, bucket(sale.sale_date), 'sale', {},
                    sale.state.in_(WON_SALE_STATES)
                    & _date_filter(sale.sale_date)
                    & _company(sale.company)
                    & _visible('sale.sale', sale.id)),
                ])
        return events.select(
            Min(events.id).as_('id'),
            events.date.as_('date'),
            Sum(events.customer).as_('customers'),
            Sum(events.opportunity).as_('opportunities'),
            Sum(events.sale).as_('orders'),
            group_by=[events.date])


class _CustomerCount(ModelSQL, ModelView):
    __slots__ = ()

    customers = fields.Integer("Customers")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('customers', 'DESC'), ('id', 'ASC')]


class CustomerBySource(_CustomerCount):
    "Customers by Source"
    __name__ = 'crm.analysis.customer.source'
    __string__ = "Customers by Source"

    source = fields.Many2One('crm.source', "Source")

    @classmethod
    def table_query(cls):
        Party = Pool().get('party.party')
        party = Party.__table__()
        return party.select(
            Min(party.id).as_('id'),
            party.crm_source.as_('source'),
            Count(party.id).as_('customers'),
            where=(party.crm_stage != Null)
            & _date_filter(party.create_date)
            & _visible('party.party', party.id),
            group_by=[party.crm_source])


class CustomerByRegion(_CustomerCount):
    "Customers by Region"
    __name__ = 'crm.analysis.customer.region'
    __string__ = "Customers by Region"

    region = fields.Char("Region", help="The city of the customer's address.")

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Address = pool.get('party.address')
        party = Party.__table__()
        address = Address.__table__()
        first = address.select(
            address.party.as_('party'), Min(address.id).as_('address'),
            where=address.active == Literal(True),
            group_by=[address.party])
        first_address = Address.__table__()
        query = (party
            .join(first, 'LEFT', condition=first.party == party.id)
            .join(first_address, 'LEFT',
                condition=first_address.id == first.address))
        return query.select(
            Min(party.id).as_('id'),
            Coalesce(first_address.city, '').as_('region'),
            Count(party.id).as_('customers'),
            where=(party.crm_stage != Null)
            & _date_filter(party.create_date)
            & _visible('party.party', party.id),
            group_by=[first_address.city])


class StageFunnel(ModelSQL, ModelView):
    "Stage Funnel"
    __name__ = 'crm.analysis.stage'
    __string__ = "Stage Funnel"

    stage = fields.Selection(STAGES, "Stage", sort=False)
    sequence = fields.Integer("Sequence")
    customers = fields.Integer("Customers",
        help="Customers at this stage now.")
    reached = fields.Integer("Reached",
        help="Customers at this stage or a later one.")
    stage_string = stage.translated('stage')
    stage_name = fields.Function(fields.Char("Stage"), 'get_stage_name')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('sequence', 'ASC'), ('id', 'ASC')]

    def get_stage_name(self, name):
        "The stage's label, for the graph's axis (it shows a key as is)"
        return self.stage_string

    @classmethod
    def table_query(cls):
        Party = Pool().get('party.party')
        party = Party.__table__()
        sequence = Case(*((party.crm_stage == s, i + 1)
                for i, (s, _) in enumerate(STAGES)), else_=0)
        stages = party.select(
            sequence.as_('sequence'),
            party.crm_stage.as_('stage'),
            Count(party.id).as_('customers'),
            where=(party.crm_stage != Null)
            & _date_filter(party.create_date)
            & _visible('party.party', party.id),
            group_by=[party.crm_stage])
        # counted in the same query as the stages, under the same rules: a
        # function field would count again without them
        reached = Sum(stages.customers,
            window=Window([], order_by=[stages.sequence.desc]))
        return stages.select(
            stages.sequence.as_('id'),
            stages.stage.as_('stage'),
            stages.sequence.as_('sequence'),
            stages.customers.as_('customers'),
            cls.reached.sql_cast(reached).as_('reached'))


class Conversion(ModelSQL, ModelView):
    "Conversion Cycle"
    __name__ = 'crm.analysis.conversion'
    __string__ = "Conversion Cycle"

    party = fields.Many2One('party.party', "Customer")
    employee = fields.Many2One('company.employee', "Owner")
    source = fields.Many2One('crm.source', "Source")
    first_contact = fields.DateTime("First Contact")
    first_sale = fields.Date("First Won Sale")
    days = fields.Integer("Days",
        help="Days from the first contact to the first won sale.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('first_sale', 'DESC'), ('id', 'DESC')]

    @classmethod
    def cycle_query(cls):
        "Query of the conversion cycle of each converted customer"
        pool = Pool()
        Party = pool.get('party.party')
        Followup = pool.get('crm.followup')
        Sale = pool.get('sale.sale')
        party = Party.__table__()
        followup = Followup.__table__()
        sale = Sale.__table__()
        contact = followup.select(
            followup.party.as_('party'),
            Min(followup.date).as_('date'),
            where=(followup.automatic == Null)
            | (followup.automatic == Literal(False)),
            group_by=[followup.party])
        won = sale.select(
            sale.party.as_('party'),
            Min(sale.sale_date).as_('date'),
            where=sale.state.in_(WON_SALE_STATES)
            & _company(sale.company),
            group_by=[sale.party])
        days = Ceil(
            (Extract('EPOCH', won.date) - Extract('EPOCH', contact.date))
            / (24 * 60 * 60))
        query = (party
            .join(contact, condition=contact.party == party.id)
            .join(won, condition=won.party == party.id))
        return query.select(
            party.id.as_('id'),
            party.id.as_('party'),
            party.crm_owner.as_('employee'),
            party.crm_source.as_('source'),
            cls.first_contact.sql_cast(contact.date).as_('first_contact'),
            cls.first_sale.sql_cast(won.date).as_('first_sale'),
            cls.days.sql_cast(days).as_('days'),
            # a first won sale before any contact has no cycle
            where=(party.crm_stage != Null) & (days >= 0)
            & _date_filter(won.date)
            & _visible('party.party', party.id))

    @classmethod
    def table_query(cls):
        return cls.cycle_query()


class _ConversionAverage(ModelSQL, ModelView):
    __slots__ = ()
    _group = None

    customers = fields.Integer("Customers")
    average_days = fields.Float("Average Days", digits=(16, 1))

    @classmethod
    def table_query(cls):
        Conversion = Pool().get('crm.analysis.conversion')
        cycle = Conversion.cycle_query()
        group = getattr(cycle, cls._group)
        return cycle.select(
            Min(cycle.id).as_('id'),
            group.as_(cls._group),
            Count(cycle.id).as_('customers'),
            cls.average_days.sql_cast(Avg(cycle.days)).as_('average_days'),
            group_by=[group])


class ConversionByRep(_ConversionAverage):
    "Conversion Cycle by Representative"
    __name__ = 'crm.analysis.conversion.employee'
    __string__ = "Conversion Cycle by Representative"
    _group = 'employee'

    employee = fields.Many2One('company.employee', "Representative")


class ConversionBySource(_ConversionAverage):
    "Conversion Cycle by Source"
    __name__ = 'crm.analysis.conversion.source'
    __string__ = "Conversion Cycle by Source"
    _group = 'source'

    source = fields.Many2One('crm.source', "Source")


class RepPerformance(ModelSQL, ModelView):
    "Performance per Representative per Period"
    __name__ = 'crm.analysis.rep'
    __string__ = "Performance per Representative"

    date = fields.Date("Period Start")
    employee = fields.Many2One('company.employee', "Representative")
    customers = fields.Integer("New Customers",
        help="Customers created in the period that the representative owns.")
    followups = fields.Integer("Follow-ups",
        help="Follow-ups the representative wrote (automatic ones left out).")
    opportunities = fields.Integer("New Opportunities")
    orders = fields.Integer("Won Orders",
        help="Confirmed sales of the representative's customers.")
    amount = fields.Numeric("Amount", digits=(16, 2),
        help="Untaxed amount of the won orders.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('employee', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Followup = pool.get('crm.followup')
        Opportunity = pool.get('sale.opportunity')
        Sale = pool.get('sale.sale')
        party = Party.__table__()
        followup = Followup.__table__()
        opportunity = Opportunity.__table__()
        sale = Sale.__table__()
        owner = Party.__table__()
        bucket = _period_bucket(cls.date)
        no_amount = cls.amount.sql_cast(Literal(0))
        events = _events(['customer', 'followup', 'opportunity', 'sale'], [
                (party, party.id, bucket(party.create_date), 'customer',
                    {'employee': party.crm_owner, 'amount': no_amount},
                    (party.crm_stage != Null) & (party.crm_owner != Null)
                    & _date_filter(party.create_date)
                    & _visible('party.party', party.id)),
                (followup, followup.id, bucket(followup.date), 'followup',
                    {'employee': followup.employee, 'amount': no_amount},
                    ((followup.automatic == Null)
                        | (followup.automatic == Literal(False)))
                    & (followup.employee != Null)
                    & _date_filter(followup.date)
                    & _visible('crm.followup', followup.id)),
                (opportunity, opportunity.id,
                    bucket(opportunity.start_date), 'opportunity',
                    {'employee': opportunity.employee, 'amount': no_amount},
                    (opportunity.employee != Null)
                    & _date_filter(opportunity.start_date)
                    & _company(opportunity.company)
                    & _visible('sale.opportunity', opportunity.id)),
                (sale.join(owner, condition=owner.id == sale.party),
                    sale.id, bucket(sale.sale_date), 'sale',
                    {'employee': owner.crm_owner,
                        'amount': cls.amount.sql_cast(
                            Coalesce(sale.untaxed_amount_cache, 0))},
                    sale.state.in_(WON_SALE_STATES)
                    & (owner.crm_owner != Null)
                    & _date_filter(sale.sale_date)
                    & _company(sale.company)
                    & _visible('sale.sale', sale.id)),
                ])
        return events.select(
            Min(events.id).as_('id'),
            events.date.as_('date'),
            events.employee.as_('employee'),
            Sum(events.customer).as_('customers'),
            Sum(events.followup).as_('followups'),
            Sum(events.opportunity).as_('opportunities'),
            Sum(events.sale).as_('orders'),
            cls.amount.sql_cast(Sum(events.amount)).as_('amount'),
            group_by=[events.date, events.employee])
