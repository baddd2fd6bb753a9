# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The listener's reader process: a reader that dies is replaced, the
listener reports the break and the calls after it are written; on both
backends."""

from .test_listener_buffer import _calls, _server_status, _setup, drain

MODULE = 'pbx_connector'


def test_reader_process_replaced_when_it_dies():
    from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
    from trytond.transaction import Transaction

    from pbx_connector.ami import Backoff
    from pbx_connector.listener import Listener
    from testing.ami_peer import ScriptedPeer

    drop_db()
    activate_module([MODULE])
    peer = ScriptedPeer(username='crm', secret='s3cret', talk_seconds=30)
    listener = None
    try:
        with Transaction().start(DB_NAME, 0) as transaction:
            server_id, _ = _setup(peer.port)
            transaction.commit()
        listener = Listener(DB_NAME, server_id, backoff=Backoff(0.05, 0.2),
            idle=0.05, heartbeat=0)
        assert listener.reader == 'process'
        listener.start_reader()
        assert peer.wait_logged_in(1)
        assert drain(listener, lambda: _server_status(server_id)[0]
            == 'connected')
        first = listener.ami._process
        assert first.is_alive()

        # a bug (or the OOM killer) ends the reader
        first.kill()
        assert drain(listener, lambda: listener.disconnections == 1
            and listener.ami._process is not first
            and listener.ami._process.is_alive()
            and peer.wait_logged_in(1, timeout=0.01)
            and _server_status(server_id)[0] == 'connected')
        assert listener.error == 'reader process ended'

        # the new reader's calls are written and popped
        peer.inbound('13798312311', 'PJSIP/8001')
        assert drain(listener, lambda: _calls() == [
                ('inbound', 'answered', '张三', 'ended')])
    finally:
        if listener:
            listener.close()
        peer.close()
        drop_db()
    assert not listener.ami._process.is_alive()
