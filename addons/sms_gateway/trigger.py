# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Event messages: birthday greetings, callback reminders and the hook
other modules use for their own events (see doc/design.rst)."""
import datetime as dt

from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import without_check_access


class Trigger(DeactivableMixin, ModelSQL, ModelView):
    __string__ = "SMS Event Message"
    __name__ = 'sms.trigger'
    name = fields.Char("Name", required=True, translate=True)
    event = fields.Selection([
            ('birthday', "Birthday"),
            ], "Event", required=True,
        help="Modules add their events to this selection.")
    template = fields.Many2One('sms.template', "Template", required=True)
    gateway = fields.Many2One(
        'sms.gateway', "Gateway", help="Empty for the default gateway.")
    days = fields.Integer(
        "Days Ahead", required=True,
        help="Send this many days before the event (0: on the day).")

    @classmethod
    def default_days(cls):
        return 0

    def get_recipients(self, date):
        """Yield ``(party, values, origin)`` for the event falling on
        ``date``; ``values`` are extra merge values, ``origin`` the record
        that caused the message (or None)"""
        return getattr(self, '_recipients_%s' % self.event)(date)

    def _recipients_birthday(self, date):
        Party = Pool().get('party.party')
        for party in Party.search([('birthday', '!=', None)]):
            if (party.birthday.month, party.birthday.day) == (
                    date.month, date.day):
                yield party, {}, None

    @classmethod
    def run(cls, triggers=None, date=None):
        "Cron: queue the messages of today's events, once per event"
        if triggers is None:
            triggers = cls.search([])
        date = date or dt.date.today()
        Message = Pool().get('sms.message')
        for trigger in triggers:
            target = date + dt.timedelta(days=trigger.days)
            Message.send(trigger.compose_messages(
                    trigger.get_recipients(target), target))

    def compose_messages(self, recipients, date):
        """The values of one message per recipient not already sent for
        ``date``"""
        Message = Pool().get('sms.message')
        messages = []
        for party, values, origin in recipients:
            key = 'trigger:%s:%s:%s:%s' % (
                self.id, date.isoformat(), party.id, origin or '')
            if Message.search([('event_key', '=', key)], limit=1):
                continue
            messages.extend(Message.compose(
                    parties=[party], template=self.template,
                    gateway=self.gateway, values=values,
                    origin=origin or self, event_key=key))
        return messages

    @classmethod
    @without_check_access
    def fire(cls, event, recipients, date=None):
        """Queue at once the messages of ``event`` for ``recipients``
        (``(party, values, origin)``): for modules that detect their event
        themselves (a wallet going low) rather than by the daily cron.

        The messages are the system's (no sender), whoever's action fired
        the event: a consultant's check-in needs no right on SMS."""
        Message = Pool().get('sms.message')
        date = date or dt.date.today()
        recipients = list(recipients)
        vlist = []
        for trigger in cls.search([('event', '=', event)]):
            vlist.extend(trigger.compose_messages(recipients, date))
        return Message.send(vlist)


