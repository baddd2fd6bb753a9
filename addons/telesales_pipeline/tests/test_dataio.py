# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Unit tests of telesales_pipeline's data in and out (issue 4)"
import unittest

from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from telesales_pipeline.phone import (
    carrier, mask_phone, normalize, region)


class PhoneTestCase(unittest.TestCase):
    "Pure phone helpers"

    def test_normalize(self):
        self.assertEqual(normalize('13798312311'), '+8613798312311')
        self.assertEqual(normalize(' 137 9831 2311 '), '+8613798312311')
        self.assertEqual(normalize('0579-83710010'), '+8657983710010')
        self.assertEqual(normalize('+8613798312311'), '+8613798312311')
        self.assertEqual(normalize(13798312311), '+8613798312311')
        for bad in [None, '', '123', '1379831231', 'abc', '2379831231199']:
            self.assertIsNone(normalize(bad), bad)

    def test_mask_phone(self):
        self.assertEqual(mask_phone('+8613798312311'), '137****2311')
        self.assertEqual(mask_phone('+8657983710010'), '057****0010')
        self.assertEqual(mask_phone('+14155552671'), '+1 415****2671')
        self.assertEqual(mask_phone(''), '')
        self.assertIsNone(mask_phone(None))
        self.assertNotIn('98312', mask_phone('13798312311'))

    def test_region_carrier(self):
        self.assertEqual(region('+8613798312311'), '广东省深圳市')
        self.assertEqual(carrier('+8613798312311'), '中国移动')
        self.assertEqual(region('+8657983710010'), '浙江省金华市')
        self.assertEqual(region('nonsense'), '')
        self.assertEqual(carrier(None), '')


class DataIOTestCase(unittest.TestCase):
    "Call lists, duplicates, import and export in a database"

    @classmethod
    def setUpClass(cls):
        activate_module('telesales_pipeline')

    def _parties(self, *phones):
        Party = Pool().get('party.party')
        parties = [Party(name='客户%s' % i, contact_mechanisms=[
                    {'type': 'mobile', 'value': p}]) for i, p in
            enumerate(phones)]
        Party.save(parties)
        return parties

    @with_transaction()
    def test_contact_mechanism_cn_default(self):
        "Phones without country are read as mainland numbers"
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        party, = self._parties('137 9831 2311')
        mechanism, = party.contact_mechanisms
        self.assertEqual(mechanism.value_compact, '+8613798312311')
        self.assertEqual(mechanism.phone_region, '广东省深圳市')
        self.assertEqual(mechanism.phone_carrier, '中国移动')
        with self.assertRaises(ValidationError):
            Mechanism.create([{
                        'party': party.id, 'type': 'phone', 'value': '123'}])

    @with_transaction()
    def test_call_list_tasks(self):
        "Slices of a call list worked in order; called numbers filtered"
        pool = Pool()
        CallList = pool.get('crm.call.list')
        Task = pool.get('crm.call.task')
        TaskLine = pool.get('crm.call.task.line')
        company = create_company()
        with set_company(company):
            rep1 = create_employee(company, 'Rep 1')
            rep2 = create_employee(company, 'Rep 2')
            parties = self._parties('13798312311', '13900000001')
            call_list = CallList(name='名单 A')
            call_list.save()
            rejected = call_list.add_numbers([
                    (parties[0], None, '13798312311'),
                    (parties[1], None, '139 0000 0001'),
                    (None, '王五', '13798312311'),  # duplicate in list
                    (None, '赵六', '12345'),  # invalid
                    (None, '孙七', '13600000002'),
                    (None, '周八', '13600000003'),
                    (None, '吴九', '13600000004'),
                    ])
            self.assertEqual([r[1] for r in rejected], ['王五', '赵六'])
            self.assertEqual(call_list.total, 5)
            self.assertEqual(call_list.unassigned, 5)

            task1, task2 = call_list.create_tasks([rep1, rep2], 2)
            self.assertEqual((task1.employee, task1.pending), (rep1, 2))
            self.assertEqual((task2.employee, task2.pending), (rep2, 2))
            self.assertEqual(CallList(call_list.id).unassigned, 1)

            line = task1.next_line()
            self.assertEqual(line.phone, '+8613798312311')
            self.assertEqual(line.party, parties[0])
            TaskLine.mark([line], 'busy')
            self.assertEqual(line.state, 'busy')
            self.assertTrue(line.called_at)
            line = task1.next_line()
            self.assertEqual(line.phone, '+8613900000001')
            TaskLine.mark_answered([line])
            task1 = Task(task1.id)
            self.assertIsNone(task1.next_line())
            self.assertEqual((task1.pending, task1.state), (0, 'done'))
            with self.assertRaises(ValueError):
                TaskLine.mark([line], 'bogus')

            # Working task2 through the wizard walks its numbers in order
            Work = pool.get('crm.call.task.work', type='wizard')
            with Transaction().set_context(
                    active_model='crm.call.task', active_id=task2.id,
                    active_ids=[task2.id]):
                session_id, _, _ = Work.create()
                result = Work.execute(session_id, {}, 'start')
                call = {k: v for k, v in result['view']['defaults'].items()
                    if '.' not in k}
                self.assertEqual(call['phone'], '+8613600000002')
                self.assertEqual(call['region'], '广东省广州市')
                self.assertEqual(call['pending'], 2)
                result = Work.execute(session_id, {'call': dict(
                            call, note='改天再打')}, 'no_answer')
                call = {k: v for k, v in result['view']['defaults'].items()
                    if '.' not in k}
                self.assertEqual(call['phone'], '+8613600000003')
                result = Work.execute(session_id, {'call': call}, 'wrong')
                self.assertNotIn('view', result)
                Work.delete(session_id)
            task2 = Task(task2.id)
            self.assertEqual(
                [(l.state, l.note) for l in task2.lines],
                [('no_answer', '改天再打'), ('wrong', None)])
            self.assertEqual(task2.state, 'done')

            # A second list sharing a called number: it is filtered out
            other = CallList(name='名单 B')
            other.save()
            other.add_numbers([
                    (None, None, '13798312311'), (None, None, '13600000002'),
                    (None, None, '13500000009')])
            task, = other.create_tasks([rep1], 10)
            self.assertEqual(
                [l.phone for l in task.lines], ['+8613500000009'])
            other = CallList(other.id)
            self.assertEqual((other.filtered, other.unassigned), (2, 0))
            self.assertEqual(other.create_tasks([rep2], 10), [])

    @with_transaction()
    def test_call_list_line_phone_checked(self):
        "A call list line refuses an invalid phone"
        pool = Pool()
        CallList = pool.get('crm.call.list')
        company = create_company()
        with set_company(company):
            with self.assertRaises(ValidationError):
                CallList.create([{'name': 'x', 'lines': [('create', [{
                                    'phone': '13798312311'}])]}])
            call_list, = CallList.create([{'name': 'x', 'lines': [
                            ('create', [{'phone': '+8613798312311'}])]}])
            self.assertEqual(call_list.total, 1)
