# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A scripted Asterisk Manager Interface peer over real TCP (127.0.0.1).

Asterisk is not packaged for Debian 12, so tests and ``bench/pbx`` talk to
this peer instead. It speaks the documented wire format — banner line, CRLF
``Key: Value`` lines, an empty line ending each packet — and answers
``Login``, ``Originate`` (Async), ``Ping`` and ``Logoff`` as described in the
AMI v2 Specification
(https://docs.asterisk.org/Configuration/Interfaces/Asterisk-Manager-Interface-AMI/AMI-v2-Specification)
and the AMI action pages (API_Documentation/AMI_Actions/Login, Originate).

The event sequences below use only the documented events and fields of
docs.asterisk.org API_Documentation/AMI_Events/{Newchannel, VarSet,
Newstate, DialBegin, DialEnd, Hangup, Cdr, OriginateResponse}; each call
follows the life cycle the specification describes: a channel starts with
``Newchannel`` and ends with ``Hangup``, every leg carries the ``Linkedid``
of the oldest channel, ``Dial`` is wrapped in ``DialBegin``/``DialEnd`` with
``DialStatus`` (ANSWER, BUSY, NOANSWER, CHANUNAVAIL — the values of the Dial
application's DIALSTATUS), ``Hangup`` carries the Q.931 ``Cause``
(16 Normal Clearing, 17 User busy, 19 No answer, 1 Unallocated number —
include/asterisk/causes.h; 28 Invalid number format, what a SIP 484
Address Incomplete from the trunk becomes: Dial counts it as an
unavailable channel, DIALSTATUS CHANUNAVAIL), MixMonitor reports the file
through
``VarSet MIXMONITOR_FILENAME``, and ``Cdr`` (cdr_manager) comes last with
``Disposition`` ANSWERED / BUSY / NO ANSWER / FAILED and the
``DestinationChannel`` the Dial reached. ``Timestamp`` is
added as with ``timestampevents = yes`` in manager.conf.
"""
import itertools
import socket
import threading
import time

BANNER = 'Asterisk Call Manager/5.0.3'
TRUNK = 'PJSIP/trunk'

# Outcome per Dial: DialStatus, Hangup cause and text, CDR disposition
OUTCOMES = {
    'answered': ('ANSWER', 16, 'Normal Clearing', 'ANSWERED'),
    'busy': ('BUSY', 17, 'User busy', 'BUSY'),
    'no_answer': ('NOANSWER', 19, 'No answer', 'NO ANSWER'),
    'empty': ('CHANUNAVAIL', 1, 'Unallocated (unassigned) number', 'FAILED'),
    'wrong': ('CHANUNAVAIL', 28, 'Invalid Number Format (addr incomplete)',
        'FAILED'),
    }


def packet(pairs):
    return ''.join(f'{k}: {v}\r\n' for k, v in pairs).encode() + b'\r\n'


class Session(threading.Thread):

    def __init__(self, peer, sock):
        super().__init__(daemon=True)
        self.peer, self.sock = peer, sock
        self.logged_in = False
        self.lock = threading.Lock()
        self.alive = True

    def send(self, data):
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.alive = False

    def run(self):
        self.send(f'{BANNER}\r\n'.encode())
        buffer, pairs = b'', []
        try:
            while self.alive:
                data = self.sock.recv(65536)
                if not data:
                    break
                buffer += data
                while b'\n' in buffer:
                    line, _, buffer = buffer.partition(b'\n')
                    line = line.rstrip(b'\r').decode()
                    if line:
                        key, _, value = line.partition(':')
                        pairs.append((key.strip(), value.strip()))
                    elif pairs:
                        self.peer.handle(self, pairs)
                        pairs = []
        except OSError:
            pass
        finally:
            self.alive = False
            self.peer.forget(self)
            try:
                self.sock.close()
            except OSError:
                pass

    def close(self):
        self.alive = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class ScriptedPeer:
    """``with ScriptedPeer() as peer:`` — listens on ``peer.port``.

    ``outcomes`` maps a dialled number to ``answered`` (default), ``busy``,
    ``no_answer``, ``empty`` or ``wrong``; ``agent_answers=False`` makes the rep's own
    phone not answer an Originate. ``inbound(caller, extension)`` plays an
    inbound call to every logged-in session. ``drop()`` closes all sessions
    like an Asterisk restart.
    """

    def __init__(self, username='crm', secret='secret', talk_seconds=42):
        self.username, self.secret = username, secret
        self.talk_seconds = talk_seconds
        self.outcomes = {}
        self.agent_answers = True
        self.actions = []
        self.sessions = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(('127.0.0.1', 0))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        self._accepting = True
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # server side -------------------------------------------------------
    def _accept(self):
        while self._accepting:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            session = Session(self, sock)
            with self._lock:
                self.sessions.append(session)
            session.start()

    def forget(self, session):
        with self._lock:
            if session in self.sessions:
                self.sessions.remove(session)

    def close(self):
        self._accepting = False
        try:
            self._server.close()
        except OSError:
            pass
        self.drop()

    def drop(self):
        "Close every session, as when Asterisk restarts"
        with self._lock:
            sessions = list(self.sessions)
        for session in sessions:
            session.close()

    def logged_in(self):
        with self._lock:
            return [s for s in self.sessions if s.logged_in and s.alive]

    def wait_logged_in(self, count=1, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.logged_in()) >= count:
                return True
            time.sleep(0.01)
        return False

    def broadcast(self, events):
        "Send events to every logged-in session (call events are broadcast)"
        data = b''.join(packet(e) for e in events)
        for session in self.logged_in():
            session.send(data)

    # actions -----------------------------------------------------------
    def handle(self, session, pairs):
        action = dict((k.lower(), v) for k, v in pairs)
        name = action.get('action', '').lower()
        self.actions.append(pairs)
        reply = [('ActionID', action.get('actionid', ''))]
        if name == 'login':
            if (action.get('username') == self.username
                    and action.get('secret') == self.secret):
                session.logged_in = True
                session.send(packet([('Response', 'Success')] + reply + [
                            ('Message', 'Authentication accepted')]))
                session.send(packet([
                            ('Event', 'FullyBooted'),
                            ('Privilege', 'system,all'),
                            ('Status', 'Fully Booted')]))
            else:
                session.send(packet([('Response', 'Error')] + reply + [
                            ('Message', 'Authentication failed')]))
        elif not session.logged_in:
            session.send(packet([('Response', 'Error')] + reply + [
                        ('Message', 'Permission denied')]))
        elif name == 'ping':
            session.send(packet([('Response', 'Success')] + reply + [
                        ('Ping', 'Pong'), ('Timestamp', f'{time.time():.6f}')]))
        elif name == 'logoff':
            session.send(packet([('Response', 'Goodbye')] + reply + [
                        ('Message', 'Thanks for all the fish.')]))
            session.close()
        elif name == 'originate':
            session.send(packet([('Response', 'Success')] + reply + [
                        ('Message', 'Originate successfully queued')]))
            variables = [v for k, v in pairs if k.lower() == 'variable']
            threading.Thread(target=self.broadcast, args=(
                        self.originate_events(action, variables),),
                daemon=True).start()
        else:
            session.send(packet([('Response', 'Error')] + reply + [
                        ('Message', 'Invalid/unknown command')]))

    # scripted call flows -------------------------------------------------
    def _uniqueid(self, base):
        return f'{base:.0f}.{next(self._ids)}'

    def _channel(self, dev):
        return f'{dev}-{next(self._ids):08x}'

    @staticmethod
    def _chan(channel, uniqueid, linkedid, state, cid='', exten='',
            context='default'):
        return [
            ('Channel', channel), ('ChannelState', state[0]),
            ('ChannelStateDesc', state[1]), ('CallerIDNum', cid),
            ('CallerIDName', ''), ('ConnectedLineNum', ''),
            ('ConnectedLineName', ''), ('Language', 'zh'),
            ('AccountCode', ''), ('Context', context), ('Exten', exten),
            ('Priority', '1'), ('Uniqueid', uniqueid), ('Linkedid', linkedid)]

    def _dest(self, channel, uniqueid, linkedid, state, cid, exten, context):
        return [('Dest' + k, v) for k, v in self._chan(
                channel, uniqueid, linkedid, state, cid, exten, context)]

    def originate_events(self, action, variables, start=None):
        """Click-to-dial: ring the rep's device, then Dial the customer.

        With ``Async: true`` the OriginateResponse event reports whether the
        originated channel answered (Response Success, Reason 4) or not
        (Response Failure, Reason 3 no answer), per the OriginateResponse
        page; then the dialplan context runs ``Dial`` to the number.
        """
        start = start or time.time()
        number = action.get('exten', '')
        context = action.get('context', 'default')
        rep = action.get('channel', '')
        a_chan, a_id = self._channel(rep), self._uniqueid(start)
        events = [[('Event', 'Newchannel'), ('Privilege', 'call,all')]
            + self._chan(a_chan, a_id, a_id, ('0', 'Down'), '', '', context)]
        for variable in variables:
            key, _, value = variable.partition('=')
            events.append([('Event', 'VarSet'), ('Privilege', 'dialplan,all')]
                + self._chan(a_chan, a_id, a_id, ('0', 'Down'))
                + [('Variable', key), ('Value', value)])
        events.append([('Event', 'Newstate'), ('Privilege', 'call,all')]
            + self._chan(a_chan, a_id, a_id, ('5', 'Ringing')))
        response = [('Event', 'OriginateResponse'),
            ('Privilege', 'call,all'),
            ('ActionID', action.get('actionid', ''))]
        tail = [('Channel', rep), ('Context', context), ('Exten', number),
            ('Application', ''), ('Data', ''), ('Uniqueid', a_id),
            ('CallerIDNum', '<unknown>'), ('CallerIDName', '<unknown>')]
        if not self.agent_answers:
            events.append(response + [('Response', 'Failure')] + tail[:5]
                + [('Reason', '3')] + tail[5:])
            events.append([('Event', 'Hangup'), ('Privilege', 'call,all')]
                + self._chan(a_chan, a_id, a_id, ('5', 'Ringing'))
                + [('Cause', '19'), ('Cause-txt', 'No answer')])
            return self._stamp(events, start)
        events.append([('Event', 'Newstate'), ('Privilege', 'call,all')]
            + self._chan(a_chan, a_id, a_id, ('6', 'Up')))
        events.append(response + [('Response', 'Success')] + tail[:5]
            + [('Reason', '4')] + tail[5:])
        outcome = self.outcomes.get(number, 'answered')
        events += self._dial(a_chan, a_id, a_id, number, context, number,
            f'{number}@trunk', TRUNK, outcome, caller=rep.split('/')[-1])
        events.append(self._cdr(rep.split('/')[-1], number, context, a_chan,
                outcome, a_id, self._dialled(events)))
        return self._stamp(events, start)

    def inbound(self, caller, extension, outcome='answered', did='4008108888',
            start=None):
        "Play an inbound call from ``caller`` ringing ``extension``"
        events = self.inbound_events(caller, extension, outcome, did, start)
        self.broadcast(events)
        return events

    def inbound_events(self, caller, extension, outcome='answered',
            did='4008108888', start=None):
        start = start or time.time()
        a_chan, a_id = self._channel(TRUNK), self._uniqueid(start)
        events = [[('Event', 'Newchannel'), ('Privilege', 'call,all')]
            + self._chan(a_chan, a_id, a_id, ('4', 'Ring'), caller, did,
                'from-trunk')]
        events += self._dial(a_chan, a_id, a_id, did, 'from-trunk', caller,
            extension.split('/')[-1], extension, outcome, caller=caller)
        events.append(self._cdr(caller, did, 'from-trunk', a_chan, outcome,
                a_id, self._dialled(events)))
        return self._stamp(events, start)

    def _dial(self, a_chan, a_id, linkedid, exten, context, cid, dialstring,
            dest_dev, outcome, caller):
        status, cause, cause_txt, _ = OUTCOMES[outcome]
        b_chan, b_id = self._channel(dest_dev), self._uniqueid(time.time())
        a = self._chan(a_chan, a_id, linkedid, ('6', 'Up'), caller, exten,
            context)
        b_ring = self._dest(b_chan, b_id, linkedid, ('5', 'Ringing'), cid,
            exten, context)
        recording = f'/var/spool/asterisk/monitor/{a_id}.wav'
        events = [
            [('Event', 'VarSet'), ('Privilege', 'dialplan,all')] + a + [
                ('Variable', 'MIXMONITOR_FILENAME'), ('Value', recording)],
            [('Event', 'Newchannel'), ('Privilege', 'call,all')]
            + self._chan(b_chan, b_id, linkedid, ('0', 'Down'), cid, exten,
                context),
            [('Event', 'DialBegin'), ('Privilege', 'call,all')] + a + b_ring
            + [('DialString', dialstring)],
            ]
        b_state = ('6', 'Up') if outcome == 'answered' else ('5', 'Ringing')
        events.append([('Event', 'DialEnd'), ('Privilege', 'call,all')] + a
            + self._dest(b_chan, b_id, linkedid, b_state, cid, exten, context)
            + [('DialStatus', status)])
        events.append([('Event', 'Hangup'), ('Privilege', 'call,all')]
            + self._chan(b_chan, b_id, linkedid, b_state, cid, exten, context)
            + [('Cause', str(cause)), ('Cause-txt', cause_txt)])
        events.append([('Event', 'Hangup'), ('Privilege', 'call,all')] + a
            + [('Cause', str(cause)), ('Cause-txt', cause_txt)])
        return events

    @staticmethod
    def _dialled(events):
        "The DestChannel of the last DialBegin"
        for event in reversed(events):
            if ('Event', 'DialBegin') in event:
                return dict(event)['DestChannel']
        return ''

    def _cdr(self, source, destination, context, channel, outcome, uniqueid,
            dest_channel=''):
        _, _, _, disposition = OUTCOMES[outcome]
        talk = self.talk_seconds if outcome == 'answered' else 0
        return [('Event', 'Cdr'), ('Privilege', 'cdr,all'),
            ('AccountCode', ''), ('Source', source),
            ('Destination', destination), ('DestinationContext', context),
            ('CallerID', f'"" <{source}>'), ('Channel', channel),
            ('DestinationChannel', dest_channel),
            ('LastApplication', 'Dial'),
            ('LastData', destination), ('StartTime', ''),
            ('AnswerTime', ''), ('EndTime', ''),
            ('Duration', str(talk + 8)), ('BillableSeconds', str(talk)),
            ('Disposition', disposition), ('AMAFlags', 'DOCUMENTATION'),
            ('UniqueID', uniqueid), ('UserField', '')]

    def _stamp(self, events, start):
        """Add Timestamp: ringing takes 8 s, an answered leg talks
        ``talk_seconds``; the times are synthetic so tests need not sleep"""
        now = start
        answered = False
        for event in events:
            name = event[0][1]
            if name == 'DialEnd':
                now += 8
                answered = ('DialStatus', 'ANSWER') in event
            elif name == 'Hangup' and answered:
                now += self.talk_seconds
                answered = False
            event.insert(2, ('Timestamp', f'{now:.6f}'))
        return events
