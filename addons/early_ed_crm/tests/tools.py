# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Helpers shared by the concurrency test and bench/wallet"
import random
import time

from trytond import backend
from trytond.exceptions import UserError
from trytond.transaction import Transaction, TransactionError


class Outcome:
    "What happened to one operation run by run_like_rpc"
    def __init__(self):
        self.result = None
        self.refused = None
        self.retries = 0


def run_like_rpc(database, user, func, context=None, max_retries=1000):
    """Run func in its own transaction the way trytond's dispatcher does:
    restart with the row locks a TransactionError asks for, retry on
    lock/serialisation failures, and report a UserError as a refusal."""
    outcome, extras = Outcome(), {}
    while True:
        try:
            with Transaction().start(database, user, context=context,
                    **extras) as transaction:
                try:
                    outcome.result = func()
                except TransactionError as exc:
                    transaction.rollback()
                    exc.fix(extras)
                    outcome.retries += 1
                    continue
                except UserError as exc:
                    transaction.rollback()
                    outcome.refused = exc
                    return outcome
            return outcome
        except backend.DatabaseOperationalError:
            outcome.retries += 1
            if outcome.retries > max_retries:
                raise
            # random exponential back-off leaves the CPU to the lock holder
            time.sleep(random.uniform(
                    0, min(0.2, 0.002 * 2 ** min(outcome.retries, 7))))
