# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt

from crm_base.phone import check_mobile, split_numbers

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import check_parties_visible
from .exceptions import NumberError, SendError
from .template import MESSAGE_KINDS


class SendStart(ModelView):
    __string__ = "Send SMS"
    __name__ = 'sms.send.start'
    parties = fields.Many2Many(
        'party.party', None, None, "Customers",
        help="Customers ticked in a list; each gets his own text.")
    numbers = fields.Text(
        "Numbers", help="Mobile numbers typed by hand, one per line or "
        "separated by commas.")
    template = fields.Many2One('sms.template', "Template")
    kind = fields.Selection(MESSAGE_KINDS, "Kind", required=True)
    text = fields.Text(
        "Text", states={'required': ~Bool(Eval('template'))},
        help="Used when no template is chosen.")
    gateway = fields.Many2One(
        'sms.gateway', "Gateway", help="Empty for the default gateway.")
    scheduled_at = fields.DateTime(
        "Send At", help="Empty to send now.")
    preview = fields.Text("Preview", readonly=True)
    count = fields.Integer("Recipients", readonly=True)

    @fields.depends('template')
    def on_change_template(self):
        if self.template:
            self.kind = self.template.kind
            self.text = self.template.content

    @fields.depends('template', 'text', 'parties')
    def on_change_with_preview(self):
        Template = Pool().get('sms.template')
        party = self.parties[0] if self.parties else None
        # the merge values are read without the user's rules
        check_parties_visible([party])
        values = Template.get_merge_values([party] if party else [])
        values = values[party.id if party else None]
        if self.template:
            return self.template.render(values)
        return self.text or ''

    @fields.depends('parties', 'numbers')
    def on_change_with_count(self):
        return len(self.parties or []) + len(
            split_numbers(self.numbers or ''))


class Send(Wizard):
    "Send SMS to customers ticked in a list or to typed numbers"
    __name__ = 'sms.send'
    start = StateView('sms.send.start', 'sms_gateway.send_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Send", 'send', 'tryton-ok', default=True),
            ])
    send = StateTransition()

    def default_start(self, fields):
        context = Transaction().context
        parties = []
        if context.get('active_model') == 'party.party':
            parties = list(context.get('active_ids') or [])
        return {
            'parties': parties,
            'kind': 'marketing',
            'count': len(parties),
            }

    def transition_send(self):
        pool = Pool()
        Message = pool.get('sms.message')
        Configuration = pool.get('sms.configuration')
        User = pool.get('res.user')
        start = self.start
        # the wizard runs without the user's rules: the customers ticked
        # must be his
        check_parties_visible(start.parties)
        numbers = split_numbers(start.numbers or '')
        region = Configuration(1).region
        bad = [n for n in numbers if not check_mobile(n, region)[0]]
        if bad:
            raise NumberError(gettext(
                    'sms_gateway.msg_send_bad_numbers',
                    numbers=', '.join(bad[:10])))
        if not start.parties and not numbers:
            raise SendError(gettext('sms_gateway.msg_send_no_recipient'))
        if start.scheduled_at and start.scheduled_at < (
                dt.datetime.now() - dt.timedelta(minutes=1)):
            raise SendError(gettext('sms_gateway.msg_send_in_past'))
        Message.send(Message.compose(
                parties=start.parties, numbers=numbers,
                template=start.template, text=start.text, kind=start.kind,
                gateway=start.gateway, scheduled_at=start.scheduled_at,
                employee=User(Transaction().user).employee))
        return 'end'
