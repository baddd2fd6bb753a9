# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The reader process's side: the ring scanner finds the calls the tracker
pops, the scanning transport hands all bytes over in order, and ``serve``
sends hints, updates and states over its pipe (real TCP to the scripted
peer)."""
import multiprocessing
import random
import threading
import time

import pytest

from pbx_connector.ami import (
    CallTracker, FakeTransport, Message, TCPTransport, encode)
from pbx_connector.ami.reader import RingScanner, ScanningTransport, serve

from testing.ami_peer import ScriptedPeer

pytestmark = pytest.mark.fast

DEVICES = {'PJSIP/8001', 'PJSIP/8002'}


def _stream(peer):
    "Inbound, outbound and internal calls interleaved, as Asterisk sends"
    calls = []
    for i, outcome in enumerate(['answered', 'busy', 'no_answer']):
        calls.append(peer.inbound_events(f'1379831231{i}',
                f'PJSIP/800{1 + i % 2}', outcome=outcome, start=1000.0 + i))
    peer.outcomes['13798312399'] = 'answered'
    calls.append(peer.originate_events({
                'channel': 'PJSIP/8001', 'exten': '13798312399',
                'context': 'crm-click-to-dial', 'actionid': 'crm-call-3'},
            ['CRM_CALL=3'], start=1010.0))
    # an inbound call that never rings a rep (to a queue outside the CRM)
    calls.append(peer.inbound_events('13798312377', 'PJSIP/9000',
            start=1020.0))
    events = []
    # interleaved: each call's events in order, the calls mixed
    rng = random.Random(6)
    while calls:
        call = rng.choice(calls)
        events.append(call.pop(0))
        if not call:
            calls.remove(call)
    return events


# what a screen pop reads of a ringing update (Call._pop_records)
POP_FIELDS = ['linkedid', 'direction', 'number', 'extension', 'start']


def _tracked(events):
    tracker = CallTracker(DEVICES)
    return [(u.kind, [u.call[f] for f in POP_FIELDS], u.timestamp)
        for e in events for u in tracker.feed(Message(e))
        if u.kind == 'ringing']


@pytest.mark.parametrize('size', [1, 13, 200, 1 << 20])
def test_scanner_finds_what_the_tracker_pops(size):
    with ScriptedPeer() as peer:
        events = _stream(peer)
    data = (b'Asterisk Call Manager/5.0.3\r\n'
        + encode([('Response', 'Success'), ('Message', 'Authentication '
                    'accepted')])
        + b''.join(encode(e) for e in events))
    scanner = RingScanner(DEVICES)
    found = []
    for i in range(0, len(data), size):
        found.extend(scanner.feed(data[i:i + size]))
    expected = _tracked(events)
    assert len(expected) == 3
    assert [(k, [c[f] for f in POP_FIELDS], t)
        for k, c, t, _ in found] == expected
    assert {c['number'] for _, c, _, _ in found} == {
        '13798312310', '13798312311', '13798312312'}


def test_scanner_leaves_unusual_packets_to_the_tracker():
    "Lower-case keys, LF lines: not reported (the tracker pops them)"
    newchannel = [('Event', 'Newchannel'), ('Channel', 'PJSIP/trunk-1'),
        ('CallerIDNum', '13798312311'), ('Uniqueid', '1.1'),
        ('Linkedid', '1.1')]
    dial = [('Event', 'DialBegin'), ('Channel', 'PJSIP/trunk-1'),
        ('DestChannel', 'PJSIP/8001-2'), ('Uniqueid', '1.1'),
        ('Linkedid', '1.1')]
    scanner = RingScanner(DEVICES)
    lower = [(k.lower() if k != 'Event' else k, v) for k, v in newchannel]
    assert scanner.feed(encode(lower) + encode(dial)) == []
    scanner = RingScanner(DEVICES)
    lf = encode(newchannel).replace(b'\r\n', b'\n')
    assert scanner.feed(lf + encode(dial)) == []
    # as Asterisk writes them: reported once
    scanner = RingScanner(DEVICES)
    found = scanner.feed(encode(newchannel) + encode(dial) + encode(dial))
    assert [(c['linkedid'], c['extension']) for _, c, _, _ in found] == [
        ('1.1', 'PJSIP/8001')]


def test_scanner_forgets_the_oldest_calls():
    scanner = RingScanner(DEVICES)
    scanner.LIMIT = 10
    for i in range(25):
        scanner.feed(encode([('Event', 'Newchannel'),
                    ('Channel', 'PJSIP/trunk-1'), ('CallerIDNum', str(i)),
                    ('Uniqueid', f'{i}.1'), ('Linkedid', f'{i}.1')]))
    assert len(scanner.calls) == 10
    assert next(iter(scanner.calls)) == '15.1'


def test_scanning_transport_hands_all_bytes_in_pieces():
    transport = FakeTransport(banner=b'')
    scanned = []
    scanning = ScanningTransport(transport, scanned.append)
    scanning.PIECE = 10
    transport.push(b'a' * 25)
    transport.push(b'b' * 5)
    pieces = [scanning.read(0.1) for _ in range(3)]
    # all that waited was scanned at the first read
    assert b''.join(scanned) == b'a' * 25 + b'b' * 5
    assert pieces == [b'a' * 10, b'a' * 10, b'a' * 5 + b'b' * 5]
    transport.push(b'c' * 3)
    assert scanning.read(0.1) == b'c' * 3
    transport.drop()
    assert scanning.read(0.1) == b''


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


def test_serve_sends_hints_updates_and_states():
    with ScriptedPeer() as peer:
        conn, stop, thread = _serve_in_thread(peer, {'PJSIP/8001'})
        try:
            assert _receive(conn, lambda m: m)[0][:2] == (
                'state', 'connected')
            assert peer.wait_logged_in(1)
            peer.inbound('13798312311', 'PJSIP/8001')

            def finished(messages):
                return any(u[0] == 'finished' for m in messages
                    if m[0] == 'updates' for u in m[1])
            messages = _receive(conn, finished)
            kinds = [m[0] for m in messages]
            # the hint comes before the update it stands for
            assert kinds.index('ahead') < kinds.index('updates')
            hint, = [u for m in messages if m[0] == 'ahead' for u in m[1]]
            ringing, = [u for m in messages if m[0] == 'updates'
                for u in m[1] if u[0] == 'ringing']
            assert hint[0] == 'ringing'
            for key in POP_FIELDS:
                assert hint[1][key] == ringing[1][key], key
            assert all(m[2] for m in messages if m[0] == 'updates')

            # the extensions change: a call to 8002 now rings a rep
            conn.send(('extensions', {'PJSIP/8001', 'PJSIP/8002'}))
            _receive(conn, lambda m: False, timeout=0.3)
            peer.inbound('13798312322', 'PJSIP/8002')
            messages = _receive(conn, finished)
            hint, = [u for m in messages if m[0] == 'ahead' for u in m[1]]
            assert hint[1]['extension'] == 'PJSIP/8002'

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
