# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The listener's loop: buffer the reader's updates, pop the ringing calls
first, write the rest in order, keep the spool and the server's status."""
import collections
import itertools
import logging
import queue
import sys
import threading
import time

from ..ami import Backoff, TCPTransport
from .reading import Reader
from .spool import Spool

logger = logging.getLogger('pbx_connector.listener')

POISON_ATTEMPTS = 5
# seconds a thread holds the interpreter lock when another waits
SWITCH_INTERVAL = 0.0005


class Listener:

    def __init__(self, database, server_id, user=0, spool=None,
            language=None, backoff=None, idle=1.0, heartbeat=1.0,
            transport=TCPTransport, batch_size=100, pop_size=200,
            busy_batch_size=12, busy_seconds=0.25, reader='process'):
        # trytond is imported once its configuration is loaded
        from .writer import Writer
        self.database, self.server_id = database, server_id
        self.writer = Writer(database, server_id, user, language)
        self.spool = Spool(spool)
        self.backoff = backoff or Backoff()
        self.idle, self.heartbeat = idle, heartbeat
        self.transport = transport
        assert reader in {'process', 'thread'}
        self.reader = reader
        self.stop = threading.Event()
        self.updates = queue.Queue()
        self.pending = collections.deque()
        # the ringing updates not applied yet: applied ahead of the
        # updates before them, so that the rep's pop waits for no backlog
        self._ringing = collections.deque()
        self.batch_size, self.pop_size = batch_size, pop_size
        # while calls keep ringing (a pop within busy_seconds) the in-order
        # transactions are kept short, so that a pop waits for little
        self.busy_batch_size, self.busy_seconds = (
            busy_batch_size, busy_seconds)
        self._popped_at = float('-inf')
        self._careful = 0
        self.states = queue.Queue()
        self.state, self.error = 'unknown', None
        self.disconnections, self.disconnected_at = 0, None
        self.state_seen = 'unknown'
        self.last_event = None
        self.written = 0
        self.failed = 0
        self._attempts = 0
        self._retry_at = 0.0
        self._status_at = 0.0
        self.ami = None
        self.settings = self.writer.load_settings()
        self._add(self.spool.load())

    def write_batch(self, updates):
        "Apply updates in order in one transaction"
        self.writer.write_batch(updates)

    # AMI side ------------------------------------------------------------
    def on_state(self, state, info):
        if state == 'disconnected' and self.state_seen == 'connected':
            self.disconnections += 1
            self.disconnected_at = time.time()
        self.state_seen = state
        self.states.put((state, info))
        log = logger.info if state == 'connected' else logger.warning
        log('AMI %s: %s', state, info)

    def on_event(self, epoch=None):
        self.last_event = epoch or time.time()

    def start_reader(self):
        # Two busy threads share the interpreter lock in a burst: the
        # writer gives it up at every query and, with Python's default
        # 5 ms switch interval, waits up to that long to get it back from
        # the receiver of the reader's updates at each one. The listener
        # is a process of its own.
        sys.setswitchinterval(SWITCH_INTERVAL)
        self.ami = Reader(self.settings, self.updates, self.on_state,
            self.on_event, self.stop, self.transport, self.backoff,
            self.idle, mode=self.reader)
        self.ami.start()

    # writer --------------------------------------------------------------
    def process(self, timeout=0.5):
        """Write what arrived within ``timeout`` seconds (and any buffered
        updates); return the number written."""
        try:
            self._add(self.updates.get(timeout=timeout))
        except queue.Empty:
            pass
        written = self._drain()
        self._status()
        return written

    def _add(self, updates):
        "Buffer a list of updates; their ringing ones are applied first"
        self.pending.extend(updates)
        self._ringing.extend(u for u in updates if u.kind == 'ringing')

    def _pull(self):
        "Move what the reader queued to the buffer"
        while True:
            try:
                self._add(self.updates.get_nowait())
            except queue.Empty:
                break

    def _drain(self):
        """Write the buffer in order, ``batch_size`` updates a transaction.

        The ringing updates go first: before each batch those that arrived
        since the last one are applied in transactions of their own
        (``pop_size`` each), which write their calls and send their screen
        pops; they are applied again in order with the others, which
        changes nothing more (a call pops once). In a burst a pop waits
        for at most one batch, not for the backlog, and while calls keep
        ringing (a pop less than ``busy_seconds`` ago) a batch holds
        ``busy_batch_size`` updates. After a failed batch, updates are
        written one by one until that many went through, so that one
        update that keeps failing is isolated (POISON_ATTEMPTS)."""
        written = 0
        if time.monotonic() < self._retry_at:
            return 0
        while True:
            self._pull()
            if self._ringing and not self._careful:
                if not self._pop():
                    break
                continue
            self._ringing.clear()
            if not self.pending:
                break
            chunk = list(itertools.islice(self.pending, self._size()))
            try:
                self.write_batch(chunk)
            except Exception as exc:
                self._careful = max(self._careful, len(chunk), 1)
                self._failed(chunk[0], exc)
                break
            for _ in chunk:
                self.pending.popleft()
            self._careful = max(self._careful - len(chunk), 0)
            self._attempts = 0
            written += len(chunk)
        self.written += written
        if written or not self.pending:
            self.spool.save(self.pending)
        return written

    def _pop(self):
        """Apply the first ``pop_size`` ringing updates ahead; on failure
        they pop when they are written in order (the next update is
        written alone, after the backoff)"""
        pops = [self._ringing.popleft()
            for _ in range(min(self.pop_size, len(self._ringing)))]
        try:
            self.write_batch(pops)
        except Exception as exc:
            logger.warning('cannot pop %d calls ahead: %s', len(pops), exc)
            self._careful = max(self._careful, 1)
            self._retry_at = time.monotonic() + min(
                0.1 * 2 ** (self._attempts + 1), 5)
            self.spool.save(self.pending)
            return False
        self._popped_at = time.monotonic()
        return True

    def _size(self):
        "The updates of the next in-order batch"
        if self._careful:
            return 1
        elif time.monotonic() - self._popped_at < self.busy_seconds:
            return self.busy_batch_size
        return self.batch_size

    def _failed(self, update, exc):
        self._attempts += 1
        if self._attempts >= POISON_ATTEMPTS and self.writer.answers():
            logger.error('update %s of call %s keeps failing; saved to %s',
                update.kind, update.call.get('linkedid'),
                self.spool.failed_path, exc_info=exc)
            self.spool.fail(update)
            self.pending.popleft()
            self.failed += 1
            self._attempts = 0
            return
        logger.warning('cannot write update %s (%s); %d buffered',
            update.kind, exc, len(self.pending))
        self._retry_at = time.monotonic() + min(0.1 * 2 ** self._attempts, 5)
        self.spool.save(self.pending)

    def _status(self):
        changed = False
        while True:
            try:
                self.state, info = self.states.get_nowait()
                if self.state == 'disconnected':
                    self.error = info
                changed = True
            except queue.Empty:
                break
        now = time.monotonic()
        if not changed and now - self._status_at < self.heartbeat:
            return
        try:
            self.writer.write_status(state=self.state, error=self.error,
                last_event=self.last_event,
                buffered=len(self.pending) + sum(
                    len(u) for u in list(self.updates.queue)),
                disconnected_at=self.disconnected_at,
                disconnections=self.disconnections)
            self._status_at = now
        except Exception as exc:
            logger.warning('cannot write the listener status: %s', exc)

    # life cycle ----------------------------------------------------------
    def run_forever(self):
        self.start_reader()
        refresh = time.monotonic()
        while not self.stop.is_set():
            self.process(timeout=0.5)
            if time.monotonic() - refresh > 60:
                refresh = time.monotonic()
                self._refresh_devices()
        self.close()

    def _refresh_devices(self):
        try:
            self.settings = self.writer.load_settings()
            if self.ami:
                self.ami.settings = self.settings
                self.ami.set_devices(self.settings.devices)
        except Exception as exc:
            logger.warning('cannot reload the extensions: %s', exc)

    def close(self):
        self.stop.set()
        if self.ami:
            self.ami.close()
        self.states.put(('disconnected', 'listener stopped'))
        self._status_at = 0.0
        self._drain()
        self._status()
