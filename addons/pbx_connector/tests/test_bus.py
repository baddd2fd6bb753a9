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

    from .ami_peer import ScriptedPeer
    from .tools import setup_call_center

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
