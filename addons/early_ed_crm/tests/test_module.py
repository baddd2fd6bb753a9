# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class EarlyEdCrmTestCase(CompanyTestMixin, ModuleTestCase):
    "Test early_ed_crm module"
    module = 'early_ed_crm'
    extras = ['sms_gateway']

    @property
    def _skip_company_rule(self):
        # extended here; sale_point's rule goes through the point's company
        return super()._skip_company_rule | {
            ('sale.point.cash.transfer', 'company')}

    def setup_sms(self, content, event, days=0):
        "A log gateway, a customer with a mobile and an event message"
        pool = Pool()
        Gateway = pool.get('sms.gateway')
        Configuration = pool.get('sms.configuration')
        Party = pool.get('party.party')
        Template = pool.get('sms.template')
        Trigger = pool.get('sms.trigger')
        gateway = Gateway(name='Log', kind='log')
        gateway.save()
        config = Configuration(1)
        config.gateway = gateway
        config.quiet_start = config.quiet_end = None
        config.save()
        party = Party(name='王女士', contact_mechanisms=[
                {'type': 'mobile', 'value': '+8613798312311'}])
        party.save()
        template = Template(name=event, kind='notification', content=content)
        template.save()
        trigger = Trigger(name=event, event=event, template=template,
            days=days)
        trigger.save()
        return party, trigger

    def card_with_hours(self, party, hours, holder='小明', parent=None):
        pool = Pool()
        Card = pool.get('member.card')
        Lot = pool.get('member.card.lot')
        card = Card(party=party, holder=holder, parent=parent)
        card.save()
        if hours:
            Lot.credit([card], Decimal(hours), kind='adjustment')
        return card

    @with_transaction()
    def test_sms_low_hours(self):
        "Crossing the low-hours threshold sends the event message once"
        pool = Pool()
        Card = pool.get('member.card')
        MemberConfiguration = pool.get('member.configuration')
        Message = pool.get('sms.message')
        company = create_company()
        with set_company(company):
            party, trigger = self.setup_sms(
                '${name}您好，${holder}的会员卡${card}仅剩${hours_balance}课时',
                'low_hours')
            config = MemberConfiguration(1)
            config.low_hours = Decimal(5)
            config.save()
            card = self.card_with_hours(party, 7)

            Card.debit_hours(card, Decimal(1), 'checkin')
            self.assertEqual(Message.search([]), [])
            Card.debit_hours(card, Decimal(2), 'checkin')
            message, = Message.search([])
            Card.debit_hours(card, Decimal(1), 'checkin')
            self.assertEqual(Message.search([]), [message])

        self.assertEqual(message.text,
            '王女士您好，小明的会员卡%s仅剩4.00课时' % card.number)
        self.assertEqual(message.origin, card)
        self.assertEqual(message.party, party)

    @with_transaction()
    def test_sms_low_hours_off(self):
        "Without a threshold no low-hours message is sent"
        pool = Pool()
        Card = pool.get('member.card')
        Message = pool.get('sms.message')
        company = create_company()
        with set_company(company):
            party, _ = self.setup_sms('${name} ${hours_balance}', 'low_hours')
            card = self.card_with_hours(party, 2)
            Card.debit_hours(card, Decimal(2), 'checkin')
            self.assertEqual(Message.search([]), [])

    @with_transaction()
    def test_sms_class_reminder(self):
        "A booked class (draft check-in) is reminded once, Days Ahead"
        pool = Pool()
        CheckIn = pool.get('member.checkin')
        Message = pool.get('sms.message')
        Trigger = pool.get('sms.trigger')
        company = create_company()
        tomorrow = dt.date.today() + dt.timedelta(days=1)
        with set_company(company):
            party, trigger = self.setup_sms(
                '${holder}明天${class_time}有${class}课，卡内剩余'
                '${hours_balance}课时', 'class_reminder', days=1)
            card = self.card_with_hours(party, 10)
            booked, = CheckIn.create([{
                        'card': card.id, 'child': '小明',
                        'course': '音乐启蒙', 'hours': Decimal(1),
                        'date': dt.datetime.combine(
                            tomorrow, dt.time(10, 30)),
                        }])
            CheckIn.create([{
                        'card': card.id, 'course': '美术',
                        'hours': Decimal(1),
                        'date': dt.datetime.combine(
                            tomorrow + dt.timedelta(days=1),
                            dt.time(10, 30)),
                        }])
            Trigger.run([trigger])
            Trigger.run([trigger])
        message, = Message.search([])
        self.assertEqual(message.text, '小明明天10:30有音乐启蒙课，卡内剩余10.00课时')
        self.assertEqual(message.origin, booked)

    @with_transaction()
    def test_sms_balance_merge_fields(self):
        "Balances of a customer's cards: a twins' shared lot counts once"
        pool = Pool()
        Card = pool.get('member.card')
        Lot = pool.get('member.card.lot')
        Template = pool.get('sms.template')
        company = create_company()
        with set_company(company):
            party, _ = self.setup_sms('${name}', 'low_hours')
            main = self.card_with_hours(party, 0, holder='大宝')
            twin = self.card_with_hours(party, 0, holder='二宝', parent=main)
            Lot.credit([main, twin], Decimal(48))
            Card.credit_cash(main, Decimal(300), 'recharge')
            values = Template.get_merge_values([party])[party.id]
            self.assertEqual(values['hours_balance'], '48.00')
            self.assertEqual(values['cash_balance'], '300.00')
            self.assertEqual(values['holder'], '大宝、二宝')
            self.assertEqual(values['card'], '%s、%s' % (
                    main.number, twin.number))
            self.assertIn('hours_balance', Template.merge_field_labels())

    @with_transaction()
    def test_typed_amounts_and_hours(self):
        "Amounts and hours are checked in the terms the user typed them"
        from ..card import check_amount, check_hours
        from ..exceptions import InputError
        self.assertEqual(check_amount(Decimal('10.50')), Decimal('10.50'))
        self.assertEqual(check_hours(2), Decimal(2))
        for value in ['0', '-1', '0.001', '100000000', 'NaN', None, 'x']:
            with self.subTest(value=value):
                with self.assertRaises(InputError):
                    check_amount(value)
        for value in ['0', '0.005', '10000']:
            with self.subTest(value=value):
                with self.assertRaises(InputError):
                    check_hours(Decimal(value))

    @with_transaction()
    def test_checkin_copy_is_draft(self):
        "A copied check-in is a draft to check in again"
        pool = Pool()
        CheckIn = pool.get('member.checkin')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            party = Party(name='王女士')
            party.save()
            card = self.card_with_hours(party, 5)
            checkin = CheckIn(card=card, course='音乐启蒙', hours=1)
            checkin.save()
            CheckIn.do([checkin])
            copy, = CheckIn.copy([checkin])
            self.assertEqual((checkin.state, copy.state), ('done', 'draft'))


del ModuleTestCase
