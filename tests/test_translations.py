# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Every translatable string of the suite has its Simplified Chinese text

The source strings are what Tryton's own "Set Translations" wizard and
translation export produce for each module (fields, help, models, records
such as messages, menus, actions, groups and rules, selections, view labels,
wizard buttons and report texts); each must have a non-fuzzy translation in
the module's ``locale/zh_CN.po``, which holds no fuzzy nor duplicated entry.
"""
import polib
import pytest

from conftest import ADDONS
from demo.suite import suite_modules

MODULES = list(suite_modules())


@pytest.fixture(scope='module')
def sources():
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
    from trytond.transaction import Transaction
    drop_db()
    activate_module(MODULES)
    try:
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Translation = pool.get('ir.translation')
            TranslationSet = pool.get('ir.translation.set', type='wizard')
            session_id, _, _ = TranslationSet.create()
            wizard = TranslationSet(session_id)
            wizard.set_report()
            wizard.set_view()
            result = {m: polib.pofile(
                    Translation.translation_export('en', m).decode())
                for m in MODULES}
            transaction.rollback()
        yield result
    finally:
        drop_db()


@pytest.mark.parametrize('module', MODULES)
def test_zh_cn_complete(sources, module):
    translated = {(e.msgctxt, e.msgid)
        for e in polib.pofile(str(ADDONS / module / 'locale' / 'zh_CN.po'))
        if e.msgstr and 'fuzzy' not in e.flags}
    assert sources[module]
    missing = ['%s %r' % (e.msgctxt, e.msgid) for e in sources[module]
        if (e.msgctxt, e.msgid) not in translated]
    assert not missing, 'untranslated in %s/locale/zh_CN.po:\n%s' % (
        module, '\n'.join(missing))


@pytest.mark.parametrize('module', MODULES)
def test_zh_cn_no_fuzzy_nor_twice(module):
    """Tryton skips a fuzzy translation, and of an entry given twice one
    hides the other: neither may be left in the file"""
    entries = polib.pofile(str(ADDONS / module / 'locale' / 'zh_CN.po'))
    fuzzy = ['%s %r' % (e.msgctxt, e.msgid) for e in entries
        if 'fuzzy' in e.flags]
    assert not fuzzy, 'fuzzy in %s/locale/zh_CN.po:\n%s' % (
        module, '\n'.join(fuzzy))
    seen, twice = set(), []
    for e in entries:
        key = (e.msgctxt, e.msgid)
        if key in seen:
            twice.append('%s %r' % key)
        seen.add(key)
    assert not twice, 'given twice in %s/locale/zh_CN.po:\n%s' % (
        module, '\n'.join(twice))
