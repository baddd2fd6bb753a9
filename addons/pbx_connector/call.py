# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import collections
import contextvars
import datetime as dt
import logging
import json
import re
import textwrap
import uuid

from sql import Literal, Null
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import CurrentTimestamp

from trytond import backend
from trytond.bus import Bus
from trytond.protocols.jsonrpc import JSONEncoder
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.model.modelstorage import local_cache
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, check_access
from trytond.wizard import Button, StateAction, StateView, Wizard

from .ami.calls import device
from .exceptions import (
    InvalidNumberError, NoExtensionError, NoNumberError, PBXConnectionError,
    ScoreError)
from .masking import (
    MaskedExportMixin, MaskedNumberMixin, check_parties_visible,
    protected_error)
from .party import PHONE_TYPES

try:
    import phonenumbers
except ImportError:
    phonenumbers = None


def _national_mobile(region):
    """The pattern of the region's mobile numbers in phonenumbers'
    metadata, or None"""
    try:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        return re.compile(metadata.mobile.national_number_pattern)
    except Exception:
        return None


# China's mobile numbers (11 digits, 1…), the callers of a burst: a number
# of this pattern is valid for phonenumbers and no prefix of it is a
# national or carrier prefix to strip (CN strips 0 and 1[12]xx, 179xx, none
# of which starts a mobile number), so its E.164 form is +86 and the
# digits; tests.test_normalize checks it against phonenumbers
CN_MOBILE = _national_mobile('CN') if phonenumbers else None

logger = logging.getLogger(__name__)

# the batch of listener updates being applied by Call.ami_updates
_batch = contextvars.ContextVar('pbx_call_batch', default=None)


def _language(user):
    "The code of the language texts for user are written in"
    if user and user.language:
        return user.language.code
    return Pool().get('ir.configuration').get_language()


class _Batch:
    "Records, parties and extensions shared by the updates of one batch"

    def __init__(self, cache=None):
        # ids kept by the listener between batches: extension of each
        # device, users of each employee
        self.cache = {} if cache is None else cache
        self.by_id = {}
        self.by_linkedid = {}
        self.parties = {}
        self.dirty = {}
        self.pops = {}
        self.finished = {}
        # the users of each employee, browsed once in the batch
        self.users = {}
        # the rows of the pops whose inserts are deferred (publish_ahead)
        self.deferred = None
        # E.164 of the raw numbers: kept with the listener's ids, the
        # pop ahead and the in-order batch normalise each number once
        self.numbers = self.cache.setdefault('numbers', {})

    def employee_users(self, call):
        "The users of the call's employee (call.employee_users())"
        User = Pool().get('res.user')
        employee = call.employee.id
        if employee not in self.users:
            self.users[employee] = User.browse(self.cache_users(employee))
        return self.users[employee]

    def cache_users(self, employee):
        "The ids of the users of an employee id"
        User = Pool().get('res.user')
        key = ('users', employee)
        if key not in self.cache:
            self.cache[key] = [u.id for u in User.search(
                    [('employees', '=', employee)])]
        return self.cache[key]

    def add(self, record):
        "The one instance of a record in the batch"
        if record.id is not None and record.id >= 0:
            record = self.by_id.setdefault(record.id, record)
        if record.linkedid:
            self.by_linkedid[record.linkedid] = record
        return record

DIRECTIONS = [
    ('inbound', "Inbound"),
    ('outbound', "Outbound"),
    ]
STATES = [
    ('queued', "Queued"),
    ('ringing', "Ringing"),
    ('answered', "In Progress"),
    ('ended', "Ended"),
    ('failed', "Failed"),
    ]
DISPOSITIONS = [
    (None, ""),
    ('answered', "Answered"),
    ('busy', "Busy"),
    ('no_answer', "No Answer"),
    ('empty', "Number Not in Service"),
    ('wrong', "Wrong Number"),
    ('cancelled', "Cancelled"),
    ('agent_unreachable', "Rep's Phone Did Not Answer"),
    ('failed', "Failed"),
    ]
# notifications of one user that res.notification shows in one bus message
POP_MESSAGE_LINES = 4
# the columns of the calls inserted by a screen pop, and of its
# notifications
POP_COLUMNS = [
    ('server', 'integer'), ('company', 'integer'),
    ('direction', 'varchar'), ('state', 'varchar'),
    ('start', 'timestamp'), ('linkedid', 'varchar'),
    ('uniqueid', 'varchar'), ('number', 'varchar'),
    ('party', 'integer'), ('extension', 'integer'),
    ('employee', 'integer'), ('screen_popped', 'boolean'),
    ]
NOTIFICATION_COLUMNS = [('user', 'integer'), ('label', 'varchar'),
    ('description', 'varchar'), ('icon', 'varchar'),
    ('model', 'varchar'), ('records', 'varchar')]
CDR_DISPOSITIONS = {
    'ANSWERED': 'answered', 'BUSY': 'busy', 'NO ANSWER': 'no_answer',
    'FAILED': 'failed', 'CONGESTION': 'failed',
    }


def to_datetime(timestamp):
    "Epoch seconds from the PBX → naive UTC datetime as Tryton stores it"
    if not timestamp:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(
        tzinfo=None)


def mask_number(number):
    "137****2311; telesales_pipeline's mask_phone replaces it when present"
    digits = number or ''
    if digits.startswith('+86'):
        digits = digits[3:]
    if len(digits) <= 4:
        return '*' * len(digits)
    keep = 3 if len(digits) > 7 else 1
    return digits[:keep] + '****' + digits[-4:]


def insert_arrays(table, columns, rows, returning):
    """Insert ``rows`` into ``table`` (PostgreSQL) with one parameter: the
    rows as a JSON array of arrays, ``columns`` are (name, SQL type) pairs
    of their items. The statement and its parameters do not grow with the
    rows, so neither python-sql nor psycopg builds and parses a statement of
    rows × columns placeholders, and the rows are encoded by the json
    module's C encoder (psycopg dumps a list item by item in Python).
    Return the rows of ``returning`` (column names)."""
    cursor = Transaction().connection.cursor()
    names = ', '.join(f'"{n}"' for n, _ in columns)
    items = ', '.join(f'(r->>{i})::{t}' for i, (_, t) in enumerate(columns))
    cursor.execute(
        f'INSERT INTO "{table}" ("create_uid", "create_date", {names}) '
        f'SELECT %s, CURRENT_TIMESTAMP, {items} '
        'FROM json_array_elements(%s::json) AS r '
        'RETURNING ' + ', '.join(f'"{n}"' for n in returning),
        [Transaction().user, json.dumps(rows, default=_json_default,
                separators=(',', ':'))])
    return cursor.fetchall()


def _shared_caches(Model):
    """The keyword arguments of an instance of Model that shares the
    transaction's caches, as the instances of ``browse`` do"""
    transaction = Transaction()
    return dict(_transaction=transaction,
        _transaction_cache=transaction.get_cache(),
        _local_cache=local_cache(Model, transaction))


def _json_default(value):
    "Timestamps as PostgreSQL reads them (naive UTC, as Tryton stores them)"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=' ')
    raise TypeError(f'{type(value).__name__} is not JSON serializable')


class Call(MaskedNumberMixin, ModelSQL, ModelView):
    __string__ = "PBX Call"
    __name__ = 'pbx.call'
    _rec_name = 'linkedid'
    _masked_numbers = {'number'}
    server = fields.Many2One('pbx.server', "Server", required=True,
        readonly=True, ondelete='RESTRICT')
    company = fields.Many2One('company.company', "Company", required=True,
        readonly=True)
    direction = fields.Selection(DIRECTIONS, "Direction", required=True,
        readonly=True)
    direction_string = direction.translated('direction')
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    number = fields.Char("Number", readonly=True,
        help="The customer's number in E.164 form.")
    number_display = fields.Function(fields.Char("Number"),
        'get_number_display')
    party = fields.Many2One('party.party', "Customer", ondelete='SET NULL',
        context={'company': Eval('company', -1)}, depends={'company'})
    employee = fields.Many2One('company.employee', "Employee", readonly=True)
    extension = fields.Many2One('pbx.extension', "Extension", readonly=True)
    start = fields.DateTime("Start", readonly=True)
    answer = fields.DateTime("Answer", readonly=True)
    end = fields.DateTime("End", readonly=True)
    duration = fields.Integer("Talk Time", readonly=True,
        help="Seconds from answer to hang-up.")
    ring_duration = fields.Integer("Ring Time", readonly=True)
    disposition = fields.Selection(DISPOSITIONS, "Disposition", readonly=True)
    disposition_string = disposition.translated('disposition')
    hangup_cause = fields.Integer("Hangup Cause", readonly=True)
    hangup_cause_text = fields.Char("Hangup Cause Text", readonly=True)
    uniqueid = fields.Char("Unique ID", readonly=True)
    linkedid = fields.Char("Linked ID", readonly=True)
    # the recordings are lazy: a client reading a call does not read them
    # with its other fields (only quality control may read them)
    recording = fields.Char("Recording File", readonly=True, loading='lazy')
    recording_url = fields.Function(fields.Char("Recording"),
        'get_recording_url')
    reviews = fields.One2Many('pbx.call.review', 'call', "Quality Checks")
    score = fields.Function(fields.Float("Score", digits=(3, 1)),
        'get_score')
    error = fields.Text("Error", readonly=True)
    screen_popped = fields.Boolean("Screen Popped", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start', 'DESC NULLS FIRST'), ('id', 'DESC')]
        cls._buttons.update({
                'redial': {
                    'invisible': ~Eval('state').in_(['ended', 'failed']),
                    'depends': ['state'],
                    },
                'create_party': {
                    'invisible': Eval('party', None) != None,  # noqa: E711
                    'depends': ['party'],
                    },
                })
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.linkedid, Index.Equality())),
                Index(t, (t.start, Index.Range())),
                })

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if (mode == 'create' and values.get('server')
                and not values.get('company')):
            Server = Pool().get('pbx.server')
            values['company'] = Server(values['server']).company.id
        return values

    @classmethod
    def _client_writable(cls):
        """Hook: the fields a client may write; the listener, click-to-dial
        and the buttons write the others"""
        return {'party', 'reviews'}

    @classmethod
    def check_modification(cls, mode, calls, values=None, external=False):
        """A client links an unknown caller to a customer it sees; the rest
        of a call is the PBX's"""
        pool = Pool()
        Rule = pool.get('ir.rule')
        Party = pool.get('party.party')
        super().check_modification(
            mode, calls, values=values, external=external)
        if not external or mode != 'write':
            return
        for name in sorted(set(values or {}) - cls._client_writable()):
            raise protected_error(cls, name)
        if 'party' in values:
            # the caller's scope first: the answer about a call he may not
            # see is the same whatever it holds
            with check_access():
                Rule.check(cls.__name__, [c.id for c in calls], 'write')
            if any(c.party for c in calls):
                raise protected_error(cls, 'party')
            if values['party'] is not None:
                check_parties_visible([Party(values['party'])])

    # numbers -----------------------------------------------------------
    @classmethod
    def may_see_full_numbers(cls):
        "Hook: telesales_pipeline limits full numbers to a group"
        return True

    @classmethod
    def mask(cls, number):
        return mask_number(number)

    @classmethod
    def get_number_display(cls, calls, name):
        # Read the stored numbers directly: the number field itself may be
        # closed to the user by field access (telesales_pipeline).
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        numbers = {}
        for sub_ids in grouped_slice(
                [c.id for c in calls], backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.id, table.number,
                    where=table.id.in_(list(sub_ids))))
            numbers.update(cursor)
        full = cls.may_see_full_numbers()
        return {c.id: (numbers.get(c.id) if full
                else cls.mask(numbers.get(c.id))) for c in calls}

    @classmethod
    def normalize(cls, number, region='CN'):
        "E.164 of a number typed by a user or sent by the PBX"
        raw = (number or '').strip()
        if not raw:
            return ''
        if region == 'CN' and CN_MOBILE:
            digits = raw[3:] if raw.startswith('+86') else raw
            # parsing with phonenumbers costs 60 µs a number
            if (len(digits) == 11 and digits.isascii() and digits.isdigit()
                    and CN_MOBILE.fullmatch(digits)):
                return '+86' + digits
        if phonenumbers:
            try:
                parsed = phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                return raw
            if phonenumbers.is_valid_number(parsed):
                return phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.E164)
        return raw

    @classmethod
    def dial_string(cls, number, region='CN'):
        "What the dialplan dials: national digits, 00 for abroad"
        if not phonenumbers:
            return number.lstrip('+')
        parsed = phonenumbers.parse(number, region)
        if phonenumbers.region_code_for_number(parsed) == region:
            national = phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
            return ''.join(c for c in national if c.isdigit())
        return '00' + number.lstrip('+')

    def get_recording_url(self, name):
        if not self.recording or not self.server.recording_url:
            return None
        return (self.server.recording_url.rstrip('/') + '/'
            + self.recording.rsplit('/', 1)[-1])

    def get_score(self, name):
        scores = [r.score for r in self.reviews if r.score is not None]
        return sum(scores) / len(scores) if scores else None

    # click-to-dial -----------------------------------------------------
    @classmethod
    def dial(cls, number, party=None, employee=None, **values):
        """Create an outbound call and queue its Originate.

        The rep's extension rings first, then the PBX dials ``number``."""
        pool = Pool()
        Extension = pool.get('pbx.extension')
        User = pool.get('res.user')
        if employee is None:
            employee = User(Transaction().user).employee
        extension = Extension.for_employee(employee)
        if not extension:
            raise NoExtensionError(gettext('pbx_connector.msg_no_extension',
                    employee=employee.rec_name if employee else '-'))
        e164 = cls.normalize(number, extension.server.region)
        if not e164:
            raise NoNumberError(gettext('pbx_connector.msg_no_number',
                    party=party.rec_name if party else '-'))
        if not e164.startswith('+'):
            raise InvalidNumberError(gettext(
                    'pbx_connector.msg_invalid_number',
                    number=cls.mask(e164)
                    if not cls.may_see_full_numbers() else e164))
        call = cls(server=extension.server, direction='outbound',
            state='queued', number=e164, party=party, employee=employee,
            extension=extension, start=dt.datetime.utcnow(), **values)
        call.save()
        cls.__queue__.originate([call])
        return call

    @classmethod
    def originate(cls, calls):
        "Queue task: send the Originate of each call to its PBX"
        for call in calls:
            if call.state != 'queued':
                continue
            try:
                with call.server.ami_session() as client:
                    client.originate(call.extension.device,
                        cls.dial_string(call.number, call.server.region),
                        call.server.context,
                        caller_id=call.server.caller_id,
                        timeout_ms=call.server.ring_timeout * 1000,
                        variables={'CRM_CALL': call.id},
                        action_id=f'crm-call-{call.id}')
            except PBXConnectionError as exc:
                logger.warning('originate of call %s failed: %s',
                    call.id, exc)
                # the queue runs in no user's language: the error is
                # written in the language of the user who dialed
                cls.write([call], {
                        'state': 'failed', 'disposition': 'failed',
                        'error': exc.message_in(
                            _language(call.create_uid))})
                cls._notify_failure(call, exc)
                cls.on_failed([call])
                continue
            cls.write([call], {'state': 'ringing'})
            cls._notify_ringing(call)

    @classmethod
    def _notify_failure(cls, call, exc):
        "Tell the employee's users, each in his language, why the call failed"
        cls._notify(call, 'pbx_connector.msg_dial_failed', 'tryton-warning',
            exc.message_in)

    @classmethod
    def _notify_ringing(cls, call):
        """Tell the employee's users that the PBX rings his extension and
        whom it calls once it is picked up (the customer, or the number
        masked)"""
        callee = call.party.rec_name if call.party else cls.mask(call.number)
        cls._notify(call, 'pbx_connector.msg_dial_ringing', 'tryton-public',
            lambda language: gettext('pbx_connector.msg_dial_ringing_detail',
                language, extension=call.extension.number, callee=callee))

    @classmethod
    def _notify(cls, call, label, icon, description):
        """Notify the employee's users of call, each in his language:
        description(language) details the label (a message id)"""
        Notification = Pool().get('res.notification')
        notifications = []
        for user in call.employee_users():
            language = _language(user)
            notifications.append({
                    'user': user.id,
                    'label': gettext(label, language),
                    'description': description(language)[:250],
                    'icon': icon,
                    'model': cls.__name__,
                    'records': str([call.id]),
                    })
        if notifications:
            Notification.create(notifications)

    def employee_users(self):
        User = Pool().get('res.user')
        if not self.employee:
            return []
        return User.search([('employees', '=', self.employee.id)])

    @classmethod
    @ModelView.button
    def redial(cls, calls):
        for call in calls:
            cls.dial(call.number, party=call.party)

    @classmethod
    @ModelView.button_action('pbx_connector.wizard_call_create_party')
    def create_party(cls, calls):
        pass

    @classmethod
    def dial_next(cls, extensions):
        "Hook: batch dialing places the next call of a ready rep"

    # events from the listener -------------------------------------------
    @classmethod
    def ami_update(cls, server, kind, call, timestamp, data):
        """Apply one update of the listener's call tracker.

        ``call`` is the tracker's snapshot (linkedid, direction, number,
        extension device, start/answer/end epoch seconds, disposition…)."""
        return cls.ami_updates(server, [(kind, call, timestamp, data)])[0]

    @classmethod
    def ami_updates(cls, server, updates, cache=None):
        """Apply the listener's updates ``(kind, call, timestamp, data)`` in
        order, in the current transaction; return the record of each.

        The calls they touch are read with one query and the parties of
        their numbers with another; each call is saved once, then its
        screen pop is sent and ``on_finished`` runs once for the calls that
        ended. ``cache`` (a dict the caller keeps between batches and
        clears when extensions or users may have changed) saves reading
        the extension of each device and the users of each employee."""
        batch = _Batch(cache)
        token = _batch.set(batch)
        try:
            cls._preload(server, updates, batch)
            records = []
            for kind, call, timestamp, data in updates:
                handler = getattr(cls, f'_ami_{kind}', None)
                records.append(handler(server, call, timestamp, data)
                    if handler else None)
            if batch.dirty:
                cls.save(list(batch.dirty.values()))
        finally:
            _batch.reset(token)
        if batch.pops:
            cls.screen_pops(list(batch.pops.values()), batch.employee_users)
        if batch.finished:
            cls.on_finished(list(batch.finished.values()))
        return records

    @classmethod
    def _preload(cls, server, updates, batch):
        "Read the calls and parties of a batch of updates at once"
        linkedids, ids, numbers = set(), set(), set()
        for kind, call, timestamp, data in updates:
            if call.get('linkedid'):
                linkedids.add(call['linkedid'])
            if str(call.get('crm_call') or '').isdigit():
                ids.add(int(call['crm_call']))
            if kind == 'cdr' and data.get('UniqueID'):
                linkedids.add(data['UniqueID'])
                for key in ['Source', 'Destination']:
                    if data.get(key):
                        numbers.add(cls._normalized(data[key], server))
            action_id = data.get('action_id') or ''
            if kind == 'originate' and action_id.startswith('crm-call-'):
                action_id = action_id[len('crm-call-'):]
                if action_id.isdigit():
                    ids.add(int(action_id))
            if call.get('number'):
                numbers.add(cls._normalized(call['number'], server))
        size = backend.MAX_QUERY_PARAMS
        for sub_ids in grouped_slice(list(ids), size):
            for record in cls.search([
                        ('server', '=', server.id),
                        ('id', 'in', list(sub_ids)),
                        ]):
                batch.add(record)
        for sub_ids in grouped_slice(list(linkedids), size):
            for record in cls.search([
                        ('server', '=', server.id),
                        ('linkedid', 'in', list(sub_ids)),
                        ], order=[('id', 'DESC')]):
                if record.linkedid not in batch.by_linkedid:
                    batch.add(record)
        for id_ in ids:
            batch.by_id.setdefault(id_, None)
        for linkedid in linkedids:
            batch.by_linkedid.setdefault(linkedid, None)
        batch.parties.update(cls._find_parties(
                [n for n in numbers if n.startswith('+')]))

    @classmethod
    def _normalized(cls, number, server):
        region = server.region
        batch = _batch.get()
        if batch is None:
            return cls.normalize(number, region)
        key = (number, region)
        if key not in batch.numbers:
            batch.numbers[key] = cls.normalize(number, region)
        return batch.numbers[key]

    @classmethod
    def _by_id(cls, server, id_):
        batch = _batch.get()
        if id_ not in batch.by_id:
            records = cls.search([
                    ('server', '=', server.id),
                    ('id', '=', id_),
                    ])
            batch.by_id[id_] = batch.add(records[0]) if records else None
        return batch.by_id[id_]

    @classmethod
    def _by_linkedid(cls, server, linkedid):
        batch = _batch.get()
        if linkedid not in batch.by_linkedid:
            records = cls.search([
                    ('server', '=', server.id),
                    ('linkedid', '=', linkedid),
                    ], limit=1)
            batch.by_linkedid[linkedid] = (
                batch.add(records[0]) if records else None)
        return batch.by_linkedid[linkedid]

    @classmethod
    def _find(cls, server, call):
        if str(call.get('crm_call') or '').isdigit():
            record = cls._by_id(server, int(call['crm_call']))
            if record:
                return record
        if call.get('linkedid'):
            return cls._by_linkedid(server, call['linkedid'])
        return None

    @classmethod
    def _save(cls, record):
        "Save the record with the others of the batch"
        batch = _batch.get()
        batch.add(record)
        batch.dirty[id(record)] = record

    @classmethod
    def _finished(cls, record):
        "Run on_finished for the record once the batch is saved"
        _batch.get().finished[id(record)] = record

    @classmethod
    def _find_party(cls, number):
        if not number:
            return None
        batch = _batch.get()
        if batch is not None and number in batch.parties:
            return batch.parties[number]
        party = cls._find_parties([number])[number]
        if batch is not None:
            batch.parties[number] = party
        return party

    @classmethod
    def _find_parties(cls, numbers):
        """The customer of each E.164 number: the active party with the
        latest active phone or mobile of that number, or None.

        One indexed query on the compact values (see party.py) instead of a
        search of the contact mechanisms per call."""
        pool = Pool()
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        mechanism = Mechanism.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        found = {}
        for sub_numbers in grouped_slice(list(numbers),
                backend.MAX_QUERY_PARAMS // 2):
            cursor.execute(*mechanism.join(party,
                    condition=mechanism.party == party.id
                    ).select(mechanism.value_compact, mechanism.party,
                    where=mechanism.value_compact.in_(list(sub_numbers))
                    & mechanism.type.in_(sorted(PHONE_TYPES))
                    & (mechanism.active == Literal(True))
                    & (party.active == Literal(True)),
                    order_by=[mechanism.id.asc]))
            # the latest mechanism of a number wins
            found.update(cursor)
        return {n: Party(found[n]) if n in found else None for n in numbers}

    @classmethod
    def _extension(cls, server, device):
        Extension = Pool().get('pbx.extension')
        id_, _ = cls._extension_ids(server, device)
        return Extension(id_) if id_ is not None else None

    @classmethod
    def _extension_ids(cls, server, device):
        "(extension id, employee id) of a device, (None, None) if unknown"
        cache = _batch.get().cache
        key = ('extension', server.id, device)
        if key not in cache:
            extension = Pool().get('pbx.extension').by_device(server, device)
            cache[key] = ((extension.id, extension.employee.id)
                if extension else (None, None))
        return cache[key]

    @classmethod
    def listener_cache(cls, server):
        """The ids the listener keeps between its transactions, read with
        two queries for all the server's extensions: the extension and
        employee of each device (as ``Extension.by_device``) and the users
        of each employee (as ``_Batch.cache_users``). Without it the first
        pop of each rep after a reload of the extensions read them (two
        queries a rep in the pop's transaction)."""
        pool = Pool()
        Extension = pool.get('pbx.extension')
        User = pool.get('res.user')
        cache = {}
        employees = []
        # by_device's order: the first extension of a device wins
        for extension in Extension.search([('server', '=', server.id)]):
            key = ('extension', server.id, extension.device)
            if key not in cache:
                cache[key] = (extension.id, extension.employee.id)
                employees.append(extension.employee.id)
        for employee in employees:
            cache[('users', employee)] = []
        for sub in grouped_slice(sorted(set(employees)),
                backend.MAX_QUERY_PARAMS):
            sub = set(sub)
            # in User.search's order, as cache_users
            for user in User.search([('employees', 'in', list(sub))]):
                for employee in user.employees:
                    if employee.id in sub:
                        cache[('users', employee.id)].append(user.id)
        return cache

    @classmethod
    def _get_or_create(cls, server, call, timestamp):
        record = cls._find(server, call)
        if record is None:
            record = cls(server=server, company=server.company,
                direction=call['direction'], state='ringing',
                start=to_datetime(call['start'] or timestamp),
                linkedid=None, uniqueid=None, number=None, party=None,
                extension=None, employee=None, recording=None,
                screen_popped=False)
        if record.linkedid != call['linkedid']:
            record.linkedid = call['linkedid']
        if not record.uniqueid:
            record.uniqueid = call['linkedid']
        if call.get('number') and not (record.direction == 'outbound'
                and record.number):
            number = cls._normalized(call['number'], server)
            if record.number != number:
                record.number = number
        if call.get('extension') and not record.extension:
            extension = cls._extension(server, call['extension'])
            if extension:
                record.extension = extension
                record.employee = extension.employee
        if not record.party and record.number:
            party = cls._find_party(record.number)
            if party:
                record.party = party
        _batch.get().add(record)
        return record

    @classmethod
    def _ami_started(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        if record.state == 'queued':
            record.state = 'ringing'
        cls._save(record)
        return record

    @classmethod
    def _ami_ringing(cls, server, call, timestamp, data):
        batch = _batch.get()
        record = cls._get_or_create(server, call, timestamp)
        if record.state not in {'answered', 'ended'}:
            record.state = 'ringing'
        if (record.direction == 'inbound' and not record.screen_popped
                and record.employee):
            if batch.employee_users(record):
                # saved with the call, in the transaction of the pop
                record.screen_popped = True
                batch.pops[id(record)] = record
        cls._save(record)
        return record

    @classmethod
    def _ami_answered(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        record.state = 'answered'
        record.answer = to_datetime(call['answer'])
        cls._save(record)
        return record

    @classmethod
    def _ami_recording(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        record.recording = call['recording']
        cls._save(record)
        return record

    @classmethod
    def _ami_finished(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        record.state = 'ended'
        record.end = to_datetime(call['end'])
        if call.get('answer'):
            record.answer = to_datetime(call['answer'])
            record.duration = round(call['end'] - call['answer'])
        else:
            record.duration = 0
        if call.get('ring') and call['start']:
            record.ring_duration = round(
                (call['answer'] or call['end']) - call['ring'])
        record.disposition = call['disposition']
        record.hangup_cause = call['cause'] or None
        record.hangup_cause_text = call['cause_text'] or None
        if call.get('recording'):
            record.recording = call['recording']
        cls._save(record)
        cls._finished(record)
        return record

    @classmethod
    def on_finished(cls, calls):
        "Hook called once per ended call (follow-ups, call tasks)"

    @classmethod
    def on_failed(cls, calls):
        "Hook called when the Originate of calls could not be sent"

    @classmethod
    def _ami_originate(cls, server, call, timestamp, data):
        action_id = data.get('action_id', '')
        if not action_id.startswith('crm-call-'):
            return
        record = cls._by_id(server, int(action_id[len('crm-call-'):] or 0))
        if not record:
            return
        if data.get('uniqueid') and not record.linkedid:
            record.linkedid = record.uniqueid = data['uniqueid']
        if data.get('response', '').lower() == 'failure':
            record.error = gettext('pbx_connector.msg_agent_unreachable',
                reason=data.get('reason', ''))
        cls._save(record)
        return record

    @classmethod
    def _ami_cdr(cls, server, call, timestamp, data):
        """Reconcile from the CDR: fill what the channel events missed, or
        create the call when its events were lost."""
        linkedid = data.get('UniqueID')
        if not linkedid:
            return
        record = cls._by_linkedid(server, linkedid)
        billable = int(data.get('BillableSeconds') or 0)
        disposition = CDR_DISPOSITIONS.get(
            (data.get('Disposition') or '').upper(), 'failed')
        if record:
            if record.state != 'ended':
                # the Hangup was lost: the CDR ends the call
                record.state = 'ended'
                record.duration = billable
                record.disposition = record.disposition or disposition
                record.end = record.end or to_datetime(timestamp)
                if billable and not record.answer and record.end:
                    record.answer = record.end - dt.timedelta(
                        seconds=billable)
                cls._save(record)
                cls._finished(record)
            return record
        record = cls._from_cdr(server, data, timestamp, billable,
            disposition)
        cls._finished(record)
        return record

    @classmethod
    def _cdr_extension(cls, server, data):
        """(direction, extension) of a CDR: outbound when its channel or
        its source is a rep's extension, else inbound to the extension of
        the channel the Dial reached"""
        Extension = Pool().get('pbx.extension')
        extension = None
        if data.get('Channel'):
            extension = cls._extension(server, device(data['Channel']))
        if not extension and data.get('Source'):
            extension = next(iter(Extension.search([
                            ('server', '=', server.id),
                            ('number', '=', data['Source']),
                            ], limit=1)), None)
        if extension:
            return 'outbound', extension
        if data.get('DestinationChannel'):
            extension = cls._extension(server,
                device(data['DestinationChannel']))
        return 'inbound', extension

    @classmethod
    def _from_cdr(cls, server, data, timestamp, billable, disposition):
        direction, extension = cls._cdr_extension(server, data)
        number = (data.get('Destination') if direction == 'outbound'
            else data.get('Source')) or ''
        duration = int(data.get('Duration') or 0)
        end = to_datetime(timestamp)
        record = cls(server=server, company=server.company,
            linkedid=data['UniqueID'],
            uniqueid=data['UniqueID'], state='ended', direction=direction,
            number=cls._normalized(number, server) or None,
            duration=billable, disposition=disposition,
            start=end - dt.timedelta(seconds=duration) if end else None,
            answer=end - dt.timedelta(seconds=billable)
            if end and billable else None,
            end=end, extension=extension,
            employee=extension.employee if extension else None,
            screen_popped=False)
        record.party = cls._find_party(record.number)
        cls._save(record)
        return record

    # screen pop -------------------------------------------------------
    @classmethod
    def pop_ahead(cls, server, updates, cache=None):
        """Pop the inbound calls of the listener's ``ringing`` updates before
        their updates are applied in order; return the ids of the calls
        popped.

        The lean path of a screen pop: the calls of the updates are read
        with one query, the parties of their numbers with one, the calls
        not written yet are inserted with one statement and marked as
        popped (with the notifications, in the caller's transaction), so
        that their ``ringing`` update, applied in order afterwards by
        ``ami_updates``, completes the call and pops it no second time —
        also when the listener replays it from its spool. The calls
        already popped are skipped."""
        batch = _Batch(cache)
        token = _batch.set(batch)
        try:
            records = cls._pop_records(server, updates, batch)
        finally:
            _batch.reset(token)
        if not records:
            return []
        popped = cls.screen_pops(records, batch.employee_users)
        return [c.id for c in popped]

    @classmethod
    def publish_ahead(cls, server, updates, cache=None, unwritten=None):
        """``pop_ahead`` in two steps, where there is a bus (PostgreSQL):
        the caller's transaction only reads what the pops show and sends
        their bus messages; the calls (with ids reserved now, as their
        notifications name them) and the notifications are returned, to be
        inserted by ``write_popped`` in a transaction of the caller's
        choosing — in a burst, once no call waits for its pop, and before
        any other update of these calls is applied (their ``ringing``
        update finds them popped). The pops of a burst then wait for no
        insert: the calls cost three times the reads and messages.

        ``unwritten`` ({user id: count}) are the notifications of earlier
        pops not written yet, counted in the messages' unread count.
        Returns the popped calls' ids and the rows to write."""
        batch = _Batch(cache)
        batch.deferred = {'calls': [], 'notifications': [],
            'unwritten': unwritten or {}}
        token = _batch.set(batch)
        try:
            records = cls._pop_records(server, updates, batch)
            popped = (cls.screen_pops(records, batch.employee_users)
                if records else [])
        finally:
            _batch.reset(token)
        # the calls of users no longer found are written all the same:
        # they are marked as handled, as pop_ahead inserts them
        return [c.id for c in popped], {
            'calls': batch.deferred['calls'],
            'notifications': batch.deferred['notifications'],
            }

    @classmethod
    def write_popped(cls, writes):
        """Insert the calls and notifications that ``publish_ahead``
        returned (PostgreSQL)"""
        Notification = Pool().get('res.notification')
        if writes['calls']:
            insert_arrays(cls._table, [('id', 'integer')] + POP_COLUMNS,
                writes['calls'], ['id'])
        if writes['notifications']:
            ids = [r[0] for r in insert_arrays(Notification._table,
                    NOTIFICATION_COLUMNS + [('unread', 'boolean')],
                    [[v[c] for c, _ in NOTIFICATION_COLUMNS] + [True]
                        for v in writes['notifications']], ['id'])]
            Transaction().create_records[Notification.__name__].extend(ids)

    @classmethod
    def _pop_records(cls, server, updates, batch):
        "The calls to pop, in the database, marked as popped"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        snapshots = {}
        for kind, call, timestamp, data in updates:
            if (kind == 'ringing' and call.get('direction') == 'inbound'
                    and call.get('linkedid') and call.get('extension')):
                snapshots.setdefault(call['linkedid'], (call, timestamp))
        existing = {}
        for sub in grouped_slice(list(snapshots), backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.linkedid, table.id,
                    table.screen_popped, table.employee, table.party,
                    where=(table.server == server.id)
                    & table.linkedid.in_(list(sub)),
                    order_by=[table.id.asc]))
            # the latest call of a linkedid, as _by_linkedid
            existing.update((r[0], r[1:]) for r in cursor)
        numbers = {l: cls._normalized(c.get('number') or '', server)
            for l, (c, _) in snapshots.items()}
        parties = cls._find_parties(
            {n for n in numbers.values() if n.startswith('+')})
        new, values, popped = [], [], []
        update = collections.defaultdict(list)
        company = server.company.id
        devices = {}
        for linkedid, (call, timestamp) in snapshots.items():
            device = call['extension']
            if device not in devices:
                ids = cls._extension_ids(server, device)
                devices[device] = ids if ids[1] is not None else None
            if not devices[device]:
                continue
            extension, employee = devices[device]
            row = existing.get(linkedid)
            if row and row[1]:
                continue
            employee = row[2] if row and row[2] else employee
            if not batch.cache_users(employee):
                continue
            party = parties.get(numbers[linkedid])
            if row:
                # what the in-order ringing update would set first
                update[extension, employee, party.id if party else None
                    ].append(row[0])
                popped.append(row[0])
                continue
            # what screen_pops reads: no read of the call is needed
            values.append((linkedid, dict(number=numbers[linkedid] or None,
                        party=party, employee=employee)))
            new.append([server.id, company, 'inbound', 'ringing',
                    to_datetime(call.get('start') or timestamp), linkedid,
                    linkedid, numbers[linkedid] or None,
                    party.id if party else None, extension, employee,
                    True])
        for (extension, employee, party), row_ids in update.items():
            for sub in grouped_slice(row_ids, backend.MAX_QUERY_PARAMS):
                cursor.execute(*table.update(
                        [table.screen_popped, table.extension,
                            table.employee, table.party],
                        [True, Coalesce(table.extension, extension),
                            Coalesce(table.employee, employee),
                            Coalesce(table.party, party)],
                        where=table.id.in_(list(sub))))
        if update:
            # as ModelStorage.write: the records read before are stale
            transaction = Transaction()
            transaction.counter += 1
            for cache in transaction.cache.values():
                for id_ in popped:
                    cache.get(cls.__name__, {}).pop(id_, None)
        ids = {}
        database = Transaction().database
        deferred = batch.deferred
        if new and deferred is not None:
            # inserted later by write_popped, with the ids reserved now
            reserved = database.nextid(
                Transaction().connection, cls._table, count=len(new))
            if len(new) == 1:
                reserved = [reserved]
            for id_, row in zip(reserved, new):
                ids[row[5]] = id_
                deferred['calls'].append([id_] + row)
        elif new and database.has_returning() and (
                backend.name == 'postgresql'):
            # values valid by construction, as below
            ids.update(insert_arrays(cls._table, POP_COLUMNS, new,
                    ['linkedid', 'id']))
        elif new:
            columns = [table.server, table.company, table.direction,
                table.state, table.start, table.linkedid, table.uniqueid,
                table.number, table.party, table.extension, table.employee,
                table.screen_popped]
            # values valid by construction: the validation of create
            # (reading the function fields back) would cost more than
            # the rest of the pop; the in-order update saves the call
            # through the ORM right after
            for sub in grouped_slice(new, 500):
                sub = list(sub)
                query = table.insert(
                    [table.create_uid, table.create_date] + columns,
                    [[Transaction().user, CurrentTimestamp()] + v
                        for v in sub])
                if database.has_returning():
                    query.returning = [table.linkedid, table.id]
                    cursor.execute(*query)
                else:
                    cursor.execute(*query)
                    cursor.execute(*table.select(table.linkedid,
                            Max(table.id),
                            where=(table.server == server.id)
                            & table.linkedid.in_([v[5] for v in sub]),
                            group_by=[table.linkedid]))
                ids.update(cursor)
        # the instances share the transaction's caches, as browse makes
        # them, and an employee instance each (a many2one set from an id
        # makes one a record)
        Employee = Pool().get('company.employee')
        shared = _shared_caches(cls)
        employees = {}
        records = cls.browse(popped)
        for linkedid, v in values:
            if v['employee'] not in employees:
                employees[v['employee']] = Employee(v['employee'])
            v['employee'] = employees[v['employee']]
            # the values of the record set as the ORM keeps them (a record
            # of the fields' values), without the many2one setters: the
            # instances are read, not saved
            record = cls(ids[linkedid], **shared)
            record._values = cls._record(**v)
            records.append(record)
        return records

    @classmethod
    def screen_pop(cls, call):
        """Notify the rep whose extension rings: a res.notification, sent to
        the web client over the bus (PostgreSQL only)."""
        if cls.screen_pops([call]):
            call.screen_popped = True
            call.save()

    @classmethod
    def screen_pops(cls, calls, employee_users=None):
        """Send the screen pops of saved calls; return those sent.

        Each user gets one notification per call. res.notification sends one
        bus message per user and creation, showing the first
        ``POP_MESSAGE_LINES`` notifications and folding the others into a
        count: a rep whose phone rang for more calls of the batch gets them
        in successive creations, so that every pop is shown.
        ``employee_users(call)`` returns the users to notify (default:
        ``call.employee_users()``)."""
        if employee_users is None:
            def employee_users(call):
                return call.employee_users()
        by_user = collections.defaultdict(list)
        popped = []
        for call in calls:
            if not call.employee:
                continue
            users = employee_users(call)
            for user in users:
                by_user[user.id].append(call)
            if users:
                popped.append(call)
        # read once a call: a field of a record costs a few calls
        targets = {}
        for call in popped:
            party = call.party
            targets[call] = (('party.party', str([party.id])) if party
                else (cls.__name__, str([call.id])))
        # the texts depend on the user only through the masking of the
        # numbers: they are built once for the users who see full numbers
        # and once for the others (a burst spread over many reps would
        # otherwise read the callers' lines once a rep)
        groups = collections.defaultdict(list)
        for user in by_user:
            with Transaction().set_user(user):
                groups[bool(cls.may_see_full_numbers())].append(user)
        texts = {}
        for users in groups.values():
            group_calls = list({c.id: c for u in users for c in by_user[u]
                    }.values())
            with Transaction().set_user(users[0]), \
                    Transaction().set_context(_check_access=False):
                # under a user of the group: the masking is theirs
                group_texts = cls.screen_pop_texts(group_calls)
            for user in users:
                for call in by_user[user]:
                    texts[user, call.id] = group_texts[call.id]
        rounds = []
        for user, user_calls in by_user.items():
            for i, call in enumerate(user_calls):
                i //= POP_MESSAGE_LINES
                if i == len(rounds):
                    rounds.append([])
                label, description = texts[user, call.id]
                model, records = targets[call]
                rounds[i].append({
                        'user': user,
                        'label': label[:250],
                        'description': description[:250],
                        'icon': 'tryton-public',
                        'model': model,
                        'records': records,
                        })
        cls._create_notifications(rounds)
        return popped

    @classmethod
    def _create_notifications(cls, rounds):
        """Create the notifications of screen pops, a list of values for
        each bus message a user gets; return their ids.

        Where there is a bus (PostgreSQL) they are all inserted with one
        query and each round is published as res.notification's
        ``on_modification`` publishes a creation (one message per user
        with the unread count and the texts), with one count query for
        all: the values built by ``screen_pops`` are valid by
        construction, and the validation of ``Notification.create``
        (reading every field of each notification back) costs more than
        the rest of a pop."""
        pool = Pool()
        Notification = pool.get('res.notification')
        transaction = Transaction()
        database = transaction.database
        if not (database.has_channel() and database.has_returning()):
            return [n.id for v in rounds for n in Notification.create(v)]
        vlist = [v for values in rounds for v in values]
        if not vlist:
            return []
        batch = _batch.get()
        deferred = batch.deferred if batch is not None else None
        if deferred is not None:
            # inserted later by write_popped: counted in the messages
            deferred['notifications'].extend(vlist)
            extra = collections.Counter(deferred['unwritten'])
            extra.update(v['user'] for v in vlist)
            cls._publish_pops(rounds, extra)
            return []
        columns = NOTIFICATION_COLUMNS
        ids = [r[0] for r in insert_arrays(Notification._table,
                columns + [('unread', 'boolean')],
                [[v[c] for c, _ in columns] + [True] for v in vlist],
                ['id'])]
        transaction.create_records[Notification.__name__].extend(ids)
        cls._publish_pops(rounds)
        return ids

    @classmethod
    def _publish_pops(cls, rounds, extra=None):
        """Publish each round of notifications as res.notification does;
        ``extra`` ({user: count}): unread notifications not inserted yet"""
        Notification = Pool().get('res.notification')
        table = Notification.__table__()
        cursor = Transaction().connection.cursor()
        users = list({v['user'] for values in rounds for v in values})
        counts = {}
        for sub in grouped_slice(users, backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.user, Count(),
                    where=table.user.in_(list(sub)) & table.unread,
                    group_by=[table.user]))
            counts.update(cursor)
        for user, count in (extra or {}).items():
            counts[user] = counts.get(user, 0) + count

        def shorten(text):
            # textwrap.shorten as res.notification, which only changes
            # the white space of a short text
            text = ' '.join(text.split())
            if len(text) <= 100:
                return text
            return textwrap.shorten(text, width=100, placeholder="...")
        messages = []
        for values in rounds:
            by_user = collections.defaultdict(list)
            for v in values:
                by_user[v['user']].append('\n'.join(map(shorten,
                            filter(None, (v['label'], v['description'])))))
            for user, content in by_user.items():
                # at most POP_MESSAGE_LINES a user: none is folded
                messages.append((f'notification:{user}', {
                            'type': 'user-notification',
                            'count': counts.get(user, 0),
                            'content': content,
                            }))
        cls._publish_all(messages)

    @classmethod
    def _publish_all(cls, messages):
        """Publish (channel, message) pairs on the bus in one statement:
        the payloads of ``Bus.publish``, sent together instead of one
        ``pg_notify`` round trip a message (a burst of calls to one rep
        makes hundreds); PostgreSQL delivers them in order at commit"""
        transaction = Transaction()
        if len(messages) < 2:
            for channel, message in messages:
                Bus.publish(channel, message)
            return
        payloads = []
        for channel, message in messages:
            message['message_id'] = str(uuid.uuid4())
            payloads.append(json.dumps({
                        'channel': channel,
                        'message': message,
                        }, cls=JSONEncoder, separators=(',', ':')))
        cursor = transaction.connection.cursor()
        # the payloads as one JSON array: psycopg escapes a text[] item by
        # item in Python
        cursor.execute('SELECT count(pg_notify(%s, p)) '
            'FROM json_array_elements_text(%s::json) AS p',
            (Bus._channel, json.dumps(payloads, separators=(',', ':'))))

    @classmethod
    def screen_pop_texts(cls, calls):
        """{call id: (label, description)} shown to the current user for
        calls browsed together; the lines of the known callers come from
        ``screen_pops_lines``, read for all of them at once"""
        full = cls.may_see_full_numbers()
        # the fields of each call read once
        values = [(c, c.id, c.number, c.party) for c in calls]
        parties = cls._pop_parties(
            list({p.id for _, _, _, p in values if p}))
        lines = cls.screen_pops_lines([c for c, _, _, p in values if p],
            parties)
        # the translated texts once for all the calls (gettext without
        # variables returns the text to format)
        known = gettext('pbx_connector.msg_pop_known')
        unknown = gettext('pbx_connector.msg_pop_unknown')
        hint = gettext('pbx_connector.msg_pop_unknown_hint')
        texts = {}
        for call, id_, number, party in values:
            number = number or ''
            if not full:
                number = cls.mask(number) if number else number
            if party:
                label = known % {
                    'party': parties[party.id].rec_name,
                    'number': number,
                    }
                # a notification's description is a one-line Char
                texts[id_] = label, ' | '.join(lines.get(id_, []))
            else:
                texts[id_] = unknown % {'number': number}, hint
        return texts

    @classmethod
    def _pop_parties(cls, party_ids):
        """{id: party} of the callers, with the name and code (what their
        ``rec_name`` reads) from one query of these two columns: a party
        browsed reads all its fields at once (with the suite, dozens), and
        that was a fifth of the work of a pop. A hook reading another
        field of these parties reads it as usual."""
        Party = Pool().get('party.party')
        shared = _shared_caches(Party)
        parties = {}
        for row in Party.read(party_ids, ['name', 'code']):
            party = Party(row['id'], **shared)
            # the values as the ORM keeps them, without the setters
            party._values = Party._record(name=row['name'],
                code=row['code'])
            # rec_name read through the ORM would read the party again
            party._values.rec_name = party.get_rec_name('rec_name')
            parties[row['id']] = party
        return parties

    def screen_pop_text(self):
        "(label, description) shown to the rep"
        return self.screen_pop_texts([self])[self.id]

    @classmethod
    def screen_pops_lines(cls, calls, parties):
        """Hook: {call id: [line]} describing the known caller of each
        call (telesales_pipeline: stage, owner, follow-ups, reminders);
        set-based, the calls of a batch come together with their
        ``parties`` ({id: party} browsed together)"""
        return {c.id: [] for c in calls}

    def screen_pop_lines(self):
        "The lines of this call alone (see ``screen_pops_lines``)"
        if not self.party:
            return []
        return self.screen_pops_lines([self],
            {self.party.id: self.party})[self.id]


class CallReview(MaskedExportMixin, ModelSQL, ModelView):
    __string__ = "Call Recording Quality Check"
    __name__ = 'pbx.call.review'
    call = fields.Many2One('pbx.call', "Call", required=True,
        ondelete='CASCADE')
    reviewer = fields.Many2One('company.employee', "Reviewer", readonly=True)
    date = fields.DateTime("Date", required=True)
    score = fields.Integer("Score", required=True,
        help="From 0 to 100.")
    notes = fields.Text("Notes")

    @classmethod
    def default_date(cls):
        return dt.datetime.utcnow()

    @classmethod
    def default_reviewer(cls):
        User = Pool().get('res.user')
        employee = User(Transaction().user).employee
        return employee.id if employee else None

    @classmethod
    def check_modification(cls, mode, reviews, values=None, external=False):
        "A quality check is recorded in the name of its reviewer"
        super().check_modification(
            mode, reviews, values=values, external=external)
        if not external:
            return
        if mode == 'write' and 'reviewer' in (values or {}):
            raise protected_error(cls, 'reviewer')
        elif mode == 'create':
            reviewer = cls.default_reviewer()
            for review in reviews:
                if (review.reviewer.id if review.reviewer else None
                        ) != reviewer:
                    raise protected_error(cls, 'reviewer')

    @classmethod
    def validate_fields(cls, reviews, field_names):
        super().validate_fields(reviews, field_names)
        if 'score' in field_names:
            for review in reviews:
                if not 0 <= review.score <= 100:
                    raise ScoreError(gettext('pbx_connector.msg_score_range',
                            score=review.score))


class CallStatistics(MaskedExportMixin, ModelSQL, ModelView):
    __string__ = "Call Statistics"
    __name__ = 'pbx.call.statistics'
    date = fields.Date("Date")
    employee = fields.Many2One('company.employee', "Employee")
    company = fields.Many2One('company.company', "Company")
    calls = fields.Integer("Calls")
    outbound = fields.Integer("Outbound")
    inbound = fields.Integer("Inbound")
    answered = fields.Integer("Answered")
    talk_time = fields.Integer("Talk Time (s)")
    talk_minutes = fields.Function(fields.Float("Talk Time (min)",
            digits=(16, 1)), 'get_talk_minutes')
    answer_rate = fields.Function(fields.Float("Answer Rate (%)",
            digits=(5, 1)), 'get_answer_rate')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('employee', 'ASC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        call = pool.get('pbx.call').__table__()
        date = cls.date.sql_cast(call.start)
        answered = Case((call.disposition == 'answered', 1), else_=0)
        row_id = Min(call.id)
        return call.select(
            row_id.as_('id'),
            date.as_('date'),
            call.employee.as_('employee'),
            call.company.as_('company'),
            Count(call.id).as_('calls'),
            Sum(Case((call.direction == 'outbound', 1), else_=0)).as_(
                'outbound'),
            Sum(Case((call.direction == 'inbound', 1), else_=0)).as_(
                'inbound'),
            Sum(answered).as_('answered'),
            Sum(Case((call.duration != Null, call.duration), else_=0)).as_(
                'talk_time'),
            where=(call.state == 'ended') & (call.start != Null),
            group_by=[date, call.employee, call.company])

    def get_talk_minutes(self, name):
        return round((self.talk_time or 0) / 60, 1)

    def get_answer_rate(self, name):
        if not self.calls:
            return 0.0
        return round(100.0 * (self.answered or 0) / self.calls, 1)


class CreatePartyStart(ModelView):
    __string__ = "Create Customer from Call"
    __name__ = 'pbx.call.create_party.start'
    name = fields.Char("Name", required=True)
    number = fields.Char("Number", readonly=True)


class CreateParty(Wizard):
    "Create Customer from Call"
    __name__ = 'pbx.call.create_party'
    start = StateView('pbx.call.create_party.start',
        'pbx_connector.call_create_party_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Create", 'create_', 'tryton-ok', default=True),
            ])
    create_ = StateAction('party.act_party_form')

    def default_start(self, fields):
        return {
            'name': gettext('pbx_connector.msg_new_customer_name',
                number=self.record.number_display or ''),
            'number': self.record.number_display,
            }

    def do_create_(self, action):
        pool = Pool()
        Party = pool.get('party.party')
        call = self.record
        party = Party(name=self.start.name, contact_mechanisms=[{
                    'type': 'mobile' if self._is_mobile(call.number)
                    else 'phone',
                    'value': call.number,
                    }])
        party.save()
        call.party = party
        call.save()
        action['res_id'] = [party.id]
        action['views'].reverse()
        return action, {}

    @staticmethod
    def _is_mobile(number):
        if not phonenumbers or not number:
            return False
        try:
            parsed = phonenumbers.parse(number)
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.number_type(parsed) == (
            phonenumbers.PhoneNumberType.MOBILE)
