# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""With sms_gateway: balance merge fields, low class hours and class
reminders through sms_gateway's event hook (``sms.trigger``)"""
import datetime as dt
from decimal import Decimal

try:
    import zoneinfo
except ImportError:  # pragma: no cover
    zoneinfo = None

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

ZERO = Decimal(0)


def _format(value):
    return '%.2f' % (value or ZERO)


class Configuration(metaclass=PoolMeta):
    __name__ = 'member.configuration'
    low_hours = fields.Numeric(
        "Low Class Hours", digits=(16, 2),
        domain=['OR', ('low_hours', '=', None), ('low_hours', '>', 0)],
        help="A check-in that takes a card's class hours below this sends "
        "the SMS event messages of the event \"Low Class Hours\".")


class Card(metaclass=PoolMeta):
    __name__ = 'member.card'

    @classmethod
    def debit_hours(cls, card, hours, kind, **kwargs):
        moves = super().debit_hours(card, hours, kind, **kwargs)
        cls._notify_low_hours(cls(card.id), -sum(m.quantity for m in moves))
        return moves

    @classmethod
    def _notify_low_hours(cls, card, debited):
        "Fire the low_hours SMS event when the debit crossed the threshold"
        pool = Pool()
        Configuration = pool.get('member.configuration')
        Trigger = pool.get('sms.trigger')
        threshold = Configuration(1).low_hours
        if not threshold:
            return
        after = card.hours_balance
        if after < threshold <= after + debited:
            Trigger.fire('low_hours', [(card.party, {
                            'card': card.number or '',
                            'holder': card.holder or '',
                            'hours_balance': _format(after),
                            }, card)])


class Message(metaclass=PoolMeta):
    __name__ = 'sms.message'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['member.card', 'member.checkin']


class Template(metaclass=PoolMeta):
    __name__ = 'sms.template'

    @classmethod
    def merge_field_labels(cls):
        return {**super().merge_field_labels(),
            'card': gettext('early_ed_crm.msg_field_card'),
            'holder': gettext('early_ed_crm.msg_field_holder'),
            'hours_balance': gettext('early_ed_crm.msg_field_hours_balance'),
            'cash_balance': gettext('early_ed_crm.msg_field_cash_balance'),
            'class': gettext('early_ed_crm.msg_field_class'),
            'class_time': gettext('early_ed_crm.msg_field_class_time'),
            }

    @classmethod
    def get_merge_values(cls, parties, values=None):
        """The balances of each customer's usable cards (values given by the
        caller, an event about one card, take precedence)"""
        pool = Pool()
        Card = pool.get('member.card')
        result = super().get_merge_values(parties, values)
        parties = [p for p in parties if p]
        if not parties:
            return result
        cards = Card.search([
                ('party', 'in', [p.id for p in parties]),
                ('state', 'in', ['active', 'lost', 'frozen']),
                ], order=[('party', 'ASC'), ('id', 'ASC')])
        by_party = {}
        for card in cards:
            by_party.setdefault(card.party.id, []).append(card)
        for party in parties:
            own = by_party.get(party.id, [])
            # lots shared by twins count once
            lots = {l.id: l.remaining for c in own for l in c.lots}
            balances = {
                'card': '、'.join(c.number for c in own if c.number),
                'holder': '、'.join(c.holder for c in own if c.holder),
                'hours_balance': _format(sum(lots.values(), ZERO)),
                'cash_balance': _format(sum(
                        (c.cash_balance or ZERO for c in own), ZERO)),
                }
            given = values or {}
            if party.id in given:
                given = given[party.id]
            for key, value in balances.items():
                if not isinstance(given, dict) or not given.get(key):
                    result[party.id][key] = value
        return result


class Trigger(metaclass=PoolMeta):
    __name__ = 'sms.trigger'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.event.selection.extend([
                ('low_hours', "Low Class Hours"),
                ('class_reminder', "Class Reminder"),
                ])

    def _recipients_low_hours(self, date):
        "Fired by the check-in that crosses the threshold, not by the cron"
        return iter(())

    def _recipients_class_reminder(self, date):
        """Booked classes on ``date`` (in the company's timezone): class
        check-ins still in draft"""
        pool = Pool()
        CheckIn = pool.get('member.checkin')
        Company = pool.get('company.company')
        company_id = Transaction().context.get('company')
        timezone = None
        if company_id and zoneinfo:
            name = Company(company_id).timezone
            if name:
                timezone = zoneinfo.ZoneInfo(name)
        start = dt.datetime.combine(date, dt.time()) - dt.timedelta(days=1)
        end = start + dt.timedelta(days=3)
        for checkin in CheckIn.search([
                    ('state', '=', 'draft'),
                    ('type_', '=', 'class'),
                    ('date', '>=', start),
                    ('date', '<', end),
                    ], order=[('date', 'ASC'), ('id', 'ASC')]):
            local = checkin.date
            if timezone:
                local = local.replace(tzinfo=dt.timezone.utc).astimezone(
                    timezone)
            if local.date() != date:
                continue
            yield checkin.card.party, {
                'card': checkin.card.number or '',
                'holder': checkin.child or checkin.card.holder or '',
                'class': checkin.course,
                'class_time': local.strftime('%H:%M'),
                }, checkin
