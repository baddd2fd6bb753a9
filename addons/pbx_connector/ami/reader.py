# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The AMI side of ``pbx-listener`` in a process of its own.

Reading and tracking a burst costs about as much as writing its screen
pops; in one process both share one interpreter lock, so the pops of a
burst wait for the reading of the events behind them. In a process of its
own the reader holds the AMI session (reconnecting with backoff, as
:func:`.client.follow`), tracks the calls and sends their updates to the
listener over a pipe, one message for all the updates of a read:

* ``('ahead', [(kind, call, timestamp, data), …])``: the ``ringing``
  updates of the inbound calls found by :class:`RingScanner` in the bytes
  of a read before they are parsed, for the listener to pop them ahead
  (the tracker's own updates of those calls follow in order);
* ``('updates', [(kind, call, timestamp, data), …], last_event)``
* ``('state', 'connected' | 'disconnected', info)``

The listener sends ``('extensions', devices)`` when the reps' extensions
change. Plain Python: the process imports neither trytond nor the modules'
models.
"""
import collections
import os
import time

from .calls import Call, CallTracker, device
from .client import AMIClient, Backoff, follow
from .transport import Transport

# bytes read at most at once while more wait in the socket
DRAIN_LIMIT = 4 << 20
# the reader process's niceness, added to the listener's
NICE = 10


class RingScanner:
    """Find the inbound calls that start ringing a rep's device in the raw
    bytes of the AMI stream, before they are parsed.

    A burst is read far faster than it is parsed and tracked: scanning the
    bytes of all that waits in the socket for the two events a screen pop
    needs lets the listener pop the calls of a burst while the tracker is
    still busy with the events before them. The scanner follows the
    tracker's rules (:class:`.calls.CallTracker`): a call is known from
    its first ``Newchannel`` (inbound unless its channel is a rep's
    device, its number the ``CallerIDNum``, its start the ``Timestamp``)
    and rings at its first ``DialBegin`` whose ``DestChannel`` is a rep's
    device; a call is reported once. It reads only packets written as
    Asterisk writes them (CRLF lines, ``Event:`` first, ``Key: value``);
    any other packet is left to the tracker, which pops its call in
    order."""

    # calls remembered (known or reported), oldest forgotten first
    LIMIT = 20000

    def __init__(self, extensions=(), clock=time.time):
        self.extensions = set(extensions)
        self.clock = clock
        # linkedid → (number, start) of an inbound call not reported yet,
        # None once outbound or reported
        self.calls = collections.OrderedDict()
        self._buffer = b''

    def reset(self):
        "A new connection: its bytes start a new stream"
        self._buffer = b''

    def feed(self, data):
        "The ringing updates of the packets completed by ``data``"
        packets = (self._buffer + data).split(b'\r\n\r\n')
        self._buffer = packets.pop()
        found = []
        for packet in packets:
            if packet.startswith(b'Event: Newchannel\r\n'):
                self._newchannel(packet)
            elif packet.startswith(b'Event: DialBegin\r\n'):
                update = self._dialbegin(packet)
                if update:
                    found.append(update)
        while len(self.calls) > self.LIMIT:
            self.calls.popitem(last=False)
        return found

    @staticmethod
    def _value(packet, key):
        "The first value of ``key`` (``b'\\r\\nKey: '``), or None"
        start = packet.find(key)
        if start < 0:
            return None
        start += len(key)
        end = packet.find(b'\r\n', start)
        value = packet[start:end if end >= 0 else None]
        try:
            return value.decode('utf-8').strip()
        except UnicodeDecodeError:
            return None

    def _linkedid(self, packet):
        linkedid = self._value(packet, b'\r\nLinkedid: ')
        if linkedid is None:
            return None
        return linkedid or self._value(packet, b'\r\nUniqueid: ')

    def _timestamp(self, packet):
        try:
            return float(self._value(packet, b'\r\nTimestamp: '))
        except (TypeError, ValueError):
            return self.clock()

    def _newchannel(self, packet):
        linkedid = self._linkedid(packet)
        if not linkedid or linkedid in self.calls:
            return
        channel = self._value(packet, b'\r\nChannel: ')
        number = self._value(packet, b'\r\nCallerIDNum: ')
        if channel is None or number is None:
            # not read as the tracker reads it: no report
            self.calls[linkedid] = None
        elif device(channel) in self.extensions:
            self.calls[linkedid] = None
        else:
            self.calls[linkedid] = (number, self._timestamp(packet))

    def _dialbegin(self, packet):
        linkedid = self._linkedid(packet)
        call = self.calls.get(linkedid) if linkedid else None
        if not call:
            return None
        dest = device(self._value(packet, b'\r\nDestChannel: '))
        if dest not in self.extensions:
            return None
        self.calls[linkedid] = None
        number, start = call
        ts = self._timestamp(packet)
        snapshot = Call(linkedid=linkedid, number=number, extension=dest,
            start=start, ring=ts, dialed=True).snapshot()
        return ('ringing', snapshot, ts, {})


class ScanningTransport(Transport):
    """A transport that reads all that waits in the socket (up to
    ``DRAIN_LIMIT`` bytes kept), hands the new bytes to ``scan(data)`` at
    once and gives them to the client ``PIECE`` bytes at a time: between
    two pieces parsed, what arrived meanwhile is scanned, so that the
    ringing calls of a burst are found as it arrives, not once the events
    before them are tracked"""

    PIECE = 64 << 10

    def __init__(self, transport, scan):
        self.transport, self.scan = transport, scan
        self._kept = bytearray()
        self._closed = False

    def write(self, data):
        self.transport.write(data)

    def read(self, timeout):
        if not self._kept and not self._closed:
            data = self.transport.read(timeout)
            if not data:
                return data
            self.scan(data)
            self._kept += data
        self._drain()
        if not self._kept:
            # closed by the peer
            return b''
        piece = bytes(self._kept[:self.PIECE])
        del self._kept[:self.PIECE]
        return piece

    def _drain(self):
        "Read and scan what waits in the socket, without waiting"
        while not self._closed and len(self._kept) < DRAIN_LIMIT:
            try:
                data = self.transport.read(0)
            except (TimeoutError, BlockingIOError, InterruptedError):
                return
            if not data:
                self._closed = True
                return
            self.scan(data)
            self._kept += data

    def close(self):
        self.transport.close()


def serve(conn, stop, host, port, username, secret, devices, transport,
        backoff=(), idle=1.0, nice=NICE):
    """Run the reader until ``stop`` (an event shared with the listener) is
    set or the listener's end of ``conn`` closes; ``backoff`` holds the
    arguments of :class:`.client.Backoff`"""
    if nice:
        # the tracking of a burst gives way to the pops of its calls and
        # to the database (the scanning that finds them costs little)
        try:
            os.nice(nice)
        except OSError:
            pass
    tracker = CallTracker(devices)
    scanner = RingScanner(devices)
    out = []
    last = []

    def scan(data):
        found = scanner.feed(data)
        if found:
            conn.send(('ahead', found))

    def connect():
        scanner.reset()
        return AMIClient.connect(
            ScanningTransport(transport(host, port), scan), username, secret)

    def on_event(event):
        if not last:
            last.append(None)
        last[0] = time.time()
        for update in tracker.feed(event):
            out.append((update.kind, update.call, update.timestamp,
                    update.data))

    def flush():
        if out or last:
            conn.send(('updates', out[:], last[0] if last else None))
            out.clear()
            last.clear()
        while conn.poll():
            command, *args = conn.recv()
            if command == 'extensions':
                tracker.extensions = set(args[0])
                scanner.extensions = set(args[0])

    def on_state(state, info):
        flush()
        conn.send(('state', state, info))

    try:
        follow(connect, on_event, on_state, stop, Backoff(*backoff), idle,
            flush=flush)
        flush()
    except (EOFError, BrokenPipeError):
        # the listener is gone
        pass
    finally:
        conn.close()
