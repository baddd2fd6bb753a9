# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Shared pytest adapter for every module of the suite.

* Points trytond's test framework at the backend chosen by the environment
  (``TRYTOND_DATABASE_URI``; SQLite in memory when unset).
* Keys each cached database by the content of the addons it activates
  (with the addons they depend on), so a changed model or view never
  restores a stale cached database and a change in one addon leaves the
  databases without it cached.
* Collects each module's ``tests/scenario_*.rst`` as proteus doctests with the
  same set-up, tear-down and checker as Tryton's ``load_doc_tests``.
"""
import doctest
import hashlib
import json
import os
import pathlib
import re
import sys
import unittest

import pytest

ROOT = pathlib.Path(__file__).resolve().parent
ADDONS = ROOT / 'addons'
sys.path.insert(0, str(ROOT))


def addons_digest(modules=None):
    """Digest of everything that shapes a database with modules activated
    (all the addons when None): the files of those of the suite's addons and
    of the addons they depend on, and trytond's version"""
    names = sorted(_closure(modules) if modules is not None
        else (p.parent.name for p in ADDONS.glob('*/tryton.cfg')))
    digest = hashlib.sha256()
    for name in names:
        for path in sorted((ADDONS / name).rglob('*')):
            # a module's tests do not shape its database (the demo data
            # in demo/ is part of the demo database's own digest)
            if 'tests' in path.relative_to(ADDONS).parts[:-1]:
                continue
            if (path.suffix in {'.py', '.xml', '.cfg', '.po'}
                    and path.is_file()):
                digest.update(str(path.relative_to(ADDONS)).encode())
                digest.update(path.read_bytes())
    try:
        from importlib.metadata import version
        digest.update(version('trytond').encode())
    except Exception:
        pass
    return digest.hexdigest()[:16]


def _closure(modules):
    "The suite's addons among modules, with the suite's addons they depend on"
    from trytond.modules import get_module_info
    todo, found = list(modules), set()
    while todo:
        name = todo.pop()
        if name in found or not (ADDONS / name / 'tryton.cfg').is_file():
            continue
        found.add(name)
        todo.extend(get_module_info(name).get('depends', []))
    return found


def _configure_environment():
    os.environ.setdefault('TRYTOND_DATABASE_URI', 'sqlite://')
    backend = os.environ['TRYTOND_DATABASE_URI'].split(':', 1)[0]
    if backend == 'sqlite':
        os.environ.setdefault('DB_NAME', ':memory:')
    if os.environ.get('CRM_DB_CACHE_ROOT'):
        if backend == 'postgresql':
            # template databases on the server itself: CREATE DATABASE ...
            # TEMPLATE takes a second where pg_restore of a dump takes ten
            os.environ['DB_CACHE'] = 'postgresql://'
        else:
            # a directory per digest of a module set (_patch_db_cache)
            os.environ['DB_CACHE'] = os.path.join(
                os.environ['CRM_DB_CACHE_ROOT'], backend)
    os.environ.setdefault('TEST_NETWORK', '0')


_configure_environment()


def _cache_key(name):
    """The cache name of a module set, whatever the order the modules were
    listed in: trytond's ``activate_module`` joins them as given and
    proteus' ``activate_modules`` sorts them, so the same set would be
    activated twice on a cold cache."""
    modules, sep, rest = name.partition('--')
    return '-'.join(sorted(modules.split('-'))) + sep + rest


def _patch_db_cache():
    """Make trytond's test database cache cheaper on a cold cache.

    * Module sets are keyed whatever their order (``_cache_key``).
    * A cached database is keyed by the digest of its modules' files
      (``addons_digest``): on SQLite a file in ``<DB_CACHE>/<digest>/``, on
      PostgreSQL a template database named ``crm-<digest>-<hash>``
      (trytond names them ``test-<hash>`` only). A changed addon never
      restores a stale database, and leaves those without it cached.
    * A scenario's ``activate_modules(modules, *setup)`` that misses the
      cache starts from the cached (or newly cached) bare module set and
      runs only its setups, instead of activating the modules again: the
      unit tests and scenarios of a module share one activation.
    """
    if not os.environ.get('DB_CACHE'):
        return
    from trytond.tests import test_tryton, tools
    db_cache_file = test_tryton._db_cache_file
    digests = {}

    def _db_cache_file(path, name):
        name = _cache_key(name)
        modules = name.partition('--')[0]
        if modules not in digests:
            digests[modules] = addons_digest(modules.split('-'))
        digest = digests[modules]
        if not test_tryton.DB_CACHE.startswith('postgresql://'):
            path = os.path.join(path, digest)
            os.makedirs(path, exist_ok=True)
            return db_cache_file(path, name)
        hash_name = hashlib.shake_128(name.encode('utf8')).hexdigest(10)
        return f'{test_tryton.DB_CACHE}/crm-{digest}-{hash_name}'
    test_tryton._db_cache_file = _db_cache_file

    restore_db_cache = test_tryton.restore_db_cache

    def restore_db_cache_released(name):
        """Restore after releasing the test database of the test before.

        trytond drops ``DB_NAME`` before it creates it again from the
        template, but a test class that activated modules without dropping
        its database at the end leaves the pooled connections of this
        process open on it, and PostgreSQL then refuses the drop ("being
        accessed by other users"). ``drop_db`` closes them first, as
        trytond's own tear-downs do.
        """
        if (test_tryton.backend.name == 'postgresql'
                and test_tryton.db_exist(test_tryton.DB_NAME)):
            test_tryton.drop_db()
        return restore_db_cache(name)
    test_tryton.restore_db_cache = restore_db_cache_released
    tools.restore_db_cache = restore_db_cache_released

    activate_modules = tools.activate_modules

    def activate_modules_from_cache(modules, *setup):
        if not setup:
            return activate_modules(modules, *setup)
        if isinstance(modules, str):
            modules = [modules]
        cache_name = '-'.join(sorted(modules)) + '--' + '|'.join(
            tools._func_name(f) for f in setup)
        if test_tryton.restore_db_cache(cache_name):
            return tools._get_config()
        test_tryton.drop_db()
        test_tryton.activate_module(sorted(modules))
        config = tools._get_config()
        for func in setup:
            func(config=config)
        test_tryton.backup_db_cache(cache_name)
        return config
    tools.activate_modules = activate_modules_from_cache


_patch_db_cache()


def pytest_collect_file(parent, file_path):
    if (file_path.suffix == '.rst'
            and file_path.name.startswith('scenario_')
            and file_path.parent.name == 'tests'):
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    "A scenario and the optional ``.json`` list of globals it runs with"

    def collect(self):
        config = self.path.with_suffix('.json')
        if config.exists():
            configs = json.loads(config.read_text())
        else:
            configs = [{}]
        # ".. pass: sqlite" (or postgresql) in a scenario runs it in that
        # pass only, as the marker does for a test (real peers run once)
        passes = re.findall(
            r'^\.\. pass: (sqlite|postgresql)$', self.path.read_text(),
            re.MULTILINE)
        for index, globs in enumerate(configs):
            name = self.path.stem if len(configs) == 1 else (
                f'{self.path.stem}[{index}]')
            item = ScenarioItem.from_parent(self, name=name, globs=globs)
            for pass_ in passes:
                item.add_marker(pass_)
            yield item


class ScenarioItem(pytest.Item):

    def __init__(self, *, globs, **kwargs):
        super().__init__(**kwargs)
        self.globs = globs

    def runtest(self):
        from trytond import backend
        from trytond.tests.test_tryton import (
            STRIP_DECIMAL, doctest_checker, doctest_setup, doctest_teardown)
        optionflags = (
            doctest.REPORT_ONLY_FIRST_FAILURE
            | doctest.ELLIPSIS
            | doctest.IGNORE_EXCEPTION_DETAIL)
        if backend.name == 'sqlite':
            optionflags |= STRIP_DECIMAL
        suite = doctest.DocFileSuite(
            str(self.path), module_relative=False, globs=dict(self.globs),
            setUp=doctest_setup, tearDown=doctest_teardown,
            encoding='utf-8', checker=doctest_checker,
            optionflags=optionflags)
        result = unittest.TestResult()
        suite.run(result)
        problems = result.errors + result.failures + [
            (test, f'skipped: {reason}') for test, reason in result.skipped]
        if problems or not result.testsRun:
            raise ScenarioFailure(problems or [(None, 'no doctest ran')])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return '\n'.join(text for _, text in excinfo.value.args[0])
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f'scenario: {self.name}'


class ScenarioFailure(Exception):
    pass


def backend_name():
    return os.environ['TRYTOND_DATABASE_URI'].split(':', 1)[0]


def pytest_collection_modifyitems(config, items):
    """Run each test on the backends it is meant for.

    ``@pytest.mark.postgresql`` tests (row locks, the bus, concurrency) run in
    the PostgreSQL pass only; ``@pytest.mark.browser`` tests, and
    ``@pytest.mark.sqlite`` ones over RPC, serve their own SQLite demo
    database and run in the SQLite pass only. None is skipped: it is
    deselected from the other pass.
    """
    unwanted = ({'browser', 'sqlite'} if backend_name() == 'postgresql'
        else {'postgresql'})
    kept, dropped = [], []
    for item in items:
        (dropped if any(item.get_closest_marker(m) for m in unwanted)
            else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
