# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The ``pbx-listener`` console script: its entry point, which server it
listens to (``resolve_server``) and its argument handling, against a test
database on both backends."""
import importlib.metadata

import pytest

MODULE = 'pbx_connector'


@pytest.fixture(scope='module')
def servers():
    "Two active servers and an inactive one; their ids by name"
    from trytond.modules.company.tests import create_company
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
    from trytond.transaction import Transaction

    drop_db()
    activate_module([MODULE])
    with Transaction().start(DB_NAME, 0) as transaction:
        Server = Pool().get('pbx.server')
        company = create_company()
        values = {'host': '127.0.0.1', 'port': 5038, 'username': 'crm',
            'secret': 's3cret', 'company': company.id}
        created = Server.create([
                dict(values, name='Asterisk'),
                dict(values, name='分店'),
                dict(values, name='Old', active=False),
                ])
        ids = {s.name: s.id for s in created}
        transaction.commit()
    yield ids
    drop_db()


def _deactivate(ids, active=False):
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME
    from trytond.transaction import Transaction
    with Transaction().start(DB_NAME, 0) as transaction:
        Server = Pool().get('pbx.server')
        Server.write(Server.browse(ids), {'active': active})
        transaction.commit()


def test_entry_point():
    "pip installs pbx-listener as the listener's main()"
    from pbx_connector import listener
    script, = [e for e in importlib.metadata.entry_points(
            group='console_scripts') if e.name == 'pbx-listener']
    assert script.value == 'pbx_connector.listener:main'
    assert script.load() is listener.main


def test_resolve_server_by_name_or_id(servers):
    from trytond.tests.test_tryton import DB_NAME

    from pbx_connector.listener.writer import resolve_server
    assert resolve_server(DB_NAME, 'Asterisk') == servers['Asterisk']
    assert resolve_server(DB_NAME, '分店') == servers['分店']
    assert resolve_server(DB_NAME, str(servers['分店'])) == servers['分店']


def test_resolve_server_no_match(servers):
    "A name or id that matches no active server stops with a clear message"
    from trytond.tests.test_tryton import DB_NAME

    from pbx_connector.listener.writer import resolve_server
    for name in ['Nope', 'Old', str(servers['Old']), '99999']:
        with pytest.raises(SystemExit) as exit_:
            resolve_server(DB_NAME, name)
        assert str(exit_.value) == (
            f"pbx-listener: 0 active PBX servers match {name!r}; "
            "name one with --server")


def test_resolve_server_default(servers):
    "Without --server: the only active server, or a message if several"
    from trytond.tests.test_tryton import DB_NAME

    from pbx_connector.listener.writer import resolve_server
    with pytest.raises(SystemExit) as exit_:
        resolve_server(DB_NAME, None)
    assert str(exit_.value) == (
        'pbx-listener: 2 active PBX servers; '
        'name one with --server')
    _deactivate([servers['分店']])
    try:
        assert resolve_server(DB_NAME, None) == servers['Asterisk']
    finally:
        _deactivate([servers['分店']], active=True)


@pytest.fixture
def no_listener(monkeypatch):
    "main() up to the listener: the Listener it would run, not run"
    from pbx_connector.listener import cli

    started = []

    class Listener:
        def __init__(self, database, server_id, **kwargs):
            self.stop = None
            self.settings = type('Settings', (), {
                    'host': '127.0.0.1', 'port': 5038})
            started.append((database, server_id, kwargs))

        def run_forever(self):
            pass

    monkeypatch.setattr(cli, 'Listener', Listener)
    # main() installs its SIGTERM/SIGINT handlers: not in the test run
    monkeypatch.setattr(cli.signal, 'signal', lambda *a: None)
    monkeypatch.delenv('TRYTOND_CONFIG', raising=False)
    return started


def test_main_unknown_server(servers, no_listener, tmp_path):
    "pbx-listener --server <no such server> stops before listening"
    from trytond.tests.test_tryton import DB_NAME

    from pbx_connector.listener import main
    config = tmp_path / 'trytond.conf'
    config.write_text('')
    with pytest.raises(SystemExit) as exit_:
        main(['-c', str(config), '-d', DB_NAME, '--server', 'Nope'])
    assert str(exit_.value) == (
        "pbx-listener: 0 active PBX servers match 'Nope'; "
        "name one with --server")
    assert no_listener == []


def test_main_starts_listener(servers, no_listener, tmp_path):
    "pbx-listener -d DB -s NAME listens to that server with a spool file"
    from trytond.tests.test_tryton import DB_NAME

    from pbx_connector.listener import main
    config = tmp_path / 'trytond.conf'
    config.write_text('')
    spool = str(tmp_path / 'pbx.spool')
    main(['-c', str(config), '-d', DB_NAME, '-s', '分店', '--spool', spool])
    (database, server_id, kwargs), = no_listener
    assert (database, server_id, kwargs['spool']) == (
        DB_NAME, servers['分店'], spool)
    main(['-c', str(config), '-d', DB_NAME, '-s', str(servers['Asterisk'])])
    database, server_id, kwargs = no_listener[-1]
    assert server_id == servers['Asterisk']
    # the help says var/; the code writes in the working directory
    assert kwargs['spool'].endswith(f'pbx-listener-{DB_NAME}.spool')


def test_main_requires_database(no_listener, capsys):
    "-d is required: argparse's usage error, exit status 2"
    from pbx_connector.listener import main
    with pytest.raises(SystemExit) as exit_:
        main(['--server', 'Asterisk'])
    assert exit_.value.code == 2
    assert 'the following arguments are required: -d/--database' in (
        capsys.readouterr().err)
    assert no_listener == []
