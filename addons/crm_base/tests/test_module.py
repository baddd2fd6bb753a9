# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import unittest

import pytest

from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .. import phone


@pytest.mark.fast
class PhoneTestCase(unittest.TestCase):
    "The one normaliser and masker (no database)"

    def test_normalize(self):
        for raw, e164 in [
                ('13798312311', '+8613798312311'),
                ('137 9831 2311', '+8613798312311'),
                ('+86 137-9831-2311', '+8613798312311'),
                ('010 6552 9988', '+861065529988'),
                ('+1 650 253 0000', '+16502530000'),
                ('0579-83710010', '+8657983710010'),
                (13798312311, '+8613798312311'),
                ('12345', None), ('', None), (None, None), ('abc', None),
                ('1379831231', None), ('2379831231199', None)]:
            with self.subTest(raw=raw):
                self.assertEqual(phone.normalize(raw), e164)

    def test_check_mobile(self):
        self.assertEqual(phone.check_mobile('13798312311'),
            ('+8613798312311', None))
        self.assertEqual(phone.check_mobile(' '), (None, 'empty'))
        self.assertEqual(phone.check_mobile('abc'), (None, 'malformed'))
        self.assertEqual(phone.check_mobile('10000000000'), (None, 'invalid'))
        self.assertEqual(phone.check_mobile('010 6552 9988'),
            (None, 'not_mobile'))

    def test_mask_phone(self):
        for number, masked in [
                ('+8613798312311', '137****2311'),
                ('+861065529988', '010****9988'),
                ('+8657983710010', '057****0010'),
                ('13798312311', '137****2311'),
                ('+16502530000', '+1 650****0000'),
                ('1234', '****'),
                ('', ''), (None, None)]:
            with self.subTest(number=number):
                self.assertEqual(phone.mask_phone(number), masked)

    def test_mask_in_text(self):
        self.assertEqual(
            phone.mask_in_text("请回电 13798312311，2026-12-07 之前"),
            "请回电 137****2311，2026-12-07 之前")
        self.assertEqual(phone.mask_in_text("订单 123456"), "订单 123456")
        self.assertEqual(phone.mask_deep(
                {'a': ['+8613798312311', 3]}), {'a': ['137****2311', 3]})

    def test_region_carrier(self):
        self.assertEqual(phone.region('+8613798312311'), '广东省深圳市')
        self.assertEqual(phone.carrier('+8613798312311'), '中国移动')
        self.assertEqual(phone.region('+8657983710010'), '浙江省金华市')
        self.assertEqual(phone.region('bad'), '')
        self.assertEqual(phone.carrier(None), '')

    def test_phone_clause(self):
        "A masked user finds whole numbers only"
        self.assertEqual(
            phone.phone_clause(('mobile', 'ilike', '%137 9831 2311%'), 'c'),
            ('c', '=', '+8613798312311'))
        self.assertEqual(
            phone.phone_clause(('mobile', 'ilike', '%137%'), 'c'),
            ('id', 'in', []))
        self.assertEqual(
            phone.phone_clause(('email', 'ilike', '%a@b.cn%'), 'c'),
            ('email', 'ilike', '%a@b.cn%'))

    def test_split_and_variants(self):
        self.assertEqual(phone.split_numbers('138 0013 8000，13912345678;1'),
            ['138 0013 8000', '13912345678', '1'])
        self.assertIn('+8613798312311', phone.variants('137-9831-2311'))
        self.assertIn('13798312311', phone.variants('+8613798312311'))


class CrmBaseTestCase(ModuleTestCase):
    "Test crm_base module"
    module = 'crm_base'

    @with_transaction()
    def test_contact_mechanism_uses_the_normaliser(self):
        "The host's compact value is the suite's E.164, Chinese by default"
        pool = Pool()
        Party = pool.get('party.party')
        ContactMechanism = pool.get('party.contact_mechanism')
        party, = Party.create([{'name': "张伟"}])
        mobile, fixed = ContactMechanism.create([
                {'party': party.id, 'type': 'mobile',
                    'value': '137 9831 2311'},
                {'party': party.id, 'type': 'phone',
                    'value': '+1 650 253 0000'}])
        self.assertEqual(mobile.value_compact, '+8613798312311')
        self.assertEqual(fixed.value_compact, '+16502530000')

    @with_transaction()
    def test_full_numbers_hook(self):
        "Everyone sees full numbers unless a module limits them"
        ContactMechanism = Pool().get('party.contact_mechanism')
        self.assertTrue(ContactMechanism.may_see_full_numbers())
        with Transaction().set_context(_check_access=True):
            self.assertFalse(ContactMechanism.must_mask())
        self.assertEqual(ContactMechanism.display_number('+8613798312311'),
            '+8613798312311')


del ModuleTestCase
