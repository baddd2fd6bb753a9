# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""With telesales_pipeline: sent SMS become follow-ups, callback reminders,
numbers masked for users without the full-number right"""
from trytond.pool import Pool, PoolMeta


class Followup(metaclass=PoolMeta):
    __name__ = 'crm.followup'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['sms.message']


class Message(metaclass=PoolMeta):
    __name__ = 'sms.message'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['crm.followup']

    @classmethod
    def _on_sent(cls, messages):
        "Log each message sent to a customer as an SMS follow-up (PL-07)"
        super()._on_sent(messages)
        Followup = Pool().get('crm.followup')
        for message in messages:
            if message.party:
                Followup.log(
                    message.party, message.text, method='sms',
                    origin=message)


class Template(metaclass=PoolMeta):
    __name__ = 'sms.template'

    @classmethod
    def merge_field_labels(cls):
        from trytond.i18n import gettext
        return {**super().merge_field_labels(),
            'callback_date': gettext('sms_gateway.msg_field_callback_date'),
            }

    @classmethod
    def get_merge_values(cls, parties, values=None):
        "The consultant of a customer is his owner"
        result = super().get_merge_values(parties, values)
        for party in parties:
            if party.crm_owner:
                result[party.id]['consultant'] = party.crm_owner.rec_name
        return result


class Trigger(metaclass=PoolMeta):
    __name__ = 'sms.trigger'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.event.selection.append(('callback', "Callback Reminder"))

    def _recipients_callback(self, date):
        "Customers whose open follow-up asks for a callback on ``date``"
        Followup = Pool().get('crm.followup')
        for followup in Followup.search([
                    ('next_callback', '=', date),
                    ('reminder_state', '=', 'open'),
                    ]):
            yield followup.party, {'callback_date': date.isoformat()}, followup
