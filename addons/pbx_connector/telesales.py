# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"What pbx_connector does when telesales_pipeline is activated"
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
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
            from telesales_pipeline.phone import mask_phone
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
    def screen_pop_lines(self):
        pool = Pool()
        Followup = pool.get('crm.followup')
        lines = super().screen_pop_lines()
        party = self.party
        stages = dict(party.fields_get(['crm_stage'])['crm_stage'][
                'selection'])
        lines.append(gettext('pbx_connector.msg_pop_stage',
                stage=stages.get(party.crm_stage) or '-',
                owner=party.crm_owner.rec_name if party.crm_owner else '-'))
        for followup in Followup.search([('party', '=', party.id)],
                order=[('date', 'DESC'), ('id', 'DESC')], limit=3):
            lines.append(gettext('pbx_connector.msg_pop_followup',
                    date=followup.date.strftime('%m-%d') if followup.date
                    else '', content=(followup.content or '')[:40]))
        reminders = Followup.search([
                ('party', '=', party.id),
                ('reminder_state', '=', 'open'),
                ('next_callback', '!=', None),
                ], order=[('next_callback', 'ASC')], limit=2)
        for followup in reminders:
            lines.append(gettext('pbx_connector.msg_pop_reminder',
                    date=followup.next_callback.isoformat()))
        return lines


class Followup(metaclass=PoolMeta):
    __name__ = 'crm.followup'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['pbx.call']
