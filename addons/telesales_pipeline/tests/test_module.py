# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from ..exceptions import ClaimQuotaError


class TelesalesPipelineTestCase(CompanyTestMixin, ModuleTestCase):
    "Test telesales_pipeline module"
    module = 'telesales_pipeline'

    @with_transaction()
    def test_followup_method_codes(self):
        "The contract's follow-up methods exist with their codes"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Method = pool.get('crm.followup.method')
        for code in ['phone', 'sms', 'email', 'wechat', 'visit', 'system']:
            method = Method(ModelData.get_id(
                    'telesales_pipeline', 'followup_method_%s' % code))
            self.assertEqual(method.code, code)
            self.assertEqual(Method.get_by_code(code), method)

    @with_transaction()
    def test_source_hierarchy(self):
        "Sources are hierarchical: source → detail"
        Source = Pool().get('crm.source')
        web, = Source.create([{'name': "Web", 'childs': [
                        ('create', [{'name': "Baidu"}])]}])
        baidu, = web.childs
        self.assertEqual(baidu.rec_name, "Web / Baidu")
        self.assertEqual(Source.search([('rec_name', 'ilike', '%baidu%')]),
            [baidu])

    @with_transaction()
    def test_customer_defaults(self):
        "A customer created from the CRM is the creator's, at reserve"
        pool = Pool()
        Party = pool.get('party.party')
        company = create_company()
        employee = create_employee(company)
        with set_company(company), Transaction().set_context(
                crm_customer=True, employee=employee.id):
            party = Party(name="Customer")
            party.save()
        self.assertEqual(party.crm_stage, 'reserve')
        self.assertEqual(party.crm_ownership, 'personal')
        self.assertEqual(party.crm_owner, employee)
        other = Party(name="Supplier")
        other.save()
        self.assertEqual(other.crm_stage, None)

    @with_transaction()
    def test_followup_log_and_reminders(self):
        "log() writes an automatic follow-up; a new one clears reminders"
        pool = Pool()
        Party = pool.get('party.party')
        Followup = pool.get('crm.followup')
        Method = pool.get('crm.followup.method')
        User = pool.get('res.user')
        company = create_company()
        employee = create_employee(company)
        with set_company(company):
            party = Party(name="Customer", crm_stage='reserve',
                crm_ownership='shared')
            party.save()
            log = Followup.log(party, "Stage changed", employee=employee)
            self.assertTrue(log.automatic)
            self.assertEqual(log.method.code, 'system')
            self.assertEqual(log.employee, employee)
            self.assertIsNone(party.crm_last_contact)

            tomorrow = datetime.date.today() + datetime.timedelta(days=1)
            first = Followup(party=party, method=Method.get_by_code('phone'),
                content="Called", next_callback=tomorrow,
                reminder_user=User(Transaction().user))
            first.save()
            self.assertEqual(first.reminder_state, 'open')
            party = Party(party.id)
            self.assertEqual(party.crm_next_callback, tomorrow)
            self.assertEqual(party.crm_last_contact, first.date)

            sms = Followup.log(party, "SMS sent", method='sms')
            self.assertEqual(sms.method.code, 'sms')
            self.assertEqual(Followup(first.id).reminder_state, 'open')

            second = Followup(party=party, method=Method.get_by_code('visit'),
                content="Visited")
            second.save()
            self.assertEqual(Followup(first.id).reminder_state, 'done')
            self.assertIsNone(Party(party.id).crm_next_callback)

    @with_transaction()
    def test_followup_modification_log(self):
        "ModelStorage.log still works for follow-ups"
        pool = Pool()
        Party = pool.get('party.party')
        Followup = pool.get('crm.followup')
        party = Party(name="Customer")
        party.save()
        followup = Followup.log(party, "Note")
        Followup.log([followup], 'write', 'content')
        self.assertEqual(
            Transaction().log_records[-1].event, 'write')

    @with_transaction()
    def test_claim_quota_per_company_day(self):
        "The daily claim counter restarts on the company's new day"
        pool = Pool()
        Party = pool.get('party.party')
        Employee = pool.get('company.employee')
        Configuration = pool.get('crm.configuration')
        Date = pool.get('ir.date')
        company = create_company()
        employee = create_employee(company)
        configuration = Configuration(1)
        configuration.claim_quota = 1
        configuration.save()
        with set_company(company), Transaction().set_context(
                employee=employee.id):
            first, second = Party.create([
                    {'name': n, 'crm_stage': 'reserve',
                        'crm_ownership': 'shared'} for n in ['A', 'B']])
            Party.crm_claim([first])
            with self.assertRaises(ClaimQuotaError):
                Party.crm_claim([second])
            yesterday = Date.today() - datetime.timedelta(days=1)
            Employee.write([employee], {'crm_claim_date': yesterday})
            Party.crm_claim([second])
            self.assertEqual(second.crm_owner, employee)
            employee = Employee(employee.id)
            self.assertEqual(employee.crm_claim_date, Date.today())
            self.assertEqual(employee.crm_claim_count, 1)

    @with_transaction()
    def test_phone_default_china(self):
        "Phone numbers without prefix are Chinese numbers"
        pool = Pool()
        Party = pool.get('party.party')
        ContactMechanism = pool.get('party.contact_mechanism')
        party = Party(name="Customer")
        party.save()
        mechanism = ContactMechanism(
            party=party, type='mobile', value='13712342311')
        mechanism.save()
        self.assertEqual(mechanism.value_compact, '+8613712342311')
        fixed = ContactMechanism(
            party=party, type='phone', value='010 6552 9988')
        fixed.save()
        self.assertEqual(fixed.value_compact, '+861065529988')

    @with_transaction()
    def test_dashboard_counts(self):
        "The dashboard counts callbacks and contacts per stage"
        pool = Pool()
        Party = pool.get('party.party')
        Dashboard = pool.get('crm.dashboard')
        Date = pool.get('ir.date')
        company = create_company()
        with set_company(company):
            today = Date.today()
            Party.create([
                    {'name': 'A', 'crm_stage': 'target',
                        'crm_ownership': 'shared',
                        'crm_next_callback': today},
                    {'name': 'B', 'crm_stage': 'target',
                        'crm_ownership': 'shared',
                        'crm_next_callback': today},
                    {'name': 'C', 'crm_stage': 'closed',
                        'crm_ownership': 'shared',
                        'crm_next_callback':
                            today + datetime.timedelta(days=1)},
                    {'name': 'D', 'crm_stage': 'reserve',
                        'crm_ownership': 'shared',
                        'crm_next_callback':
                            today - datetime.timedelta(days=3)},
                    ])
            rows = {r.stage: r for r in Dashboard.search([])}
            self.assertEqual(len(rows), 5)
            self.assertEqual(rows['target'].callbacks_today, 2)
            self.assertEqual(rows['closed'].callbacks_tomorrow, 1)
            self.assertEqual(rows['reserve'].callbacks_today, 0)
            action = Dashboard.open_callbacks_today([rows['target']])
            self.assertIn('crm_next_callback', action['pyson_domain'])

    @with_transaction()
    def test_followup_reminders_cron(self):
        "Due callbacks notify the user to remind, once"
        pool = Pool()
        Party = pool.get('party.party')
        Followup = pool.get('crm.followup')
        User = pool.get('res.user')
        Date = pool.get('ir.date')
        party = Party(name="Customer", crm_stage='target',
            crm_ownership='shared')
        party.save()
        followup = Followup(party=party, content="Call",
            next_callback=Date.today(), reminder_user=User(1))
        followup.save()
        self.assertEqual(Followup.send_reminders(), [followup])
        self.assertEqual(
            Transaction().user_notifications[-1].user.id, 1)
        self.assertEqual(Followup.send_reminders(), [])


del ModuleTestCase
