# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
from unittest.mock import patch

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from ..exceptions import ClaimQuotaError, StageLockedError


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
    def test_claim_quota_company_timezone(self):
        "A claim at 23:30 UTC counts for the next day in Shanghai"
        pool = Pool()
        Party = pool.get('party.party')
        Employee = pool.get('company.employee')
        Configuration = pool.get('crm.configuration')
        company = create_company()
        company.timezone = 'Asia/Shanghai'
        company.save()
        employee = create_employee(company)
        configuration = Configuration(1)
        configuration.claim_quota = 1
        configuration.save()
        utc_day = datetime.date(2026, 3, 1)
        now = datetime.datetime(
            2026, 3, 1, 23, 30, tzinfo=datetime.timezone.utc)

        class FakeDatetime(datetime.datetime):
            @classmethod
            def now(cls, tz=None):
                return now.astimezone(tz) if tz else now.replace(tzinfo=None)

        with set_company(company), Transaction().set_context(
                employee=employee.id), \
                patch('trytond.ir.date.datetime') as module:
            module.datetime = FakeDatetime
            first, second = Party.create([
                    {'name': n, 'crm_stage': 'reserve',
                        'crm_ownership': 'shared'} for n in ['A', 'B']])
            # the quota of the UTC day (1 March) is used up
            Employee.write([employee], {
                    'crm_claim_date': utc_day, 'crm_claim_count': 1})
            Party.crm_claim([first])
            employee = Employee(employee.id)
            self.assertEqual(
                employee.crm_claim_date, datetime.date(2026, 3, 2))
            self.assertEqual(employee.crm_claim_count, 1)
            with self.assertRaises(ClaimQuotaError):
                Party.crm_claim([second])

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
        sent = len(Transaction().user_notifications)
        self.assertEqual(Followup.send_reminders(), [])
        # a second cron process read the callback before the first sent it
        # (SQLite has no row lock): it finds it claimed and sends nothing
        with patch.object(Followup, 'search', return_value=[followup]):
            self.assertEqual(Followup.send_reminders(), [])
        self.assertEqual(len(Transaction().user_notifications), sent)


    def _crm_user(self, login, employee, group):
        "A user of employee in the module's group"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user, = User.create([{
                    'login': login, 'name': login,
                    'companies': [('add', [employee.company.id])],
                    'company': employee.company.id,
                    'employees': [('add', [employee.id])],
                    'employee': employee.id,
                    'groups': [('add', [
                                ModelData.get_id('telesales_pipeline', group),
                                ])],
                    }])
        return user

    @with_transaction()
    def test_locked_fields_by_stage(self):
        "A rep may not change the contact data of a customer from potential on"
        pool = Pool()
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        Address = pool.get('party.address')
        company = create_company()
        with set_company(company):
            rep = create_employee(company, 'Rep')
            sup = create_employee(company, 'Supervisor')
            rep.supervisor = sup
            rep.save()
        rep_user = self._crm_user('rep', rep, 'group_telesales_rep')
        sup_user = self._crm_user(
            'sup', sup, 'group_telesales_supervisor')
        with set_company(company):
            locked, reserve = Party.create([{
                        'name': name, 'crm_stage': stage,
                        'crm_ownership': 'personal', 'crm_owner': rep.id,
                        'addresses': [('create', [{'city': 'Jinhua'}])],
                        'contact_mechanisms': [('create', [{
                                        'type': 'mobile',
                                        'value': '+8613798312311'}])],
                        } for name, stage in [
                        ('Locked', 'potential'), ('Open', 'reserve')]])
        mechanism, = locked.contact_mechanisms
        address, = locked.addresses

        def as_user(user):
            return Transaction().set_user(user.id), \
                Transaction().set_context(
                    _check_access=True, company=company.id,
                    employee=user.employee.id)

        user_ctx, access_ctx = as_user(rep_user)
        with user_ctx, access_ctx:
            for values in [{'name': 'Renamed'},
                    {'contact_mechanisms': [('create', [{
                                        'type': 'phone',
                                        'value': '057983710010'}])]},
                    {'addresses': [('delete', [address.id])]},
                    ]:
                with self.assertRaises(StageLockedError, msg=values) as cm:
                    Party.write([Party(locked.id)], values)
            self.assertIn('Locked', cm.exception.message)
            with self.assertRaises(StageLockedError):
                Mechanism.write([Mechanism(mechanism.id)],
                    {'value': '+8613900000001'})
            with self.assertRaises(StageLockedError):
                Mechanism.create([{'party': locked.id, 'type': 'email',
                            'value': 'a@example.com'}])
            with self.assertRaises(StageLockedError):
                Address.write([Address(address.id)], {'city': 'Hangzhou'})
            # unchanged values and the other fields stay editable
            Party.write([Party(locked.id)], {
                    'name': 'Locked', 'crm_next_callback': datetime.date(
                        2026, 12, 1)})
            # before potential, the rep edits the contact data
            Party.write([Party(reserve.id)], {'name': 'Open Renamed'})
            Mechanism.create([{'party': reserve.id, 'type': 'email',
                        'value': 'b@example.com'}])
            Address.write(list(Party(reserve.id).addresses),
                {'city': 'Hangzhou'})
            # a new customer is entered with its contact data at any stage
            Party.create([{'name': 'New', 'crm_stage': 'potential',
                        'crm_ownership': 'personal', 'crm_owner': rep.id,
                        'contact_mechanisms': [('create', [{
                                        'type': 'mobile',
                                        'value': '+8613600000002'}])]}])
        # server code is not refused
        with Transaction().set_user(rep_user.id):
            Party.write([locked], {'name': 'By Server'})
        user_ctx, access_ctx = as_user(sup_user)
        with user_ctx, access_ctx:
            Party.write([Party(locked.id)], {'name': 'Corrected'})
            Mechanism.write([Mechanism(mechanism.id)],
                {'value': '+8613900000001'})
        self.assertEqual(Party(locked.id).name, 'Corrected')


    def _action_search(self, Model, xml_id, tab, employee):
        "The records an action's tab lists"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        ActionDomain = pool.get('ir.action.act_window.domain')
        from trytond.pyson import PYSONDecoder
        tab = ActionDomain(ModelData.get_id('telesales_pipeline', tab))
        decoder = PYSONDecoder({'context': {'employee': employee.id}})
        self.assertEqual(
            tab.act_window.id, ModelData.get_id('telesales_pipeline', xml_id))
        return Model.search([
                decoder.decode(tab.act_window.pyson_domain),
                decoder.decode(tab.domain) if tab.domain else []],
            order=decoder.decode(tab.act_window.pyson_order))

    @with_transaction()
    def test_reminders_appointments_today(self):
        "A rep's work reminders list today's appointments and visits"
        pool = Pool()
        Party = pool.get('party.party')
        Appointment = pool.get('crm.appointment')
        from ..dashboard import company_today, local_midnight_utc
        company = create_company()
        company.timezone = 'Asia/Shanghai'
        company.save()
        rep = create_employee(company, 'Rep')
        other = create_employee(company, 'Other')
        rep_user = self._crm_user('rep', rep, 'group_telesales_rep')
        with set_company(company):
            today, zone = company_today()
            mine, theirs = Party.create([{
                        'name': n, 'crm_stage': 'potential',
                        'crm_ownership': 'personal', 'crm_owner': e.id}
                    for n, e in [('Mine', rep), ('Theirs', other)]])

            def at(days, hour):
                "UTC of the local hour of today + days"
                return local_midnight_utc(
                    today + datetime.timedelta(days=days), zone) + (
                    datetime.timedelta(hours=hour))
            appointments = Appointment.create([{
                        'party': party.id, 'employee': employee.id,
                        'subject': subject, 'date': at(days, hour),
                        'type_': type_}
                    for subject, party, employee, days, hour, type_ in [
                        ('early', mine, rep, 0, 7, 'appointment'),
                        ('late', mine, rep, 0, 23, 'visit'),
                        ('overdue', mine, rep, -1, 10, 'appointment'),
                        ('tomorrow', mine, rep, 1, 1, 'appointment'),
                        ('done', mine, rep, 0, 10, 'visit'),
                        ('theirs', theirs, other, 0, 9, 'appointment'),
                        ]])
            Appointment.done([a for a in appointments if a.subject == 'done'])
            self.assertEqual(
                {a.subject for a in Appointment.browse(appointments)
                    if a.due_today},
                {'early', 'late', 'overdue', 'theirs'})
        with Transaction().set_user(rep_user.id), Transaction().set_context(
                _check_access=True, company=company.id, employee=rep.id):
            for tab in ['mine', 'team']:
                found = self._action_search(Appointment,
                    'act_my_appointments', 'act_my_appointments_domain_' + tab,
                    rep)
                self.assertEqual([a.subject for a in found],
                    ['overdue', 'early', 'late'], msg=tab)


del ModuleTestCase
