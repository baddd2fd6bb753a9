# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The raw-SQL writer of the screen pops: the one place of pbx_connector
that writes rows without the ORM.

A burst of calls is popped in transactions of up to 200 calls; through the
ORM (``ModelSQL.create`` of the new calls and of their notifications) the
validation that reads every record back costs three quarters of such a
transaction, and bench/pbx misses its targets (a 200-call burst popped in
about 540 ms). Here the new calls a batch pops and the notifications of
the pops are inserted with one statement each (one a row on a database
without ``RETURNING``). Their values are valid by construction: the
listener's handlers set them from the server's extensions and the
callers' parties, and the notifications from those calls. What watches the
*creation* of ``pbx.call`` or ``res.notification`` records
(``on_modification``, ``ir.trigger`` on create) does not see these rows;
nothing in the suite does, a popped call's later updates are ORM writes,
and the pops' bus messages are published by ``screen_pop.py`` through
``Bus.publish``."""
import datetime as dt
import json

from sql.functions import CurrentTimestamp

from trytond import backend
from trytond.model import Model
from trytond.pool import Pool
from trytond.transaction import Transaction

# the columns the writer never sets: the ORM's own, and the relations
SKIPPED = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}


def insert(Model_, vlist):
    """Insert the rows of ``vlist`` (dicts of column values, ids for the
    many-to-one) into the table of ``Model_``; return their ids, in
    order"""
    if not vlist:
        return []
    transaction = Transaction()
    names = sorted({n for v in vlist for n in v})
    if transaction.database.has_returning() and backend.name == 'postgresql':
        return _insert_json(Model_._table, names, vlist)
    table = Model_.__table__()
    cursor = transaction.connection.cursor()
    columns = [table.create_uid, table.create_date] + [
        getattr(table, n) for n in names]
    ids = []
    for values in vlist:
        cursor.execute(*table.insert(columns, [[transaction.user,
                        CurrentTimestamp()] + [values.get(n) for n in names]]))
        ids.append(cursor.lastrowid)
    return ids


def _insert_json(table, names, vlist):
    """One INSERT of all the rows, passed as one JSON parameter read with
    the table's row type: the statement does not grow with the rows (a
    statement of rows × columns placeholders costs psycopg more to parse
    than the insert costs PostgreSQL)"""
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    columns = ', '.join(f'"{n}"' for n in names)
    cursor.execute(
        f'INSERT INTO "{table}" ("create_uid", "create_date", {columns}) '
        f'SELECT %s, CURRENT_TIMESTAMP, {columns} '
        f'FROM json_populate_recordset(NULL::"{table}", %s::json) '
        'RETURNING "id"',
        [transaction.user, json.dumps(vlist, default=_json_default,
                separators=(',', ':'))])
    return [r[0] for r in cursor]


def _json_default(value):
    "Timestamps as PostgreSQL reads them (naive UTC, as Tryton stores them)"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat(sep=' ') if isinstance(
            value, dt.datetime) else value.isoformat()
    raise TypeError(f'{type(value).__name__} is not JSON serializable')


def stored_values(record):
    """The values of the stored fields of a new record (None where none is
    set), for ``insert``"""
    values = {}
    for name, field in record._fields.items():
        if (name in SKIPPED or hasattr(field, 'set')
                or field._type in {'one2many', 'many2many'}):
            continue
        value = getattr(record, name, None)
        values[name] = value.id if isinstance(value, Model) else value
    return values


def insert_calls(Call, records):
    "Insert new calls; return {id(record): the saved call}"
    ids = insert(Call, [stored_values(r) for r in records])
    # browsed together: the first field read reads them all at once
    return {id(r): c for r, c in zip(records, Call.browse(ids))}


def insert_notifications(vlist):
    "Insert unread notifications; return their ids"
    Notification = Pool().get('res.notification')
    return insert(Notification, [dict(v, unread=True) for v in vlist])
