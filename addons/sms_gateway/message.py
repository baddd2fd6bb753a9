# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import json
import logging
import time
import uuid
from collections import defaultdict



from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from sql import Column, Literal
from sql.aggregate import Count

from trytond import backend
from trytond import config
from trytond.tools import grouped_slice
from trytond.model.fields import SQL_OPERATORS
from trytond.model.modelstorage import local_cache
from trytond.transaction import Transaction, without_check_access

from . import providers
from .masking import MaskedNumberMixin, protected_error
from .phone import check_mobile, mask_number
from .template import MESSAGE_KINDS

logger = logging.getLogger(__name__)

STATES = [
    ('queued', "Queued"),
    ('sending', "Sending"),
    ('sent', "Sent"),
    ('delivered', "Delivered"),
    ('failed', "Failed"),
    ('refused', "Refused"),
    ('cancelled', "Cancelled"),
    ]
# the states a final delivery report leaves; intermediate reports keep them
FINAL_REPORTED = {'delivered', 'failed'}
IN_MAX = backend.MAX_QUERY_PARAMS // 2
# "= ANY(array)" on PostgreSQL: one parameter instead of one per value
IN = SQL_OPERATORS['in']
CHUNK = 500
# a message "sending" for longer than this had its worker stopped
STALE_SENDING = dt.timedelta(minutes=15)


def _id_or_none(value):
    return None if value is None else int(value)


def _dict_format(field):
    """The JSON value of the Dict ``field`` for a JSON document: what its
    ``sql_format`` stores, without a dump and a load per message when the
    values are strings (rendered parameters)"""
    def format_(value):
        if field.schema_model is None and all(
                isinstance(v, str) for v in value.values()):
            return {k: value[k] for k in sorted(value)}
        return json.loads(field.sql_format(value))
    return format_


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(value)


class Message(MaskedNumberMixin, Workflow, ModelSQL, ModelView):
    __string__ = "SMS Message"
    __name__ = 'sms.message'
    _rec_name = 'number'
    _masked_numbers = {'number'}
    _masked_texts = {'text', 'error', 'status_detail'}
    _states = {'readonly': Eval('state') != 'queued'}

    party = fields.Many2One(
        'party.party', "Party", ondelete='SET NULL', states=_states)
    number = fields.Char(
        "Number", required=True, states=_states,
        help="The recipient in international format (E.164).")
    gateway = fields.Many2One(
        'sms.gateway', "Gateway", ondelete='RESTRICT', states=_states)
    template = fields.Many2One(
        'sms.template', "Template", ondelete='SET NULL', states=_states)
    kind = fields.Selection(
        MESSAGE_KINDS, "Kind", required=True, states=_states)
    text = fields.Text("Text", states=_states)
    params = fields.Dict(None, "Template Parameters", readonly=True)
    state = fields.Selection(STATES, "State", readonly=True, required=True)
    scheduled_at = fields.DateTime(
        "Send At", states=_states,
        help="Not before this time (scheduled sends, quiet hours, retries).")
    dispatched_at = fields.Timestamp("Dispatched At", readonly=True)
    attempts = fields.Integer("Attempts", readonly=True)
    sent_at = fields.DateTime("Sent At", readonly=True)
    delivered_at = fields.DateTime("Delivered At", readonly=True)
    provider_id = fields.Char("Gateway ID", readonly=True)
    status_detail = fields.Char("Delivery Report", readonly=True)
    error = fields.Char("Reason", readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    event_key = fields.Char(
        "Event Key", readonly=True,
        help="Set by event messages so one event is sent once.")
    employee = fields.Many2One(
        'company.employee', "Sent By", readonly=True, ondelete='SET NULL',
        help="The employee who sent the message; a message to no customer "
        "belongs to him.")

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    (t.scheduled_at, Index.Range())),
                Index(t, (t.provider_id, Index.Equality())),
                Index(t, (t.event_key, Index.Equality())),
                Index(t, (t.number, Index.Equality())),
                Index(t, (t.party, Index.Equality())),
                Index(t, (t.employee, Index.Equality())),
                })
        cls._sql_constraints += [
            ('event_key_unique', Unique(t, t.event_key),
                'sms_gateway.msg_message_event_unique'),
            ]
        cls._order.insert(0, ('id', 'DESC'))
        cls._transitions |= {
            ('queued', 'cancelled'),
            ('failed', 'queued'),
            }
        cls._buttons.update({
                'cancel': {
                    'invisible': Eval('state') != 'queued',
                    'depends': ['state'],
                    },
                'retry': {
                    'invisible': ~Eval('state').in_(['failed', 'queued']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_kind(cls):
        return 'notification'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def _get_origin(cls):
        "Hook: the models that can be the origin of a message"
        return ['sms.trigger']

    # numbers (X-06) ----------------------------------------------------

    @classmethod
    def may_see_full_numbers(cls):
        "Hook: whether the user sees full numbers (telesales_pipeline)"
        return True

    @classmethod
    def mask(cls, number):
        "Hook: a number as users without full numbers see it"
        return mask_number(number)

    @classmethod
    def check_modification(cls, mode, messages, values=None, external=False):
        # the sending, the delivery reports and the buttons write the
        # messages; no client writes them, whatever the access rights
        super().check_modification(
            mode, messages, values=values, external=external)
        if external and mode == 'write' and values:
            raise protected_error(cls, sorted(values)[0])

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        models = cls._get_origin()
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in models]

    # -- building messages -------------------------------------------------

    @classmethod
    def prepare(cls, parties=(), numbers=(), template=None, text=None,
            kind=None, gateway=None, scheduled_at=None, values=None,
            origin=None, event_key=None, employee=None):
        """Unsaved messages to ``parties`` (their mobile number) and to
        typed ``numbers``, rendered from ``template`` or ``text``, sent by
        ``employee`` (None for the system's event messages).

        Recipients without a valid mobile number or opted out of marketing
        get a message in state *refused* with the reason, so nothing is
        silently dropped. ``values`` are extra merge values (a dict, or a
        ``{party id: dict}`` mapping when ``per_party`` keys are ints)."""
        common, rows = cls._prepare_values(
            parties=parties, numbers=numbers, template=template, text=text,
            kind=kind, gateway=gateway, scheduled_at=scheduled_at,
            values=values, origin=origin, event_key=event_key,
            employee=employee)
        # the values shared by all messages are converted by the fields
        # once; the others are of the fields' types already (a bulk send
        # spent a fifth of its time building instances)
        prototype = dict(cls(**common)._values._items())
        transaction = Transaction()
        shared = {
            '_local_cache': local_cache(cls, transaction),
            '_transaction_cache': transaction.get_cache(),
            '_transaction': transaction,
            }
        record = cls._record
        messages = []
        for row in rows:
            message = cls(**shared)
            message._values = record(**{**prototype, **row})
            messages.append(message)
        return messages

    @classmethod
    def _prepare_values(cls, parties=(), numbers=(), template=None,
            text=None, kind=None, gateway=None, scheduled_at=None,
            values=None, origin=None, event_key=None, employee=None):
        """The field values of the messages :meth:`prepare` returns: those
        common to all and, for each message, its own"""
        pool = Pool()
        Template = pool.get('sms.template')
        Configuration = pool.get('sms.configuration')
        config = Configuration(1)
        gateway = config.get_gateway(gateway)
        kind = kind or (template.kind if template else 'notification')
        region = config.region
        parties = list(parties)
        merge = Template.get_merge_values(parties, values)
        recipients = list(cls._party_numbers(parties, region))
        recipients += [(None, n) for n in numbers]
        checks = {}
        checked = []
        for party, raw in recipients:
            check = checks.get(raw)
            if check is None:
                check = checks[raw] = check_mobile(raw, region)
            checked.append((party, raw) + check)
        marketing = kind == 'marketing'
        valid = {e for _, _, e, _ in checked if e} if marketing else ()
        opted_out = cls._opted_out(valid) if marketing else ()
        if marketing and config.rate_limit:
            # marketing messages each number already had in the period;
            # counted up as this batch takes its share
            received = cls._recent_marketing(valid, config.rate_period)
            rate_limit = config.rate_limit
        else:
            received = None
        render = template.renderer() if template else None
        common = {
            'kind': kind, 'gateway': gateway, 'template': template,
            'origin': origin, 'event_key': event_key,
            'scheduled_at': scheduled_at, 'attempts': 0, 'state': 'queued',
            'employee': employee,
            }
        if not render:
            common['text'] = text
        default = merge[None]
        result = []
        for party, raw, e164, reason in checked:
            message = {
                'party': party, 'number': e164 or (raw or '')[:40]}
            if render:
                data = (merge.get(party.id) if party else None) or default
                message['text'], message['params'] = render(data)
            if reason:
                message['state'], message['error'] = 'refused', gettext(
                    'sms_gateway.msg_number_%s' % reason, number=raw or '')
            elif e164 in opted_out:
                message['state'], message['error'] = 'refused', gettext(
                    'sms_gateway.msg_opted_out', number=e164)
            elif received is not None and received[e164] >= rate_limit:
                message['state'], message['error'] = 'refused', gettext(
                    'sms_gateway.msg_rate_limited', number=e164,
                    count=received[e164], hours=config.rate_period)
            elif not gateway:
                message['state'], message['error'] = 'refused', gettext(
                    'sms_gateway.msg_no_gateway')
            if received is not None and 'state' not in message:
                received[e164] += 1
            result.append(message)
        return common, result

    @classmethod
    def _recent_marketing(cls, numbers, hours):
        "Count of marketing messages per number in the last hours"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        since = dt.datetime.now() - dt.timedelta(hours=hours)
        result = defaultdict(int)
        for sub in grouped_slice(list(numbers), IN_MAX):
            cursor.execute(*table.select(
                    table.number, Count(table.id),
                    where=IN(table.number, list(sub))
                    & (table.kind == 'marketing')
                    & table.state.in_(
                        ['queued', 'sending', 'sent', 'delivered'])
                    & (table.create_date >= since),
                    group_by=[table.number]))
            result.update(cursor)
        return result

    @classmethod
    def _party_numbers(cls, parties, region):
        """Yield ``(party, raw number)``: each party's first active mobile
        number (or phone when it has none), ``''`` when it has neither.

        Read with SQL: a bulk send reaches every customer of a list, and
        browsing their contact mechanisms cost half of the preparation.
        The parties themselves were read under the user's rules."""
        ContactMechanism = Pool().get('party.contact_mechanism')
        table = ContactMechanism.__table__()
        cursor = Transaction().connection.cursor()
        found = {}
        for sub in grouped_slice([p.id for p in parties], IN_MAX):
            cursor.execute(*table.select(
                    table.party, table.type, table.value_compact,
                    table.value,
                    where=IN(table.party, list(sub))
                    & table.type.in_(['mobile', 'phone'])
                    & (table.active == Literal(True)),
                    order_by=[table.party.asc, table.sequence.asc.nulls_first,
                        table.id.asc]))
            for party, type_, compact, value in cursor:
                best = found.get(party)
                if best is None or (best[0] != 'mobile' and type_ == 'mobile'):
                    found[party] = (type_, compact or value)
        for party in parties:
            best = found.get(party.id)
            yield party, best[1] if best else ''

    @classmethod
    def _opted_out(cls, numbers):
        "The ``numbers`` on the opt-out list"
        OptOut = Pool().get('sms.opt_out')
        table = OptOut.__table__()
        cursor = Transaction().connection.cursor()
        result = set()
        for sub in grouped_slice(list(numbers), IN_MAX):
            cursor.execute(*table.select(table.number,
                    where=IN(table.number, list(sub))))
            result.update(n for n, in cursor)
        return result

    @classmethod
    def queue(cls, messages):
        "Save ``messages`` and hand the ready ones to the queue"
        if len(messages) > CHUNK and cls._can_bulk_create():
            ids, due = cls._bulk_create(messages)
            cls._enqueue(due)
            # the messages become the stored records, as save() does
            group, cache = [], local_cache(cls, Transaction())
            for message, id_ in zip(messages, ids):
                message._id = id_
                message._values = message._init_values = None
                message._deleted = message._removed = None
                message._ids, message._local_cache = group, cache
                group.append(id_)
        else:
            cls.save(messages)
            for sub in grouped_slice(messages, CHUNK):
                cls.dispatch(list(sub))
        return messages

    @classmethod
    def _bulk_fields(cls):
        return ['party', 'number', 'gateway', 'template', 'kind', 'text',
            'params', 'state', 'scheduled_at', 'attempts', 'error', 'origin',
            'event_key', 'employee']

    @classmethod
    def _can_bulk_create(cls):
        """Whether :meth:`_bulk_create` does what ``create`` would: on
        PostgreSQL, when no record rule or trigger watches the creation of
        messages"""
        if backend.name != 'postgresql':
            return False
        pool = Pool()
        Rule = pool.get('ir.rule')
        Trigger = pool.get('ir.trigger')
        with without_check_access():
            triggers = Trigger.get_triggers(cls.__name__, 'create')
        return not triggers and not Rule.domain_get(
            cls.__name__, mode='create')

    @classmethod
    def _bulk_create(cls, messages, now=None):
        """Insert many prepared messages; return their ids in order and the
        ids of those due now, stamped as dispatched.

        Bulk sends are built by :meth:`prepare`, which already checked every
        value; the ORM's create of one message costs many times more. The
        create access is checked; :meth:`_can_bulk_create` says when the
        ORM is needed. The rows travel as one JSON document per 10,000
        messages: a VALUES list or arrays of that size cost more to build
        in Python than the insert costs PostgreSQL."""
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        ModelAccess.check(cls.__name__, 'create')
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        now = now or dt.datetime.now()
        names = cls._bulk_fields()
        formats = {}
        for name in names:
            field = cls._fields[name]
            if field._type in {'many2one', 'one2one'}:
                formats[name] = _id_or_none
            elif field._type == 'dict':
                formats[name] = _dict_format(field)
            elif field._type in {'reference', 'datetime', 'timestamp'}:
                formats[name] = field.sql_format
        plain = [n for n in names if n not in formats]
        formats = list(formats.items())
        user = transaction.user
        rows, due = [], []
        for index, message in enumerate(messages):
            values = message._values
            row = {n: getattr(values, n, None) for n in plain}
            for name, format_ in formats:
                value = getattr(values, name, None)
                row[name] = format_(value) if value is not None else None
            if row['state'] == 'queued' and (
                    not row['scheduled_at'] or row['scheduled_at'] <= now):
                row['dispatched_at'] = now
                due.append(index)
            row['create_uid'] = user
            row['create_date'] = now
            rows.append(row)
        columns = ', '.join('"%s"' % n for n in names + [
                'dispatched_at', 'create_uid', 'create_date', 'id'])
        query = ('INSERT INTO "%(table)s" (%(columns)s) '
            'SELECT %(columns)s FROM json_populate_recordset('
            'NULL::"%(table)s", %%s::json)' % {
                'table': cls._table, 'columns': columns})
        cursor.execute('SELECT pg_get_serial_sequence(%s, %s)',
            ('"%s"' % cls._table, 'id'))
        sequence, = cursor.fetchone()
        ids = []
        for sub in grouped_slice(rows, 10000):
            sub = list(sub)
            cursor.execute('SELECT nextval(%s::regclass) '
                'FROM generate_series(1, %s)', (sequence, len(sub)))
            sub_ids = [i for i, in cursor]
            for row, id_ in zip(sub, sub_ids):
                row['id'] = id_
            cursor.execute(query, (json.dumps(
                        sub, separators=(',', ':'), default=_json_default),))
            ids.extend(sub_ids)
        transaction.counter += 1
        transaction.create_records[cls.__name__].extend(ids)
        cls._count_cache.set(cls.__name__, None)
        return ids, [ids[i] for i in due]

    # -- the queue ---------------------------------------------------------

    @classmethod
    def dispatch(cls, messages, now=None):
        """Enqueue the queued messages that are due; later ones wait for
        the dispatch cron."""
        now = now or dt.datetime.now()
        due = [m for m in messages if m.state == 'queued'
            and (not m.scheduled_at or m.scheduled_at <= now)]
        if not due:
            return
        cls.write(due, {'dispatched_at': now})
        cls._enqueue(due)

    @classmethod
    def _enqueue(cls, messages):
        """Queue task ``process`` for ``messages`` (records or ids), in
        batches of :meth:`_queue_batch` when a worker runs them"""
        Queue = Pool().get('ir.queue')
        ids = list(map(int, messages))
        if not ids:
            return []
        # the host's __queue__ makes the tasks; they are created together
        with Queue.pushed_together() as task_ids, \
                Transaction().set_context(
                    queue_name='sms', queue_batch=cls._queue_batch()):
            cls.__queue__.process(ids)
        return task_ids

    @classmethod
    def _queue_batch(cls):
        return 50

    @classmethod
    def dispatch_due(cls):
        """Cron: enqueue scheduled messages that became due and messages
        whose queue task was lost; fail the stale *sending* ones"""
        now = dt.datetime.now()
        cls._fail_stale(now)
        lost = now - dt.timedelta(minutes=30)
        messages = cls.search([
                ('state', '=', 'queued'),
                ['OR',
                    ('scheduled_at', '=', None),
                    ('scheduled_at', '<=', now)],
                ], order=[('id', 'ASC')])
        # enqueued once already unless the task was lost or the message was
        # rescheduled (retry, quiet hours) after it was enqueued
        messages = [m for m in messages if not m.dispatched_at
            or m.dispatched_at < lost
            or (m.scheduled_at and m.dispatched_at < m.scheduled_at)]
        cls.dispatch(messages, now=now)

    @classmethod
    def _fail_stale(cls, now):
        stale = cls.search([
                ('state', '=', 'sending'),
                ('write_date', '<', now - STALE_SENDING),
                ])
        languages, by_language = {}, defaultdict(list)
        for message in stale:
            by_language[cls._sender_language(message, languages)].append(
                message)
        for language, messages in by_language.items():
            with Transaction().set_context(language=language):
                cls.write(messages, {
                        'state': 'failed',
                        'error': gettext('sms_gateway.msg_outcome_unknown'),
                        })

    @classmethod
    def process(cls, messages):
        """Queue task: send ``messages`` at most once each.

        The messages are first claimed (state *sending*) and the claim is
        committed before any request leaves: if the worker dies after the
        gateway accepted a message, a retried task finds it *sending* and
        does not send it again."""
        pool = Pool()
        Configuration = pool.get('sms.configuration')
        config = Configuration(1)
        now = dt.datetime.now()
        messages = cls._defer_quiet(messages, config, now)
        claimed = cls._claim(messages, now)
        if not claimed:
            return
        outcomes = defaultdict(list)
        sent = []
        transaction = Transaction()
        languages = {}
        refused = cls._refuse_before_send(claimed, languages)
        for message in claimed:
            if message.id in refused:
                state, values = 'refused', refused[message.id]
            else:
                # the reason is read by the sender: written in his language
                # (a scheduled message is sent by the cron, as root)
                with transaction.set_context(
                        language=cls._sender_language(message, languages)):
                    state, values = message._transmit(config)
            if state == 'sent':
                sent.append(message)
            outcomes[tuple(sorted(values.items()))].append(message)
        written = cls._record_outcomes(outcomes)
        if sent:
            cls._on_sent(sent)
        for message in claimed:
            if written.get(message.id) == 'queued':
                cls._retry_later(message)

    @classmethod
    def _sender_language(cls, message, cache):
        "The code of the language of the user who made message"
        user = message.create_uid
        key = user.id if user else None
        if key not in cache:
            if user and user.language:
                cache[key] = user.language.code
            else:
                cache[key] = Pool().get(
                    'ir.configuration').get_language()
        return cache[key]

    @classmethod
    def _refuse_before_send(cls, messages, languages):
        """``{id: values}`` of the claimed ``messages`` not to send after
        all: marketing messages to numbers opted out since they were
        prepared (scheduled or deferred by the quiet hours)"""
        numbers = {m.number for m in messages if m.kind == 'marketing'}
        opted_out = cls._opted_out(numbers) if numbers else ()
        refused = {}
        for message in messages:
            if message.kind == 'marketing' and message.number in opted_out:
                with Transaction().set_context(language=cls._sender_language(
                            message, languages)):
                    refused[message.id] = {
                        'state': 'refused', 'provider_id': None,
                        'error': gettext('sms_gateway.msg_opted_out_since',
                            number=message.number)}
        return refused

    @classmethod
    def _record_outcomes(cls, outcomes):
        """Write and commit the gateway's answers ``{values: messages}``;
        return ``{id: state}`` after the write.

        A delivery report can reach the status route, and be committed,
        before the task writes the answer: the report's state then stays
        and only ``sent_at`` and ``provider_id`` are written (the updates
        test the state, so ``ir.trigger`` on write does not see them, as
        for the claim). A write that collides with a report being
        committed is tried again in a new transaction rather than failing
        the task, which left the messages *sending* though the gateway had
        them. Messages with the same
        answer are written together (one write each cost as much as the
        request to the gateway)."""
        transaction = Transaction()
        retry = config.getint('database', 'retry')
        ids = [m.id for ms in outcomes.values() for m in ms]
        count = 0
        while True:
            # a new snapshot: the reports committed while sending
            cls._commit_claim()
            try:
                written = cls._write_outcomes(outcomes, ids)
                cls._commit_claim()
                return written
            except backend.DatabaseOperationalError:
                if count >= retry:
                    raise
                transaction.rollback()
                cls._invalidate(ids)
                count += 1
                time.sleep(0.02 * count)

    @classmethod
    def _write_outcomes(cls, outcomes, ids):
        """Write the answers with SQL updates that test the state in the
        same statement (a report committed between a read and the write
        was overwritten on SQLite); return ``{id: state}`` after them"""
        transaction = Transaction()
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        now = dt.datetime.now()

        def update(values, where):
            columns = [Column(table, n) for n in values] + [
                table.write_uid, table.write_date]
            cursor.execute(*table.update(columns,
                    [cls._fields[n].sql_format(v) for n, v in values.items()]
                    + [transaction.user, now], where=where))
        for values, messages in outcomes.items():
            values = dict(values)
            # what a delivery report that came first leaves to the answer
            kept = {n: v for n, v in values.items()
                if n in {'sent_at', 'provider_id'}}
            for sub in grouped_slice([m.id for m in messages], IN_MAX):
                where = IN(table.id, list(sub))
                update(values, where & (table.state == 'sending'))
                if kept:
                    update(kept, where & (table.state != 'sending'))
        cls._invalidate(ids)
        states = {}
        for sub in grouped_slice(ids, IN_MAX):
            cursor.execute(*table.select(table.id, table.state,
                    where=IN(table.id, list(sub))))
            states.update(cursor)
        return states

    @classmethod
    def _defer_quiet(cls, messages, config, now):
        """Return the messages due now; move marketing messages out of the
        quiet hours"""
        until = config.quiet_until(now)
        ready = []
        due = now + dt.timedelta(seconds=1)
        for message in messages:
            # without a worker a task runs at once, whatever its schedule
            if message.state != 'queued' or (
                    message.scheduled_at and message.scheduled_at > due):
                continue
            if until and message.kind == 'marketing':
                cls.write([message], {'scheduled_at': until})
                cls._enqueue_at(message, until)
            else:
                ready.append(message)
        return ready

    @classmethod
    def _claim(cls, messages, now):
        "Mark the queued ``messages`` as sending and commit; return them"
        transaction = Transaction()
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        token = uuid.uuid4().hex
        ids = [m.id for m in messages]
        for sub in grouped_slice(ids, IN_MAX):
            cursor.execute(*table.update(
                    [table.state, table.attempts, table.provider_id,
                        table.write_date],
                    ['sending', table.attempts + 1, token, now],
                    where=table.id.in_(list(sub))
                    & (table.state == 'queued')))
        claimed = []
        for sub in grouped_slice(ids, IN_MAX):
            cursor.execute(*table.select(table.id, where=table.id.in_(
                        list(sub)) & (table.provider_id == token)))
            claimed.extend(i for i, in cursor)
        cls._invalidate(ids)
        cls._commit_claim()
        claimed = set(claimed)
        return cls.browse([i for i in ids if i in claimed])

    @classmethod
    def _invalidate(cls, ids):
        "Drop the cached values of records updated in SQL"
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            if cls.__name__ in cache:
                for id_ in ids:
                    cache[cls.__name__].pop(id_, None)

    @classmethod
    def _commit_claim(cls):
        Transaction().commit()

    def _transmit(self, config):
        "Send through the gateway; return the new state and values"
        # to the second, as stored: the messages of a task sent in the same
        # second are written together
        now = dt.datetime.now().replace(microsecond=0)
        gateway = self.gateway
        values = {'provider_id': None, 'error': None}
        if not gateway or not gateway.active:
            return 'failed', {**values, 'state': 'failed',
                'error': gettext('sms_gateway.msg_no_gateway')}
        outgoing = providers.Outgoing(
            reference=str(self.id), to=self.number, text=self.text or '',
            sender=gateway.sender or '',
            template_code=(self.template.provider_code or '')
            if self.template else '',
            params=self._provider_params(),
            callback_url=gateway.status_url(ref=self.id))
        try:
            result = gateway.get_client().send(outgoing)
        except providers.TransientError as exc:
            logger.info('SMS %s: gateway unreachable: %s', self.id, exc)
            if self.attempts >= config.max_attempts:
                return 'failed', {**values, 'state': 'failed', 'error': gettext(
                        'sms_gateway.msg_gateway_down_final',
                        attempts=self.attempts, reason=self._reason(exc))}
            return 'queued', {**values, 'state': 'queued',
                'scheduled_at': now + config.backoff(self.attempts),
                'error': gettext('sms_gateway.msg_gateway_down',
                    attempts=self.attempts, reason=self._reason(exc))}
        except providers.UncertainError as exc:
            logger.warning('SMS %s: outcome unknown: %s', self.id, exc)
            return 'failed', {**values, 'state': 'failed', 'error': gettext(
                    'sms_gateway.msg_outcome_unknown')}
        except providers.RejectedError as exc:
            return 'failed', {**values, 'state': 'failed', 'error': gettext(
                    'sms_gateway.msg_gateway_rejected',
                    code=exc.code or '', reason=str(exc)[:200])}
        return 'sent', {**values, 'state': 'sent', 'provider_id': result.provider_id or None,
            'sent_at': now, 'status_detail': result.detail[:200] or None}

    @staticmethod
    def _reason(exc):
        "Why the gateway could not be reached, in the user's words"
        if exc.code and exc.code.isdigit():
            return gettext('sms_gateway.msg_reason_http', status=exc.code)
        return gettext('sms_gateway.msg_reason_network')

    def _provider_params(self):
        """The template parameters in the order of the template's provider
        parameters: ``params`` is stored with sorted keys and Tencent's
        TemplateParamSet is positional"""
        params = dict(self.params or {})
        names = self.template.param_names() if self.template else []
        ordered = {name: params.pop(name) for name in names if name in params}
        ordered.update(params)
        return ordered

    @classmethod
    def _retry_later(cls, message):
        cls._enqueue_at(message, message.scheduled_at)

    @classmethod
    def _enqueue_at(cls, message, when):
        now = dt.datetime.now()
        cls.write([message], {'dispatched_at': now})
        delay = max(when - now, dt.timedelta(0))
        with Transaction().set_context(
                queue_name='sms', queue_scheduled_at=delay):
            cls.__queue__.process([message])

    @classmethod
    def _on_sent(cls, messages):
        "Hook called with the messages the gateway accepted"
        pass

    # -- delivery reports --------------------------------------------------

    @classmethod
    def record_status(cls, gateway, reference, state, detail):
        """Apply a delivery report; ``reference`` is the message id (Kannel)
        or the gateway's id (Twilio). Return the message or None.

        The report is written only while the message is still in the state
        it was decided from: an ``UPDATE … WHERE state = <read state>``
        takes the row (PostgreSQL) or the database (SQLite) write lock
        before the ORM write, and when another report changed the state
        since it was read, the state is read again under that lock. On
        SQLite a transaction only takes the write lock with its first
        write, so its reads may be older than another callback's commit;
        ``lock_records`` does nothing there. Without this Kannel's SMSC
        ack, read before the undelivered report and written after it,
        replaced the final detail (a *failed* message showing ``ACK/``)."""
        if reference and str(reference).isdigit():
            messages = cls.search([
                    ('id', '=', int(reference)),
                    ('gateway', '=', gateway.id)])
        else:
            messages = cls.search([
                    ('provider_id', '=', reference),
                    ('gateway', '=', gateway.id)]) if reference else []
        if not messages:
            return None
        message, = messages
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        # the second pass reads under the write lock the first one took
        for _ in range(3):
            cursor.execute(*table.select(table.state,
                    where=table.id == message.id))
            current, = cursor.fetchone()
            values = cls._status_values(current, state, detail)
            if values is None:
                return message
            cursor.execute(*table.update([table.state], [table.state],
                    where=(table.id == message.id)
                    & (table.state == current)))
            if cursor.rowcount:
                break
        else:
            raise backend.DatabaseOperationalError(
                'SMS %s: state changed while applying a report' % message.id)
        cls._invalidate([message.id])
        cls.write([message], values)
        return message

    @classmethod
    def _status_values(cls, current, state, detail):
        """The values a delivery report of ``state`` (``None`` for an
        intermediate report: SMSC ack, buffered) writes on a message in
        state ``current``, or ``None`` when it writes nothing"""
        values = {'status_detail': (detail or '')[:200] or None}
        if state == 'delivered' and current in {'sending', 'sent', 'failed'}:
            values.update(state='delivered', delivered_at=dt.datetime.now(),
                error=None)
        elif state == 'failed' and current in {
                'sending', 'sent', 'delivered'}:
            values.update(state='failed', error=gettext(
                    'sms_gateway.msg_delivery_failed',
                    detail=(detail or '')[:150]))
        elif current == 'sending':
            values['state'] = 'sent'
        elif state is None and current in FINAL_REPORTED:
            # an intermediate report after the final one (processed later,
            # or fetched again by Kannel): the final state and detail stay
            return None
        return values

    # -- buttons -----------------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, messages):
        pass

    @classmethod
    @ModelView.button
    def retry(cls, messages):
        """Send now a failed message, or a queued one waiting for its next
        attempt or its scheduled time"""
        failed = [m for m in messages if m.state == 'failed']
        waiting = [m for m in messages if m.state == 'queued']
        if failed:
            cls.write(failed, {'state': 'queued', 'attempts': 0})
        cls.write(failed + waiting, {'error': None, 'scheduled_at': None})
        cls.dispatch(failed + waiting)


class OptOut(MaskedNumberMixin, ModelSQL, ModelView):
    __string__ = "SMS Opt-out"
    __name__ = 'sms.opt_out'
    _rec_name = 'number'
    _masked_numbers = {'number'}
    _masked_texts = {'note'}
    number = fields.Char(
        "Number", required=True, help="In international format (E.164).")
    party = fields.Many2One('party.party', "Party", ondelete='SET NULL')
    source = fields.Selection([
            ('reply', "Reply"),
            ('staff', "Staff"),
            ], "Source", required=True, readonly=True)
    date = fields.DateTime("Date", required=True)
    note = fields.Char("Note")
    employee = fields.Many2One(
        'company.employee', "Recorded By", readonly=True,
        ondelete='SET NULL',
        help="The employee who recorded the opt-out or wrote to the number "
        "that replied; an opt-out of no customer belongs to him.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_unique', Unique(t, t.number),
                'sms_gateway.msg_opt_out_unique'),
            ]

    @classmethod
    def default_source(cls):
        return 'staff'

    @classmethod
    def default_date(cls):
        return dt.datetime.now()

    @classmethod
    def default_employee(cls):
        User = Pool().get('res.user')
        employee = User(Transaction().user).employee
        return employee.id if employee else None

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('number'):
            e164, _ = check_mobile(values['number'])
            if e164:
                values['number'] = e164
        return values

    @classmethod
    def check_modification(cls, mode, opt_outs, values=None, external=False):
        """A user records an opt-out as staff in his own name; the source and
        who recorded it are never rewritten"""
        super().check_modification(
            mode, opt_outs, values=values, external=external)
        if not external:
            return
        if mode == 'write':
            for name in ['source', 'employee']:
                if name in (values or {}):
                    raise protected_error(cls, name)
        elif mode == 'create':
            employee = cls.default_employee()
            for opt_out in opt_outs:
                if opt_out.source != 'staff':
                    raise protected_error(cls, 'source')
                if (opt_out.employee.id if opt_out.employee else None
                        ) != employee:
                    raise protected_error(cls, 'employee')
