# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"What pbx_connector does when telesales_pipeline is activated"
import collections
import datetime as dt

from sql import Column, Literal, Null, Window
from sql.functions import RowNumber

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction


class Call(metaclass=PoolMeta):
    __name__ = 'pbx.call'
    followup = fields.Many2One('crm.followup', "Follow-up", readonly=True,
        ondelete='SET NULL')

    @classmethod
    def may_see_full_numbers(cls):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        if Transaction().user == 0:
            return True
        group = ModelData.get_id(
            'telesales_pipeline', 'group_telesales_full_number')
        return group in User.get_groups()

    @classmethod
    def mask(cls, number):
        try:
            from crm_base.phone import mask_phone
        except ImportError:
            # older telesales_pipeline without the shared helper
            return super().mask(number)
        return mask_phone(number) if number else number

    # follow-ups --------------------------------------------------------
    def followup_content(self):
        return gettext('pbx_connector.msg_followup_call',
            direction=self.direction_string,
            disposition=self.disposition_string or '',
            duration=self.duration or 0)

    @classmethod
    def on_finished(cls, calls):
        pool = Pool()
        Followup = pool.get('crm.followup')
        super().on_finished(calls)
        for call in calls:
            if (call.party and call.disposition == 'answered'
                    and not call.followup):
                call.followup = Followup.log(call.party,
                    call.followup_content(), method='phone', origin=call,
                    employee=call.employee)
                call.save()

    # screen pop --------------------------------------------------------
    @classmethod
    def screen_pops_lines(cls, calls, parties):
        """Stage and owner, the last 3 follow-ups and the 2 next open
        reminders of each caller: four queries for all the calls (the
        stages and owners, the follow-ups, the reminders, the owners'
        names), the translated texts once"""
        pool = Pool()
        Party = pool.get('party.party')
        lines = super().screen_pops_lines(calls, parties)
        party_ids = list({c.party.id for c in calls if c.party})
        if not party_ids:
            return lines
        stages = dict(Party.fields_get(['crm_stage'])['crm_stage'][
                'selection'])
        crm = cls._pop_stages(party_ids)
        followups = cls._pop_followups(party_ids)
        reminders = cls._pop_reminders(party_ids)
        # gettext without variables returns the text to format
        stage_text = gettext('pbx_connector.msg_pop_stage')
        followup_text = gettext('pbx_connector.msg_pop_followup')
        reminder_text = gettext('pbx_connector.msg_pop_reminder')
        for call in calls:
            if not call.party:
                continue
            party = call.party.id
            stage, owner = crm.get(party, (None, None))
            lines[call.id].append(stage_text % {
                    'stage': stages.get(stage) or '-',
                    'owner': owner or '-',
                    })
            for date, content in followups.get(party, []):
                lines[call.id].append(followup_text % {
                        'date': date.strftime('%m-%d') if date else '',
                        'content': (content or '')[:40],
                        })
            for date in reminders.get(party, []):
                lines[call.id].append(reminder_text % {
                        'date': date.isoformat(),
                        })
        return lines

    @classmethod
    def _pop_stages(cls, party_ids):
        """{party: (stage, owner's name)}: read with one query, without
        instantiating the parties (reading a party reads all its fields)"""
        pool = Pool()
        Party = pool.get('party.party')
        Employee = pool.get('company.employee')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        found = {}
        for sub in grouped_slice(party_ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*party.select(
                    party.id, party.crm_stage, party.crm_owner,
                    where=party.id.in_(list(sub))))
            found.update((p, (s, o)) for p, s, o in cursor)
        # the owners are few: their names as Tryton gives them
        owner_ids = list({o for _, o in found.values() if o is not None})
        names = {e.id: e.rec_name for e in Employee.browse(owner_ids)}
        return {p: (s, names.get(o)) for p, (s, o) in found.items()}

    @classmethod
    def _pop_followups(cls, party_ids, limit=3):
        "{party: [(date, content)]}: the last follow-ups of each party"
        Followup = Pool().get('crm.followup')
        followup = Followup.__table__()
        order = [followup.date.desc, followup.id.desc]
        found = cls._pop_latest(followup, party_ids, limit, order,
            [followup.date, followup.content], Literal(True))
        return {p: [(cls._pop_date(d, dt.datetime), c) for d, c in rows]
            for p, rows in found.items()}

    @classmethod
    def _pop_reminders(cls, party_ids, limit=2):
        "{party: [date]}: the next open reminders of each party"
        Followup = Pool().get('crm.followup')
        followup = Followup.__table__()
        order = [followup.next_callback.asc, followup.id.asc]
        found = cls._pop_latest(followup, party_ids, limit, order,
            [followup.next_callback],
            (followup.reminder_state == 'open')
            & (followup.next_callback != Null))
        return {p: [cls._pop_date(r[0], dt.date) for r in rows]
            for p, rows in found.items()}

    @staticmethod
    def _pop_date(value, type_):
        # SQLite returns the dates of a raw query as strings
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
            return value if type_ is dt.datetime else value.date()
        return value

    @classmethod
    def _pop_latest(cls, table, party_ids, limit, order, columns, where):
        "The first ``limit`` rows of each party in ``order``, one query"
        cursor = Transaction().connection.cursor()
        rank = RowNumber(window=Window([table.party], order_by=order))
        found = collections.defaultdict(list)
        for sub in grouped_slice(party_ids, backend.MAX_QUERY_PARAMS):
            ranked = table.select(table.party, *columns,
                rank.as_('pop_rank'),
                where=table.party.in_(list(sub)) & where)
            cursor.execute(*ranked.select(
                    ranked.party, *[Column(ranked, c.name) for c in columns],
                    where=ranked.pop_rank <= limit,
                    order_by=[ranked.party, ranked.pop_rank]))
            for party, *values in cursor:
                found[party].append(tuple(values))
        return found


class Followup(metaclass=PoolMeta):
    __name__ = 'crm.followup'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['pbx.call']


class CallTaskLine(metaclass=PoolMeta):
    __name__ = 'crm.call.task.line'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'dial': {
                    'invisible': Eval('state') != 'pending',
                    'depends': ['state'],
                    },
                })

    @classmethod
    @ModelView.button
    def dial(cls, lines):
        "Click-to-dial the number of a call task (shown masked to the rep)"
        Call = Pool().get('pbx.call')
        # the button checked the user's rules on the lines (his tasks)
        for line in lines:
            Call.dial(line.phone, party=line.party)
