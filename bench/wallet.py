# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Member card wallet benchmark (early_ed_crm) on PostgreSQL.

1. Card operations per second under 8 concurrent clients (each operation
   its own committed transaction, locks and retries as trytond's
   dispatcher does), as a ratio to plain party writes by the same 8 clients
   in the same run:
   a. each client checks in on its own card (no contention);
   b. all clients check in on one shared card (worst case: one row lock).
2. Balance inquiry on a card whose cash wallet has a ledger of --moves moves
   (credits of 10.00 and debits of 5.00 over a year, each with its running
   balance): the balances are read from rows maintained under lock with every
   move (member_card.cash_balance, member_card_lot.remaining), so the inquiry
   does not grow with the ledger. Printed with it: the same balance computed
   by summing the ledger (the baseline) and a check that the maintained
   balance equals the ledger's sum. Each inquiry is its own transaction, as
   each RPC call is.
3. Opening a card's form as the web client does (the card with its moves'
   ids, then the first page of its moves list) on a card with --form-moves
   moves (default 2,000): the host browses the ids of a one-to-many with a
   constructor quadratic in their number (trytond 8.0.12,
   ``ModelStorage.__init__``), so the form of a card with 100,000 moves
   would take over an hour; the figure is for the smaller ledger.

The database is created for the run and dropped at the end, also on an error
or Ctrl-C.

Usage: .venv/bin/python bench/wallet.py [--ops 100] [--moves 100000]
       [--form-moves 2000]
Environment: CRM_PG_URI (default postgresql://postgres@127.0.0.1:5432/).
"""
import argparse
import os
import statistics
import sys
import threading
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from testing.database import bench_database  # noqa: E402

CLIENTS = 8
TARGET_INQUIRY = 0.050  # seconds, median
PAGE = 20  # moves of the first page of the form's list


def setup(database, clients):
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    from testing.company import create_company, set_company
    with Transaction().start(database, 0) as transaction:
        pool = Pool()
        Card = pool.get('member.card')
        Lot = pool.get('member.card.lot')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            parties = Party.create([{'name': 'bench %s' % i}
                    for i in range(clients + 1)])
            cards = Card.create([{'party': p.id, 'holder': 'bench'}
                    for p in parties])
            for card in cards:
                Lot.credit([card], Decimal(100000), kind='adjustment')
        transaction.commit()
        return company.id, [p.id for p in parties], [c.id for c in cards]


def party_write(party_id, i):
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    Party.write([Party(party_id)], {'name': 'bench %s' % i})


def check_in(card_id, i):
    from trytond.pool import Pool
    CheckIn = Pool().get('member.checkin')
    checkin = CheckIn(card=card_id, course="bench", hours=Decimal(1))
    checkin.save()
    CheckIn.do([checkin])


def run_clients(database, func, targets, ops, context):
    from testing.early_ed import run_like_rpc
    retries, failures = [], []

    def client(target):
        try:
            for i in range(ops):
                outcome = run_like_rpc(
                    database, 1, lambda: func(target, i), context=context)
                if outcome.refused:
                    raise outcome.refused
                retries.append(outcome.retries)
        except Exception as exc:
            failures.append(exc)
    threads = [threading.Thread(target=client, args=(t,)) for t in targets]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise failures[0]
    return len(targets) * ops / elapsed, sum(retries)


def fill_ledger(database, card_id, moves):
    """Insert moves straight into the cash ledger (set-up only): credits of
    10.00 and debits of 5.00 over the past year, each with its running
    balance, and the card's maintained balance raised by their sum, as
    credit_cash and debit_cash would have left them"""
    from trytond.transaction import Transaction
    with Transaction().start(database, 0) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute(
            'SELECT cash_balance FROM member_card WHERE id = %s', (card_id,))
        start, = cursor.fetchone()
        cursor.execute(
            'INSERT INTO member_card_move '
            '(card, date, wallet, kind, quantity, balance, create_uid, '
            'create_date) '
            "SELECT %s, (now() AT TIME ZONE 'UTC') "
            "- (%s - g) * interval '5 minutes', 'cash', 'adjustment', q, "
            '%s + SUM(q) OVER (ORDER BY g), 0, now() '
            'FROM (SELECT g, CASE WHEN g %% 2 = 1 THEN 10.00 ELSE -5.00 END '
            'AS q FROM generate_series(1, %s) AS g) AS m',
            (card_id, moves, start, moves))
        cursor.execute(
            'UPDATE member_card SET cash_balance = cash_balance + '
            '(SELECT COALESCE(SUM(quantity), 0) FROM member_card_move '
            "WHERE card = %s AND wallet = 'cash' AND kind = 'adjustment' "
            'AND lot IS NULL AND create_uid = 0) WHERE id = %s',
            (card_id, card_id))
        cursor.execute('ANALYZE member_card_move')
        transaction.commit()


def inquiry(database, card_id, context, runs=50):
    "Median seconds of the balance inquiry and of the ledger sum"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    timings, summed = [], []
    balance = ledger = None
    for _ in range(runs):
        with Transaction().start(database, 1, context=context,
                readonly=True) as transaction:
            Card = Pool().get('member.card')
            start = time.perf_counter()
            card, = Card.read([card_id], ['number', 'state',
                    'hours_balance', 'cash_balance'])
            timings.append(time.perf_counter() - start)
            balance = card['cash_balance']
        with Transaction().start(database, 1, context=context,
                readonly=True) as transaction:
            cursor = transaction.connection.cursor()
            start = time.perf_counter()
            cursor.execute('SELECT wallet, SUM(quantity) FROM '
                'member_card_move WHERE card = %s GROUP BY wallet',
                (card_id,))
            ledger = dict(cursor.fetchall()).get('cash', Decimal(0))
            summed.append(time.perf_counter() - start)
    return (statistics.median(timings), statistics.median(summed),
        balance, ledger)


def open_form(database, card_id, context, runs=3):
    "Median seconds of reading the card's form and its first page of moves"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    timings = []
    for _ in range(runs):
        with Transaction().start(database, 1, context=context,
                readonly=True):
            pool = Pool()
            Card, Move = pool.get('member.card'), pool.get('member.card.move')
            start = time.perf_counter()
            card, = Card.read([card_id], ['number', 'state',
                    'hours_balance', 'cash_balance', 'moves'])
            Move.read(card['moves'][:PAGE], ['date', 'card', 'party',
                    'wallet', 'kind', 'quantity', 'balance', 'origin_name',
                    'description', 'user'])
            timings.append(time.perf_counter() - start)
    return statistics.median(timings), len(card['moves'])


def bench(database, args):
    from trytond import config
    company_id, party_ids, card_ids = setup(database, CLIENTS)
    context = {'company': company_id}
    config.set('database', 'retry', '0')

    base, base_retries = run_clients(
        database, party_write, party_ids[:CLIENTS], args.ops, context)
    own, own_retries = run_clients(
        database, check_in, card_ids[:CLIENTS], args.ops, context)
    shared, shared_retries = run_clients(
        database, check_in, [card_ids[CLIENTS]] * CLIENTS, args.ops, context)
    print(f"{CLIENTS} clients x {args.ops} operations, each its own "
        "transaction; every client answered")
    print(f"  plain party writes      {base:8.1f} ops/s  (baseline, "
        f"{base_retries} retries)")
    print(f"  check-ins, own cards    {own:8.1f} ops/s  ratio "
        f"{own / base:.2f}  ({own_retries} lock retries)")
    print(f"  check-ins, one card     {shared:8.1f} ops/s  ratio "
        f"{shared / base:.2f}  ({shared_retries} lock retries)", flush=True)

    fill_ledger(database, card_ids[0], args.moves)
    read, summed, balance, ledger = inquiry(database, card_ids[0], context)
    print(f"card with {args.moves} moves in its cash ledger: "
        f"balance inquiry {read * 1000:.2f} ms median (maintained balance "
        f"rows); summing the ledger instead {summed * 1000:.2f} ms (ratio "
        f"{summed / read:.1f})")
    consistent = balance == ledger
    print(f"maintained cash balance {balance} = the ledger's sum {ledger}: "
        f"{'yes' if consistent else 'NO'}")
    print(f"target: balance inquiry < {TARGET_INQUIRY * 1000:.0f} ms: "
        f"{'met' if read < TARGET_INQUIRY else 'NOT met'} "
        f"({read * 1000:.2f} ms); every client answered: met")
    fill_ledger(database, card_ids[1], args.form_moves)
    form, count = open_form(database, card_ids[1], context)
    print(f"the form of a card with {count} moves and its first {PAGE} "
        f"moves: {form * 1000:.0f} ms median (quadratic in the moves: the "
        f"host's browse of the one-to-many)")
    return consistent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ops', type=int, default=100,
        help="operations per client (default 100)")
    parser.add_argument('--moves', type=int, default=100000)
    parser.add_argument('--form-moves', type=int, default=2000,
        help="moves of the card whose form is opened (default 2000)")
    args = parser.parse_args()
    with bench_database(['early_ed_crm'], prefix='bench_wallet') as database:
        consistent = bench(database, args)
    if not consistent:
        sys.exit(1)


if __name__ == '__main__':
    main()
