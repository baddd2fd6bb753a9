# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Analysis views with known numbers (PL-20, PL-24)"
import datetime as dt
import unittest

from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction, check_access


class AnalysisTestCase(unittest.TestCase):
    "Analysis views"

    @classmethod
    def setUpClass(cls):
        activate_module('telesales_pipeline')

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def _data(self, company):
        pool = Pool()
        Party = pool.get('party.party')
        Source = pool.get('crm.source')
        Followup = pool.get('crm.followup')
        Sale = pool.get('sale.sale')
        Opportunity = pool.get('sale.opportunity')
        rep1 = create_employee(company, '刘洋')
        rep2 = create_employee(company, '陈静')
        web, fair = Source.create([{'name': '网络'}, {'name': '展会'}])

        def customer(name, created, city=None, **values):
            values.setdefault('crm_ownership', 'personal')
            values['addresses'] = [('create', [{'city': city}])]
            party, = Party.create([dict(values, name=name)])
            table = Party.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update([table.create_date],
                    [dt.datetime.combine(created, dt.time(9))],
                    where=table.id == party.id))
            return party

        def followup(party, employee, when, automatic=False):
            Followup.create([{'party': party.id, 'employee': employee.id,
                        'date': when, 'content': 'call',
                        'automatic': automatic}])

        def sale(party, date, state):
            address = party.addresses[0]
            Sale.create([{'party': party.id, 'company': company.id,
                        'currency': company.currency.id,
                        'invoice_address': address.id,
                        'shipment_address': address.id,
                        'sale_date': date, 'state': state}])

        def opportunity(party, employee, date):
            Opportunity.create([{'party': party.id, 'company': company.id,
                        'currency': company.currency.id,
                        'employee': employee.id, 'start_date': date,
                        'state': 'opportunity'}])

        a = customer('A', dt.date(2026, 1, 2), '上海', crm_stage='closed',
            crm_owner=rep1, crm_source=web)
        b = customer('B', dt.date(2026, 1, 20), '上海', crm_stage='closed',
            crm_owner=rep1, crm_source=fair)
        c = customer('C', dt.date(2026, 1, 3), '深圳', crm_stage='closed',
            crm_owner=rep2, crm_source=web)
        d = customer('D', dt.date(2026, 2, 10), crm_stage='potential',
            crm_owner=rep2)
        customer('E', dt.date(2026, 3, 1), '北京', crm_stage='reserve',
            crm_ownership='shared', crm_source=fair)

        followup(a, rep1, dt.datetime(2026, 1, 5, 10))
        followup(a, rep1, dt.datetime(2026, 1, 5, 15))
        followup(a, rep1, dt.datetime(2026, 1, 7, 9))
        followup(b, rep1, dt.datetime(2026, 2, 1, 20))
        followup(c, rep2, dt.datetime(2026, 1, 5, 11))
        followup(d, rep2, dt.datetime(2026, 1, 7, 12))
        followup(d, rep2, dt.datetime(2026, 1, 7, 13), automatic=True)

        sale(a, dt.date(2026, 1, 15), 'confirmed')
        sale(b, dt.date(2026, 2, 10), 'draft')
        sale(b, dt.date(2026, 2, 21), 'done')
        sale(b, dt.date(2026, 3, 1), 'processing')
        sale(c, dt.date(2026, 1, 11), 'confirmed')
        opportunity(c, rep2, dt.date(2026, 1, 4))
        opportunity(b, rep1, dt.date(2026, 2, 1))
        return rep1, rep2, web, fair

    @with_transaction()
    def test_analysis(self):
        "Every analysis view gives the known numbers"
        pool = Pool()
        FollowupDaily = pool.get('crm.analysis.followup')
        New = pool.get('crm.analysis.new')
        BySource = pool.get('crm.analysis.customer.source')
        ByRegion = pool.get('crm.analysis.customer.region')
        Funnel = pool.get('crm.analysis.stage')
        Conversion = pool.get('crm.analysis.conversion')
        ByRep = pool.get('crm.analysis.conversion.employee')
        BySourceCycle = pool.get('crm.analysis.conversion.source')
        company = create_company()
        with set_company(company):
            rep1, rep2, web, fair = self._data(company)

            self.assertEqual(sorted(
                    (r.date, r.employee.party.name, r.followups, r.customers)
                    for r in FollowupDaily.search([])), [
                    (dt.date(2026, 1, 5), '刘洋', 2, 1),
                    (dt.date(2026, 1, 5), '陈静', 1, 1),
                    (dt.date(2026, 1, 7), '刘洋', 1, 1),
                    (dt.date(2026, 1, 7), '陈静', 1, 1),
                    (dt.date(2026, 2, 1), '刘洋', 1, 1),
                    ])
            self.assertEqual(
                FollowupDaily.search([('employee', '=', rep1.id)],
                    count=True), 3)

            def new(**context):
                with Transaction().set_context(context):
                    return sorted((r.date, r.customers, r.opportunities,
                            r.orders) for r in New.search([]))
            self.assertEqual(new(), [
                    (dt.date(2026, 1, 1), 3, 1, 2),
                    (dt.date(2026, 2, 1), 1, 1, 1),
                    (dt.date(2026, 3, 1), 1, 0, 1),
                    ])
            self.assertEqual(new(from_date=dt.date(2026, 2, 1)), [
                    (dt.date(2026, 2, 1), 1, 1, 1),
                    (dt.date(2026, 3, 1), 1, 0, 1),
                    ])
            self.assertIn((dt.date(2026, 1, 15), 0, 0, 1), new(period='day'))
            self.assertEqual(new(period='year'), [
                    (dt.date(2026, 1, 1), 5, 2, 4)])

            self.assertEqual(sorted(
                    (r.source.name if r.source else '', r.customers)
                    for r in BySource.search([])),
                [('', 1), ('展会', 2), ('网络', 2)])
            self.assertEqual(sorted(
                    (r.region, r.customers) for r in ByRegion.search([])),
                [('', 1), ('上海', 2), ('北京', 1), ('深圳', 1)])

            self.assertEqual([(r.stage, r.customers, r.reached)
                    for r in Funnel.search([])], [
                    ('reserve', 1, 5),
                    ('potential', 1, 4),
                    ('closed', 3, 3),
                    ])

            self.assertEqual(sorted(
                    (r.party.name, r.employee.party.name, r.first_sale,
                        r.days) for r in Conversion.search([])), [
                    ('A', '刘洋', dt.date(2026, 1, 15), 10),
                    ('B', '刘洋', dt.date(2026, 2, 21), 20),
                    ('C', '陈静', dt.date(2026, 1, 11), 6),
                    ])
            self.assertEqual(sorted(
                    (r.employee.party.name, r.customers, r.average_days)
                    for r in ByRep.search([])),
                [('刘洋', 2, 15.0), ('陈静', 1, 6.0)])
            self.assertEqual(sorted(
                    (r.source.name, r.customers, r.average_days)
                    for r in BySourceCycle.search([])),
                [('展会', 1, 20.0), ('网络', 2, 8.0)])

    @with_transaction()
    def test_rep_performance_and_visibility(self):
        "Performance per rep; a supervisor's analyses count the team only"
        pool = Pool()
        Perf = pool.get('crm.analysis.rep')
        FollowupDaily = pool.get('crm.analysis.followup')
        New = pool.get('crm.analysis.new')
        BySource = pool.get('crm.analysis.customer.source')
        Funnel = pool.get('crm.analysis.stage')
        Conversion = pool.get('crm.analysis.conversion')
        User = pool.get('res.user')
        Group = pool.get('res.group')
        ModelData = pool.get('ir.model.data')
        company = create_company()
        with set_company(company):
            rep1, rep2, web, fair = self._data(company)

            def perf():
                return sorted(
                    (r.date, r.employee.party.name, r.customers, r.followups,
                        r.opportunities, r.orders) for r in Perf.search([]))
            everyone = [
                (dt.date(2026, 1, 1), '刘洋', 2, 3, 0, 1),
                (dt.date(2026, 1, 1), '陈静', 1, 2, 1, 1),
                (dt.date(2026, 2, 1), '刘洋', 0, 1, 1, 1),
                (dt.date(2026, 2, 1), '陈静', 1, 0, 0, 0),
                (dt.date(2026, 3, 1), '刘洋', 0, 0, 0, 1),
                ]
            self.assertEqual(perf(), everyone)
            with Transaction().set_context(period='year'):
                self.assertEqual(sorted(
                        (r.employee.party.name, r.orders)
                        for r in Perf.search([])),
                    [('刘洋', 3), ('陈静', 1)])

            # 王芳 supervises 刘洋 only
            boss = create_employee(company, '王芳')
            rep1.supervisor = boss
            rep1.save()
            group = Group(ModelData.get_id(
                    'telesales_pipeline', 'group_telesales_supervisor'))
            user, = User.create([{'login': 'wangfang', 'name': '王芳',
                        'groups': [('add', [group.id])],
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        'employees': [('add', [boss.id])],
                        'employee': boss.id}])
            with Transaction().set_user(user.id), check_access(), \
                    Transaction().set_context(
                        company=company.id, employee=boss.id):
                self.assertEqual(perf(), [
                        r for r in everyone if r[1] == '刘洋'])
                self.assertEqual(
                    {r.employee.id for r in FollowupDaily.search([])},
                    {rep1.id})
                # A and B are the team's, E is in the shared pool
                self.assertEqual(sorted(
                        (r.source.name, r.customers)
                        for r in BySource.search([])),
                    [('展会', 2), ('网络', 1)])
                self.assertEqual(sum(r.customers for r in Funnel.search([])),
                    3)
                self.assertEqual(sorted(
                        r.party.name for r in Conversion.search([])),
                    ['A', 'B'])
                self.assertEqual(sorted(
                        (r.date, r.customers, r.opportunities, r.orders)
                        for r in New.search([])), [
                        (dt.date(2026, 1, 1), 2, 0, 1),
                        (dt.date(2026, 2, 1), 0, 1, 1),
                        (dt.date(2026, 3, 1), 1, 0, 1),
                        ])
