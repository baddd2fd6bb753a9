# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Ready-made queries (PL-15) and reserve screening (PL-14)

The industries, cities and sources of the customers of the team's won orders
or current opportunities point at the reserve customers worth calling first
(所属订单行业 / 城市 / 客户来源的储备客户, and the same for opportunities).
"""
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, PYSONEncoder
from trytond.transaction import without_check_access
from trytond.wizard import Button, StateAction, StateView, Wizard

WON_SALE_STATES = ['confirmed', 'processing', 'done']
OPEN_OPPORTUNITY_STATES = ['opportunity', 'converted', 'won']


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    crm_contacted_today = fields.Function(fields.Boolean(
            "Contacted Today",
            help="Last contact since midnight in the company's timezone."),
        'get_crm_contacted', searcher='search_crm_contacted')
    crm_contacted_week = fields.Function(fields.Boolean(
            "Contacted This Week",
            help="Last contact since Monday in the company's timezone."),
        'get_crm_contacted', searcher='search_crm_contacted')
    crm_contacted_month = fields.Function(fields.Boolean(
            "Contacted This Month",
            help="Last contact since the first of the month in the company's "
            "timezone."),
        'get_crm_contacted', searcher='search_crm_contacted')

    @classmethod
    def _crm_contacted_since(cls, name):
        "The naive UTC datetime the period of name starts at"
        Dashboard = Pool().get('crm.dashboard')
        # the dashboard's own periods (PL-10)
        (_, _, since), = Dashboard.period_domains()[name[len('crm_'):]]
        return since

    @classmethod
    def get_crm_contacted(cls, parties, names):
        result = {}
        for name in names:
            since = cls._crm_contacted_since(name)
            result[name] = {p.id: bool(
                    p.crm_last_contact and p.crm_last_contact >= since)
                for p in parties}
        return result

    @classmethod
    def search_crm_contacted(cls, name, clause):
        _, operator, value = clause
        since = cls._crm_contacted_since(name)
        if (operator == '=') == bool(value):
            return [('crm_last_contact', '>=', since)]
        return ['OR', ('crm_last_contact', '<', since),
            ('crm_last_contact', '=', None)]


def team_employees(employee_ids):
    """Return the ids of the team of the employees

    The team is everyone under the employees' supervisors (or under the
    employees themselves when they have no supervisor).
    """
    pool = Pool()
    Employee = pool.get('company.employee')
    with without_check_access():
        employees = Employee.browse(employee_ids)
        tops = {(e.supervisor or e).id for e in employees}
        if not tops:
            return []
        return sorted(tops | {e.id for e in Employee.search([
                        ('supervisor', 'child_of', list(tops), 'supervisor'),
                        ])})


def team_customers(basis, employee_ids):
    "Return the customers of the team's won orders and/or opportunities"
    pool = Pool()
    Sale = pool.get('sale.sale')
    Opportunity = pool.get('sale.opportunity')
    team = team_employees(employee_ids)
    if not team:
        return []
    customers = set()
    with without_check_access():
        if basis in {'sales', 'both'}:
            sales = Sale.search([
                    ('state', 'in', WON_SALE_STATES),
                    ['OR',
                        ('party.crm_owner', 'in', team),
                        ('party.crm_collaborators', 'in', team),
                        ],
                    ])
            customers.update(s.party for s in sales)
        if basis in {'opportunities', 'both'}:
            opportunities = Opportunity.search([
                    ('state', 'in', OPEN_OPPORTUNITY_STATES),
                    ('employee', 'in', team),
                    ])
            customers.update(o.party for o in opportunities if o.party)
    return list(customers)


def screening(basis, employee_ids, by_industry, by_city, by_source):
    """Return (domain, industries, cities, sources) of the reserve customers
    sharing the chosen attributes with the team's customers"""
    industries, cities, sources = set(), set(), set()
    with without_check_access():
        for party in team_customers(basis, employee_ids):
            if party.crm_industry:
                industries.add(party.crm_industry.id)
            if party.crm_source:
                sources.add(party.crm_source.id)
            cities.update(a.city for a in party.addresses if a.city)
    domain = [('crm_stage', '=', 'reserve')]
    if by_industry:
        domain.append(('crm_industry', 'in', sorted(industries)))
    if by_city:
        domain.append(('addresses.city', 'in', sorted(cities)))
    if by_source:
        domain.append(('crm_source', 'in', sorted(sources)))
    return domain, industries, cities, sources


class ReserveScreenStart(ModelView):
    "Screen Reserve Customers"
    __name__ = 'crm.reserve.screen.start'
    __string__ = "Screen Reserve Customers"

    basis = fields.Selection([
            ('sales', "Won Orders"),
            ('opportunities', "Opportunities"),
            ('both', "Orders and Opportunities"),
            ], "Based On", required=True,
        help="Whose customers give the industries, cities and sources: the "
        "team's won orders, its current opportunities or both.")
    by_industry = fields.Boolean("Same Industry")
    by_city = fields.Boolean("Same City")
    by_source = fields.Boolean("Same Source")

    @classmethod
    def default_basis(cls):
        return 'sales'

    @classmethod
    def default_by_industry(cls):
        return True


class ReserveScreen(Wizard):
    "Screen Reserve Customers"
    __name__ = 'crm.reserve.screen'

    start = StateView('crm.reserve.screen.start',
        'telesales_pipeline.reserve_screen_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Open", 'open_', 'tryton-ok', default=True,
                states={
                    'readonly': ~Bool(Eval('by_industry'))
                    & ~Bool(Eval('by_city')) & ~Bool(Eval('by_source')),
                    }),
            ])
    open_ = StateAction('telesales_pipeline.act_reserve_screened')

    def do_open_(self, action):
        pool = Pool()
        User = pool.get('res.user')
        employees = list(User.get_employees())
        domain, *_ = screening(self.start.basis, employees,
            self.start.by_industry, self.start.by_city, self.start.by_source)
        action['pyson_domain'] = PYSONEncoder().encode(domain)
        return action, {}
