# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""8 connections × 60 check-ins on one card holding 300 hours, and a card
held longer than the lock timeout.

Runs on PostgreSQL only: every check-in is its own committed transaction
in its own thread and connection, so the card and lot row locks are what
keeps the balance exact; a loser is answered on the balance it finds once
the card is free, or refused with a message, never with a server error."""
import threading
from decimal import Decimal

import pytest

from trytond import config
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, activate_module
from trytond.transaction import Transaction

from .. import card as card_module
from testing.early_ed import run_like_rpc

CONNECTIONS = 8
CHECKINS = 60
HOURS = Decimal(300)


def setup_card():
    with Transaction().start(DB_NAME, 0) as transaction:
        pool = Pool()
        Card = pool.get('member.card')
        Lot = pool.get('member.card.lot')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            party = Party(name="并发测试")
            party.save()
            card = Card(party=party, holder="测试")
            card.save()
            Lot.credit([card], HOURS, kind='adjustment')
        transaction.commit()
        return company.id, card.id


def check_in(card_id):
    pool = Pool()
    CheckIn = pool.get('member.checkin')
    checkin = CheckIn(card=card_id, course="Concurrency", hours=Decimal(1))
    checkin.save()
    CheckIn.do([checkin])
    return checkin.id


@pytest.mark.postgresql
def test_concurrent_checkins():
    activate_module(['early_ed_crm'])
    company_id, card_id = setup_card()
    context = {'company': company_id}
    done, refused, retries = [], [], []
    lock = threading.Lock()

    def worker():
        for _ in range(CHECKINS):
            outcome = run_like_rpc(
                DB_NAME, 1, lambda: check_in(card_id), context=context)
            with lock:
                retries.append(outcome.retries)
                if outcome.refused:
                    refused.append(outcome.refused)
                else:
                    done.append(outcome.result)

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    # run_like_rpc retries lock failures itself with a short random pause
    # instead of trytond's linear back-off; the locking is unchanged
    retry = config.get('database', 'retry')
    config.set('database', 'retry', '0')
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        config.set('database', 'retry', retry)

    print("check-ins done %d, refused %d, lock retries %d" % (
            len(done), len(refused), sum(retries)))
    assert len(done) == HOURS
    assert len(refused) == CONNECTIONS * CHECKINS - HOURS
    assert all(type(r).__name__ == 'InsufficientBalanceError'
        for r in refused)
    with Transaction().start(DB_NAME, 0, context=context):
        pool = Pool()
        Card = pool.get('member.card')
        Move = pool.get('member.card.move')
        CheckIn = pool.get('member.checkin')
        card = Card(card_id)
        assert card.hours_balance == 0
        moves = Move.search([('card', '=', card_id), ('kind', '=', 'checkin')])
        assert len(moves) == HOURS
        # each balance 299 … 0 appears exactly once: the moves were
        # serialised and none went below zero
        assert sorted(m.balance for m in moves) == [
            Decimal(i) for i in range(int(HOURS))]
        assert CheckIn.search_count([
                ('card', '=', card_id), ('state', '=', 'done')]) == HOURS
        assert CheckIn.search_count([
                ('card', '=', card_id), ('state', '=', 'draft')]) == 0


@pytest.mark.postgresql
def test_busy_card_refused(monkeypatch):
    "A card held longer than the lock timeout is refused with a message"
    activate_module(['early_ed_crm'])
    company_id, card_id = setup_card()
    context = {'company': company_id}
    monkeypatch.setattr(card_module, 'LOCK_TIMEOUT', 1)
    outcomes = []
    with Transaction().start(DB_NAME, 0, context=context) as holder:
        Card = Pool().get('member.card')
        card_module.lock_rows((Card, [Card(card_id)]))
        thread = threading.Thread(target=lambda: outcomes.append(
                run_like_rpc(DB_NAME, 1, lambda: check_in(card_id),
                    context=context)))
        thread.start()
        thread.join()
        holder.rollback()
    outcome, = outcomes
    assert type(outcome.refused).__name__ == 'CardBusyError'
    assert 'another operation' in outcome.refused.message
    with Transaction().start(DB_NAME, 0, context=context):
        assert Pool().get('member.card')(card_id).hours_balance == HOURS
