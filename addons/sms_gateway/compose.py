# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Composing messages: recipients, numbers, opt-outs, rate limits, rendering"""
import datetime as dt
from collections import defaultdict

from sql import Literal
from sql.aggregate import Count

from crm_base.bulk import bulk_create
from crm_base.phone import check_mobile

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelStorage
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

IN_MAX = backend.MAX_QUERY_PARAMS // 2
# "= ANY(array)" on PostgreSQL: one parameter instead of one per value
IN = SQL_OPERATORS['in']
CHUNK = 500
BROWSE = 100


class MessageComposeMixin:
    "What :class:`~sms_gateway.message.Message` does to compose messages"
    __slots__ = ()

    @classmethod
    def compose(cls, parties=(), numbers=(), template=None, text=None,
            kind=None, gateway=None, scheduled_at=None, values=None,
            origin=None, event_key=None, employee=None):
        """The values of the messages to ``parties`` (their mobile number)
        and to typed ``numbers``, rendered from ``template`` or ``text``,
        sent by ``employee`` (None for the system's event messages).

        Recipients without a valid mobile number or opted out of marketing
        get a message in state *refused* with the reason, so nothing is
        silently dropped. ``values`` are extra merge values (a dict, or a
        ``{party id: dict}`` mapping when ``per_party`` keys are ints).
        :meth:`send` stores and queues them."""
        common, rows = cls._prepare_values(
            parties=parties, numbers=numbers, template=template, text=text,
            kind=kind, gateway=gateway, scheduled_at=scheduled_at,
            values=values, origin=origin, event_key=event_key,
            employee=employee)
        common = cls._store_values(common)
        return [{**common, **cls._store_values(row)} for row in rows]

    @classmethod
    def _store_values(cls, values):
        "values with records as their ids, as create takes them"
        result = {}
        for name, value in values.items():
            if isinstance(value, ModelStorage):
                if cls._fields[name]._type == 'reference':
                    value = str(value)
                else:
                    value = value.id
            result[name] = value
        return result

    @classmethod
    def prepare(cls, **kwargs):
        "Unsaved messages of :meth:`compose`, for :meth:`queue`"
        return [cls(**v) for v in cls.compose(**kwargs)]

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
        checked = cls._checked_numbers(parties, numbers, region)
        refusal = cls._refusal(kind, checked, config, gateway)
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
                'party': party, 'number': e164 or (raw or '')[:40] or None}
            if render:
                data = (merge.get(party.id) if party else None) or default
                message['text'], message['params'] = render(data)
            error = refusal(raw, e164, reason)
            if error:
                message['state'], message['error'] = 'refused', error
            result.append(message)
        return common, result

    @classmethod
    def _checked_numbers(cls, parties, numbers, region):
        """``(party, raw number, e164, reason)`` of each recipient: the
        parties' numbers, then the typed ones, each number checked once"""
        recipients = list(cls._party_numbers(parties, region))
        recipients += [(None, n) for n in numbers]
        checks = {}
        checked = []
        for party, raw in recipients:
            check = checks.get(raw)
            if check is None:
                check = checks[raw] = check_mobile(raw, region)
            checked.append((party, raw) + check)
        return checked

    @classmethod
    def _refusal(cls, kind, checked, config, gateway):
        """A function giving the reason to refuse a recipient's message, or
        None: a bad number, an opt-out, the per-number marketing limit (the
        batch taking its share as it goes), no gateway"""
        marketing = kind == 'marketing'
        valid = {e for _, _, e, _ in checked if e} if marketing else ()
        opted_out = cls._opted_out(valid) if marketing else ()
        if marketing and config.rate_limit:
            # marketing messages each number already had in the period
            received = cls._recent_marketing(valid, config.rate_period)
        else:
            received = None

        def refusal(raw, e164, reason):
            if reason:
                return gettext(
                    'sms_gateway.msg_number_%s' % reason, number=raw or '')
            if e164 in opted_out:
                return gettext('sms_gateway.msg_opted_out', number=e164)
            if received is not None and received[e164] >= config.rate_limit:
                return gettext('sms_gateway.msg_rate_limited', number=e164,
                    count=received[e164], hours=config.rate_period)
            if not gateway:
                return gettext('sms_gateway.msg_no_gateway')
            if received is not None:
                received[e164] += 1
            return None
        return refusal

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
        "Save unsaved ``messages`` and hand the ready ones to the queue"
        cls.save(messages)
        for sub in grouped_slice(messages, CHUNK):
            cls.dispatch(list(sub))
        return messages

    @classmethod
    def send(cls, vlist):
        """Store the messages of the values of :meth:`compose` and hand the
        ready ones to the queue; return them.

        The values are checked by :meth:`compose`: they are stored with the
        suite's bulk writer (``crm_base.bulk``), which keeps the access
        rights, rules and triggers of ``create``; a bulk send of 100,000
        messages costs a fraction of creating them one by one."""
        if not vlist:
            return []
        now = dt.datetime.now()
        vlist = [dict(v) for v in vlist]
        due = []
        for index, values in enumerate(vlist):
            if values.get('state', 'queued') == 'queued' and (
                    not values.get('scheduled_at')
                    or values['scheduled_at'] <= now):
                values['dispatched_at'] = now
                due.append(index)
        ids = bulk_create(cls, vlist)
        cls._enqueue([ids[i] for i in due])
        # browsed a chunk at a time: each record of a browse checks the ids
        # of the whole browse
        return [m for sub in grouped_slice(ids, BROWSE)
            for m in cls.browse(list(sub))]
