# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The listener loses no call while the database is unreachable (PBX-07)

On PostgreSQL the database really goes away: connections are refused and the
open ones terminated, as when the server restarts. Calls the scripted AMI
peer plays meanwhile are buffered in memory and in the spool file, then
written when the database answers again — by the same listener, or by a new
one started after the first was stopped (replayed from the spool).
"""
import os
import time

import pytest

pytestmark = pytest.mark.postgresql

MODULE = 'pbx_connector'


def _admin(sql):
    "Run sql on the server's maintenance database"
    import psycopg
    uri = os.environ['TRYTOND_DATABASE_URI'].rstrip('/')
    with psycopg.connect(uri + '/postgres', autocommit=True) as connection:
        connection.execute(sql)


def database_down(name):
    from trytond import backend
    # a connection the pool cannot make is awaited 30 s by default: the
    # listener would only try again every 30 s
    backend.Database(name)._connpool.timeout = 1
    _admin('ALTER DATABASE "%s" WITH ALLOW_CONNECTIONS false' % name)
    _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = '%s' AND pid <> pg_backend_pid()" % name)


def database_up(name):
    from trytond.transaction import Transaction
    _admin('ALTER DATABASE "%s" WITH ALLOW_CONNECTIONS true' % name)
    # the pool tries again after a delay of its own: wait for it, as a
    # listener started now would (or its service manager restarting it)
    deadline = time.monotonic() + 60
    while True:
        try:
            with Transaction().start(name, 0, readonly=True):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _setup(port):
    from trytond.modules.company.tests import create_company, create_employee
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Party = pool.get('party.party')
    Server = pool.get('pbx.server')
    company = create_company()
    with Transaction().set_context(company=company.id):
        rep = create_employee(company, name='刘洋')
        customer = Party(name='张三', contact_mechanisms=[
                {'type': 'mobile', 'value': '+8613798312311'}])
        customer.save()
        server = Server(name='Asterisk', host='127.0.0.1', port=port,
            username='crm', secret='s3cret', company=company,
            extensions=[{'employee': rep.id, 'number': '8001',
                    'device': 'PJSIP/8001'}])
        server.save()
    return server.id, customer.id


def _calls():
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.tests.test_tryton import DB_NAME
    with Transaction().start(DB_NAME, 0, readonly=True):
        Call = Pool().get('pbx.call')
        return [(c.direction, c.disposition, c.party.name if c.party else None,
                c.state) for c in Call.search([], order=[('id', 'ASC')])]


def _server_status(server_id):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.tests.test_tryton import DB_NAME
    with Transaction().start(DB_NAME, 0, readonly=True):
        server = Pool().get('pbx.server')(server_id)
        return server.state, server.buffered


def drain(listener, until, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listener.process(timeout=0.05)
        if until():
            return True
    return False


def test_calls_buffered_while_database_down(tmp_path):
    from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
    from trytond.transaction import Transaction

    from pbx_connector.ami import Backoff
    from pbx_connector.listener import Listener
    from testing.ami_peer import ScriptedPeer

    drop_db()
    activate_module([MODULE])
    peer = ScriptedPeer(username='crm', secret='s3cret', talk_seconds=30)
    spool = str(tmp_path / 'pbx.spool')
    listener = None
    try:
        with Transaction().start(DB_NAME, 0) as transaction:
            server_id, _ = _setup(peer.port)
            transaction.commit()
        listener = Listener(DB_NAME, server_id, spool=spool,
            backoff=Backoff(0.05, 0.2), idle=0.05, heartbeat=0)
        listener.start_reader()
        assert peer.wait_logged_in(1)
        assert drain(listener, lambda: _server_status(server_id)[0]
            == 'connected')

        # the database goes away; two calls come in meanwhile
        database_down(DB_NAME)
        try:
            peer.inbound('13798312311', 'PJSIP/8001')
            peer.inbound('13900002222', 'PJSIP/8001', outcome='no_answer')
            # the AMI side goes on: every event is read and buffered
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                listener.process(timeout=0.05)
                if len(listener.pending) >= 4 and os.path.exists(spool):
                    break
            assert len(listener.pending) >= 4, listener.pending
            with open(spool, encoding='utf-8') as f:
                assert len(f.readlines()) == len(listener.pending)
            assert listener.failed == 0
        finally:
            database_up(DB_NAME)

        # the database is back: the same listener writes what it kept
        assert drain(listener, lambda: not listener.pending
            and len(_calls()) == 2)
        assert _calls() == [
            ('inbound', 'answered', '张三', 'ended'),
            ('inbound', 'no_answer', None, 'ended'),
            ]
        assert not os.path.exists(spool)
        assert drain(listener, lambda: _server_status(server_id)
            == ('connected', 0))

        # down again, and the listener is stopped before it comes back:
        # a new listener replays the spool file
        database_down(DB_NAME)
        try:
            peer.inbound('13798312311', 'PJSIP/8001', outcome='busy')
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and len(listener.pending) < 2:
                listener.process(timeout=0.05)
            buffered = len(listener.pending)
            assert buffered >= 2
            listener.close()
            listener = None
            with open(spool, encoding='utf-8') as f:
                assert len(f.readlines()) == buffered
        finally:
            database_up(DB_NAME)
        listener = Listener(DB_NAME, server_id, spool=spool,
            backoff=Backoff(0.05, 0.2), idle=0.05, heartbeat=0)
        assert len(listener.pending) == buffered
        assert drain(listener, lambda: len(_calls()) == 3)
        assert _calls()[-1] == ('inbound', 'busy', '张三', 'ended')
        assert not listener.pending and not os.path.exists(spool)
    finally:
        if listener:
            listener.close()
        peer.close()
        database_up(DB_NAME)
        drop_db()
