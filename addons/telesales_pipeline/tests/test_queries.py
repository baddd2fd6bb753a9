# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Ready-made queries (PL-15) and reserve screening (PL-14)"
import datetime
import unittest
from unittest.mock import patch

from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from ..query import screening

QUERIES = {
    'callback_today': {'today'},
    'callback_tomorrow': {'tomorrow'},
    'callback_week': {'today', 'tomorrow', 'in 3 days'},
    'contacted_today': {'contacted now'},
    'reserve_mine': {'mine'},
    'reserve_shared': {'today', 'tomorrow', 'in 3 days', 'in 10 days',
        'contacted now', 'contacted 40 days ago'},
    'target_uncontacted': {'target'},
    'tracking_paused': {'paused'},
    }


class QueriesTestCase(unittest.TestCase):
    "Ready-made queries and reserve screening"

    @classmethod
    def setUpClass(cls):
        activate_module('telesales_pipeline')

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def _customer(self, name, **values):
        Party = Pool().get('party.party')
        values.setdefault('crm_stage', 'reserve')
        values.setdefault('crm_ownership', 'shared')
        city = values.pop('city', None)
        values['addresses'] = [('create', [{'city': city}])]
        party, = Party.create([dict(values, name=name)])
        return party

    def _query(self, xml_id, employee):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        ActionDomain = pool.get('ir.action.act_window.domain')
        Party = pool.get('party.party')
        tab = ActionDomain(ModelData.get_id(
                'telesales_pipeline', 'act_customer_query_domain_' + xml_id))
        decoder = PYSONDecoder({'context': {'employee': employee.id}})
        domain = [
            decoder.decode(tab.act_window.pyson_domain),
            decoder.decode(tab.domain)]
        return {p.name for p in Party.search(domain)}

    @with_transaction()
    def test_ready_made_queries(self):
        "Each ready-made query of the seeds finds its customers"
        pool = Pool()
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            rep = create_employee(company, '刘洋')
            other = create_employee(company, '陈静')
            today = datetime.date.today()
            for name, days in [('today', 0), ('tomorrow', 1),
                    ('in 3 days', 3), ('in 10 days', 10)]:
                self._customer(name,
                    crm_next_callback=today + datetime.timedelta(days))
            now = datetime.datetime.now()
            for name, days in [
                    ('contacted now', 0), ('contacted 40 days ago', 40)]:
                party = self._customer(name)
                Party.write([party], {
                        'crm_last_contact': now - datetime.timedelta(days)})
            self._customer('mine', crm_ownership='personal', crm_owner=rep)
            self._customer('theirs', crm_ownership='personal',
                crm_owner=other)
            self._customer('target', crm_stage='target',
                crm_ownership='personal', crm_owner=rep,
                crm_marker='uncontacted')
            self._customer('paused', crm_stage='potential',
                crm_ownership='personal', crm_owner=rep,
                crm_marker='tracking_paused')
            self._customer('tracking', crm_stage='potential',
                crm_ownership='personal', crm_owner=rep,
                crm_marker='tracking')

            for xml_id, expected in QUERIES.items():
                self.assertEqual(self._query(xml_id, rep), expected,
                    msg=xml_id)
            month = self._query('contacted_month', rep)
            self.assertIn('contacted now', month)
            self.assertNotIn('contacted 40 days ago', month)
            self.assertEqual(self._query('reserve_mine', other), {'theirs'})

    @with_transaction()
    def test_contacted_queries_company_timezone(self):
        "Contacted today/this month start at the company's local midnight"
        pool = Pool()
        Party = pool.get('party.party')
        company = create_company()
        company.timezone = 'Asia/Shanghai'
        company.save()
        # 1 April 01:00 in Shanghai
        now = datetime.datetime(
            2026, 3, 31, 17, 0, tzinfo=datetime.timezone.utc)

        class FakeDatetime(datetime.datetime):
            @classmethod
            def now(cls, tz=None):
                return now.astimezone(tz) if tz else now.replace(tzinfo=None)

        with set_company(company), \
                patch('trytond.ir.date.datetime') as module:
            module.datetime = FakeDatetime
            rep = create_employee(company, '刘洋')
            for name, hour, minute in [
                    ('after local midnight', 16, 30),
                    ('before local midnight', 15, 30)]:
                party = self._customer(name)
                Party.write([party], {'crm_last_contact': datetime.datetime(
                            2026, 3, 31, hour, minute)})
            self.assertEqual(self._query('contacted_today', rep),
                {'after local midnight'})
            self.assertEqual(self._query('contacted_month', rep),
                {'after local midnight'})
            party, = Party.search([('name', '=', 'before local midnight')])
            self.assertEqual(
                (party.crm_contacted_today, party.crm_contacted_week,
                    party.crm_contacted_month), (False, True, False))
            self.assertEqual(
                {p.name for p in Party.search([
                            ('crm_contacted_today', '=', False),
                            ('crm_stage', '!=', None)])},
                {'before local midnight'})

    @with_transaction()
    def test_reserve_screening(self):
        "Reserve customers share industry, city or source of the team's wins"
        pool = Pool()
        Industry = pool.get('crm.industry')
        Source = pool.get('crm.source')
        Sale = pool.get('sale.sale')
        Opportunity = pool.get('sale.opportunity')
        Party = pool.get('party.party')
        Employee = pool.get('company.employee')
        Screen = pool.get('crm.reserve.screen', type='wizard')
        User = pool.get('res.user')
        company = create_company()
        with set_company(company):
            sup = create_employee(company, '李强')
            rep1 = create_employee(company, '刘洋')
            rep2 = create_employee(company, '陈静')
            rep3 = create_employee(company, '杨帆')
            Employee.write([rep1, rep2], {'supervisor': sup.id})
            software, making, teaching = Industry.create([
                    {'name': '软件'}, {'name': '制造'}, {'name': '教育'}])
            web, fair = Source.create([{'name': '网络'}, {'name': '展会'}])

            def sale(party, state):
                address, = party.addresses
                Sale.create([{'party': party.id, 'company': company.id,
                            'currency': company.currency.id,
                            'invoice_address': address.id,
                            'shipment_address': address.id,
                            'sale_date': datetime.date.today(),
                            'state': state}])

            won = self._customer('赢单', crm_stage='closed',
                crm_ownership='personal', crm_owner=rep2,
                crm_industry=software, crm_source=fair, city='上海')
            sale(won, 'confirmed')
            other_team = self._customer('别组赢单', crm_stage='closed',
                crm_ownership='personal', crm_owner=rep3,
                crm_industry=teaching, crm_source=web, city='北京')
            sale(other_team, 'done')
            draft = self._customer('草稿单', crm_stage='potential',
                crm_ownership='personal', crm_owner=rep1,
                crm_industry=teaching, city='广州')
            sale(draft, 'draft')
            chance = self._customer('商机', crm_stage='opportunity',
                crm_ownership='personal', crm_owner=rep1,
                crm_industry=making, crm_source=web, city='深圳')
            Opportunity.create([{'party': chance.id, 'company': company.id,
                        'currency': company.currency.id,
                        'employee': rep1.id, 'state': 'opportunity'}])
            lost = self._customer('丢单', crm_stage='potential',
                crm_ownership='personal', crm_owner=rep1,
                crm_industry=teaching, city='北京')
            Opportunity.create([{'party': lost.id, 'company': company.id,
                        'currency': company.currency.id,
                        'employee': rep1.id, 'state': 'lost'}])

            self._customer('R1', crm_industry=software, crm_source=fair,
                city='上海')
            self._customer('R2', crm_industry=software, crm_source=web,
                city='北京')
            self._customer('R3', crm_industry=making, crm_source=web,
                city='深圳')
            self._customer('R4', crm_industry=teaching, crm_source=fair,
                city='北京')
            self._customer('R5', city='上海')
            # a target customer of the same industry is no reserve one
            self._customer('T1', crm_stage='target', crm_industry=software)

            def found(basis, employee, industry=False, city=False,
                    source=False):
                domain, *_ = screening(
                    basis, [employee.id], industry, city, source)
                return sorted(p.name for p in Party.search(domain))

            self.assertEqual(found('sales', rep1, industry=True),
                ['R1', 'R2'])
            self.assertEqual(found('sales', rep1, city=True), ['R1', 'R5'])
            self.assertEqual(found('sales', rep1, source=True),
                ['R1', 'R4'])
            self.assertEqual(
                found('sales', rep1, industry=True, city=True), ['R1'])
            self.assertEqual(found('opportunities', rep1, industry=True),
                ['R3'])
            self.assertEqual(found('both', sup, industry=True),
                ['R1', 'R2', 'R3'])
            # another team's wins point elsewhere
            self.assertEqual(found('sales', rep3, industry=True), ['R4'])
            self.assertEqual(found('opportunities', rep3, industry=True),
                [])

            # the wizard opens the customer list on the screening domain
            # for a telesales user
            rep_group = pool.get('ir.model.data').get_id(
                'telesales_pipeline', 'group_telesales_rep')
            user, = User.create([{'login': 'rep1', 'name': '刘洋',
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        'employees': [('add', [rep1.id])],
                        'employee': rep1.id,
                        'groups': [('add', [rep_group])]}])
            with Transaction().set_user(user.id):
                session_id, _, _ = Screen.create()
                screen = Screen(session_id)
                screen.start.basis = 'both'
                screen.start.by_industry = False
                screen.start.by_city = True
                screen.start.by_source = False
                action, _ = screen.do_open_({})
            domain = PYSONDecoder().decode(action['pyson_domain'])
            self.assertEqual(sorted(p.name for p in Party.search(domain)),
                ['R1', 'R3', 'R5'])
