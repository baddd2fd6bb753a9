# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"What pbx_connector does when telesales_pipeline is activated"
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval


class Call(metaclass=PoolMeta):
    __name__ = 'pbx.call'
    followup = fields.Many2One('crm.followup', "Follow-up", readonly=True,
        ondelete='SET NULL')

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
    def screen_pops_lines(cls, calls):
        """Stage and owner, the last 3 follow-ups and the 2 next open
        reminders of each caller, from telesales_pipeline's summaries of
        all the callers at once"""
        Party = Pool().get('party.party')
        lines = super().screen_pops_lines(calls)
        parties = list({c.party for c in calls if c.party})
        if not parties:
            return lines
        summaries = Party.crm_summaries(parties)
        for call in calls:
            if call.party:
                lines[call.id].extend(
                    cls._screen_pop_summary(summaries[call.party.id]))
        return lines

    @staticmethod
    def _screen_pop_summary(summary):
        "The lines of a caller's summary"
        lines = [gettext('pbx_connector.msg_pop_stage',
                stage=summary['stage'] or '-',
                owner=summary['owner'] or '-')]
        for date, content in summary['followups']:
            lines.append(gettext('pbx_connector.msg_pop_followup',
                    date=date.strftime('%m-%d') if date else '',
                    content=(content or '')[:40]))
        for date in summary['reminders']:
            lines.append(gettext('pbx_connector.msg_pop_reminder',
                    date=date.isoformat()))
        return lines


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
