# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Server-side guards of the customer models (trust on the server)

* protected fields: fields that only buttons and wizards set (the views
  show them read-only) are refused in a user's plain ``write``/``create``
  (``check_modification`` with ``external``), whatever the client;
* a refusal about a record the user cannot see names nothing
  (``check_visible`` in the buttons; ``access.CustomerDataMixin`` checks the
  rules of write, delete and copy before any code of those methods);
* row locks that wait for a concurrent holder and start the call again on a
  fresh snapshot when it won, so that the loser is answered from the
  committed data instead of a bare HTTP 503;
* texts without NUL characters, refused with a clear message before
  PostgreSQL refuses them.
"""
from sql import For

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Model, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, TransactionError, check_access

from .exceptions import NulTextError, ProtectedFieldError
from .spreadsheet import IN_MAX

# set by the ORM itself, never by a user
ORM_FIELDS = {'id', 'create_uid', 'create_date', 'write_uid', 'write_date'}
# SQLSTATE of a serialization failure and of a deadlock
CONFLICTS = {'40001', '40P01'}


def in_group(module, fs_id):
    "Whether the current user is in the group (or a group below it)"
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    if Transaction().user == 0:
        return True
    return ModelData.get_id(module, fs_id) in User.get_groups()


def is_administrator():
    "Whether the current user is a system administrator (res.group_admin)"
    return in_group('res', 'group_admin')


def readonly_fields(Model_):
    "The stored fields the views always show read-only"
    return {name for name, field in Model_._fields.items()
        if field.readonly is True and name not in ORM_FIELDS
        and not isinstance(field, fields.Function)}


def field_labels(Model_, names):
    "The labels of the fields names, in the user's language"
    descriptions = Model_.fields_get(sorted(names))
    return ', '.join(descriptions[n]['string'] for n in sorted(descriptions))


def _comparable(field, value):
    if isinstance(value, Model):
        if isinstance(field, fields.Reference):
            return '%s,%s' % (value.__name__, value.id)
        return value.id
    if isinstance(field, fields.Reference) and isinstance(
            value, (list, tuple)):
        return '%s,%s' % tuple(value)
    if isinstance(field, fields.Boolean):
        return bool(value)
    return value


def changed_fields(record, values, names):
    """The names among names whose value in values differs from record's

    Any action on a One2Many or Many2Many field is a change; an unchanged
    value is not (a client may send it back as it read it)."""
    changed = set()
    for name in names & values.keys():
        field = record._fields[name]
        value = values[name]
        if isinstance(field, (fields.One2Many, fields.Many2Many)):
            if value:
                changed.add(name)
        elif (_comparable(field, getattr(record, name))
                != _comparable(field, value)):
            changed.add(name)
    return changed


def refuse_changes(record, values, names):
    "Refuse a user's change of the protected fields names of record"
    changed = changed_fields(record, values, names)
    if changed:
        raise ProtectedFieldError(gettext(
                'telesales_pipeline.msg_field_protected',
                record=record.rec_name,
                fields=field_labels(record.__class__, changed)))


def refuse_given(Model_, vlist, names):
    "Refuse values of the protected fields names in a user's create"
    given = {n for values in vlist for n in names & values.keys()
        if values[n] not in (None, False, [], ())}
    if given:
        raise ProtectedFieldError(gettext(
                'telesales_pipeline.msg_field_protected_create',
                model=Model_.__names__()['model'],
                fields=field_labels(Model_, given)))


def check_visible(Model_, records):
    """Refuse records the user cannot see, naming none of them

    Called before the checks whose messages name the record: the ORM checks
    the record rules of a write or a delete only after check_modification.
    The message is the module's: Tryton's rule errors have no Chinese text.
    """
    ids = {r.id for r in records if r.id is not None and r.id >= 0}
    if ids and Transaction().user and visible_ids(Model_, ids) != ids:
        raise AccessError(gettext(
                'telesales_pipeline.msg_records_not_visible',
                model=Model_.__names__()['model']))


def visible_ids(Model_, ids):
    "The ids among ids the user may see (all of them for server code)"
    ids = list({int(i) for i in ids})
    if not Transaction().user:
        return set(ids)
    with check_access():
        return {r.id for r in Model_.search([('id', 'in', ids)], order=[])}


class ConcurrentChange(TransactionError):
    """A concurrent transaction changed the locked rows and committed

    Raised like Tryton's own lock requests: the dispatcher (and proteus)
    start the call again, on a snapshot that sees the change."""


def lock_rows(Model_, records):
    """Lock the rows of records in id order, waiting for concurrent holders

    With PostgreSQL's REPEATABLE READ, a row that a transaction committed
    after this one started cannot be locked: the call starts again and then
    answers from the committed data (e.g. "already claimed") instead of
    failing after the dispatcher's few retries with an HTTP 503. Tryton's
    ``Model.lock`` takes NOWAIT locks at the start of the transaction and
    gives up after ``[database] retry`` tries, which a busy winner outlasts.
    """
    ids = sorted({int(r) for r in records if int(r) >= 0})
    if not ids or backend.name != 'postgresql':
        return
    table = Model_.__table__()
    cursor = Transaction().connection.cursor()
    for sub_ids in grouped_slice(ids, IN_MAX):
        try:
            cursor.execute(*table.select(table.id,
                    where=fields.SQL_OPERATORS['in'](table.id, sub_ids),
                    order_by=[table.id], for_=For('UPDATE')))
        except backend.DatabaseOperationalError as exception:
            if getattr(exception, 'sqlstate', None) in CONFLICTS:
                raise ConcurrentChange() from exception
            raise


def _has_nul(value):
    "Whether value, or a value nested in it, is a text holding a NUL"
    if isinstance(value, str):
        return '\x00' in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def _nul_field(values):
    """The name of the first field of values holding a NUL character

    Values of children created or written through a One2Many count as the
    One2Many's."""
    for name, value in values.items():
        if _has_nul(value):
            return name


class TextCheckMixin:
    """Refuse texts holding a NUL character with a clear message

    PostgreSQL stores no NUL in a text column: the driver would raise a raw
    DataError (an HTTP 500) on the INSERT, UPDATE or search."""
    __slots__ = ()

    @classmethod
    def preprocess_values(cls, mode, values):
        name = _nul_field(values)
        if name:
            raise NulTextError(gettext(
                    'telesales_pipeline.msg_text_nul',
                    field=field_labels(cls, {name})
                    if name in cls._fields else name))
        return super().preprocess_values(mode, values)

    @classmethod
    def search(cls, domain, *args, **kwargs):
        if _has_nul(domain):
            raise NulTextError(gettext(
                    'telesales_pipeline.msg_search_nul'))
        return super().search(domain, *args, **kwargs)
