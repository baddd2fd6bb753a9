# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Delivery reports: applying a gateway's report to its message"""
import datetime as dt

from trytond import backend
from trytond.i18n import gettext
from trytond.transaction import Transaction

# the states a final delivery report leaves; intermediate reports keep them
FINAL_REPORTED = {'delivered', 'failed'}


class MessageDeliveryMixin:
    "What :class:`~sms_gateway.message.Message` does with delivery reports"
    __slots__ = ()

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

