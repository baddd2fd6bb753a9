# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Shared pytest adapter for every module of the suite.

* Points trytond's test framework at the backend chosen by the environment
  (``TRYTOND_DATABASE_URI``; SQLite in memory when unset).
* Keys ``DB_CACHE`` by the content of the addons, so a changed model or view
  never restores a stale cached database.
* Collects each module's ``tests/scenario_*.rst`` as proteus doctests with the
  same set-up, tear-down and checker as Tryton's ``load_doc_tests``.
"""
import doctest
import hashlib
import json
import os
import pathlib
import sys
import unittest

import pytest

ROOT = pathlib.Path(__file__).resolve().parent
ADDONS = ROOT / 'addons'
sys.path.insert(0, str(ROOT))


def addons_digest():
    "Digest of everything that shapes an activated database"
    digest = hashlib.sha256()
    for path in sorted(ADDONS.rglob('*')):
        if path.suffix in {'.py', '.xml', '.cfg', '.po'} and path.is_file():
            digest.update(str(path.relative_to(ADDONS)).encode())
            digest.update(path.read_bytes())
    try:
        from importlib.metadata import version
        digest.update(version('trytond').encode())
    except Exception:
        pass
    return digest.hexdigest()[:16]


def _configure_environment():
    os.environ.setdefault('TRYTOND_DATABASE_URI', 'sqlite://')
    backend = os.environ['TRYTOND_DATABASE_URI'].split(':', 1)[0]
    if backend == 'sqlite':
        os.environ.setdefault('DB_NAME', ':memory:')
    if os.environ.get('CRM_DB_CACHE_ROOT'):
        os.environ['DB_CACHE'] = os.path.join(
            os.environ['CRM_DB_CACHE_ROOT'], backend, addons_digest())
    os.environ.setdefault('TEST_NETWORK', '0')


_configure_environment()


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
        for index, globs in enumerate(configs):
            name = self.path.stem if len(configs) == 1 else (
                f'{self.path.stem}[{index}]')
            yield ScenarioItem.from_parent(self, name=name, globs=globs)


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
    the PostgreSQL pass only; ``@pytest.mark.browser`` tests serve their own
    SQLite demo database and run in the SQLite pass only. Neither is skipped:
    it is deselected from the other pass.
    """
    unwanted = 'browser' if backend_name() == 'postgresql' else 'postgresql'
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker(unwanted) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
