# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Unit tests of telesales_pipeline's data in and out (issue 4)"
import io
import unittest

import openpyxl
import pytest

from trytond.model import fields
from trytond.model.exceptions import ValidationError
from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from telesales_pipeline.exceptions import DuplicateNameError, DuplicateWarning
from telesales_pipeline.spreadsheet import (
    FormulaValue, SheetError, cell_date, read_sheet)


def xlsx(rows, merge=None):
    "Bytes of a workbook holding rows (formulas kept without a value)"
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def encrypted(data):
    "data protected by a password as Excel does it"
    from msoffcrypto.format.ooxml import OOXMLFile
    output = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt('secret', output)
    return output.getvalue()


def xls(rows):
    import xlwt
    book = xlwt.Workbook()
    sheet = book.add_sheet('客户')
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def sheet_rows(data, index=0):
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [list(r) for r in book.worksheets[index].iter_rows(
            values_only=True)]


@pytest.mark.fast
class SpreadsheetTestCase(unittest.TestCase):
    "Reading bad and good spreadsheets without a database"

    def test_read_good(self):
        header, rows, size = read_sheet(xlsx([
                    ['客户名称', '手机'], ['张三', 13798312311], [None, None],
                    ['李四', '=A2']]), 'a.xlsx')
        self.assertEqual(header, ['客户名称', '手机'])
        rows = list(rows)
        self.assertEqual(rows[0], (2, ('张三', 13798312311)))
        self.assertEqual(rows[1][0], 4)
        self.assertIsInstance(rows[1][1][1], FormulaValue)
        self.assertEqual(size, 4)

    def test_read_xls(self):
        header, rows, size = read_sheet(
            xls([['客户名称', '手机'], ['张三', '13798312311']]), 'a.xls')
        self.assertEqual(header, ['客户名称', '手机'])
        self.assertEqual(list(rows), [(2, ('张三', '13798312311'))])

    def test_read_bad(self):
        good = xlsx([['客户名称'], ['张三']])
        for data, name, code in [
                (b'', 'a.xlsx', 'empty'),
                (b'name,phone\n1,2\n', 'a.xlsx', 'not_spreadsheet'),
                (b'name,phone\n1,2\n', 'a.xls', 'not_spreadsheet'),
                (good[:200], 'a.xlsx', 'not_spreadsheet'),
                (encrypted(good), 'a.xlsx', 'encrypted'),
                (xlsx([['a', 'b'], [1, 2]], merge='A2:B2'), 'a.xlsx',
                    'merged_cells'),
                (xlsx([]), 'a.xlsx', 'no_header'),
                (b'hello', 'a.txt', 'unsupported'),
                ]:
            with self.assertRaises(SheetError, msg=code) as cm:
                header, rows, size = read_sheet(data, name)
            self.assertEqual(cm.exception.code, code)

    def test_cell_date(self):
        import datetime
        expected = datetime.date(2026, 12, 1)
        for value in ['2026-12-01', '2026/12/1', '2026年12月1日', '20261201',
                datetime.datetime(2026, 12, 1, 10, 0), expected]:
            self.assertEqual(cell_date(value), expected, value)
        for value in ['明天', '2026-13-01', '12/2026']:
            with self.assertRaises(ValueError):
                cell_date(value)


class DataIOTestCase(unittest.TestCase):
    "Call lists, duplicates, import and export in a database"

    @classmethod
    def setUpClass(cls):
        activate_module('telesales_pipeline')

    @classmethod
    def tearDownClass(cls):
        drop_db()

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

            # A second list sharing called numbers: they are filtered out
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


class DataIOImportTestCase(unittest.TestCase):
    "Duplicates, masking, import and export in a database"

    @classmethod
    def setUpClass(cls):
        activate_module('telesales_pipeline')

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def _customer(self, name, phone=None, **values):
        Party = Pool().get('party.party')
        values.setdefault('crm_stage', 'reserve')
        values.setdefault('crm_ownership', 'shared')
        if phone:
            values['contact_mechanisms'] = [('create', [{
                            'type': 'mobile', 'value': phone}])]
        party, = Party.create([dict(values, name=name)])
        return party

    def _import(self, data, filename='客户.xlsx', **values):
        pool = Pool()
        Import = pool.get('crm.party.import')
        imp = Import(file=data, filename=filename, **values)
        imp.save()
        Import.run([imp])
        Import.process([imp])
        return Import(imp.id)

    @with_transaction()
    def test_duplicate_names(self):
        "Equal normalised customer names are refused"
        pool = Pool()
        Party = pool.get('party.party')
        haier = self._customer(' 海尔 贸易 ')
        for name in ['海尔　贸易', '海尔  贸易', '海尔 贸易']:
            with self.assertRaises(DuplicateNameError, msg=name):
                self._customer(name)
        self._customer('Haier')
        for name in ['ＨＡＩＥＲ', 'haier ']:
            with self.assertRaises(DuplicateNameError, msg=name):
                self._customer(name)
        # not a customer (no stage): no check, nor against it
        Party.create([{'name': '海尔 贸易'}])
        with Transaction().set_context(crm_allow_duplicate_name=True):
            self._customer('海尔贸易 ', crm_stage='target')
            self._customer('海尔 贸易')
        other = self._customer('海信')
        with self.assertRaises(DuplicateNameError):
            Party.write([other], {'name': '海尔贸易'})
        Party.copy([haier])
        with self.assertRaises(DuplicateNameError):
            Party.create([{'name': '双胞胎', 'crm_stage': 'reserve',
                        'crm_ownership': 'shared'},
                    {'name': '双胞胎', 'crm_stage': 'reserve',
                        'crm_ownership': 'shared'}])

    @with_transaction()
    def test_duplicate_flags(self):
        "Same phone or keyword is flagged with the owner and pool state"
        pool = Pool()
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        Check = pool.get('party.party.crm_duplicate', type='wizard')
        company = create_company()
        with set_company(company):
            rep1 = create_employee(company, '刘洋')
            rep2 = create_employee(company, '陈静')
            owned = self._customer('甲公司', '13798312311',
                crm_ownership='personal', crm_owner=rep1.id,
                crm_keyword='甲')
            shared = self._customer('乙公司', '13900000001')
            new = self._customer('丙公司')
            with Transaction().set_context(
                    employee=rep2.id, _check_access=True):
                with self.assertRaises(DuplicateWarning) as cm:
                    Mechanism.create([{'party': new.id, 'type': 'mobile',
                                'value': '137 9831 2311'}])
                self.assertIn('甲公司', cm.exception.message)
                self.assertIn('刘洋', cm.exception.message)
                self.assertIn('137****2311', cm.exception.message)
                with self.assertRaises(DuplicateWarning) as cm:
                    Party.write([new], {'crm_keyword': '甲 '})
            # without access check (server code), no warning
            Mechanism.create([{'party': new.id, 'type': 'mobile',
                        'value': '13900000001'}])
            Party.write([new], {'crm_keyword': '甲'})
            matches = Party(new.id).find_duplicates()
            self.assertEqual(
                sorted((m, p.name) for m, _, p in matches),
                [('keyword', '甲公司'), ('phone', '乙公司')])
            with Transaction().set_context(
                    employee=rep2.id, active_model='party.party',
                    active_id=new.id, active_ids=[new.id]):
                session_id, _, _ = Check.create()
                result = Check.execute(session_id, {}, 'start')
                lines = result['view']['defaults']['lines']
                Check.delete(session_id)
            self.assertEqual(
                sorted((l['match'], l['pool_state']) for l in lines),
                [('keyword', 'protected'), ('phone', 'shared')])
            self.assertTrue(shared)
            self.assertTrue(owned)

    @with_transaction()
    def test_import_name_folding_and_allowed_duplicates(self):
        "Imported names are folded (width, case, spaces) unless allowed"
        pool = Pool()
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        company = create_company()
        with set_company(company):
            owner = create_employee(company, '刘洋')
            self._customer('Haier Trading', '13900000001')
            data = xlsx([['客户名称', '手机'],
                    ['ＨＡＩＥＲ　ＴＲＡＤＩＮＧ', None],
                    ['海尔　贸易', None],
                    ['海尔 贸易 ', None],
                    ['ｇｒｅｅ', None],
                    ])
            imp = self._import(data, owner=owner, stage='reserve',
                mode='valid')
            self.assertEqual((imp.imported, imp.rejected), (2, 2),
                imp.message)
            reasons = {r[0]: r[-1] for r in sheet_rows(imp.result, 0)[1:]}
            self.assertEqual(sorted(reasons), [2, 4])
            self.assertIn('Haier Trading', reasons[2])
            self.assertEqual(
                {p.name for p in Party.search([('name', 'in', [
                                    '海尔　贸易', 'ｇｒｅｅ'])])},
                {'海尔　贸易', 'ｇｒｅｅ'})

            imp = self._import(data, owner=owner, stage='reserve',
                mode='all', allow_duplicate_names=True)
            self.assertEqual((imp.state, imp.imported, imp.rejected),
                ('done', 4, 0), imp.message)
            self.assertEqual(Party.search_count([
                        ('crm_stage', '!=', None),
                        ('crm_name_key', '=', '海尔 贸易')]), 3)

            # a phone written onto a contact mechanism is flagged too
            new = self._customer('新客户', '13600000009')
            mechanism, = new.contact_mechanisms
            with Transaction().set_context(
                    employee=owner.id, _check_access=True):
                with self.assertRaises(DuplicateWarning) as cm:
                    Mechanism.write([mechanism], {'value': '139 0000 0001'})
            self.assertIn('Haier Trading', cm.exception.message)

    @with_transaction()
    def test_masking_and_export_rights(self):
        "Users without the full-number group see masked numbers"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Mechanism = pool.get('party.contact_mechanism')
        Party = pool.get('party.party')
        from trytond.model.exceptions import AccessError

        def group(name):
            return ModelData.get_id('telesales_pipeline', name)
        party = self._customer('丁公司', '13798312311')
        mechanism, = party.contact_mechanisms
        rep, = User.create([{'login': 'rep', 'name': 'Rep', 'groups': [
                        ('add', [group('group_telesales')])]}])
        full, = User.create([{'login': 'full', 'name': 'Full', 'groups': [
                        ('add', [group('group_telesales'),
                                group('group_telesales_full_number'),
                                group('group_telesales_export')])]}])
        fields = ['value', 'value_compact', 'url', 'rec_name',
            'phone_region']
        with Transaction().set_user(rep.id), \
                Transaction().set_context(_check_access=True):
            row, = Mechanism.read([mechanism.id], fields)
            self.assertEqual(row['value'], '137****2311')
            self.assertEqual(row['value_compact'], '137****2311')
            self.assertIsNone(row['url'])
            self.assertNotIn('98312', row['rec_name'])
            self.assertEqual(row['phone_region'], '广东省深圳市')
            row, = Party.read([party.id], ['mobile', 'name'])
            self.assertEqual(row['mobile'], '137****2311')
            with self.assertRaises(AccessError):
                Party.export_data([party], ['name', 'mobile'])
        # server code sees the full number
        with Transaction().set_user(rep.id):
            self.assertEqual(
                Mechanism(mechanism.id).value_compact, '+8613798312311')
        with Transaction().set_user(full.id), \
                Transaction().set_context(_check_access=True):
            row, = Mechanism.read([mechanism.id], fields)
            self.assertEqual(row['value_compact'], '+8613798312311')
            self.assertEqual(
                Party.export_data([party], ['name', 'mobile']),
                [['丁公司', '+86 137 9831 2311']])
        User.write([full], {'groups': [
                    ('remove', [group('group_telesales_full_number')])]})
        with Transaction().set_user(full.id), \
                Transaction().set_context(_check_access=True):
            self.assertEqual(
                Party.export_data([party], ['name', 'mobile']),
                [['丁公司', '137****2311']])

    @with_transaction()
    def test_import_valid_rows(self):
        "Valid rows imported, others reported in the result workbook"
        pool = Pool()
        Party = pool.get('party.party')
        Industry = pool.get('crm.industry')
        company = create_company()
        with set_company(company):
            owner = create_employee(company, '刘洋')
            Industry.create([{'name': '制造业'}])
            self._customer('老客户', '13900000001')
            data = xlsx([
                    ['客户名称', '手机', '电话', '关键字', '城市', '行业',
                        '下次回访', '备注'],
                    ['甲公司', '13798312311', '0579-83710010', '甲', '金华',
                        '制造业', '2026/12/1', 'x'],
                    ['乙公司', '12345', None, None, None, None, None, None],
                    ['甲公司 ', '13600000002', None, None, None, None,
                        None, None],
                    ['丙公司', 13900000001, None, None, None, None,
                        None, None],
                    ['丁公司', None, None, None, None, '农业', None, None],
                    ['戊公司', None, None, None, None, None, '下周', None],
                    [None, '13600000003', None, None, None, None, None,
                        None],
                    ['老客户', None, None, None, None, None, None, None],
                    ['己公司', '=1+1', None, None, None, None, None, None],
                    ])
            imp = self._import(data, owner=owner, stage='target',
                mode='valid', call_list_name='十二月名单')
            self.assertEqual(imp.state, 'done', imp.message)
            self.assertEqual(
                (imp.rows, imp.imported, imp.rejected, imp.flagged),
                (9, 2, 7, 1))
            jia, = Party.search([('name', '=', '甲公司')])
            self.assertEqual(
                (jia.crm_stage, jia.crm_owner, jia.crm_ownership),
                ('target', owner, 'personal'))
            self.assertEqual(jia.crm_industry.name, '制造业')
            self.assertEqual(str(jia.crm_next_callback), '2026-12-01')
            self.assertEqual(jia.addresses[0].city, '金华')
            self.assertEqual(
                sorted(m.value_compact for m in jia.contact_mechanisms),
                ['+8613798312311', '+8657983710010'])
            rejected = sheet_rows(imp.result, 0)
            self.assertEqual(rejected[0][0], 'Row')
            reasons = {r[0]: r[-1] for r in rejected[1:]}
            self.assertEqual(sorted(reasons), [3, 4, 6, 7, 8, 9, 10])
            self.assertIn('12345', reasons[3])
            self.assertIn('row 2', reasons[4])
            self.assertIn('农业', reasons[6])
            self.assertIn('下周', reasons[7])
            self.assertIn('name is missing', reasons[8])
            self.assertIn('老客户', reasons[9])
            self.assertIn('formula', reasons[10])
            flagged = sheet_rows(imp.result, 1)
            self.assertEqual(flagged[1][0], 5)
            self.assertIn('139****0001', flagged[1][-1])
            self.assertEqual(
                sorted(l.phone for l in imp.call_list.lines),
                ['+8613798312311', '+8613900000001'])

    @with_transaction()
    def test_import_valid_rows_repeated_across_chunks(self):
        """In "valid rows" mode the checked rows are created as the file is
        read: a row repeating a name or a phone of rows created before is
        reported as a repeated row of the file, not as an existing
        customer"""
        from unittest import mock

        from telesales_pipeline.import_ import CHUNK
        pool = Pool()
        Party = pool.get('party.party')
        Import = pool.get('crm.party.import')
        # created every chunk instead of every 10 000 rows
        self.enterContext(mock.patch.dict(
                Import._import.__globals__, {'CREATE_BATCH': CHUNK}))
        company = create_company()
        with set_company(company):
            owner = create_employee(company, '刘洋')
            rows = [['客户名称', '手机']]
            rows += [[f'客户{i}', f'1380000{i:04d}'] for i in range(CHUNK + 2)]
            # in the second chunk: row 2's name, row 3's phone
            rows.append(['客户0', '13900000000'])
            rows.append(['新客户', '13800000001'])
            imp = self._import(xlsx(rows), owner=owner, stage='target',
                mode='valid', call_list_name='名单')
            self.assertEqual(imp.state, 'done', imp.message)
            self.assertEqual(
                (imp.rows, imp.imported, imp.rejected, imp.flagged),
                (CHUNK + 4, CHUNK + 3, 1, 1))
            last = CHUNK + 5
            rejected = {r[0]: r[-1] for r in sheet_rows(imp.result, 0)[1:]}
            self.assertEqual(list(rejected), [last - 1])
            self.assertIn('row 2', rejected[last - 1])
            flagged = {r[0]: r[-1] for r in sheet_rows(imp.result, 1)[1:]}
            self.assertEqual(list(flagged), [last])
            self.assertIn('row 3', flagged[last])
            self.assertEqual(Party.search_count(
                    [('name', 'like', '%客户%'), ('crm_stage', '=', 'target')]),
                CHUNK + 3)
            # a number once in a call list
            self.assertEqual(len(imp.call_list.lines), CHUNK + 2)

    @with_transaction()
    def test_import_same_as_create(self):
        "An imported customer is what Party.create makes of the same row"
        pool = Pool()
        Party = pool.get('party.party')
        Import = pool.get('crm.party.import')
        History = pool.get('crm.party.owner.history')
        Industry = pool.get('crm.industry')
        from telesales_pipeline.import_ import RowChecker
        company = create_company()
        with set_company(company):
            owner = create_employee(company, '刘洋')
            Industry.create([{'name': '制造业'}])
            header = ['客户名称', '手机', '电话', '传真', '邮箱', '网址',
                '关键字', '城市', '地址', '行业', '下次回访']
            row = ['%s', '13798312311', '0579-83710010', '0579-83710011',
                'a@example.com', 'www.example.com', '甲%s', '金华', '一路1号',
                '制造业', '2026/12/1']
            imp = self._import(
                xlsx([header, [c.replace('%s', '一') for c in row]]),
                owner=owner, stage='target', mode='all')
            self.assertEqual(imp.state, 'done', imp.message)
            imported, = Party.search([('name', '=', '一')])

            draft = Import(owner=owner, stage='target', mapping=None,
                allow_duplicate_names=False)
            checker = RowChecker(draft, header, draft._columns(header))
            (parsed, errors) = checker._parse(
                [c.replace('%s', '二') for c in row])
            self.assertEqual(errors, [])
            created, = Party.create([parsed['values']])

            def stored(record, skip=()):
                names = [n for n, f in record._fields.items()
                    if not hasattr(f, 'set') and n not in skip
                    and not isinstance(f, fields.Function)]
                values, = record.__class__.read([record.id], names)
                values.pop('id')
                return values
            skip = {'id', 'create_date', 'write_date', 'write_uid', 'name',
                'crm_name_key', 'crm_keyword', 'crm_keyword_key', 'code',
                'code_alnum', 'code_digit'}
            self.assertEqual(
                stored(imported, skip), stored(created, skip))
            self.assertTrue(imported.code)
            self.assertEqual(imported.code_alnum, imported.code)
            self.assertEqual(imported.lang, created.lang)
            for name in ['contact_mechanisms', 'addresses']:
                skip = {'id', 'create_date', 'write_date', 'write_uid',
                    'party'}
                self.assertEqual(
                    [stored(r, skip) for r in getattr(imported, name)],
                    [stored(r, skip) for r in getattr(created, name)])
            for party in [imported, created]:
                history, = History.search([('party', '=', party.id)])
                self.assertEqual(
                    (history.to_owner, history.to_ownership),
                    (owner, 'personal'))

    @with_transaction()
    def test_import_all_or_nothing(self):
        "A single bad row rejects the whole file; bad files are explained"
        pool = Pool()
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            owner = create_employee(company, '刘洋')
            before = Party.search_count([])
            rows = [['客户名称', '手机']]
            for i in range(50000):
                phone = '1380000%04d' % (i % 10000) if i % 10 else 'bad'
                rows.append(['客户%05d' % i, '+86 139 %08d' % i
                        if phone != 'bad' else '123'])
            imp = self._import(xlsx(rows), owner=owner, stage='reserve',
                mode='all')
            self.assertEqual(imp.state, 'failed')
            self.assertEqual((imp.rows, imp.rejected, imp.imported),
                (50000, 5000, 0))
            self.assertIn('Nothing imported', imp.message)
            self.assertEqual(len(sheet_rows(imp.result, 0)), 5001)
            self.assertEqual(Party.search_count([]), before)

            good = xlsx([['客户名称'], ['张三']])
            for data, filename, text in [
                    (b'', '空.xlsx', 'is empty'),
                    (b'name,phone\n1,2\n', 'list.xlsx',
                        'not an Excel workbook'),
                    (encrypted(good), '加密.xlsx', 'password'),
                    (xlsx([['客户名称', '手机'], ['甲', '1'], ['乙', '2']],
                            merge='A2:A3'), '合并.xlsx', 'A2:A3'),
                    (xlsx([['名字', '号码'], ['甲', '1']]), 'cols.xlsx',
                        '名字, 号码'),
                    (xlsx([['客户名称']]), 'head.xlsx', 'no data row'),
                    ]:
                imp = self._import(data, filename=filename, owner=owner,
                    stage='reserve', mode='all')
                self.assertEqual(imp.state, 'failed', filename)
                self.assertIn(text, imp.message, filename)
            self.assertEqual(Party.search_count([]), before)

            imp = self._import(xls([['客户名称', '手机'],
                        ['张三', '13798312311']]), filename='旧.xls',
                owner=owner, stage='reserve', mode='all')
            self.assertEqual((imp.state, imp.imported), ('done', 1))

    @with_transaction()
    def test_import_mapping_template(self):
        "A saved mapping template reads the file's own headers"
        pool = Pool()
        Mapping = pool.get('crm.party.import.mapping')
        Import = pool.get('crm.party.import')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            owner = create_employee(company, '刘洋')
            mapping, = Mapping.create([{'name': '展会名单', 'lines': [
                            ('create', [
                                    {'column': '公司', 'target': 'name'},
                                    {'column': '联系电话',
                                        'target': 'mobile'}])]}])
            imp = self._import(xlsx([['公司', '联系电话'],
                        ['展会客户', '13798312311']]), mapping=mapping,
                owner=owner, stage='reserve', mode='all')
            self.assertEqual(imp.state, 'done', imp.message)
            party, = Party.search([('name', '=', '展会客户')])
            self.assertEqual(party.mobile, '+86 137 9831 2311')
            template = Import(imp.id).template
            self.assertEqual(sheet_rows(template)[0][:3],
                ['客户名称', '关键字', '手机'])


# progress is reported from a second transaction: PostgreSQL only (the
# SQLite pass deselects it, see conftest.py)
@pytest.mark.postgresql
class QueuedImportTestCase(unittest.TestCase):
    "A committed import processed by the queue with its progress"

    @classmethod
    def setUpClass(cls):
        activate_module('telesales_pipeline')

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def test_queued_import_progress(self):
        "The queue task imports the file; its progress is readable after"
        from trytond.worker import run_task
        pool = Pool(DB_NAME)
        rows = [['客户名称', '手机']] + [
            ['排队客户%04d' % i, '+86 139 %08d' % i] for i in range(1200)]
        with Transaction().start(DB_NAME, 0) as transaction:
            Import = pool.get('crm.party.import')
            company = create_company()
            with set_company(company):
                owner = create_employee(company, '刘洋')
                imp = Import(file=xlsx(rows), filename='排队.xlsx',
                    owner=owner, stage='reserve', mode='valid')
                imp.save()
                Import.run([imp])
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
            self.assertEqual(len(tasks), 1)
            self.assertEqual(Import(imp.id).state, 'queued')
            transaction.commit()
        run_task(pool, tasks[0])
        with Transaction().start(DB_NAME, 0) as transaction:
            Import = pool.get('crm.party.import')
            Progress = pool.get('crm.party.import.progress')
            Party = pool.get('party.party')
            imp = Import(imp.id)
            self.assertEqual((imp.state, imp.imported), ('done', 1200),
                imp.message)
            progress, = Progress.search([('import_', '=', imp.id)])
            # written by the worker while checking and creating, in chunks
            self.assertEqual((progress.done, progress.total), (2400, 2400))
            self.assertEqual((imp.progress, imp.progress_rows), (1.0, 1200))
            self.assertEqual(Party.search_count(
                    [('name', 'like', '排队客户%')]), 1200)
