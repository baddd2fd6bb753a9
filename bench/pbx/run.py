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
not yet read) and once with calls paced at --rate calls/second. The peer,
the reader, the writer and the bus listener share one Python process; the
load average of the machine is printed with the figures.

    .venv/bin/python bench/pbx/run.py [--calls 1000] [--rate 20]
        [--paced 200] [--reps 1]
"""
import argparse
import json
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

PG = os.environ.get('CRM_PG_URI', 'postgresql://postgres@127.0.0.1:5432/')
DB = os.environ.get('CRM_BENCH_DB', 'bench_pbx')


def prepare():
    os.environ['TRYTOND_DATABASE_URI'] = PG
    os.environ['DB_NAME'] = DB
    os.environ.setdefault('DB_CACHE', PG)
    from trytond import config
    config.set('database', 'uri', PG)
    from trytond.modules.company.tests.tools import create_company
    from trytond.tests.tools import activate_modules
    return activate_modules('pbx_connector', create_company)


def calls_events(peer, count, start_number=13800000000, reps=1):
    return [peer.inbound_events(str(start_number + i),
            f'PJSIP/{8001 + i % reps}', start=1e9 + i)
        for i in range(count)]


def caller(events):
    "The 11 digits of a call's caller, the key of its latency"
    return dict(events[0])['CallerIDNum'][-11:]


def replay(peer, calls, rate=None):
    """Send the calls from a thread, as fast as the peer can or at ``rate``
    calls/second; return the thread and the send time of each call"""
    sent = {}

    def send():
        for events in calls:
            sent[caller(events)] = time.perf_counter()
            peer.broadcast(events)
            if rate:
                time.sleep(1 / rate)
    sender = threading.Thread(target=send)
    return sender, sent


def baseline(peer, calls, rate=None):
    """Parse and discard: the cost of reading the AMI stream alone.

    Returns events/second and, for each call, the milliseconds from the
    moment its Newchannel was sent to the moment its DialBegin (the event
    that pops the screen) was parsed."""
    from pbx_connector.ami import AMIClient, TCPTransport
    client = AMIClient.connect(TCPTransport('127.0.0.1', peer.port),
        peer.username, peer.secret)
    client.next_event(1)  # FullyBooted
    total = sum(len(c) for c in calls)
    sender, sent = replay(peer, calls, rate)
    parsed = {}
    started = time.perf_counter()
    sender.start()
    seen = 0
    while seen < total:
        event = client.next_event(5)
        if event is None:
            raise SystemExit('baseline: events missing')
        if event.event == 'DialBegin':
            parsed[event['CallerIDNum'][-11:]] = time.perf_counter()
        seen += 1
    elapsed = time.perf_counter() - started
    sender.join()
    client.logoff()
    return total / elapsed, [(parsed[n] - t) * 1000
        for n, t in sent.items() if n in parsed]


class BusWatcher(threading.Thread):
    "Records when each screen pop reaches a PostgreSQL LISTEN on the bus"

    def __init__(self, uri):
        super().__init__(daemon=True)
        import psycopg
        self.pg = psycopg.connect(uri, autocommit=True)
        self.pg.execute('LISTEN "bus"')
        self.arrivals = {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for notify in self.pg.notifies(timeout=0.2):
                now = time.perf_counter()
                message = json.loads(notify.payload)['message']
                for line in message.get('content', []):
                    number = line.split('+86')[-1][:11]
                    self.arrivals.setdefault(number, now)


def run_listener(peer, server_id, calls, rate=None):
    from trytond.tests.test_tryton import DB_NAME
    from pbx_connector.ami import Backoff
    from pbx_connector.listener import Listener
    watcher = BusWatcher(PG.rstrip('/') + '/' + DB_NAME)
    watcher.start()
    listener = Listener(DB_NAME, server_id, backoff=Backoff(0.05, 0.5),
        idle=0.05, heartbeat=1.0)
    listener.start_reader()
    assert peer.wait_logged_in(1)
    # let the status of the connection be written before the calls come
    listener.process(timeout=0.2)
    total_events = sum(len(c) for c in calls)
    expected = listener.written + 6 * len(calls)
    sender, sent = replay(peer, calls, rate)
    started = time.perf_counter()
    sender.start()
    while listener.written < expected:
        listener.process(timeout=0.05)
        if time.perf_counter() - started > 900:
            raise SystemExit('listener: timed out')
    elapsed = time.perf_counter() - started
    sender.join()
    deadline = time.perf_counter() + 10
    while (len(watcher.arrivals) < len(sent)
            and time.perf_counter() < deadline):
        time.sleep(0.1)
    watcher.stop.set()
    watcher.join()
    listener.close()
    latencies = [(watcher.arrivals[n] - t) * 1000 for n, t in sent.items()
        if n in watcher.arrivals]
    return total_events / elapsed, latencies


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
    args = parser.parse_args()
    load = os.getloadavg()
    prepare()
    from pbx_connector.tests.ami_peer import ScriptedPeer
    from pbx_connector.tests.tools import setup_call_center
    runs = []
    with ScriptedPeer() as peer:
        cc = setup_call_center(peer, reps=args.reps)
        for name, count, rate, first in [
                ('burst', args.calls, None, 13900000000),
                (f'paced {args.rate:g} calls/s', args.paced, args.rate,
                    13700000000)]:
            if not count:
                continue
            # the same events, with numbers not used by another run
            base_rate, base_lat = baseline(peer,
                calls_events(peer, count, first - 100000000, args.reps),
                rate)
            rate_, lat = run_listener(peer, cc.server.id,
                calls_events(peer, count, first, args.reps), rate)
            runs.append((name, count, base_rate, base_lat, rate_, lat))
    print(f'calls: {args.calls} inbound in a burst, {args.paced} paced; '
        f'8 AMI events each, {args.reps} extension(s); PostgreSQL {DB}')
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
