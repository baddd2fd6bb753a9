# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Member card wallet benchmark (early_ed_crm) on PostgreSQL.

1. Card operations per second under 8 concurrent clients (each operation
   its own committed transaction, locks and retries as trytond's
   dispatcher does), as a ratio to plain party writes by the same 8 clients
   in the same run:
   a. each client checks in on its own card (no contention);
   b. all clients check in on one shared card (worst case: one row lock).
2. Balance inquiry on a card with 100,000 ledger moves: the balances are
   read from rows maintained under lock with every move (member_card.
   cash_balance, member_card_lot.remaining), so the inquiry does not grow
   with the ledger; the same figure computed by summing the ledger is
   printed for comparison.

Usage: .venv/bin/python bench/wallet.py [--ops 100] [--moves 100000]
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
os.environ['TRYTOND_DATABASE_URI'] = os.environ.get(
    'CRM_PG_URI', 'postgresql://postgres@127.0.0.1:5432/')
os.environ.setdefault('DB_NAME', 'bench_wallet')

from trytond import config  # noqa: E402
from trytond.modules.company.tests import (  # noqa: E402
    create_company, set_company)
from trytond.pool import Pool  # noqa: E402
from trytond.tests.test_tryton import DB_NAME, activate_module  # noqa: E402
from trytond.transaction import Transaction  # noqa: E402

from testing.early_ed import run_like_rpc  # noqa: E402

CLIENTS = 8


def setup(clients):
    with Transaction().start(DB_NAME, 0) as transaction:
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
    Party = Pool().get('party.party')
    Party.write([Party(party_id)], {'name': 'bench %s' % i})


def check_in(card_id, i):
    CheckIn = Pool().get('member.checkin')
    checkin = CheckIn(card=card_id, course="bench", hours=Decimal(1))
    checkin.save()
    CheckIn.do([checkin])


def run_clients(func, targets, ops, context):
    retries = []

    def client(target):
        for i in range(ops):
            outcome = run_like_rpc(
                DB_NAME, 1, lambda: func(target, i), context=context)
            assert not outcome.refused, outcome.refused
            retries.append(outcome.retries)
    threads = [threading.Thread(target=client, args=(t,)) for t in targets]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return len(targets) * ops / elapsed, sum(retries)


def fill_ledger(card_id, moves):
    "Insert moves straight into the ledger table (setup only)"
    with Transaction().start(DB_NAME, 0) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute(
            'INSERT INTO member_card_move '
            '(card, date, wallet, kind, quantity, balance, create_uid, '
            'create_date) '
            'SELECT %s, now(), \'cash\', \'adjustment\', 0, 0, 0, now() '
            'FROM generate_series(1, %s)', (card_id, moves))
        cursor.execute('ANALYZE member_card_move')
        transaction.commit()


def inquiry(card_id, context, runs=50):
    timings, summed = [], []
    with Transaction().start(DB_NAME, 1, context=context) as transaction:
        Card = Pool().get('member.card')
        cursor = transaction.connection.cursor()
        for _ in range(runs):
            start = time.perf_counter()
            Card.read([card_id], ['number', 'state', 'hours_balance',
                    'cash_balance'])
            timings.append(time.perf_counter() - start)
            start = time.perf_counter()
            cursor.execute('SELECT wallet, SUM(quantity) FROM '
                'member_card_move WHERE card = %s GROUP BY wallet',
                (card_id,))
            cursor.fetchall()
            summed.append(time.perf_counter() - start)
            Card._record_cache = None
    return statistics.median(timings), statistics.median(summed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ops', type=int, default=100,
        help="operations per client (default 100)")
    parser.add_argument('--moves', type=int, default=100000)
    args = parser.parse_args()

    activate_module(['early_ed_crm'])
    company_id, party_ids, card_ids = setup(CLIENTS)
    context = {'company': company_id}
    config.set('database', 'retry', '0')

    base, base_retries = run_clients(
        party_write, party_ids[:CLIENTS], args.ops, context)
    own, own_retries = run_clients(
        check_in, card_ids[:CLIENTS], args.ops, context)
    shared, shared_retries = run_clients(
        check_in, [card_ids[CLIENTS]] * CLIENTS, args.ops, context)
    print(f"{CLIENTS} clients x {args.ops} operations, each its own "
        "transaction")
    print(f"  plain party writes      {base:8.1f} ops/s  (baseline, "
        f"{base_retries} retries)")
    print(f"  check-ins, own cards    {own:8.1f} ops/s  ratio "
        f"{own / base:.2f}  ({own_retries} lock retries)")
    print(f"  check-ins, one card     {shared:8.1f} ops/s  ratio "
        f"{shared / base:.2f}  ({shared_retries} lock retries)")

    fill_ledger(card_ids[0], args.moves)
    read, summed = inquiry(card_ids[0], context)
    print(f"balance inquiry, card with {args.moves + args.ops + 1} moves: "
        f"{read * 1000:.2f} ms median (maintained balance rows); summing "
        f"the ledger instead: {summed * 1000:.2f} ms "
        f"(ratio {summed / read:.1f})")


if __name__ == '__main__':
    main()
