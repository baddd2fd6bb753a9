# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""``pbx-listener``: holds the AMI connection of one PBX server.

The reader keeps a logged-in AMI session (reconnecting with backoff),
feeds every event to the call tracker and queues the resulting updates; it
runs in a process of its own (``ami.reader``: reading a burst costs as much
as popping it, and a thread would share the writer's interpreter lock) or,
with ``reader='thread'``, in a thread. The writer (the calling thread)
applies the updates in order through
Tryton in-process — ``pbx.call`` records, follow-ups, batch dialing, screen
pops — up to ``batch_size`` updates a transaction (all that queued up while
the previous transaction ran). Screen pops go first: the calls that started
ringing are popped in a transaction of their own before the batch that
holds them is written.

Nothing is dropped silently: updates whose transaction fails (database
unreachable) stay at the head of the buffer, are saved to the spool file
and replayed when the database answers again; an update that keeps failing
while the database works is written to ``<spool>.failed`` and logged. The
connection state, the time of the last event and the number of buffered
updates are written on the ``pbx.server`` record (Call Center →
Configuration → PBX Servers).
"""
import argparse
import collections
import dataclasses
import itertools
import json
import logging
import os
import queue
import signal
import sys
import threading
import time

from .ami import AMIClient, Backoff, CallTracker, CallUpdate, TCPTransport
from .ami.client import follow

logger = logging.getLogger('pbx_connector.listener')

POISON_ATTEMPTS = 5
# linkedids of the calls popped ahead kept to pop none twice
PUBLISHED_KEPT = 10000
# seconds a thread holds the interpreter lock when another waits
SWITCH_INTERVAL = 0.0005


@dataclasses.dataclass
class Settings:
    host: str
    port: int
    username: str
    secret: str
    devices: set
    company: int = None
    region: str = None


class Listener:

    def __init__(self, database, server_id, user=0, spool=None,
            language=None, backoff=None, idle=1.0, heartbeat=1.0,
            transport=TCPTransport, batch_size=100, pop_size=200,
            busy_batch_size=12, busy_seconds=0.25, reader='process',
            pop_quiet=0.02, pop_quiet_max=1.0):
        self.database, self.server_id, self.user = database, server_id, user
        self.spool, self.language = spool, language
        self.backoff = backoff or Backoff()
        self.idle, self.heartbeat = idle, heartbeat
        self.transport = transport
        assert reader in {'process', 'thread'}
        self.reader = reader
        self.stop = threading.Event()
        self.updates = queue.Queue()
        self.pending = collections.deque()
        # ringing updates to pop ahead of the in-order batches: the
        # tracker's, and the reader process's hints (ami.reader)
        self._to_pop = collections.deque()
        # the linkedids of the calls popped ahead lately, not popped twice
        self._published = collections.OrderedDict()
        # the rows of the pops whose inserts are deferred
        # (Call.publish_ahead), written before any in-order batch
        self._pop_writes = []
        self._write_attempts = 0
        # extension of each device, users of each employee: ids kept
        # between transactions, read anew when the extensions are
        # reloaded (load_settings)
        self.cache = {}
        self.batch_size, self.pop_size = batch_size, pop_size
        # while calls keep ringing (a pop within busy_seconds) the in-order
        # transactions are kept short, so that a pop waits for little
        self.busy_batch_size, self.busy_seconds = (
            busy_batch_size, busy_seconds)
        self._popped_at = float('-inf')
        # the rows of the pops are written once no call rang for pop_quiet
        # seconds, pop_quiet_max seconds after the first at the latest
        self.pop_quiet, self.pop_quiet_max = pop_quiet, pop_quiet_max
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
        self._reader = None
        # the reader process, its end of the pipe and its stop event
        self._process = self._conn = self._process_stop = None
        self.settings = self.load_settings()
        self.tracker = CallTracker(self.settings.devices)
        self._load_spool()

    # Tryton side -------------------------------------------------------
    def transaction(self, readonly=False):
        from trytond.transaction import Transaction
        context = {'pbx_listener': True}
        if self.language:
            context['language'] = self.language
        return Transaction().start(self.database, self.user,
            readonly=readonly, context=context)

    def _server(self):
        """The server with the values the updates use, read when the
        settings are (re)loaded: not read again in each transaction"""
        from trytond.pool import Pool
        Server = Pool().get('pbx.server')
        return Server(self.server_id, company=self.settings.company,
            region=self.settings.region)

    def _company_context(self, server):
        from trytond.transaction import Transaction
        return Transaction().set_context(company=self.settings.company)

    def load_settings(self):
        from trytond.pool import Pool
        with self.transaction(readonly=True):
            pool = Pool()
            server = pool.get('pbx.server')(self.server_id)
            settings = Settings(server.host, server.port, server.username,
                server.secret, server.listener_devices(),
                server.company.id, server.region)
            # the extensions and users read for all the reps at once, not
            # by the first pop of each rep
            self.cache = pool.get('pbx.call').listener_cache(server)
            return settings

    def write(self, update):
        "Apply one update in its own transaction"
        self.write_batch([update])

    def write_batch(self, updates):
        "Apply updates in order in one transaction"
        from trytond.pool import Pool
        with self.transaction() as transaction:
            pool = Pool()
            Call = pool.get('pbx.call')
            server = self._server()
            with self._company_context(server):
                Call.ami_updates(server, [
                        (u.kind, u.call, u.timestamp, u.data)
                        for u in updates], cache=self.cache)
            transaction.commit()
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
        self._run_tasks(tasks)

    def pop_ahead(self, updates):
        """Pop the calls of ``ringing`` updates in a transaction of their
        own, ahead of the in-order batches: where there is a bus, only the
        messages go out (``Call.publish_ahead``) and the calls and
        notifications are kept for ``write_popped``; otherwise
        ``Call.pop_ahead``"""
        from trytond.pool import Pool
        with self.transaction() as transaction:
            pool = Pool()
            Call = pool.get('pbx.call')
            server = self._server()
            values = [(u.kind, u.call, u.timestamp, u.data) for u in updates]
            with self._company_context(server):
                if transaction.database.has_channel():
                    _, writes = Call.publish_ahead(server, values,
                        cache=self.cache, unwritten=self._unwritten())
                else:
                    writes = None
                    Call.pop_ahead(server, values, cache=self.cache)
            transaction.commit()
        if writes and (writes['calls'] or writes['notifications']):
            writes['at'] = time.monotonic()
            self._pop_writes.append(writes)

    def _unwritten(self):
        "{user: count} of the notifications popped but not written yet"
        return collections.Counter(n['user'] for w in self._pop_writes
            for n in w['notifications'])

    def write_popped(self):
        "Insert the calls and notifications of the pops published ahead"
        from trytond.pool import Pool
        writes = {'calls': [], 'notifications': []}
        for w in self._pop_writes:
            for key in writes:
                writes[key].extend(w[key])
        with self.transaction() as transaction:
            Pool().get('pbx.call').write_popped(writes)
            transaction.commit()
        self._pop_writes = []

    def _run_tasks(self, tasks):
        """Run the queue tasks an update made (batch dialing's Originate)
        when no trytond-worker runs them"""
        from trytond.pool import Pool
        from trytond.worker import run_task
        for task_id in tasks:
            run_task(Pool(self.database), task_id)

    def write_status(self):
        from trytond.pool import Pool
        from .call import to_datetime
        with self.transaction() as transaction:
            Server = Pool().get('pbx.server')
            Server.set_status(self.server_id, state=self.state,
                error=self.error,
                last_event=to_datetime(self.last_event),
                buffered=len(self.pending) + sum(len(u) for a, u in
                    list(self.updates.queue) if not a),
                disconnected_at=to_datetime(self.disconnected_at),
                disconnections=self.disconnections)
            transaction.commit()

    # AMI side (reader thread) ------------------------------------------
    def connect(self):
        s = self.settings
        return AMIClient.connect(self.transport(s.host, s.port), s.username,
            s.secret)

    def on_event(self, event):
        self.last_event = time.time()
        updates = self.tracker.feed(event)
        if updates:
            self.updates.put((False, updates))

    def on_state(self, state, info):
        if state == 'disconnected' and self.state_seen == 'connected':
            self.disconnections += 1
            self.disconnected_at = time.time()
        self.state_seen = state
        self.states.put((state, info))
        log = logger.info if state == 'connected' else logger.warning
        log('AMI %s: %s', state, info)

    def start_reader(self):
        # Two busy threads share the interpreter lock in a burst: the
        # writer gives it up at every query and, with Python's default
        # 5 ms switch interval, waits up to that long to get it back from
        # the reader (or the receiver of the reader process's updates) at
        # each one (screen pops three times slower in bench/pbx). The
        # listener is a process of its own.
        sys.setswitchinterval(SWITCH_INTERVAL)
        if self.reader == 'process':
            self._start_process()
            self._reader = threading.Thread(target=self._receive,
                name='ami-receiver', daemon=True)
        else:
            self._reader = threading.Thread(target=follow,
                name='ami-reader', args=(self.connect, self.on_event,
                    self.on_state, self.stop, self.backoff, self.idle),
                daemon=True)
        self._reader.start()

    def _start_process(self):
        import multiprocessing
        from .ami import reader
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
                if message[0] == 'updates':
                    _, updates, last_event = message
                    if last_event:
                        self.last_event = last_event
                    if updates:
                        self.updates.put(
                            (False, [CallUpdate(*u) for u in updates]))
                elif message[0] == 'ahead':
                    self.updates.put(
                        (True, [CallUpdate(*u) for u in message[1]]))
                elif message[0] == 'state':
                    if message[1] == 'connected':
                        # the delay before replacing a reader that ended
                        self.backoff.reset()
                    self.on_state(*message[1:])
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
            while True:
                if self.stop.wait(self.backoff.next()):
                    return
                try:
                    self._start_process()
                    break
                except Exception:
                    logger.exception('cannot start the AMI reader process')

    def _send_extensions(self):
        if self._conn is not None:
            try:
                self._conn.send(('extensions', set(self.settings.devices)))
            except OSError as exc:
                logger.warning('cannot send the extensions to the reader: '
                    '%s', exc)

    # writer ------------------------------------------------------------
    def process(self, timeout=0.5):
        """Write what arrived within ``timeout`` seconds (and any buffered
        updates); return the number written."""
        if self._pop_writes:
            # wake up to write them once the calls stop ringing
            timeout = min(timeout, max(0.001,
                    self.pop_quiet - (time.monotonic() - self._popped_at)))
        try:
            self._add_all(*self.updates.get(timeout=timeout))
        except queue.Empty:
            pass
        written = self._drain()
        self._status()
        return written

    def _add_all(self, ahead, updates):
        """Buffer a list of updates the reader queued; ``ahead``: ringing
        updates to pop, which the tracker's updates will bring in order"""
        if not ahead:
            self.pending.extend(updates)
        for update in updates:
            if update.kind == 'ringing' and update.call.get(
                    'direction') == 'inbound':
                self._to_pop.append(update)

    def _pull(self):
        "Move what the reader queued to the buffer"
        while True:
            try:
                self._add_all(*self.updates.get_nowait())
            except queue.Empty:
                break

    def _drain(self):
        """Write the buffer in order, ``batch_size`` updates a transaction.

        Before each batch the calls that started ringing since the last one
        (the reader's hints and the tracker's ``ringing`` updates; a call
        popped once is not popped again) are popped in transactions of
        their own (``pop_size`` calls each) and, where there is a bus,
        their calls and notifications are written once no call rang for
        ``pop_quiet`` seconds, before the next in-order batch:
        in a burst a screen pop waits for at most one batch, not for the
        backlog (the batches wait while calls keep ringing), and while
        calls keep ringing (a pop less than ``busy_seconds`` ago) a batch
        holds ``busy_batch_size`` updates, not ``batch_size``. Their
        ``ringing`` update stays buffered and is applied again in order
        (the call is marked as popped, so it pops once). After a failed
        batch, updates are written one by one until that many went
        through, so that one update that keeps failing is isolated
        (POISON_ATTEMPTS)."""
        written = 0
        if time.monotonic() < self._retry_at:
            return 0
        while True:
            self._pull()
            if not (self.pending or self._to_pop or self._pop_writes):
                break
            if self._careful:
                self._to_pop.clear()
            pops = []
            while self._to_pop and len(pops) < self.pop_size:
                update = self._to_pop.popleft()
                if update.call.get('linkedid') not in self._published:
                    pops.append(update)
            if pops:
                try:
                    self.pop_ahead(pops)
                except Exception as exc:
                    # They pop when their update is written in order. The
                    # next update is written alone, after the backoff: if
                    # the database is unreachable, it is tried once.
                    logger.warning('cannot pop %d calls ahead: %s',
                        len(pops), exc)
                    self._careful = max(self._careful, 1)
                    self._retry_at = time.monotonic() + min(
                        0.1 * 2 ** (self._attempts + 1), 5)
                    self._save_spool()
                    break
                for update in pops:
                    self._published[update.call.get('linkedid')] = True
                while len(self._published) > PUBLISHED_KEPT:
                    self._published.popitem(last=False)
                self._popped_at = time.monotonic()
                # more calls may have rung meanwhile: they pop first
                continue
            if self._pop_writes:
                # while calls keep ringing (a pop less than pop_quiet
                # seconds ago) their pops go first, up to a bound; the
                # writes go before any in-order update: those of these
                # calls must find them popped
                if self._writes_wait():
                    break
                if not self._write_popped():
                    break
                continue
            if not self.pending:
                break
            if self._careful:
                size = 1
            elif time.monotonic() - self._popped_at < self.busy_seconds:
                size = self.busy_batch_size
            else:
                size = self.batch_size
            chunk = list(itertools.islice(self.pending, size))
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
            self._save_spool()
        return written

    def _writes_wait(self):
        "Whether the deferred rows of the pops may wait for more pops"
        now = time.monotonic()
        return (now - self._popped_at < self.pop_quiet
            and now - self._pop_writes[0]['at'] < self.pop_quiet_max
            and sum(len(w['calls']) for w in self._pop_writes)
            < self.pop_size * 10)

    def _write_popped(self):
        """Write the deferred rows of the pops; on failure, try again
        after a backoff. Rows that keep failing while the database answers
        are dropped (logged): those calls are written and popped again by
        their in-order updates."""
        try:
            self.write_popped()
        except Exception as exc:
            self._write_attempts += 1
            if (self._write_attempts >= POISON_ATTEMPTS
                    and self._database_answers()):
                logger.error('cannot write the calls of %d pops; they are '
                    'written in order', sum(len(w['calls'])
                        for w in self._pop_writes), exc_info=exc)
                self._pop_writes = []
                self._published.clear()
                self._write_attempts = 0
                return True
            logger.warning('cannot write the calls of %d pops: %s',
                sum(len(w['calls']) for w in self._pop_writes), exc)
            self._retry_at = time.monotonic() + min(
                0.1 * 2 ** self._write_attempts, 5)
            return False
        self._write_attempts = 0
        return True

    def _failed(self, update, exc):
        self._attempts += 1
        if self._attempts >= POISON_ATTEMPTS and self._database_answers():
            logger.error('update %s of call %s keeps failing; saved to %s',
                update.kind, update.call.get('linkedid'),
                self._failed_path(), exc_info=exc)
            self._append(self._failed_path(), [update])
            self.pending.popleft()
            self.failed += 1
            self._attempts = 0
            return
        logger.warning('cannot write update %s (%s); %d buffered',
            update.kind, exc, len(self.pending))
        self._retry_at = time.monotonic() + min(0.1 * 2 ** self._attempts, 5)
        self._save_spool()

    def _database_answers(self):
        try:
            with self.transaction(readonly=True) as transaction:
                transaction.connection.cursor().execute('SELECT 1')
            return True
        except Exception:
            return False

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
            self.write_status()
            self._status_at = now
        except Exception as exc:
            logger.warning('cannot write the listener status: %s', exc)

    # spool -------------------------------------------------------------
    def _failed_path(self):
        return (self.spool or 'pbx-listener') + '.failed'

    @staticmethod
    def _append(path, updates):
        with open(path, 'a', encoding='utf-8') as f:
            for update in updates:
                f.write(json.dumps(dataclasses.asdict(update)) + '\n')

    def _save_spool(self):
        if not self.spool:
            return
        if not self.pending:
            if os.path.exists(self.spool):
                os.remove(self.spool)
            return
        tmp = self.spool + '.tmp'
        if os.path.exists(tmp):
            os.remove(tmp)
        self._append(tmp, self.pending)
        os.replace(tmp, self.spool)

    def _load_spool(self):
        if not self.spool or not os.path.exists(self.spool):
            return
        with open(self.spool, encoding='utf-8') as f:
            for line in f:
                if line.strip():
                    self.pending.append(CallUpdate(**json.loads(line)))
        logger.info('replaying %d buffered updates from %s',
            len(self.pending), self.spool)

    # life cycle --------------------------------------------------------
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
            settings = self.load_settings()
            self.settings.devices = settings.devices
            self.settings.company = settings.company
            self.settings.region = settings.region
            self.tracker.extensions = set(self.settings.devices)
            self._send_extensions()
        except Exception as exc:
            logger.warning('cannot reload the extensions: %s', exc)

    def close(self):
        self.stop.set()
        if self._process is not None:
            self._process_stop.set()
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
        if self._reader:
            self._reader.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self.states.put(('disconnected', 'listener stopped'))
        self._status_at = 0.0
        # the calls of the last pops are written now
        self._popped_at = float('-inf')
        self._drain()
        self._status()


def resolve_server(database, name):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(database, 0, readonly=True):
        Server = Pool().get('pbx.server')
        domain = [('active', '=', True)]
        if name:
            domain.append(['OR', ('name', '=', name),
                    ('id', '=', int(name) if name.isdigit() else -1)])
        servers = Server.search(domain, limit=2)
        if len(servers) != 1:
            match = f' match {name!r}' if name else ''
            raise SystemExit(
                f'pbx-listener: {len(servers)} active PBX servers{match}; '
                'name one with --server')
        return servers[0].id


def main(argv=None):
    parser = argparse.ArgumentParser(prog='pbx-listener',
        description="Hold the AMI connection of a PBX server and write its "
        "calls into a Tryton database.")
    parser.add_argument('-c', '--config', dest='configfile',
        default=os.environ.get('TRYTOND_CONFIG'), help="trytond.conf")
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('-s', '--server', default=None,
        help="name or id of the PBX server (default: the only active one)")
    parser.add_argument('--spool', default=None,
        help="file that keeps updates while the database is unreachable "
        "(default: pbx-listener-<database>.spool in the working "
        "directory)")
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
        format='%(asctime)s %(levelname)s %(name)s %(message)s')

    from trytond import config
    config.update_etc(args.configfile)
    from trytond.pool import Pool
    Pool.start()
    Pool(args.database).init()
    server_id = resolve_server(args.database, args.server)
    spool = args.spool or f'pbx-listener-{args.database}.spool'
    listener = Listener(args.database, server_id, spool=spool,
        language=config.get('database', 'language'))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *a: listener.stop.set())
    logger.info('listening to %s:%s for %s', listener.settings.host,
        listener.settings.port, args.database)
    listener.run_forever()


if __name__ == '__main__':
    main()
