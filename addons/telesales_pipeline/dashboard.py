# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Sales pipeline dashboard 销售主线 (PL-10)"
import datetime as dt

from sql import Literal, Select, Table, Union
from sql.aggregate import Sum
from sql.conditionals import Case

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If, PYSONEncoder
from trytond.tools import timezone as tz
from trytond.transaction import Transaction, check_access

from .customer import STAGE_ORDER, STAGES

PERIODS = [
    'callbacks_today', 'callbacks_tomorrow', 'contacted_today',
    'contacted_week', 'contacted_month']


def company_today():
    "Return today and the tzinfo of the context company"
    pool = Pool()
    Company = pool.get('company.company')
    Date = pool.get('ir.date')
    company_id = Transaction().context.get('company')
    zone = tz.UTC
    if company_id is not None and company_id >= 0:
        company = Company(company_id)
        if company.timezone:
            zone = tz.ZoneInfo(company.timezone)
    return Date.today(), zone


def local_midnight_utc(day, zone):
    "The naive UTC datetime of the local midnight of day"
    local = dt.datetime.combine(day, dt.time()).replace(tzinfo=zone)
    return local.astimezone(tz.UTC).replace(tzinfo=None)


class Dashboard(ModelSQL, ModelView):
    __name__ = 'crm.dashboard'
    __string__ = "Sales Pipeline"
    stage = fields.Selection(STAGES, "Stage", readonly=True)
    callbacks_today = fields.Function(
        fields.Integer("Callbacks Today"), 'get_counts')
    callbacks_tomorrow = fields.Function(
        fields.Integer("Callbacks Tomorrow"), 'get_counts')
    contacted_today = fields.Function(
        fields.Integer("Contacted Today"), 'get_counts')
    contacted_week = fields.Function(
        fields.Integer("Contacted This Week"), 'get_counts')
    contacted_month = fields.Function(
        fields.Integer("Contacted This Month"), 'get_counts')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'ASC')]
        cls._buttons.update({
                'open_%s' % p: {'depends': [p]} for p in PERIODS})

    @classmethod
    def table_query(cls):
        rows = [Select([
                    Literal(i).as_('id'),
                    Literal(0).as_('create_uid'),
                    Literal(None).as_('create_date'),
                    Literal(None).as_('write_uid'),
                    Literal(None).as_('write_date'),
                    Literal(stage).as_('stage'),
                    ]) for i, stage in enumerate(STAGE_ORDER, 1)]
        union = Union(*rows, all_=True)
        return union.select(
            union.id, union.create_uid, union.create_date, union.write_uid,
            union.write_date, union.stage)

    @classmethod
    def period_domains(cls):
        "Return the customer domain of each period"
        today, zone = company_today()
        tomorrow = today + dt.timedelta(days=1)
        week = today - dt.timedelta(days=today.weekday())
        month = today.replace(day=1)
        return {
            'callbacks_today': [('crm_next_callback', '=', today)],
            'callbacks_tomorrow': [('crm_next_callback', '=', tomorrow)],
            'contacted_today': [
                ('crm_last_contact', '>=', local_midnight_utc(today, zone))],
            'contacted_week': [
                ('crm_last_contact', '>=', local_midnight_utc(week, zone))],
            'contacted_month': [
                ('crm_last_contact', '>=', local_midnight_utc(month, zone))],
            }

    @classmethod
    def count_query(cls):
        """Return the query counting per stage the visible customers

        The access rules of party.party apply (PL-12). The inner search
        only selects the customers with a callback today or tomorrow or a
        contact this month, through the indexes on those columns.
        """
        pool = Pool()
        Party = pool.get('party.party')
        party = Party.__table__()
        domains = cls.period_domains()
        earliest = min(domains['contacted_week'][0][2],
            domains['contacted_month'][0][2])
        # Counted under the user's visibility rules even inside a getter
        with check_access():
            candidates = Party.search([
                    ('crm_stage', '!=', None),
                    ['OR',
                        ('crm_next_callback', 'in', [
                                domains['callbacks_today'][0][2],
                                domains['callbacks_tomorrow'][0][2]]),
                        ('crm_last_contact', '>=', earliest),
                        ],
                    ], order=[], query=True)
        # Aggregate the search's own rows when it reads the party table
        # itself: joining its ids back to party_party made PostgreSQL read
        # the whole table (a parallel seq scan of 1M rows, 450 ms).
        main = None
        if len(candidates.columns) == 1:
            column = getattr(candidates.columns[0], 'expression', None)
            main = getattr(column, 'table', None)
        direct = (isinstance(main, Table) and main._name == Party._table
            and not candidates.group_by)
        table = main if direct else party
        columns = [table.crm_stage]
        for name in PERIODS:
            _, operator, value = domains[name][0]
            column = getattr(table, domains[name][0][0])
            condition = (column == value) if operator == '=' else (
                column >= value)
            columns.append(Sum(Case((condition, 1), else_=0)).as_(name))
        if direct:
            candidates.columns = columns
            candidates.group_by = [table.crm_stage]
            return candidates
        return party.select(*columns,
            where=party.id.in_(candidates),
            group_by=[party.crm_stage])

    @classmethod
    def get_counts(cls, lines, names):
        cursor = Transaction().connection.cursor()
        cursor.execute(*cls.count_query())
        counts = {}
        for row in cursor:
            counts[row[0]] = dict(zip(PERIODS, row[1:]))
        result = {n: {} for n in names}
        for line in lines:
            for name in names:
                result[name][line.id] = int(
                    counts.get(line.stage, {}).get(name) or 0)
        return result

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree/field[@name="%s"]' % p, 'visual',
                If(Eval(p, 0) > 0, 'success', '')) for p in PERIODS]

    def _open(self, period):
        pool = Pool()
        Action = pool.get('ir.action')
        ModelData = pool.get('ir.model.data')
        definitions = self.fields_get(['stage'] + PERIODS)
        stages = dict(definitions['stage']['selection'])
        domain = [('crm_stage', '=', self.stage)]
        domain += self.period_domains()[period]
        action = Action(Action.get_action_id(ModelData.get_id(
                    'telesales_pipeline', 'act_customer_form'))
            ).get_action_value()
        action['pyson_domain'] = PYSONEncoder().encode(
            [('crm_stage', '!=', None)] + domain)
        action['name'] = '%s - %s' % (
            stages[self.stage], definitions[period]['string'])
        return action

    @classmethod
    @ModelView.button
    def open_callbacks_today(cls, lines):
        if lines:
            return lines[0]._open('callbacks_today')

    @classmethod
    @ModelView.button
    def open_callbacks_tomorrow(cls, lines):
        if lines:
            return lines[0]._open('callbacks_tomorrow')

    @classmethod
    @ModelView.button
    def open_contacted_today(cls, lines):
        if lines:
            return lines[0]._open('contacted_today')

    @classmethod
    @ModelView.button
    def open_contacted_week(cls, lines):
        if lines:
            return lines[0]._open('contacted_week')

    @classmethod
    @ModelView.button
    def open_contacted_month(cls, lines):
        if lines:
            return lines[0]._open('contacted_month')
