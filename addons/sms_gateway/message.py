# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import logging
import uuid
from collections import defaultdict



from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from sql import Column, Literal
from sql.aggregate import Count

from trytond import backend
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import providers
from .phone import check_mobile
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
IN_MAX = backend.MAX_QUERY_PARAMS // 2
CHUNK = 500
# a message "sending" for longer than this had its worker stopped
STALE_SENDING = dt.timedelta(minutes=15)


class Message(Workflow, ModelSQL, ModelView):
    __string__ = "SMS Message"
    __name__ = 'sms.message'
    _rec_name = 'number'
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
            origin=None, event_key=None):
        """Unsaved messages to ``parties`` (their mobile number) and to
        typed ``numbers``, rendered from ``template`` or ``text``.

        Recipients without a valid mobile number or opted out of marketing
        get a message in state *refused* with the reason, so nothing is
        silently dropped. ``values`` are extra merge values (a dict, or a
        ``{party id: dict}`` mapping when ``per_party`` keys are ints)."""
        pool = Pool()
        Template = pool.get('sms.template')
        Configuration = pool.get('sms.configuration')
        config = Configuration(1)
        gateway = config.get_gateway(gateway)
        kind = kind or (template.kind if template else 'notification')
        parties = list(parties)
        merge = Template.get_merge_values(parties, values)
        recipients = [(p, n) for p, n in cls._party_numbers(
                parties, config.region)]
        recipients += [(None, n) for n in numbers]
        checked = [(p, raw) + check_mobile(raw, config.region)
            for p, raw in recipients]
        opted_out = cls._opted_out(
            {e for _, _, e, _ in checked if e}) if kind == 'marketing' else ()
        if kind == 'marketing' and config.rate_limit:
            # marketing messages each number already had in the period;
            # counted up as this batch takes its share
            received = cls._recent_marketing(
                {e for _, _, e, _ in checked if e}, config.rate_period)
        else:
            received = None
        messages = []
        for party, raw, e164, reason in checked:
            message = cls(
                party=party, number=e164 or (raw or '')[:40], kind=kind,
                gateway=gateway, template=template, origin=origin,
                event_key=event_key, scheduled_at=scheduled_at,
                attempts=0, state='queued')
            data = merge.get(party.id if party else None) or merge[None]
            if template:
                message.text = template.render(data)
                message.params = template.render_params(data)
            else:
                message.text = text
            if reason:
                message.state, message.error = 'refused', gettext(
                    'sms_gateway.msg_number_%s' % reason, number=raw or '')
            elif e164 in opted_out:
                message.state, message.error = 'refused', gettext(
                    'sms_gateway.msg_opted_out', number=e164)
            elif (received is not None
                    and received[e164] >= config.rate_limit):
                message.state, message.error = 'refused', gettext(
                    'sms_gateway.msg_rate_limited', number=e164,
                    count=received[e164], hours=config.rate_period)
            elif not gateway:
                message.state, message.error = 'refused', gettext(
                    'sms_gateway.msg_no_gateway')
            if received is not None and message.state == 'queued':
                received[e164] += 1
            messages.append(message)
        return messages

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
                    where=table.number.in_(list(sub))
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
                    where=table.party.in_(list(sub))
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
        OptOut = Pool().get('sms.opt_out')
        result = set()
        for sub in grouped_slice(list(numbers), IN_MAX):
            result.update(o.number for o in OptOut.search(
                    [('number', 'in', list(sub))]))
        return result

    @classmethod
    def queue(cls, messages):
        "Save ``messages`` and hand the ready ones to the queue"
        if len(messages) > CHUNK and Transaction().database.has_returning():
            ids = cls._bulk_create(messages)
            messages = []
            for sub in grouped_slice(ids, CHUNK):
                messages.extend(cls.browse(sub))
        else:
            cls.save(messages)
        for sub in grouped_slice(messages, CHUNK):
            cls.dispatch(list(sub))
        return messages

    @classmethod
    def _bulk_fields(cls):
        return ['party', 'number', 'gateway', 'template', 'kind', 'text',
            'params', 'state', 'scheduled_at', 'attempts', 'error', 'origin',
            'event_key']

    @classmethod
    def _bulk_create(cls, messages):
        """Insert many prepared messages with multi-row INSERTs; return
        their ids in order.

        Bulk sends are built by :meth:`prepare`, which already checked every
        value; the ORM's per-record create costs about 100 times more."""
        transaction = Transaction()
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        names = cls._bulk_fields()
        columns = [Column(table, n) for n in names] + [
            table.create_uid, table.create_date]
        now = dt.datetime.now()
        ids = []
        for sub in grouped_slice(messages, 1000):
            values = [[cls._fields[n].sql_format(getattr(m, n, None))
                    for n in names] + [transaction.user, now] for m in sub]
            cursor.execute(*table.insert(
                    columns, values=values, returning=[table.id]))
            ids.extend(i for i, in cursor)
        transaction.counter += 1
        return ids

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
        batch = cls._queue_batch()
        with Transaction().set_context(queue_name='sms', queue_batch=batch):
            for sub in grouped_slice(due, batch):
                cls.__queue__.process(list(sub))

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
        if stale:
            cls.write(stale, {
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
        results = defaultdict(list)
        retry = []
        for message in claimed:
            state, values = message._transmit(config)
            if state == 'queued':
                retry.append(message)
            results[state].append((message, values))
        for state, items in results.items():
            for message, values in items:
                cls.write([message], values)
        sent = [m for m, _ in results.get('sent', [])]
        if sent:
            cls._on_sent(sent)
        for message in retry:
            cls._retry_later(message)

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
        now = dt.datetime.now()
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
            params=dict(self.params or {}),
            callback_url=gateway.status_url(ref=self.id))
        try:
            result = gateway.get_client().send(outgoing)
        except providers.TransientError as exc:
            if self.attempts >= config.max_attempts:
                return 'failed', {**values, 'state': 'failed', 'error': gettext(
                        'sms_gateway.msg_gateway_down_final',
                        attempts=self.attempts, reason=str(exc)[:200])}
            return 'queued', {**values, 'state': 'queued',
                'scheduled_at': now + config.backoff(self.attempts),
                'error': gettext('sms_gateway.msg_gateway_down',
                    attempts=self.attempts, reason=str(exc)[:200])}
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
        or the gateway's id (Twilio). Return the message or None."""
        message = None
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
        values = {'status_detail': (detail or '')[:200] or None}
        if state == 'delivered' and message.state in {
                'sending', 'sent', 'failed'}:
            values.update(state='delivered', delivered_at=dt.datetime.now(),
                error=None)
        elif state == 'failed' and message.state in {
                'sending', 'sent', 'delivered'}:
            values.update(state='failed', error=gettext(
                    'sms_gateway.msg_delivery_failed',
                    detail=(detail or '')[:150]))
        elif message.state == 'sending':
            values['state'] = 'sent'
        cls.write([message], values)
        return message

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


class OptOut(ModelSQL, ModelView):
    __string__ = "SMS Opt-out"
    __name__ = 'sms.opt_out'
    _rec_name = 'number'
    number = fields.Char(
        "Number", required=True, help="In international format (E.164).")
    party = fields.Many2One('party.party', "Party", ondelete='SET NULL')
    source = fields.Selection([
            ('reply', "Reply"),
            ('staff', "Staff"),
            ], "Source", required=True)
    date = fields.DateTime("Date", required=True)
    note = fields.Char("Note")

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
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('number'):
            e164, _ = check_mobile(values['number'])
            if e164:
                values['number'] = e164
        return values
