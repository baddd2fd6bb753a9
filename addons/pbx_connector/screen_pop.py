# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The screen pop: a ``res.notification`` for each user of the rep whose
extension rings, published on the bus with ``Bus.publish`` as
res.notification publishes its creations."""
import collections
import functools
import textwrap

from sql.aggregate import Count

from trytond import backend
from trytond.bus import Bus
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import call_writer

# notifications of one user that res.notification shows in one bus message
POP_MESSAGE_LINES = 4


class Call(metaclass=PoolMeta):
    __name__ = 'pbx.call'

    @classmethod
    def screen_pops(cls, calls, employee_users=None):
        """Send the screen pops of saved calls; return those sent.

        Each user gets one notification per call, inserted by
        ``call_writer``. A bus message shows ``POP_MESSAGE_LINES``
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
        call_writer.insert_notifications([v for r in rounds for v in r])
        cls._publish_pops(rounds)
        return popped

    @classmethod
    def _publish_pops(cls, rounds):
        """Publish each round of notifications as res.notification's
        ``on_modification`` publishes a creation: one message a user with
        the unread count (one query for all) and the texts"""
        Notification = Pool().get('res.notification')
        if not Transaction().database.has_channel():
            return
        table = Notification.__table__()
        cursor = Transaction().connection.cursor()
        users = list({v['user'] for values in rounds for v in values})
        counts = {}
        for sub in grouped_slice(users, backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.user, Count(),
                    where=table.user.in_(list(sub)) & table.unread,
                    group_by=[table.user]))
            counts.update(cursor)
        shorten = functools.partial(
            textwrap.shorten, width=100, placeholder="...")
        for values in rounds:
            content = collections.defaultdict(list)
            for v in values:
                content[v['user']].append('\n'.join(map(shorten,
                            filter(None, (v['label'], v['description'])))))
            for user, lines in content.items():
                # at most POP_MESSAGE_LINES a user: none is folded
                Bus.publish(f'notification:{user}', {
                        'type': 'user-notification',
                        'count': counts.get(user, 0),
                        'content': lines,
                        })

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
        groups = collections.defaultdict(list)
        for user in by_user:
            with Transaction().set_user(user):
                groups[bool(cls.may_see_full_numbers())].append(user)
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
        full = cls.may_see_full_numbers()
        known = [c for c in calls if c.party]
        names = {p['id']: p['rec_name'] for p in Party.read(
                list({c.party.id for c in known}), ['rec_name'])}
        lines = cls.screen_pops_lines(known)
        texts = {}
        for call in calls:
            number = call.number or ''
            if number and not full:
                number = cls.mask(number)
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
