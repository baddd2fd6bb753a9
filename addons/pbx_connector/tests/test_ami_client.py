# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Unit tests of the AMI client: fake transport, then the TCP peer"
import threading

import pytest

from pbx_connector.ami import (
    AMIClient, ActionFailed, AuthenticationFailed, Backoff, CallTracker,
    ConnectionLost, FakeTransport, Message, Parser, TCPTransport, Timeout,
    encode)
from pbx_connector.ami.calls import device, disposition
from pbx_connector.ami.client import follow

from testing.ami_peer import ScriptedPeer, packet

pytestmark = pytest.mark.fast


def success(message):
    return packet([('Response', 'Success'),
            ('ActionID', message['ActionID']), ('Message', 'OK')])


def test_encode_and_parse_roundtrip():
    data = encode([('Action', 'Originate'), ('Variable', 'A=1'),
            ('Variable', 'B=2')])
    assert data.endswith(b'\r\n\r\n')
    parser = Parser(expect_banner=False)
    message, = parser.feed(data)
    assert message['action'] == 'Originate'
    assert message.getall('Variable') == ['A=1', 'B=2']


def test_encode_refuses_header_injection():
    with pytest.raises(ValueError):
        encode([('Exten', '123\r\nAction: Command')])


def test_parser_handles_split_packets_and_banner():
    parser = Parser()
    assert parser.feed(b'Asterisk Call Manager/5.0.3\r\nEvent: Ne') == []
    assert parser.banner == 'Asterisk Call Manager/5.0.3'
    messages = parser.feed(b'wchannel\r\nUniqueid: 1.1\r\n\r\nEvent: X\r\n\r\n')
    assert [m.event for m in messages] == ['Newchannel', 'X']
    assert messages[0]['Uniqueid'] == '1.1'


def _pairs_of(text):
    "The pairs of a packet's lines as the parser has always read them"
    return [(k.strip(), v.strip()) if sep else ('Output', line)
        for line in text.split('\n') if line
        for k, sep, v in (line.partition(':'),)]


@pytest.mark.parametrize('text', [
        'Event: Newchannel\nUniqueid: 1.1\nLinkedid: 1.1',
        'Event: X\nKey:no-space\nKEY: second\nkey : third',
        'Event: X\n Padded: 1\nPadded: 2',
        'Event: X\nTabbed\t: 1\nTabbed: 2',
        'Event: X\nValue:   spaced  \nEmpty:\nOutput: a\nno colon line',
        'Event: X\nÉvénement: é\nİ: dotted',
        'Event: X\nA: 1:2:3\nB',
        '\nEvent: X\nLast: z',
        ])
def test_message_lookups_match_its_pairs(text):
    "A packet read from the wire finds a key in its text as in its pairs"
    message = Message.from_text(text)
    pairs = _pairs_of(text)
    index = {}
    for key, value in pairs:
        index.setdefault(key.lower(), value)
    keys = {k for k, _ in pairs} | {
        'event', 'EVENT', 'key', 'Key ', 'padded', 'tabbed', 'output',
        'Output', 'value', 'empty', 'missing', 'a', 'b', 'last', '',
        'événement', 'i̇', 'A:1'}
    for key in sorted(keys):
        assert message.get(key, 'absent') == index.get(
            key.lower(), 'absent'), key
        assert (key in message) == (key.lower() in index), key
    assert message.pairs == pairs
    assert message.getall('Key') == [
        v for k, v in pairs if k.lower() == 'key']


def test_message_lookups_in_any_chunking():
    "The same messages and values whatever the reads' sizes"
    data = (b'Asterisk Call Manager/5.0.3\r\n'
        + b''.join(encode([('Event', 'DialBegin'), ('Channel', f'PJSIP/t-{i}'),
                    ('DestChannel', f'PJSIP/8001-{i}'), ('Linkedid', str(i)),
                    ('CallerIDNum', f'1380000{i:04d}')])
            for i in range(50))
        + b'Response: Follows\r\nno colon\r\n\r\n')
    expected = None
    for size in (1, 7, 100, 4096):
        parser = Parser()
        messages = []
        for i in range(0, len(data), size):
            messages.extend(parser.feed(data[i:i + size]))
        got = [(m.event, m.get('linkedid'), m['DestChannel'], m.pairs)
            for m in messages[:-1]]
        assert messages[-1].get('Output') == 'no colon'
        if expected is None:
            expected = got
        assert got == expected
    assert len(expected) == 50
    assert expected[7][:3] == ('DialBegin', '7', 'PJSIP/8001-7')


def test_login_originate_and_events():
    transport = FakeTransport(replies={
            'login': success, 'originate': success})
    client = AMIClient.connect(transport, 'crm', 'secret')
    assert client.banner.startswith('Asterisk Call Manager/')
    login = transport.written[0]
    assert (login['Username'], login['Secret']) == ('crm', 'secret')
    transport.push(packet([('Event', 'Newchannel'), ('Uniqueid', '1.1')]))
    response = client.originate('PJSIP/8001', '13798312311', 'crm-dial',
        variables={'CRM_CALL': 7}, action_id='crm-call-7')
    assert response['ActionID'] == 'crm-call-7'
    originate = transport.written[1]
    assert originate['Async'] == 'true'
    assert originate['Channel'] == 'PJSIP/8001'
    assert originate.getall('Variable') == ['CRM_CALL=7']
    event = client.next_event(0.1)
    assert event.event == 'Newchannel'
    assert client.next_event(0.01) is None


def test_login_refused():
    transport = FakeTransport(replies={'login': lambda m: packet([
                    ('Response', 'Error'), ('ActionID', m['ActionID']),
                    ('Message', 'Authentication failed')])})
    with pytest.raises(AuthenticationFailed):
        AMIClient.connect(transport, 'crm', 'wrong')


def test_not_an_ami_server():
    transport = FakeTransport(banner=b'SSH-2.0-OpenSSH_9.2\r\n')
    with pytest.raises(Exception) as info:
        AMIClient.connect(transport, 'crm', 'secret')
    assert 'not an AMI server' in str(info.value)


def test_action_error_and_timeout():
    transport = FakeTransport(replies={'login': success,
            'originate': lambda m: packet([('Response', 'Error'),
                    ('ActionID', m['ActionID']),
                    ('Message', 'Extension does not exist.')])})
    client = AMIClient.connect(transport, 'crm', 'secret', timeout=0.05)
    with pytest.raises(ActionFailed) as info:
        client.originate('PJSIP/8001', '1', 'x')
    assert str(info.value) == 'Extension does not exist.'
    with pytest.raises(Timeout):
        client.ping()


def test_connection_lost():
    transport = FakeTransport(replies={'login': success})
    client = AMIClient.connect(transport, 'crm', 'secret')
    transport.drop()
    with pytest.raises(ConnectionLost):
        client.next_event(0.1)


def test_backoff():
    backoff = Backoff(initial=0.5, maximum=4)
    assert [backoff.next() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]
    backoff.reset()
    assert backoff.next() == 0.5


def test_follow_reconnects_with_backoff():
    transports = []

    def connect():
        if len(transports) == 1:
            transports.append(None)
            raise ConnectionRefusedError('refused')
        transport = FakeTransport(replies={'login': success})
        transport.push(packet([('Event', 'Newchannel'),
                    ('Uniqueid', str(len(transports)))]))
        transports.append(transport)
        client = AMIClient.connect(transport, 'crm', 'secret')
        if len(transports) == 1:
            transport.drop()
        return client

    stop = threading.Event()
    states, events = [], []

    def handle(event):
        events.append(event['Uniqueid'])
        if len(events) == 2:
            stop.set()

    follow(connect, handle, lambda s, i: states.append(s), stop,
        Backoff(initial=0.001), idle=0.01)
    assert events == ['0', '2']
    assert states == ['connected', 'disconnected', 'disconnected',
        'connected']


def test_device_and_disposition():
    assert device('PJSIP/8001-0000002a') == 'PJSIP/8001'
    assert device('SIP/trunk') == 'SIP/trunk'
    assert disposition(1.0, 'ANSWER', 16) == 'answered'
    assert disposition(0, 'BUSY', 17) == 'busy'
    assert disposition(0, 'NOANSWER', 19) == 'no_answer'
    assert disposition(0, 'CHANUNAVAIL', 1) == 'empty'
    assert disposition(0, 'CONGESTION', 28) == 'wrong'
    assert disposition(0, '', 19, dialed=False) == 'agent_unreachable'
    assert disposition(0, '', 0, dialed=False) == 'agent_unreachable'


def _events(events):
    return [Message(e) for e in events]


@pytest.mark.parametrize('outcome,expected,cause', [
        ('answered', 'answered', 16),
        ('busy', 'busy', 17),
        ('no_answer', 'no_answer', 19),
        ('empty', 'empty', 1),
        ])
def test_tracker_outbound(outcome, expected, cause):
    with ScriptedPeer() as peer:
        peer.outcomes['13798312311'] = outcome
        events = peer.originate_events({
                'channel': 'PJSIP/8001', 'exten': '13798312311',
                'context': 'crm-click-to-dial', 'actionid': 'crm-call-3'},
            ['CRM_CALL=3'], start=1000.0)
    tracker = CallTracker({'PJSIP/8001'})
    updates = [u for e in _events(events) for u in tracker.feed(e)]
    kinds = [u.kind for u in updates]
    assert kinds[-2:] == ['finished', 'cdr']
    assert 'originate' in kinds and 'recording' in kinds
    finished = updates[-2].call
    assert finished['direction'] == 'outbound'
    assert finished['extension'] == 'PJSIP/8001'
    assert finished['number'] == '13798312311'
    assert finished['crm_call'] == '3'
    assert finished['disposition'] == expected
    assert finished['cause'] == cause
    assert finished['recording'].endswith('.wav')
    assert ('answered' in kinds) == (outcome == 'answered')
    if outcome == 'answered':
        assert finished['end'] - finished['answer'] == 42
    assert tracker.calls == {}


def test_tracker_inbound_rings_extension():
    with ScriptedPeer() as peer:
        events = peer.inbound_events('13798312311', 'PJSIP/8002',
            start=2000.0)
    tracker = CallTracker({'PJSIP/8001', 'PJSIP/8002'})
    updates = [u for e in _events(events) for u in tracker.feed(e)]
    ringing, = [u for u in updates if u.kind == 'ringing']
    assert ringing.call['extension'] == 'PJSIP/8002'
    assert ringing.call['number'] == '13798312311'
    assert ringing.call['direction'] == 'inbound'
    finished, = [u for u in updates if u.kind == 'finished']
    assert finished.call['disposition'] == 'answered'


def test_tcp_peer_login_originate_drop():
    with ScriptedPeer(secret='s3cret') as peer:
        with pytest.raises(AuthenticationFailed):
            AMIClient.connect(TCPTransport('127.0.0.1', peer.port), 'crm',
                'nope')
        client = AMIClient.connect(
            TCPTransport('127.0.0.1', peer.port), 'crm', 's3cret')
        assert client.banner == 'Asterisk Call Manager/5.0.3'
        assert client.next_event(1).event == 'FullyBooted'
        response = client.originate('PJSIP/8001', '13798312311', 'ctx',
            action_id='crm-call-1')
        assert response['Message'] == 'Originate successfully queued'
        names = []
        while 'Cdr' not in names:
            names.append(client.next_event(2).event)
        assert names[0] == 'Newchannel'
        assert {'OriginateResponse', 'DialBegin', 'DialEnd', 'Hangup'} <= (
            set(names))
        peer.drop()
        with pytest.raises(ConnectionLost):
            client.next_event(2)
