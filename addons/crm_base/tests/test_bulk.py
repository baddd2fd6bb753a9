# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The bulk writer against ``ModelSQL.create``

Each test creates the same rows through ``bulk_create`` and through the
host's ``create`` and compares what they leave: the rows, their defaults
and computed values, the history, the translations, the triggers, the
record rules and the access rights. A trytond release that changes
``create`` makes one of them fail here instead of the writer skipping a
rule silently. The host's own test models (module ``tests``) give the
history, translation, trigger and rule cases.
"""
import json
import unittest

from sql import Table

from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.tests.trigger import TRIGGER_LOGS
from trytond.transaction import Transaction

from ..bulk import bulk_create

# columns that differ between two creations of the same values
VOLATILE = {'id', 'create_date', 'write_date', 'create_uid', 'write_uid'}


def rows(Model, ids, exclude=()):
    "The stored columns of ids, without the volatile ones, in ids' order"
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(
            *[table.id] + [
                getattr(table, n) for n in sorted(Model._fields)
                if n not in VOLATILE and n not in exclude
                and hasattr(Model._fields[n], 'sql_type')
                and Model._fields[n].sql_type()
                and not hasattr(Model._fields[n], 'set')],
            where=table.id.in_(list(ids))))
    by_id = {r[0]: r[1:] for r in cursor}
    return [by_id[i] for i in ids]


class BulkWriterTestCase(unittest.TestCase):
    "The bulk writer creates what create creates"

    @classmethod
    def setUpClass(cls):
        activate_module(['crm_base', 'tests'])

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def both(self, Model, vlist):
        "The ids created by create and by bulk_create of the same values"
        created = [r.id for r in Model.create([dict(v) for v in vlist])]
        bulk = bulk_create(Model, [dict(v) for v in vlist])
        self.assertEqual(len(bulk), len(vlist))
        self.assertFalse(set(created) & set(bulk))
        return created, bulk

    @with_transaction()
    def test_rows_defaults_and_children(self):
        "Parties with numbers: same rows, defaults, computed values"
        pool = Pool()
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        vlist = [{
                'name': "客户 %s" % i,
                'contact_mechanisms': [('create', [
                            {'type': 'mobile', 'value': '1379831231%s' % i},
                            {'type': 'email', 'value': 'k%s@example.cn' % i},
                            ])],
                } for i in range(3)]
        created, bulk = self.both(Party, vlist)
        # the code comes from the sequence: each its own, none empty
        code = {'code', 'code_alnum', 'code_digit'}
        self.assertEqual(rows(Party, created, code), rows(Party, bulk, code))
        codes = [p.code for p in Party.browse(created + bulk)]
        self.assertTrue(all(codes))
        self.assertEqual(len(set(codes)), len(codes))
        self.assertEqual(
            [p.lang for p in Party.browse(created)],
            [p.lang for p in Party.browse(bulk)])

        def mechanisms(parties):
            result = []
            for party in Party.browse(parties):
                mechanisms = sorted(party.contact_mechanisms,
                    key=lambda m: m.type)
                result.append(rows(Mechanism, [m.id for m in mechanisms],
                        {'party'}))
            return result
        self.assertEqual(mechanisms(created), mechanisms(bulk))
        self.assertEqual(
            [m.value_compact for m in Party(bulk[0]).contact_mechanisms
                if m.type == 'mobile'], ['+8613798312310'])

    @with_transaction()
    def test_history(self):
        "A history model gets the same history rows"
        History = Pool().get('test.history')
        created, bulk = self.both(History, [{'value': 1}, {'value': 2}])
        table = Table(History._table + '__history')
        cursor = Transaction().connection.cursor()

        def history(ids):
            cursor.execute(*table.select(table.id, table.value,
                    where=table.id.in_(ids)))
            by_id = dict(cursor)
            return [by_id[i] for i in ids]
        self.assertEqual(history(created), history(bulk))
        self.assertEqual(history(bulk), [1, 2])

    @with_transaction()
    def test_translations(self):
        "A translated field is stored for the user's language"
        pool = Pool()
        Model = pool.get('test.modelsql.translation')
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        lang, = Lang.search([('code', '=', 'fr')])
        Lang.write([lang], {'translatable': True})
        with Transaction().set_context(language='en'):
            created, bulk = self.both(Model, [{'name': "Name"}])
        with Transaction().set_context(language='fr'):
            Model.write(Model.browse(created + bulk), {'name': "Nom"})
            self.assertEqual([r.name for r in Model.browse(created + bulk)],
                ["Nom", "Nom"])
        with Transaction().set_context(language='fr'):
            created_fr, bulk_fr = self.both(Model, [{'name': "Nom"}])

        def translations(ids):
            return sorted(
                (t.lang, t.src, t.value) for t in Translation.search([
                        ('name', '=', 'test.modelsql.translation,name'),
                        ('type', '=', 'model'),
                        ('res_id', 'in', ids)]))
        self.assertEqual(translations(created), translations(bulk))
        self.assertEqual(translations(created_fr), translations(bulk_fr))
        self.assertTrue(translations(bulk_fr))
        self.assertEqual(rows(Model, created_fr), rows(Model, bulk_fr))

    @with_transaction()
    def test_triggers(self):
        "An on-create trigger fires for the records of both"
        pool = Pool()
        Model = pool.get('ir.model')
        Trigger = pool.get('ir.trigger')
        Queue = pool.get('ir.queue')
        Triggered = pool.get('test.triggered')
        model, = Model.search([('name', '=', 'test.triggered')])
        trigger, = Trigger.create([{
                    'name': "Test", 'model': model.id, 'on_create_': True,
                    'condition': 'true',
                    'action': 'test.trigger_action|trigger'}])
        transaction = Transaction()
        try:
            created = Triggered.create([{'name': "A"}])
            bulk = bulk_create(Triggered, [{'name': "A"}])
            while transaction.tasks:
                Queue(transaction.tasks.pop()).run()
            fired = sorted(r.id for records, t in TRIGGER_LOGS
                for r in records if t == trigger)
            self.assertEqual(fired, sorted([created[0].id] + bulk))
        finally:
            TRIGGER_LOGS.clear()

    @with_transaction()
    def test_record_rules(self):
        "A creation rule refuses the same rows, as the user"
        pool = Pool()
        Model = pool.get('test.rule')
        RuleGroup = pool.get('ir.rule.group')
        RuleGroup.create([{
                    'name': "Field different from foo",
                    'model': Model.__name__, 'global_p': True,
                    'perm_read': False, 'perm_create': True,
                    'perm_write': False, 'perm_delete': False,
                    'rules': [('create', [{
                                    'domain': json.dumps(
                                        [('field', '!=', 'foo')])}])],
                    }])
        with Transaction().set_context(_check_access=True):
            created, bulk = self.both(Model, [{'field': 'bar'}])
            self.assertEqual(rows(Model, created), rows(Model, bulk))
            for create in [Model.create,
                    lambda v: bulk_create(Model, v)]:
                with self.subTest(create=create):
                    with self.assertRaises(AccessError):
                        create([{'field': 'foo'}])

    @with_transaction()
    def test_access_rights(self):
        "A user without create access is refused by both"
        pool = Pool()
        Model = pool.get('test.rule')
        Access = pool.get('ir.model.access')
        Access.create([{'model': Model.__name__, 'perm_read': True,
                    'perm_create': False}])
        with Transaction().set_context(_check_access=True):
            for create in [Model.create, lambda v: bulk_create(Model, v)]:
                with self.subTest(create=create):
                    with self.assertRaises(AccessError):
                        create([{'field': 'bar'}])

    @with_transaction()
    def test_tree_refused(self):
        "Tree fields are not the writer's: it says so"
        Model = Pool().get('test.mptt')
        with self.assertRaises(ValueError):
            bulk_create(Model, [{'name': "Root"}])

