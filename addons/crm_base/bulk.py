# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The suite's one bulk writer: creation of rows the caller has already
checked

It is the one place that uses the ORM's private hooks of ``create``; its
test (``tests/test_bulk.py``) creates the same rows through it and through
``ModelSQL.create`` and compares them, so that a host upgrade changing
``create`` fails a test instead of skipping a rule.

``ModelSQL.create`` validates every record it creates one by one: domains,
required fields, the ``check_*`` methods, and for a party's phone numbers a
read of the party's addresses to guess the country. The Excel import checks
its rows itself, thousands at a time, before it creates them (see
``import_.RowChecker``); creating them through ``create`` costs it some 100 ms
a row. :func:`bulk_create` inserts them the way ``create`` does, and keeps
everything ``create`` does for a record that is valid:

* the access rights (``_before_create``) and the creation rules of
  ``ir.rule`` (``__check_domain_rule``);
* ``preprocess_values`` (codes from sequences, normalised keys…), the
  defaults and the computed fields (``compute_fields``, on the values);
* ``check_modification`` and ``on_modification`` (owner history…), the
  ``ir.trigger`` triggers and the transaction's created records.

It leaves out ``_validate``: only rows already checked may be given. Values
of multi-value fields (a party's language, accounts…) are not stored when
they are only the defaults; they read as the same defaults, from the
configuration of the day. One2Many values may only create children, which
are bulk-created the same way.
"""
from sql import Column, Expression
from sql.functions import CurrentTimestamp

from trytond import backend
from trytond.model import ModelStorage, fields
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

GROUP = 1000
BROWSE = 100


def quote(name):
    return '"%s"' % name.replace('"', '""')


def _compute(probe, record, plain):
    """The values ``compute_fields`` gives for the values of record.

    It is first asked of probe, an unsaved record given only the plain
    values (as stored: setting a relation on a record costs an instance of
    the target); one that reads a relation asks a full record again."""
    Model = probe.__class__
    probe._values = Model._record(**{n: record[n] for n in plain})
    try:
        return probe.compute_fields()
    except AttributeError:
        return Model(**record).compute_fields()


def bulk_create(Model, vlist, computed=()):
    """Create the records of the checked values of vlist; return their ids

    computed names the models (this one or its children) whose values
    already hold what their ``compute_fields`` would give (e.g. phone
    numbers formatted as the contact mechanism formats them).
    """
    if not vlist:
        return []
    if Model._path_fields or Model._mptt_fields:
        raise ValueError("bulk_create does not store tree fields: %s"
            % Model.__name__)
    transaction = Transaction()
    check_access = transaction.user and transaction.check_access
    vlist = Model._before_create([v.copy() for v in vlist])
    stored, children, setters = _fields(Model)
    columns = sorted(stored)
    rows = _rows(Model, vlist, stored, columns, computed)
    ids = _insert(Model, columns, rows)
    Model._insert_history(ids)
    _translate(Model, ids, vlist, stored)
    Model._ModelSQL__check_domain_rule(ids, 'create')
    _set(Model, ids, vlist, setters)
    _create_children(Model, ids, vlist, children, computed)
    _after_create(Model, ids, check_access)
    return ids


def _fields(Model):
    "The stored fields, the One2Many fields and the fields with a setter"
    stored, children, setters = {}, {}, {}
    for name, field in Model._fields.items():
        if name in {'id', 'create_uid', 'create_date', 'write_uid',
                'write_date'}:
            continue
        if isinstance(field, fields.One2Many):
            children[name] = field
        elif hasattr(field, 'set'):
            setters[name] = field
        elif not isinstance(field, fields.Function):
            stored[name] = field
    return stored, children, setters


def _rows(Model, vlist, stored, columns, computed):
    """The SQL values of each row: create_uid, create_date, then columns,
    with the defaults and the computed values"""
    transaction = Transaction()
    missing = {n for n in stored if not all(n in v for v in vlist)}
    defaults = Model._clean_defaults(
        Model.default_get(sorted(missing), with_rec_name=False))
    compute = (Model.compute_fields is not ModelStorage.compute_fields
        and Model.__name__ not in computed)
    # the unsaved record compute_fields reads: its plain values first (a
    # relation set on a record costs an instance of the target)
    plain = [n for n in columns
        if stored[n]._type not in {'many2one', 'reference', 'one2one'}]
    probe = Model()
    formats = [(n, stored[n].sql_format, stored[n].sql_format(None))
        for n in columns]
    rows = []
    for values in vlist:
        record = {n: values[n] if n in values else defaults.get(n)
            for n in columns}
        if compute:
            record.update(
                (k, v) for k, v in _compute(probe, record, plain).items()
                if k in stored)
        rows.append([transaction.user, CurrentTimestamp()]
            + [none if record[n] is None else format_(record[n])
                for n, format_, none in formats])
    return rows


def _insert(Model, columns, rows):
    """Insert rows; return their ids in order: with PostgreSQL's COPY when
    the ids can be taken beforehand and no value is an SQL expression"""
    transaction = Transaction()
    database = transaction.database
    cursor = transaction.connection.cursor()
    table = Model.__table__()
    sql_columns = [table.create_uid, table.create_date] + [
        Column(table, n) for n in columns]
    ids = []
    if database.has_multirow_insert() and len(rows) > 1:
        ids = database.nextid(
            transaction.connection, Model._table, count=len(rows)) or []
    if not ids:
        for row in rows:
            if database.has_returning():
                cursor.execute(*table.insert(sql_columns, [row], [table.id]))
                ids.append(cursor.fetchone()[0])
            else:
                cursor.execute(*table.insert(sql_columns, [row]))
                ids.append(database.lastid(cursor))
        return ids
    ids = list(ids)
    sql_columns.append(table.id)
    rows = [r + [i] for r, i in zip(rows, ids)]
    literal = not any(isinstance(v, Expression) for r in rows for v in r[2:])
    if literal and hasattr(cursor, 'copy'):
        # PostgreSQL: COPY, with the transaction's timestamp that
        # CURRENT_TIMESTAMP gives an INSERT
        cursor.execute('SELECT CURRENT_TIMESTAMP')
        now, = cursor.fetchone()
        with cursor.copy('COPY %s (%s) FROM STDIN' % (
                    quote(Model._table),
                    ', '.join(quote(c.name) for c in sql_columns))) as copy:
            for row in rows:
                row[1] = now
                copy.write_row(row)
    else:
        size = max(backend.MAX_QUERY_PARAMS // (len(sql_columns) + 1), 1)
        for chunk in grouped_slice(rows, size):
            cursor.execute(*table.insert(sql_columns, list(chunk)))
    return ids


def _translate(Model, ids, vlist, stored):
    "Store the translated fields' values in the user's language"
    translations = {}
    for id_, values in zip(ids, vlist):
        for name, value in values.items():
            if name in stored and getattr(stored[name], 'translate', False):
                translations.setdefault(name, {})[id_] = (
                    stored[name].sql_format(value))
    if translations:
        Translation = Pool().get('ir.translation')
        for name, values in translations.items():
            Translation.set_ids('%s,%s' % (Model.__name__, name), 'model',
                Transaction().language, list(values), list(values.values()))


def _set(Model, ids, vlist, setters):
    "Call the setters of the fields that have one, a value at a time"
    for name in sorted(setters, key=Model.index_set_field):
        args = {}
        for id_, values in zip(ids, vlist):
            if name in values:
                args.setdefault(repr(values[name]), (values[name], []))[
                    1].append(id_)
        for value, value_ids in args.values():
            setters[name].set(Model, name, value_ids, value)


def _create_children(Model, ids, vlist, children, computed):
    "Bulk-create the One2Many children given with ('create', [...])"
    for name, field in children.items():
        Child = field.get_target()
        reference = Child._fields[field.field]._type == 'reference'
        child_values = []
        for id_, values in zip(ids, vlist):
            for action in values.get(name) or []:
                if action[0] != 'create':
                    raise ValueError(
                        "bulk_create only creates children: %r" % action[0])
                parent = '%s,%s' % (Model.__name__, id_) if reference else id_
                child_values.extend(
                    dict(v, **{field.field: parent}) for v in action[1])
        bulk_create(Child, child_values, computed=computed)


def _after_create(Model, ids, check_access):
    """What create does after the insert: check_modification,
    on_modification, the triggers and the transaction's created records"""
    transaction = Transaction()
    Trigger = Pool().get('ir.trigger')
    with without_check_access():
        triggers = Trigger.get_triggers(Model.__name__, 'create')
        # the hooks get GROUP records at a time, browsed BROWSE at a time
        # (each record of a browse checks the ids of the browse)
        for sub_ids in grouped_slice(ids, GROUP):
            records = []
            for browse_ids in grouped_slice(list(sub_ids), BROWSE):
                records.extend(Model.browse(list(browse_ids)))
            Model.check_modification(
                'create', records, external=check_access)
            Model.on_modification('create', records)
            for trigger in triggers:
                trigger.queue_trigger_action(records)
        transaction.create_records[Model.__name__].extend(ids)
