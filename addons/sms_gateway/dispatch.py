# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Dispatching messages: the queue, claiming, sending once, the outcomes"""
import datetime as dt
import logging
import time
import uuid
from collections import defaultdict

from sql import Column

from trytond import backend, config
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import providers
from .compose import IN, IN_MAX

logger = logging.getLogger(__name__)

# a message "sending" for longer than this had its worker stopped
STALE_SENDING = dt.timedelta(minutes=15)


class MessageDispatchMixin:
    "What :class:`~sms_gateway.message.Message` does to send messages"
    __slots__ = ()

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
        # the outcomes were written with SQL and committed: the messages
        # are read again
        if sent:
            cls._on_sent(cls.browse([m.id for m in sent]))
        for message in cls.browse([m.id for m in claimed]):
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
        # the commit drops the transaction's cache; the claimed messages are
        # read again
        cls._commit_claim()
        claimed = set(claimed)
        return cls.browse([i for i in ids if i in claimed])

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

