# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""bench/pbx: AMI listener throughput and screen-pop latency on PostgreSQL.

The scripted AMI peer replays N inbound calls (8 events each: Newchannel,
VarSet MIXMONITOR_FILENAME, Newchannel, DialBegin, DialEnd, 2×Hangup, Cdr)
to

1. a baseline client that only parses and discards the events, and
2. pbx-listener writing the calls through Tryton, with a LISTEN on the bus.

It prints events/second of both and their ratio, and the latency from the
moment the peer sent a call's Newchannel to the moment its screen-pop bus
message reached a PostgreSQL listener (p50/p95/max), as a ratio to the
baseline's latency from the same Newchannel to the moment it parsed the
call's DialBegin (the event that pops the screen). Once for the burst (as
fast as the peer can send: both latencies include the backlog of events
not yet read) and once with calls paced at --rate calls/second.

As in production, the PBX and the web client are not in the listener's
process: the peer (standing for Asterisk, ``testing.ami_peer``) and the
bus watcher (standing for the web clients' bus requests) run in processes
of their own, and the baseline client and the listener each have the
bench's main process to themselves. The times are read from the one
monotonic clock of the machine (``time.perf_counter``, CLOCK_MONOTONIC on
Linux), which every process shares. ``--in-process`` runs the peer and the
watcher as threads of the main process instead. The listener reads the
AMI stream in a process of its own, as ``pbx-listener`` does
(``--reader thread``: in a thread of its process). Before each measured
run the listener pops ``WARMUP`` (10) calls, not measured, as a listener
in service has: the first transactions of a process fill Tryton's caches.
The load average of the machine is printed with the figures. The database
is dropped at the end (``DB_CACHE`` in the environment keeps a template
of the activated modules between runs, as trytond's tests do).

    .venv/bin/python bench/pbx/run.py [--calls 1000] [--rate 20]
        [--paced 200] [--reps 1] [--known 0.5] [--in-process]
        [--reader thread]

``--known`` activates telesales_pipeline and makes that share of the
callers customers with three follow-ups and an open reminder, whose pops
show the stage, the owner, the follow-ups and the reminder.
"""
import argparse
import json
import os
import sys
import threading
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

PG = os.environ.get('CRM_PG_URI', 'postgresql://postgres@127.0.0.1:5432/')
DB = os.environ.get('CRM_BENCH_DB', 'bench_pbx')
# calls played to the listener before each measured run
WARMUP = 10


def prepare(telesales=False):
    os.environ['TRYTOND_DATABASE_URI'] = PG
    os.environ['DB_NAME'] = DB
    from trytond import config
    config.set('database', 'uri', PG)
    from trytond.modules.company.tests.tools import create_company
    from trytond.tests.tools import activate_modules
    modules = ['pbx_connector'] + (['telesales_pipeline'] if telesales
        else [])
    return activate_modules(modules, create_company)


def drop_database():
    "Drop the bench's database (the listener's connections are closed)"
    from trytond.tests.test_tryton import drop_db
    drop_db()


def known_callers(cc, numbers):
    """telesales_pipeline's customers for ``numbers``: a mobile phone, 3
    follow-ups and an open reminder each (what the pop of a known caller
    reads), and the reps allowed to see full numbers (the bus watcher
    finds each pop by its number)"""
    import datetime as dt
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME
    from trytond.transaction import Transaction
    with Transaction().start(DB_NAME, 0, context={
                'company': cc.company.id}) as transaction:
        pool = Pool()
        Party = pool.get('party.party')
        Followup = pool.get('crm.followup')
        Method = pool.get('crm.followup.method')
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        Group = pool.get('res.group')
        full = Group(ModelData.get_id(
                'telesales_pipeline', 'group_telesales_full_number'))
        User.write(User.browse([u.id for u in cc.users]), {
                'groups': [('add', [full.id])]})
        parties = Party.create([{
                    'name': f'客户{n[-4:]}',
                    'contact_mechanisms': [('create', [{
                                    'type': 'mobile', 'value': '+86' + n}])],
                    } for n in numbers])
        method = Method.get_by_code('phone')
        now = dt.datetime.now()
        Followup.create([{
                    'party': p.id, 'method': method.id,
                    'content': f'第{k + 1}次回访：有意向，约下周到店',
                    'date': now - dt.timedelta(days=3 - k),
                    'next_callback': (dt.date.today() + dt.timedelta(days=2)
                        if k == 2 else None),
                    } for p in parties for k in range(3)])
        transaction.commit()


def calls_events(peer, count, start_number=13800000000, reps=1):
    return [peer.inbound_events(str(start_number + i),
            f'PJSIP/{8001 + i % reps}', start=1e9 + i)
        for i in range(count)]


def caller(events):
    "The 11 digits of a call's caller, the key of its latency"
    return dict(events[0])['CallerIDNum'][-11:]


def replay(peer, calls, rate=None):
    """Send the calls, as fast as the peer can or at ``rate`` calls/second;
    return the time the first was sent and the send time of each call"""
    sent = {}
    started = time.perf_counter()
    for events in calls:
        sent[caller(events)] = time.perf_counter()
        peer.broadcast(events)
        if rate:
            time.sleep(1 / rate)
    return started, sent


class _Thread(threading.Thread):
    "A thread whose ``join`` returns what its target returned"

    def __init__(self, target, *args):
        super().__init__(daemon=True)
        self.target, self.args, self.result = target, args, None

    def run(self):
        self.result = self.target(*self.args)

    def join(self):
        super().join()
        return self.result


def _peer_process(pipe):
    "The scripted peer of the bench, served in a process of its own"
    from testing.ami_peer import ScriptedPeer
    with ScriptedPeer() as peer:
        pipe.send((peer.port, peer.username, peer.secret))
        while True:
            command, *args = pipe.recv()
            if command == 'stop':
                break
            elif command == 'wait_logged_in':
                pipe.send(peer.wait_logged_in(*args))
            elif command == 'play':
                count, first, reps, rate = args
                calls = calls_events(peer, count, first, reps)
                pipe.send(replay(peer, calls, rate))


class Peer:
    """The scripted AMI peer in a process of its own (``in_process``: in
    this one); ``play`` starts replaying calls and returns a handle whose
    ``join()`` gives ``replay``'s result once all were sent"""

    def __init__(self, in_process=False):
        self.in_process = in_process
        if in_process:
            from testing.ami_peer import ScriptedPeer
            self.peer = ScriptedPeer()
            self.port = self.peer.port
            self.username, self.secret = self.peer.username, self.peer.secret
        else:
            import multiprocessing
            context = multiprocessing.get_context('spawn')
            self.pipe, child = context.Pipe()
            self.process = context.Process(target=_peer_process,
                args=(child,), daemon=True)
            self.process.start()
            self.port, self.username, self.secret = self.pipe.recv()

    def wait_logged_in(self, count=1, timeout=60):
        if self.in_process:
            return self.peer.wait_logged_in(count, timeout)
        self.pipe.send(('wait_logged_in', count, timeout))
        return self.pipe.recv()

    def play(self, count, first, reps, rate=None):
        if self.in_process:
            calls = calls_events(self.peer, count, first, reps)
            sender = _Thread(replay, self.peer, calls, rate)
            sender.start()
            return sender
        self.pipe.send(('play', count, first, reps, rate))
        return types.SimpleNamespace(join=self.pipe.recv)

    def close(self):
        if self.in_process:
            self.peer.close()
        else:
            self.pipe.send(('stop',))
            self.process.join(10)


def baseline(peer, count, first, reps, rate=None):
    """Parse and discard: the cost of reading the AMI stream alone.

    Returns events/second and, for each call, the milliseconds from the
    moment its Newchannel was sent to the moment its DialBegin (the event
    that pops the screen) was parsed."""
    from pbx_connector.ami import AMIClient, TCPTransport
    client = AMIClient.connect(TCPTransport('127.0.0.1', peer.port),
        peer.username, peer.secret)
    client.next_event(1)  # FullyBooted
    assert peer.wait_logged_in(1)
    total = 8 * count
    parsed = {}
    sender = peer.play(count, first, reps, rate)
    seen = 0
    while seen < total:
        event = client.next_event(60)
        if event is None:
            raise SystemExit('baseline: events missing')
        if event.event == 'DialBegin':
            parsed[event['CallerIDNum'][-11:]] = time.perf_counter()
        seen += 1
    ended = time.perf_counter()
    started, sent = sender.join()
    client.logoff()
    return total / (ended - started), [(parsed[n] - t) * 1000
        for n, t in sent.items() if n in parsed]


def _watch_bus(uri, pipe):
    """Record when each screen pop reaches a PostgreSQL LISTEN on the bus;
    ``('wait', n, timeout)`` answers the arrivals once n came (or after
    ``timeout`` seconds)"""
    import psycopg
    pg = psycopg.connect(uri, autocommit=True)
    pg.execute('LISTEN "bus"')
    arrivals = {}
    pipe.send('listening')
    waiting = None
    while True:
        if waiting is None and pipe.poll():
            command, *args = pipe.recv()
            if command == 'stop':
                break
            count, timeout = args
            waiting = count, time.perf_counter() + timeout
        for notify in pg.notifies(timeout=0.05):
            now = time.perf_counter()
            message = json.loads(notify.payload)['message']
            for line in message.get('content', []):
                number = line.split('+86')[-1][:11]
                arrivals.setdefault(number, now)
        if waiting and (len(arrivals) >= waiting[0]
                or time.perf_counter() > waiting[1]):
            pipe.send(arrivals)
            arrivals, waiting = {}, None
    pg.close()


class BusWatcher:
    "The bus watcher in a process (``in_process``: a thread) of its own"

    def __init__(self, uri, in_process=False):
        import multiprocessing
        if in_process:
            self.pipe, child = multiprocessing.Pipe()
            self.worker = threading.Thread(target=_watch_bus,
                args=(uri, child), daemon=True)
        else:
            context = multiprocessing.get_context('spawn')
            self.pipe, child = context.Pipe()
            self.worker = context.Process(target=_watch_bus,
                args=(uri, child), daemon=True)
        self.worker.start()
        assert self.pipe.recv() == 'listening'

    def arrivals(self, count, timeout=10):
        self.pipe.send(('wait', count, timeout))
        arrivals = self.pipe.recv()
        self.pipe.send(('stop',))
        self.worker.join()
        return arrivals


def run_listener(peer, server_id, count, first, reps, rate=None,
        in_process=False, reader='process'):
    from trytond.tests.test_tryton import DB_NAME
    from pbx_connector.ami import Backoff
    from pbx_connector.listener import Listener
    listener = Listener(DB_NAME, server_id, backoff=Backoff(0.05, 0.5),
        idle=0.05, heartbeat=1.0, reader=reader)
    listener.start_reader()
    assert peer.wait_logged_in(1)
    # let the status of the connection be written before the calls come
    listener.process(timeout=0.2)
    # a listener in service has popped calls before: WARMUP calls first,
    # not measured (the first transactions fill Tryton's caches)
    expected = listener.written + 6 * WARMUP
    peer.play(WARMUP, first - 1000000, reps, None).join()
    while listener.written < expected:
        listener.process(timeout=0.05)
    watcher = BusWatcher(PG.rstrip('/') + '/' + DB_NAME, in_process)
    total_events = 8 * count
    expected = listener.written + 6 * count
    sender = peer.play(count, first, reps, rate)
    timeout = time.perf_counter() + 900
    while listener.written < expected:
        listener.process(timeout=0.05)
        if time.perf_counter() > timeout:
            raise SystemExit('listener: timed out')
    ended = time.perf_counter()
    started, sent = sender.join()
    arrivals = watcher.arrivals(len(sent))
    listener.close()
    latencies = [(arrivals[n] - t) * 1000 for n, t in sent.items()
        if n in arrivals]
    return total_events / (ended - started), latencies


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * len(values))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--calls', type=int, default=1000,
        help="inbound calls of the burst (default 1000)")
    parser.add_argument('--rate', type=float, default=20,
        help="calls/second of the paced run (default 20)")
    parser.add_argument('--paced', type=int, default=200,
        help="calls of the paced run (default 200, 0: none)")
    parser.add_argument('--reps', type=int, default=1,
        help="extensions the calls ring, in turn (default 1)")
    parser.add_argument('--in-process', action='store_true',
        help="peer and bus watcher as threads of the listener's process")
    parser.add_argument('--reader', choices=['process', 'thread'],
        default='process', help="where the listener reads the AMI stream "
        "(default: a process of its own, as pbx-listener)")
    parser.add_argument('--known', type=float, default=0,
        help="share of the callers who are telesales_pipeline customers "
        "with follow-ups and a reminder (default 0: every caller unknown; "
        "more than 0 activates telesales_pipeline)")
    args = parser.parse_args()
    load = os.getloadavg()
    prepare(telesales=args.known > 0)
    from testing.call_center import setup_call_center
    runs = []
    peer = Peer(args.in_process)
    try:
        cc = setup_call_center(peer, reps=args.reps)
        if args.known > 0:
            step = max(1, round(1 / args.known))
            # the calls of each run and of its warm-up
            known_callers(cc, [str(first + offset + i)
                    for first, count in [(13900000000, args.calls),
                        (13700000000, args.paced)]
                    for offset, n in [(0, count), (-1000000, WARMUP)]
                    for i in range(0, n, step)])
        for name, count, rate, first in [
                ('burst', args.calls, None, 13900000000),
                (f'paced {args.rate:g} calls/s', args.paced, args.rate,
                    13700000000)]:
            if not count:
                continue
            # the same events, with numbers not used by another run
            base_rate, base_lat = baseline(peer, count,
                first - 100000000, args.reps, rate)
            rate_, lat = run_listener(peer, cc.server.id, count, first,
                args.reps, rate, args.in_process, args.reader)
            runs.append((name, count, base_rate, base_lat, rate_, lat))
    finally:
        peer.close()
        drop_database()
    where = ('threads of the listener\'s process' if args.in_process
        else 'processes of their own')
    print(f'calls: {args.calls} inbound in a burst, {args.paced} paced; '
        f'8 AMI events each, {args.reps} extension(s); '
        f'{args.known:.0%} known callers; PostgreSQL {DB}; '
        f'peer and bus watcher in {where}; AMI reader in a '
        f'{args.reader} of the listener')
    print(f'load average at start: {load[0]:.2f} {load[1]:.2f} '
        f'{load[2]:.2f}; at end: '
        + ' '.join(f'{v:.2f}' for v in os.getloadavg())
        + f'; {os.cpu_count()} CPUs')
    for name, count, base_rate, base_lat, rate_, lat in runs:
        print(f'{name}: baseline (parse and discard) {base_rate:,.0f} '
            f'events/s; listener (writes calls, pops) {rate_:,.0f} events/s'
            f' = {rate_ / base_rate:.3f} × baseline')
        if not lat:
            print(f'{name}: no screen pop received')
            continue
        b50, b95 = pct(base_lat, 50), pct(base_lat, 95)
        p50, p95 = pct(lat, 50), pct(lat, 95)
        print(f'{name}: Newchannel → DialBegin parsed (baseline): '
            f'p50 {b50:.1f} ms, p95 {b95:.1f} ms, max {max(base_lat):.1f} ms')
        print(f'{name}: Newchannel → bus screen pop: {len(lat)}/{count} '
            f'pops, p50 {p50:.1f} ms, p95 {p95:.1f} ms, '
            f'max {max(lat):.1f} ms = {p50 / b50:.1f} × / {p95 / b95:.1f} ×'
            ' baseline (p50/p95)')


if __name__ == '__main__':
    main()
