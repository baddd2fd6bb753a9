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
message reached a PostgreSQL listener (p50/p95/max): once for the burst
(as fast as the peer can send — latency includes the backlog) and once with
calls paced at --rate calls/second.

    .venv/bin/python bench/pbx/run.py [--calls 1000] [--rate 20]
"""
import argparse
import json
import os
import statistics
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


def calls_events(peer, count, start_number=13800000000):
    return [peer.inbound_events(str(start_number + i), 'PJSIP/8001',
            start=1e9 + i) for i in range(count)]


def baseline(peer, calls):
    "Parse and discard: the cost of reading the AMI stream alone"
    from pbx_connector.ami import AMIClient, TCPTransport
    client = AMIClient.connect(TCPTransport('127.0.0.1', peer.port),
        peer.username, peer.secret)
    client.next_event(1)  # FullyBooted
    total = sum(len(c) for c in calls)
    started = time.perf_counter()
    sender = threading.Thread(target=lambda: [peer.broadcast(c)
            for c in calls])
    sender.start()
    seen = 0
    while seen < total:
        if client.next_event(5) is None:
            raise SystemExit('baseline: events missing')
        seen += 1
    elapsed = time.perf_counter() - started
    sender.join()
    client.logoff()
    return total / elapsed


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
    sent = {}

    def send():
        for events in calls:
            number = dict(events[0])['CallerIDNum'][-11:]
            sent[number] = time.perf_counter()
            peer.broadcast(events)
            if rate:
                time.sleep(1 / rate)
    total_events = sum(len(c) for c in calls)
    expected = listener.written + 6 * len(calls)
    started = time.perf_counter()
    sender = threading.Thread(target=send)
    sender.start()
    while listener.written < expected:
        listener.process(timeout=0.05)
        if time.perf_counter() - started > 600:
            raise SystemExit('listener: timed out')
    elapsed = time.perf_counter() - started
    sender.join()
    time.sleep(0.5)
    watcher.stop.set()
    watcher.join()
    listener.close()
    latencies = [(watcher.arrivals[n] - t) * 1000 for n, t in sent.items()
        if n in watcher.arrivals]
    return total_events / elapsed, latencies, len(sent)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * len(values))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--calls', type=int, default=1000)
    parser.add_argument('--rate', type=float, default=20)
    args = parser.parse_args()
    prepare()
    from pbx_connector.tests.ami_peer import ScriptedPeer
    from pbx_connector.tests.tools import setup_call_center
    with ScriptedPeer() as peer:
        cc = setup_call_center(peer)
        calls = calls_events(peer, args.calls)
        base_rate = baseline(peer, calls)
        burst_rate, burst_lat, _ = run_listener(peer, cc.server.id,
            calls_events(peer, args.calls, 13900000000))
        paced = max(1, min(args.calls, 200))
        paced_rate, paced_lat, _ = run_listener(peer, cc.server.id,
            calls_events(peer, paced, 13700000000), rate=args.rate)
    print(f'calls: {args.calls} inbound, 8 AMI events each, PostgreSQL {DB}')
    print(f'baseline (parse and discard): {base_rate:,.0f} events/s')
    print(f'listener (writes calls, pops): {burst_rate:,.0f} events/s '
        f'= {burst_rate / base_rate:.3f} × baseline')
    for name, lat, n in [('burst', burst_lat, args.calls),
            (f'paced {args.rate:g} calls/s', paced_lat, paced)]:
        if not lat:
            print(f'{name}: no screen pop received')
            continue
        print(f'Newchannel → bus screen pop, {name}: {len(lat)}/{n} pops, '
            f'p50 {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms, '
            f'max {max(lat):.1f} ms')


if __name__ == '__main__':
    main()
