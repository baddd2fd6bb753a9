# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from crm_base.phone import is_mobile

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.pyson import PYSONEncoder
from trytond.transaction import Transaction, without_check_access


class Notification(metaclass=PoolMeta):
    __name__ = 'res.notification'

    @classmethod
    def get(cls, count=10):
        """The pop of a call from an unknown number opens the new-customer
        form prefilled from the call instead of the call (sao opens the
        ``action`` of a notification without ``model`` and ``records``)"""
        notifications = super().get(count=count)
        calls = cls._unknown_caller_calls(notifications)
        for notification in notifications:
            call = calls.get(notification['id'])
            if call:
                notification.update(model=None, records=None,
                    action=cls._new_customer_action(call))
        return notifications

    @classmethod
    def _unknown_caller_calls(cls, notifications):
        "{notification id: call} of the pops of unknown callers"
        Call = Pool().get('pbx.call')
        by_call = {n['records'][0]: n['id'] for n in notifications
            if n['model'] == 'pbx.call' and not n['action']
            and n['records'] and len(n['records']) == 1}
        if not by_call:
            return {}
        # the user's own notifications: their calls, whatever the access
        with without_check_access():
            calls = Call.search([
                    ('id', 'in', list(by_call)),
                    ('direction', '=', 'inbound'),
                    ('party', '=', None),
                    ])
        return {by_call[c.id]: c for c in calls}

    @classmethod
    def _new_customer_action(cls, call):
        """The action value of the new-customer form of an unknown caller:
        the name and, for users who may see it, the number prefilled through
        the context; ``pbx_call`` links the customer created to the call"""
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Action = pool.get('ir.action')
        ContactMechanism = pool.get('party.contact_mechanism')
        full = ContactMechanism.may_see_full_numbers()
        context = {
            'pbx_call': call.id,
            'pbx_party_name': gettext('pbx_connector.msg_new_customer_name',
                number=ContactMechanism.display_number(call.number)),
            }
        if full and call.number:
            # users without the full-number right must not get it: the
            # number is added when the customer is created
            context['default_contact_mechanisms'] = [{
                    'type': ('mobile' if is_mobile(call.number)
                        else 'phone'),
                    'value': call.number,
                    }]
        action = Action(ModelData.get_id(
                'pbx_connector', 'act_party_from_call')).get_action_value()
        action['pyson_context'] = PYSONEncoder().encode(context)
        return action

    @classmethod
    def notified_call(cls, call_id):
        "Whether the current user got the screen pop of the call"
        user = Transaction().user
        with without_check_access():
            return bool(cls.search([
                        ('user', '=', user),
                        ('model', '=', 'pbx.call'),
                        ('records', '=', str([call_id])),
                        ], limit=1))
