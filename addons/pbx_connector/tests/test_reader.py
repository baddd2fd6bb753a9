# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The reader process's side: ``serve`` sends the tracker's updates and
the connection states over its pipe (real TCP to the scripted peer)."""
import multiprocessing
import threading
import time

import pytest

from pbx_connector.ami import CallUpdate, TCPTransport
from pbx_connector.ami.reader import serve

from testing.ami_peer import ScriptedPeer

pytestmark = pytest.mark.fast


def _serve_in_thread(peer, devices):
    ours, theirs = multiprocessing.Pipe()
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(theirs, stop, '127.0.0.1',
            peer.port, peer.username, peer.secret, devices, TCPTransport,
            (0.05, 0.2), 0.05, 0), daemon=True)
    thread.start()
    return ours, stop, thread


def _receive(conn, until, timeout=30):
    messages = []
    deadline = time.monotonic() + timeout
    while not until(messages) and time.monotonic() < deadline:
        if conn.poll(0.05):
            messages.append(conn.recv())
    return messages


def test_serve_sends_updates_and_states():
    with ScriptedPeer() as peer:
        conn, stop, thread = _serve_in_thread(peer, {'PJSIP/8001'})
        try:
            assert _receive(conn, lambda m: m)[0][:2] == (
                'state', 'connected')
            assert peer.wait_logged_in(1)
            peer.inbound('13798312311', 'PJSIP/8001')

            def finished(messages):
                return any(u.kind == 'finished' for m in messages
                    if m[0] == 'updates' for u in m[1])
            messages = _receive(conn, finished)
            assert {m[0] for m in messages} == {'updates'}
            updates = [u for m in messages for u in m[1]]
            assert all(isinstance(u, CallUpdate) for u in updates)
            ringing, = [u for u in updates if u.kind == 'ringing']
            assert ringing.call['number'] == '13798312311'
            assert ringing.call['extension'] == 'PJSIP/8001'
            assert all(m[2] for m in messages)

            # the extensions change: a call to 8002 now rings a rep
            conn.send(('extensions', {'PJSIP/8001', 'PJSIP/8002'}))
            _receive(conn, lambda m: False, timeout=0.3)
            peer.inbound('13798312322', 'PJSIP/8002')
            messages = _receive(conn, finished)
            ringing, = [u for m in messages for u in m[1]
                if u.kind == 'ringing']
            assert ringing.call['extension'] == 'PJSIP/8002'

            peer.drop()
            messages = _receive(conn, lambda m: any(
                    x[:2] == ('state', 'disconnected') for x in m))
            assert messages[-1][:2] == ('state', 'disconnected')
            assert _receive(conn, lambda m: any(
                    x[:2] == ('state', 'connected') for x in m))
        finally:
            stop.set()
            thread.join(5)
    assert not thread.is_alive()
