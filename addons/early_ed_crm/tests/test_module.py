# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal

from types import SimpleNamespace

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from ..card import MAX_AMOUNT, MAX_BALANCE, MAX_HOURS
from ..exceptions import (
    AllocationError, CardError, CardNotActiveError, InputError,
    InsufficientBalanceError)


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

    def balances(self, card):
        """The card's (hours, cash) as stored: the wallet operations update
        them in SQL, past the records cached in the test's transaction"""
        Card = Pool().get('member.card')
        row, = Card.read([card.id], ['hours_balance', 'cash_balance'])
        return row['hours_balance'], row['cash_balance']

    def remaining(self, lot):
        "The lot's remaining hours as stored"
        Lot = Pool().get('member.card.lot')
        row, = Lot.read([lot.id], ['remaining'])
        return row['remaining']

    def member(self, name='王女士'):
        Party = Pool().get('party.party')
        party = Party(name=name)
        party.save()
        return party

    @with_transaction()
    def test_typed_limits(self):
        "The largest amount and hours typed are taken, one cent more not"
        from ..card import check_amount, check_hours
        self.assertEqual(check_amount('0.01'), Decimal('0.01'))
        self.assertEqual(check_amount(MAX_AMOUNT), MAX_AMOUNT)
        self.assertEqual(check_amount(0.1), Decimal('0.1'))
        self.assertEqual(check_hours('0.01'), Decimal('0.01'))
        self.assertEqual(check_hours(MAX_HOURS), MAX_HOURS)
        for value in [MAX_AMOUNT + Decimal('0.01'), '-0.01', '1.005',
                'Infinity']:
            with self.subTest(amount=value):
                with self.assertRaises(InputError):
                    check_amount(value)
        for value in [MAX_HOURS + Decimal('0.01'), '-0.01', '-1']:
            with self.subTest(hours=value):
                with self.assertRaises(InputError):
                    check_hours(value)

    @with_transaction()
    def test_hours_exact_balance_and_one_over(self):
        "Hours are spent down to zero, never a hundredth below"
        pool = Pool()
        Card = pool.get('member.card')
        company = create_company()
        with set_company(company):
            card = self.card_with_hours(self.member(), 10)
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_hours(card, Decimal('10.01'), 'checkin')
            self.assertEqual(self.balances(card)[0], Decimal('10.00'))
            for hours in [Decimal(0), Decimal(-1), Decimal('0.001')]:
                with self.subTest(hours=hours):
                    with self.assertRaises(InputError):
                        Card.debit_hours(card, hours, 'checkin')
            move, = Card.debit_hours(card, Decimal('9.99'), 'checkin')
            self.assertEqual((move.quantity, move.balance),
                (Decimal('-9.99'), Decimal('0.01')))
            Card.debit_hours(card, Decimal('0.01'), 'checkin')
            self.assertEqual(self.balances(card)[0], Decimal('0.00'))
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_hours(card, Decimal('0.01'), 'checkin')

    @with_transaction()
    def test_hours_oldest_lot_first(self):
        """Hours are taken from the oldest lots first, across lots; a lot
        picked by the user is the only one used"""
        pool = Pool()
        Card = pool.get('member.card')
        Lot = pool.get('member.card.lot')
        company = create_company()
        with set_company(company):
            card = self.card_with_hours(self.member(), 0)
            old = Lot.credit([card], Decimal(3),
                date=dt.date.today() - dt.timedelta(days=1))
            new = Lot.credit([card], Decimal(5))
            moves = Card.debit_hours(card, Decimal(4), 'checkin')
            self.assertEqual(
                [(m.lot, m.quantity, m.balance) for m in moves],
                [(old, Decimal(-3), Decimal(0)), (new, Decimal(-1),
                        Decimal(4))])
            newer = Lot.credit([card], Decimal(2))
            self.assertEqual(self.balances(card)[0], Decimal(6))
            # the picked lot alone, though the card has enough
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_hours(card, Decimal(3), 'checkin', lot=newer)
            move, = Card.debit_hours(card, Decimal(2), 'checkin', lot=newer)
            self.assertEqual((move.lot, move.balance), (newer, Decimal(0)))
            self.assertEqual(self.remaining(new), Decimal(4))

    def card_with_cash(self, amount):
        """A new card holding amount of cash, as the wallet operations of
        earlier transactions left it (one operation a transaction, as over
        RPC)"""
        Card = Pool().get('member.card')
        card, = Card.create([{'party': self.member().id, 'holder': '小明',
                    'cash_balance': amount}])
        return card

    @with_transaction()
    def test_cash_exact_balance_and_one_cent_over(self):
        "Cash is spent down to zero, never a cent below; amounts positive"
        Card = Pool().get('member.card')
        company = create_company()
        with set_company(company):
            card = self.card_with_cash(Decimal('100.00'))
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_cash(card, Decimal('100.01'), 'pos')
            self.assertEqual(self.balances(card)[1], Decimal('100.00'))
            for amount in [Decimal(0), Decimal('-0.01'), Decimal('0.001')]:
                with self.subTest(amount=amount):
                    with self.assertRaises(InputError):
                        Card.debit_cash(card, amount, 'pos')
                    with self.assertRaises(InputError):
                        Card.credit_cash(card, amount, 'recharge')
            self.assertEqual(self.balances(card)[1], Decimal('100.00'))

            card = self.card_with_cash(Decimal('100.00'))
            move = Card.debit_cash(card, Decimal('100.00'), 'pos')
            self.assertEqual((move.quantity, move.balance),
                (Decimal('-100.00'), Decimal('0.00')))
            self.assertEqual(self.balances(card)[1], Decimal('0.00'))

            card = self.card_with_cash(Decimal(0))
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_cash(card, Decimal('0.01'), 'pos')
            move = Card.credit_cash(card, Decimal('100'), 'recharge')
            self.assertEqual((move.quantity, move.balance),
                (Decimal('100.00'), Decimal('100.00')))
            self.assertEqual(self.balances(card)[1], Decimal('100.00'))

    @with_transaction()
    def test_cash_twice_in_one_transaction(self):
        """Two operations on one card in one transaction: the second reads
        the first's balance (never 120 spent from 100)"""
        Card = Pool().get('member.card')
        company = create_company()
        with set_company(company):
            card = self.card_with_cash(Decimal('100.00'))
            first = Card.debit_cash(card, Decimal('60'), 'pos')
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_cash(card, Decimal('60'), 'pos')
            self.assertEqual(first.balance, Decimal('40.00'))
            self.assertEqual(self.balances(card)[1], Decimal('40.00'))
            Card.credit_cash(card, Decimal('10'), 'recharge')
            move = Card.credit_cash(card, Decimal('10'), 'recharge')
            self.assertEqual(move.balance, Decimal('60.00'))
            self.assertEqual(Card(card.id).cash_balance, Decimal('60.00'))

    @with_transaction()
    def test_cash_balance_limit(self):
        "The cash wallet holds up to the ledger's largest number"
        Card = Pool().get('member.card')
        company = create_company()
        with set_company(company):
            card = self.card_with_cash(MAX_BALANCE - Decimal('0.01'))
            Card.credit_cash(card, Decimal('0.01'), 'recharge')
            self.assertEqual(self.balances(card)[1], MAX_BALANCE)
            card = self.card_with_cash(MAX_BALANCE)
            with self.assertRaises(InputError):
                Card.credit_cash(card, Decimal('0.01'), 'recharge')
            self.assertEqual(self.balances(card)[1], MAX_BALANCE)

    @with_transaction()
    def test_spending_needs_active_card(self):
        """A lost or frozen card spends nothing but may be credited; a
        replaced one takes nothing; a card closes only when empty"""
        Card = Pool().get('member.card')
        company = create_company()
        with set_company(company):
            card = self.card_with_hours(self.member(), 5)
            Card.credit_cash(card, Decimal(10), 'recharge')
            for transition in [Card.report_loss, Card.freeze]:
                with self.subTest(transition=transition.__name__):
                    transition([card])
                    with self.assertRaises(CardNotActiveError):
                        Card.debit_hours(card, Decimal(1), 'checkin')
                    with self.assertRaises(CardNotActiveError):
                        Card.debit_cash(card, Decimal(1), 'pos')
                    Card.credit_cash(card, Decimal(1), 'recharge')
                    Card.enable([card])
            self.assertEqual(self.balances(card)[1], Decimal(12))
            with self.assertRaises(CardError):
                Card.close([card])
            new = Card.reissue_card(card)
            self.assertEqual(Card(card.id).state, 'replaced')
            with self.assertRaises(CardNotActiveError):
                Card.credit_cash(card, Decimal(1), 'recharge')
            self.assertEqual(self.balances(new), (Decimal(5), Decimal(12)))
            self.assertEqual(self.balances(card), (Decimal(0), Decimal(0)))
            empty = self.card_with_hours(self.member(), 0)
            Card.close([empty])
            self.assertEqual(empty.state, 'closed')

    @with_transaction()
    def test_sub_cards_share_the_pool(self):
        """The main card and its sub-cards draw on the same lots; what one
        spends the others no longer have"""
        pool = Pool()
        Card = pool.get('member.card')
        Lot = pool.get('member.card.lot')
        company = create_company()
        with set_company(company):
            party = self.member()
            main = self.card_with_hours(party, 0, holder='大宝')
            twin = self.card_with_hours(party, 0, holder='二宝', parent=main)
            Lot.credit([main, twin], Decimal(10))
            Card.debit_hours(twin, Decimal(4), 'checkin')
            self.assertEqual(
                [self.balances(c)[0] for c in [main, twin]],
                [Decimal(6), Decimal(6)])
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_hours(main, Decimal('6.01'), 'checkin')
            Card.debit_hours(main, Decimal(6), 'checkin')
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_hours(twin, Decimal('0.01'), 'checkin')
            # the cash wallets are each card's own
            Card.credit_cash(main, Decimal(5), 'recharge')
            with self.assertRaises(InsufficientBalanceError):
                Card.debit_cash(twin, Decimal('0.01'), 'pos')

    @with_transaction()
    def test_contract_hours_allocation(self):
        """A pooled contract credits the card and its active sub-cards
        together; fixed allocations split the lines' hours in order and
        must add up to them"""
        Sale = Pool().get('sale.sale')
        main = SimpleNamespace(name='main', state='active')
        active = SimpleNamespace(name='active', state='active')
        frozen = SimpleNamespace(name='frozen', state='frozen')
        main.sub_cards = [active, frozen]
        l48 = SimpleNamespace(name='l48', course_hours=Decimal(48))
        l24 = SimpleNamespace(name='l24', course_hours=Decimal(24))

        def chunks(allocation, allocations=()):
            sale = SimpleNamespace(member_card=main,
                member_allocation=allocation, member_allocations=[
                    SimpleNamespace(card=c, hours=Decimal(h))
                    for c, h in allocations])
            return [(l.name, [c.name for c in cs], h) for l, cs, h in
                Sale._member_card_chunks(sale, [l48, l24])]
        self.assertEqual(chunks('pool'), [
                ('l48', ['main', 'active'], Decimal(48)),
                ('l24', ['main', 'active'], Decimal(24))])
        self.assertEqual(chunks('fixed', [(main, 30), (active, 42)]), [
                ('l48', ['main'], Decimal(30)),
                ('l48', ['active'], Decimal(18)),
                ('l24', ['active'], Decimal(24))])
        self.assertEqual(chunks('fixed', [(main, 48), (active, 24)]), [
                ('l48', ['main'], Decimal(48)),
                ('l24', ['active'], Decimal(24))])

        def check(allocation, allocations, card=main):
            sale = SimpleNamespace(rec_name='S1', course_hours=Decimal(72),
                member_card=card, member_allocation=allocation,
                member_allocations=[SimpleNamespace(hours=Decimal(h))
                    for h in allocations])
            Sale.check_member_card(sale)
        check('fixed', [30, 42])
        check('pool', [])
        for allocations in [[30, 41.99], [30, 42.01], []]:
            with self.subTest(allocations=allocations):
                with self.assertRaises(AllocationError):
                    check('fixed', allocations)
        with self.assertRaises(AllocationError):
            check('pool', [], card=None)

    @with_transaction()
    def test_conversion_rate_rounding(self):
        """Converted hours are credited at the configured rate, rounded to
        the cent; no more hours than the card has"""
        pool = Pool()
        Card = pool.get('member.card')
        Configuration = pool.get('member.configuration')
        company = create_company()
        with set_company(company):
            config = Configuration(1)
            config.hour_cash_rate = Decimal('33.33')
            config.save()
            card = self.card_with_hours(self.member(), 1)
            hour_moves, cash_move = Card.convert_hours(card, Decimal('0.03'))
            # 0.9999
            self.assertEqual(cash_move.quantity, Decimal('1.00'))
            self.assertEqual([m.quantity for m in hour_moves],
                [Decimal('-0.03')])
            self.assertEqual(self.balances(card),
                (Decimal('0.97'), Decimal('1.00')))
            with self.assertRaises(InsufficientBalanceError):
                Card.convert_hours(card, Decimal('0.98'))
            for hours in [Decimal(0), Decimal('-1')]:
                with self.subTest(hours=hours):
                    with self.assertRaises(InputError):
                        Card.convert_hours(card, hours)

    @with_transaction()
    def test_deferred_value_recognised_without_drift(self):
        """The revenue recognised for each hour consumed is the change of
        the lot's deferred value rounded to the cent: consuming all the
        hours recognises exactly the lot's value"""
        pool = Pool()
        Lot = pool.get('member.card.lot')
        Move = pool.get('member.card.move')
        company = create_company()
        with set_company(company):
            lot = Lot(company=company, price_per_hour=Decimal('333.3333'))
            self.assertEqual(lot.value_of(Decimal(3)), Decimal('1000.00'))
            self.assertEqual(lot.value_of(Decimal(0)), Decimal(0))
            values = []
            for remaining in [Decimal(2), Decimal(1), Decimal(0)]:
                values.append(lot._move_value(Move(
                            quantity=Decimal(-1), balance=remaining)))
            self.assertEqual(values,
                [Decimal('333.33'), Decimal('333.34'), Decimal('333.33')])
            self.assertEqual(sum(values), lot.value_of(Decimal(3)))
            half = lot._move_value(Move(
                    quantity=Decimal('-0.5'), balance=Decimal('2.5')))
            self.assertEqual(half, Decimal('166.67'))
            free = Lot(company=company, price_per_hour=None)
            self.assertEqual(free.value_of(Decimal(3)), Decimal(0))


del ModuleTestCase
