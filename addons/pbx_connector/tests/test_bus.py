# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Screen pop over Tryton's bus: PostgreSQL LISTEN/NOTIFY, end to end from
the scripted AMI peer through the listener."""
import json
import os
import time

import pytest

pytestmark = pytest.mark.postgresql


def test_inbound_call_pops_on_the_bus():
    import psycopg
    from trytond.modules.company.tests.tools import create_company
    from trytond.tests.test_tryton import DB_NAME
    from trytond.tests.tools import activate_modules

    from pbx_connector.ami import Backoff
    from pbx_connector.listener import Listener

    from testing.ami_peer import ScriptedPeer
    from testing.call_center import setup_call_center

    activate_modules('pbx_connector', create_company)
    uri = os.environ['TRYTOND_DATABASE_URI'].rstrip('/') + '/' + DB_NAME
    with ScriptedPeer() as peer, psycopg.connect(uri, autocommit=True) as pg:
        cc = setup_call_center(peer)
        pg.execute('LISTEN "bus"')
        listener = Listener(DB_NAME, cc.server.id,
            backoff=Backoff(0.05, 0.2), idle=0.05)
        listener.start_reader()
        try:
            assert peer.wait_logged_in(1)
            started = time.monotonic()
            peer.inbound('13798312311', 'PJSIP/8001')
            channel = f'notification:{cc.users[0].id}'
            received = []
            while time.monotonic() - started < 60 and not received:
                listener.process(timeout=0.05)
                for notify in pg.notifies(timeout=0.05, stop_after=1):
                    payload = json.loads(notify.payload)
                    if payload['channel'] == channel:
                        received.append(payload['message'])
        finally:
            listener.close()
    message, = received
    assert message['type'] == 'user-notification'
    assert message['count'] == 1
    content, = message['content']
    assert content.startswith('Incoming call: 张三 +8613798312311')


def test_burst_pops_each_call_once():
    """A burst through the reader process: every call pops once, its
    ringing update applied ahead and again in order; the unread count
    grows by one a call"""
    import psycopg
    from trytond.modules.company.tests.tools import create_company
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME
    from trytond.tests.tools import activate_modules
    from trytond.transaction import Transaction

    from pbx_connector.ami import Backoff
    from pbx_connector.listener import Listener

    from testing.ami_peer import ScriptedPeer
    from testing.call_center import setup_call_center

    calls = 40
    activate_modules('pbx_connector', create_company)
    uri = os.environ['TRYTOND_DATABASE_URI'].rstrip('/') + '/' + DB_NAME
    with ScriptedPeer() as peer, psycopg.connect(uri, autocommit=True) as pg:
        cc = setup_call_center(peer)
        pg.execute('LISTEN "bus"')
        listener = Listener(DB_NAME, cc.server.id,
            backoff=Backoff(0.05, 0.2), idle=0.05)
        listener.start_reader()
        channel = f'notification:{cc.users[0].id}'
        received = []
        try:
            assert peer.wait_logged_in(1)
            events = [e for i in range(calls)
                for e in peer.inbound_events(str(13900000000 + i),
                    'PJSIP/8001', start=1e9 + i)]
            peer.broadcast(events)
            deadline = time.monotonic() + 120
            while (time.monotonic() < deadline
                    and listener.written < 6 * calls):
                listener.process(timeout=0.05)
                for notify in pg.notifies(timeout=0, stop_after=None):
                    payload = json.loads(notify.payload)
                    if payload['channel'] == channel:
                        received.append(payload['message'])
            for notify in pg.notifies(timeout=0.5, stop_after=None):
                payload = json.loads(notify.payload)
                if payload['channel'] == channel:
                    received.append(payload['message'])
        finally:
            listener.close()
    lines = [line for m in received for line in m['content']]
    numbers = [line.split('+86')[1][:11] for line in lines]
    assert sorted(numbers) == [str(13900000000 + i) for i in range(calls)]
    # the unread count of each message: the pops of its transaction and
    # of those before
    sent = 0
    for message in received:
        sent += len(message['content'])
        assert message['count'] >= sent
    counts = [m['count'] for m in received]
    assert counts == sorted(counts)
    assert counts[-1] == calls
    with Transaction().start(DB_NAME, 0, readonly=True):
        pool = Pool()
        Call = pool.get('pbx.call')
        Notification = pool.get('res.notification')
        written = Call.search([])
        assert len(written) == calls
        assert all(c.screen_popped and c.state == 'ended' for c in written)
        notifications = Notification.search([])
        assert sorted(int(n.records[1:-1]) for n in notifications) == sorted(
            c.id for c in written)
