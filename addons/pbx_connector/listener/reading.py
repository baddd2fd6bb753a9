# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The AMI side of the listener: a reader in a process of its own
(``ami.reader``) or in a thread, queueing the tracker's updates."""
import logging
import threading

from ..ami import AMIClient, CallTracker
from ..ami.client import follow

logger = logging.getLogger('pbx_connector.listener')


class Reader:
    """Follow the AMI session of ``settings`` and put each list of updates
    in ``updates`` (a queue); report connection states to
    ``on_state(state, info)`` and the time of the last event to
    ``on_event(epoch)``. ``mode``: ``'process'`` (``ami.reader.serve``,
    spawned, restarted if it ends) or ``'thread'``."""

    def __init__(self, settings, updates, on_state, on_event, stop,
            transport, backoff, idle, mode='process'):
        assert mode in {'process', 'thread'}
        self.settings, self.updates = settings, updates
        self.on_state, self.on_event, self.stop = on_state, on_event, stop
        self.transport, self.backoff, self.idle = transport, backoff, idle
        self.mode = mode
        self.tracker = CallTracker(settings.devices)
        self._thread = None
        # the reader process, its end of the pipe and its stop event
        self._process = self._conn = self._process_stop = None

    def start(self):
        if self.mode == 'process':
            self._start_process()
            self._thread = threading.Thread(target=self._receive,
                name='ami-receiver', daemon=True)
        else:
            self._thread = threading.Thread(target=follow,
                name='ami-reader', args=(self._connect, self._feed,
                    self.on_state, self.stop, self.backoff, self.idle),
                daemon=True)
        self._thread.start()

    def _connect(self):
        s = self.settings
        return AMIClient.connect(self.transport(s.host, s.port), s.username,
            s.secret)

    def _feed(self, event):
        self.on_event(None)
        updates = self.tracker.feed(event)
        if updates:
            self.updates.put(updates)

    def _start_process(self):
        import multiprocessing
        from ..ami import reader
        # spawned: the listener's threads and database connections are not
        # for a child to inherit
        context = multiprocessing.get_context('spawn')
        self._conn, child = context.Pipe()
        self._process_stop = context.Event()
        s, b = self.settings, self.backoff
        self._process = context.Process(target=reader.serve,
            name='pbx-listener-reader', args=(child, self._process_stop,
                s.host, s.port, s.username, s.secret, set(s.devices),
                self.transport, (b.initial, b.maximum, b.factor),
                self.idle), daemon=True)
        self._process.start()
        child.close()

    def _receive(self):
        "Queue what the reader process sends, restart it if it ends"
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                pass
            else:
                self._received(message)
                continue
            self._process.join(5)
            if self.stop.is_set():
                return
            # only a bug ends it: the calls it tracked are not known to
            # the next one (the Cdr events still complete them)
            logger.error('the AMI reader process ended (exit code %s); '
                'starting another', self._process.exitcode)
            self.on_state('disconnected', 'reader process ended')
            self._conn.close()
            if not self._restart():
                return

    def _received(self, message):
        if message[0] == 'updates':
            _, updates, last_event = message
            if last_event:
                self.on_event(last_event)
            if updates:
                self.updates.put(updates)
        elif message[0] == 'state':
            if message[1] == 'connected':
                # the delay before replacing a reader that ended
                self.backoff.reset()
            self.on_state(*message[1:])

    def _restart(self):
        "Start another reader process after the backoff; False if stopped"
        while True:
            if self.stop.wait(self.backoff.next()):
                return False
            try:
                self._start_process()
                return True
            except Exception:
                logger.exception('cannot start the AMI reader process')

    def set_devices(self, devices):
        "The reps' extensions changed"
        self.tracker.extensions = set(devices)
        if self._conn is not None:
            try:
                self._conn.send(('extensions', set(devices)))
            except OSError as exc:
                logger.warning('cannot send the extensions to the reader: '
                    '%s', exc)

    def close(self):
        if self._process is not None:
            self._process_stop.set()
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
        if self._thread:
            self._thread.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
