# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Texts made outside a user's request (cron, queue): language and claiming"
from sql import Literal, Null
from sql.functions import CurrentTimestamp

from trytond.pool import Pool
from trytond.transaction import Transaction


def user_language(user):
    "The code of the language a text for user is written in"
    Configuration = Pool().get('ir.configuration')
    if user.language:
        return user.language.code
    return Configuration.get_language()


def claim(Model, records, flag):
    """Set the Boolean column flag of records still without it; return those
    set by this transaction

    Two cron processes may send the same due reminders (SQLite has no row
    lock): each record is claimed by one conditional update, and only its
    claimer sends it. On PostgreSQL the second update waits for the first
    and fails to serialize: its transaction is rolled back, nothing sent."""
    table = Model.__table__()
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    claimed = []
    for record in records:
        cursor.execute(*table.update(
                [getattr(table, flag), table.write_uid, table.write_date],
                [Literal(True), transaction.user, CurrentTimestamp()],
                where=(table.id == record.id)
                & ((getattr(table, flag) == Literal(False))
                    | (getattr(table, flag) == Null))))
        if cursor.rowcount == 1:
            claimed.append(record)
    return claimed
