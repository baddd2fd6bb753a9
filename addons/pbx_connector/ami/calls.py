# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Correlate AMI channel events into calls.

Fields used, from the event reference (docs.asterisk.org, API_Documentation/
AMI_Events/<Name>): ``Newchannel`` (Channel, CallerIDNum, Exten, Uniqueid,
Linkedid), ``DialBegin`` (DestChannel, DialString), ``DialEnd`` (DialStatus),
``Hangup`` (Cause, Cause-txt), ``VarSet`` (Variable, Value), ``Cdr``
(cdr_manager only) and ``OriginateResponse`` (ActionID, Response, Reason,
Uniqueid). "Linkedid — Uniqueid of the oldest channel associated with this
channel": every leg of one call shares it, so it is the call's key.
``Timestamp`` is present when manager.conf sets ``timestampevents = yes``.
"""
import dataclasses
import time
import typing

# Q.931 cause codes as named in Asterisk's include/asterisk/causes.h
CAUSE_UNALLOCATED = 1
CAUSE_NO_ROUTE_DESTINATION = 3
CAUSE_NORMAL_CLEARING = 16
CAUSE_USER_BUSY = 17
CAUSE_NO_USER_RESPONSE = 18
CAUSE_NO_ANSWER = 19
CAUSE_INVALID_NUMBER_FORMAT = 28

# Variable set through Originate to tie the PBX call to the Tryton record.
CRM_VARIABLE = 'CRM_CALL'
RECORDING_VARIABLE = 'MIXMONITOR_FILENAME'


@dataclasses.dataclass
class Call:
    linkedid: str
    direction: str = 'inbound'
    number: str = ''
    extension: str = ''
    start: float = 0.0
    ring: float = 0.0
    answer: float = 0.0
    end: float = 0.0
    dial_status: str = ''
    cause: int = 0
    cause_text: str = ''
    recording: str = ''
    crm_call: str = ''
    channels: set = dataclasses.field(default_factory=set)
    dialed: bool = False

    @property
    def disposition(self):
        return disposition(self.answer, self.dial_status, self.cause,
            self.dialed)

    def snapshot(self):
        # a shallow copy: every field but channels is immutable
        # (dataclasses.asdict deep-copies, ten times slower)
        data = dict(vars(self))
        del data['channels']
        data['disposition'] = self.disposition
        return data


class CallUpdate(typing.NamedTuple):
    """What happened to a call: ``kind`` is one of

    ``started``, ``ringing`` (an extension rings — screen pop),
    ``answered``, ``recording``, ``finished``, ``cdr``, ``originate``.

    A tuple ``(kind, call, timestamp, data)``: it crosses the reader's
    pipe and reaches ``pbx.call``'s ``ami_updates`` as it is."""
    kind: str
    call: dict
    timestamp: float
    data: dict


def device(channel):
    "``PJSIP/8001-0000002a`` → ``PJSIP/8001``"
    name, sep, suffix = (channel or '').rpartition('-')
    return name if sep and name else (channel or '')


def disposition(answered, dial_status, cause, dialed=True):
    "Outcome of a call from DialStatus and the Hangup cause"
    if answered:
        return 'answered'
    if not dialed:
        # The rep's own phone never answered the Originate.
        return 'agent_unreachable'
    if cause == CAUSE_UNALLOCATED:
        return 'empty'
    if cause in {CAUSE_INVALID_NUMBER_FORMAT, CAUSE_NO_ROUTE_DESTINATION}:
        return 'wrong'
    if dial_status == 'BUSY' or cause == CAUSE_USER_BUSY:
        return 'busy'
    if dial_status == 'NOANSWER' or cause in {
            CAUSE_NO_ANSWER, CAUSE_NO_USER_RESPONSE}:
        return 'no_answer'
    if dial_status == 'CANCEL':
        return 'cancelled'
    return 'failed'


class CallTracker:
    """Feed events, get :class:`CallUpdate` s.

    ``extensions`` is the set of devices (``PJSIP/8001``) of the reps: a
    call whose first channel is one of them is outbound.
    """

    def __init__(self, extensions=(), clock=time.time):
        self.extensions = set(extensions)
        self.calls = {}
        self.clock = clock

    def feed(self, event):
        handler = getattr(self, '_on_' + (event.event or '').lower(), None)
        if handler is None:
            return []
        return handler(event, self._timestamp(event)) or []

    def _timestamp(self, event):
        try:
            return float(event['Timestamp'])
        except (KeyError, ValueError):
            return self.clock()

    def _call(self, event, ts):
        linkedid = event.get('Linkedid') or event.get('Uniqueid')
        call = self.calls.get(linkedid)
        if call is None:
            call = self.calls[linkedid] = Call(linkedid=linkedid, start=ts)
        return call

    def _update(self, kind, call, ts, **data):
        return CallUpdate(kind, call.snapshot(), ts, data)

    def _on_newchannel(self, event, ts):
        new = event.get('Linkedid', event.get('Uniqueid')) not in self.calls
        call = self._call(event, ts)
        call.channels.add(event.get('Uniqueid'))
        if not new:
            return []
        dev = device(event.get('Channel'))
        if dev in self.extensions:
            # Outbound: reported once the CRM_CALL variable of a
            # click-to-dial or the DialBegin of a desk-phone call tells
            # which call it is, so no duplicate record is made.
            call.direction, call.extension = 'outbound', dev
            call.number = event.get('Exten') or ''
            return []
        call.direction = 'inbound'
        call.number = event.get('CallerIDNum') or ''
        return [self._update('started', call, ts)]

    def _on_varset(self, event, ts):
        variable = event.get('Variable')
        if variable not in {CRM_VARIABLE, RECORDING_VARIABLE}:
            return []
        call = self._call(event, ts)
        if variable == CRM_VARIABLE:
            call.crm_call = event.get('Value') or ''
            return [self._update('started', call, ts)]
        call.recording = event.get('Value') or ''
        return [self._update('recording', call, ts)]

    def _on_dialbegin(self, event, ts):
        call = self._call(event, ts)
        call.dialed, call.ring = True, ts
        dest = device(event.get('DestChannel'))
        if call.direction == 'inbound' and dest in self.extensions:
            call.extension = dest
            return [self._update('ringing', call, ts)]
        if call.direction == 'outbound':
            call.number = (event.get('Exten')
                or event.get('DestCallerIDNum') or call.number)
        return [self._update('started', call, ts)]

    def _on_dialend(self, event, ts):
        call = self._call(event, ts)
        call.dial_status = (event.get('DialStatus') or '').upper()
        if call.dial_status == 'ANSWER' and not call.answer:
            call.answer = ts
            if call.direction == 'inbound':
                call.extension = device(event.get('DestChannel')) or (
                    call.extension)
            return [self._update('answered', call, ts)]
        return []

    def _on_hangup(self, event, ts):
        linkedid = event.get('Linkedid') or event.get('Uniqueid')
        call = self.calls.get(linkedid)
        if call is None:
            return []
        try:
            cause = int(event.get('Cause') or 0)
        except ValueError:
            cause = 0
        if cause and (not call.cause or call.cause == CAUSE_NORMAL_CLEARING):
            call.cause, call.cause_text = cause, event.get('Cause-txt') or ''
        call.channels.discard(event.get('Uniqueid'))
        if call.channels:
            return []
        call.end = ts
        del self.calls[linkedid]
        return [self._update('finished', call, ts)]

    def _on_cdr(self, event, ts):
        call = Call(linkedid=event.get('UniqueID') or '')
        return [CallUpdate('cdr', call.snapshot(), ts, event.as_dict())]

    def _on_originateresponse(self, event, ts):
        call = Call(linkedid=event.get('Uniqueid') or '')
        return [CallUpdate('originate', call.snapshot(), ts, {
                    'action_id': event.get('ActionID') or '',
                    'response': event.get('Response') or '',
                    'reason': event.get('Reason') or '',
                    'uniqueid': event.get('Uniqueid') or '',
                    })]
