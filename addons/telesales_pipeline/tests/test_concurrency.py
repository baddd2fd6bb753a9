# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Concurrent claims on PostgreSQL (PL-03)

Several reps claim the same shared customers at once, each in their own
connection and transaction on a committed database. No customer may be
claimed twice and no rep may claim more than the daily quota.
"""
import random
import threading
import time
from collections import Counter

import pytest

pytestmark = pytest.mark.postgresql

MODULE = 'telesales_pipeline'
REPS = 6
CUSTOMERS = 60
QUOTA = 8
# customers per claim: single claims and claims of two at once
BATCH = {0: 1, 1: 1, 2: 2, 3: 1, 4: 2, 5: 1}


def run_in_transaction(user, context, func, retries=50):
    """Run func like the RPC dispatcher: restart on a TransactionError (a
    concurrent change of the locked rows, see guard.lock_rows), retry the
    other conflicts"""
    from trytond import backend
    from trytond.tests.test_tryton import DB_NAME
    from trytond.transaction import Transaction, TransactionError
    extras, count = {}, 0
    while True:
        try:
            with Transaction().start(
                    DB_NAME, user, context=context, **extras) as transaction:
                try:
                    result = func()
                except TransactionError as exc:
                    transaction.rollback()
                    exc.fix(extras)
                    continue
                except Exception:
                    transaction.rollback()
                    raise
                transaction.commit()
                return result
        except backend.DatabaseOperationalError:
            # a serialization failure outside the locked rows: retry with a
            # fresh snapshot like the dispatcher
            count += 1
            if count > 100:
                raise
            time.sleep(random.uniform(0, 0.005 * min(count, 20)))


def _setup():
    from trytond.modules.company.tests import create_company, create_employee
    from trytond.pool import Pool
    pool = Pool()
    Party = pool.get('party.party')
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    Configuration = pool.get('crm.configuration')
    company = create_company()
    rep_group = ModelData.get_id(MODULE, 'group_telesales_rep')
    configuration = Configuration(1)
    configuration.role_quotas = [{'group': rep_group, 'quota': QUOTA}]
    configuration.save()
    reps = []
    for i in range(REPS):
        employee = create_employee(company, name='Rep %s' % i)
        user, = User.create([{
                    'login': 'rep%s' % i,
                    'name': 'Rep %s' % i,
                    'companies': [('add', [company.id])],
                    'company': company.id,
                    'employees': [('add', [employee.id])],
                    'employee': employee.id,
                    'groups': [('add', [rep_group])],
                    }])
        reps.append((user.id, {
                    'company': company.id,
                    'employee': employee.id,
                    '_check_access': True,
                    }))
    parties = Party.create([{
                'name': 'Pool %s' % i,
                'crm_stage': 'reserve',
                'crm_ownership': 'shared',
                } for i in range(CUSTOMERS)])
    return reps, [p.id for p in parties]


def _claim(party_ids):
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    Party.crm_claim(Party.browse(party_ids))


def _rep_worker(index, user, context, party_ids, barrier, results):
    from telesales_pipeline.exceptions import (
        ClaimQuotaError, ClaimTakenError)
    order = list(party_ids)
    random.Random(index).shuffle(order)
    size = BATCH[index]
    outcome = Counter()
    barrier.wait()
    for start in range(0, len(order), size):
        batch = order[start:start + size]
        try:
            run_in_transaction(user, context, lambda: _claim(batch))
            outcome['claimed'] += len(batch)
        except ClaimTakenError:
            # claimed by another rep a moment earlier: refused with the
            # module's message, never Tryton's generic access error
            outcome['taken'] += 1
        except ClaimQuotaError:
            outcome['quota'] += 1
    results[index] = outcome


def _check():
    from trytond.pool import Pool
    pool = Pool()
    Party = pool.get('party.party')
    History = pool.get('crm.party.owner.history')
    Employee = pool.get('company.employee')
    claims = History.search([('action', '=', 'claim')])
    per_party = Counter(h.party.id for h in claims)
    per_owner = Counter(h.to_owner.id for h in claims)
    owners = {p.id: p.crm_owner.id if p.crm_owner else None
        for p in Party.search([('crm_stage', '!=', None)])}
    counters = {e.id: e.crm_claim_count for e in Employee.search([])}
    return claims, per_party, per_owner, owners, counters


def test_concurrent_claims():
    from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
    from trytond.transaction import Transaction
    drop_db()
    activate_module([MODULE])
    try:
        reps, party_ids = run_in_transaction(0, {}, _setup)
        barrier = threading.Barrier(REPS)
        results = {}
        threads = [threading.Thread(
                target=_rep_worker,
                args=(i, user, context, party_ids, barrier, results))
            for i, (user, context) in enumerate(reps)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == REPS, "a worker failed"

        with Transaction().start(DB_NAME, 0, readonly=True):
            claims, per_party, per_owner, owners, counters = _check()

        # no customer claimed twice, and its owner is its one claimer
        assert max(per_party.values()) == 1
        for history in claims:
            assert owners[history.party.id] == history.to_owner.id
        # no rep above the quota; the day's counter matches the claims
        for employee, count in per_owner.items():
            assert count <= QUOTA
            assert counters[employee] == count
        # single-claim reps always reach the quota (the pool is larger
        # than all quotas together) and are then refused
        singles = [i for i, size in BATCH.items() if size == 1]
        for i in singles:
            assert results[i]['claimed'] == QUOTA
            assert results[i]['quota'] > 0
        assert sum(r['claimed'] for r in results.values()) == len(claims)
        assert sum(r['taken'] for r in results.values()) > 0
    finally:
        drop_db()
