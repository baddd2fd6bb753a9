# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The screen pop: a ``res.notification`` for each user of the rep whose
extension rings, published on the bus by res.notification itself
(``Bus.publish`` in its ``on_modification``)."""
import collections

from crm_base.bulk import bulk_create
from crm_base.phone import mask_phone

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


# notifications of one user that res.notification shows in one bus message
POP_MESSAGE_LINES = 4


class Call(metaclass=PoolMeta):
    __name__ = 'pbx.call'

    @classmethod
    def screen_pops(cls, calls, employee_users=None):
        """Send the screen pops of saved calls; return those sent.

        Each user gets one notification per call, created with the
        suite's bulk writer. A bus message shows ``POP_MESSAGE_LINES``
        notifications (res.notification folds the others into a count): a
        rep whose phone rang for more calls of the batch gets them in
        successive messages, so that every pop is shown.
        ``employee_users(call)`` returns the users to notify (default:
        ``call.employee_users()``)."""
        if employee_users is None:
            def employee_users(call):
                return call.employee_users()
        by_user = collections.defaultdict(list)
        popped = []
        for call in calls:
            users = employee_users(call) if call.employee else []
            for user in users:
                by_user[user.id].append(call)
            if users:
                popped.append(call)
        texts = cls._screen_pop_texts_by_user(by_user)
        rounds = []
        for user, user_calls in by_user.items():
            for i, call in enumerate(user_calls):
                i //= POP_MESSAGE_LINES
                if i == len(rounds):
                    rounds.append([])
                rounds[i].append(cls._screen_pop_values(
                        call, user, *texts[user, call.id]))
        Notification = Pool().get('res.notification')
        for values in rounds:
            # res.notification publishes its creations on the bus, at most
            # POP_MESSAGE_LINES texts a user: a round shows every pop
            bulk_create(Notification, [dict(v, unread=True) for v in values])
        return popped

    @classmethod
    def _screen_pop_values(cls, call, user, label, description):
        "The values of the notification of call for user"
        if call.party:
            model, records = 'party.party', str([call.party.id])
        else:
            model, records = cls.__name__, str([call.id])
        return {
            'user': user,
            'label': label[:250],
            'description': description[:250],
            'icon': 'tryton-public',
            'model': model,
            'records': records,
            }

    @classmethod
    def _screen_pop_texts_by_user(cls, by_user):
        """{(user, call id): (label, description)}: the texts depend on the
        user only through the masking of the numbers, so they are built
        once for the users who see full numbers and once for the others"""
        ContactMechanism = Pool().get('party.contact_mechanism')
        groups = collections.defaultdict(list)
        for user in by_user:
            with Transaction().set_user(user):
                groups[bool(ContactMechanism.may_see_full_numbers())].append(
                    user)
        texts = {}
        for users in groups.values():
            calls = list({c.id: c for u in users for c in by_user[u]
                    }.values())
            # under a user of the group: the masking is theirs
            with Transaction().set_user(users[0]), \
                    Transaction().set_context(_check_access=False):
                group_texts = cls.screen_pop_texts(calls)
            for user in users:
                for call in by_user[user]:
                    texts[user, call.id] = group_texts[call.id]
        return texts

    @classmethod
    def screen_pop_texts(cls, calls):
        """{call id: (label, description)} shown to the current user; the
        lines of the known callers come from ``screen_pops_lines``, read
        for all of them at once"""
        Party = Pool().get('party.party')
        full = Pool().get('party.contact_mechanism').may_see_full_numbers()
        known = [c for c in calls if c.party]
        names = {p['id']: p['rec_name'] for p in Party.read(
                list({c.party.id for c in known}), ['rec_name'])}
        lines = cls.screen_pops_lines(known)
        texts = {}
        for call in calls:
            number = call.number or ''
            if number and not full:
                number = mask_phone(number)
            if call.party:
                label = gettext('pbx_connector.msg_pop_known',
                    party=names[call.party.id], number=number)
                # a notification's description is a one-line Char
                texts[call.id] = label, ' | '.join(lines.get(call.id, []))
            else:
                texts[call.id] = (
                    gettext('pbx_connector.msg_pop_unknown', number=number),
                    gettext('pbx_connector.msg_pop_unknown_hint'))
        return texts

    @classmethod
    def screen_pops_lines(cls, calls):
        """Hook: {call id: [line]} describing the known caller of each of
        ``calls`` (telesales_pipeline: stage, owner, follow-ups,
        reminders); set-based, the calls of a batch come together"""
        return {c.id: [] for c in calls}
