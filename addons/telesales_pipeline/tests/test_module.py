# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


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


del ModuleTestCase
