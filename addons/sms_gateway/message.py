# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""SMS messages and opt-outs

A message's roles live beside it: composing (``compose.py``), dispatching
and sending (``dispatch.py``) and delivery reports (``delivery.py``).
"""
import datetime as dt

from crm_base.phone import check_mobile

from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .access import MaskedRecordMixin, protected_error
from .compose import MessageComposeMixin
from .delivery import MessageDeliveryMixin
from .dispatch import MessageDispatchMixin
from .template import MESSAGE_KINDS

STATES = [
    ('queued', "Queued"),
    ('sending', "Sending"),
    ('sent', "Sent"),
    ('delivered', "Delivered"),
    ('failed', "Failed"),
    ('refused', "Refused"),
    ('cancelled', "Cancelled"),
    ]


class Message(
        MessageComposeMixin, MessageDispatchMixin, MessageDeliveryMixin,
        MaskedRecordMixin, Workflow, ModelSQL, ModelView):
    __string__ = "SMS Message"
    __name__ = 'sms.message'
    _rec_name = 'number'
    _masked_numbers = {'number'}
    _masked_texts = {'text', 'error', 'status_detail'}
    _states = {'readonly': Eval('state') != 'queued'}

    party = fields.Many2One(
        'party.party', "Party", ondelete='SET NULL', states=_states)
    number = fields.Char(
        "Number", states={
            **_states,
            'required': Eval('state') != 'refused',
            },
        help="The recipient in international format (E.164); empty for "
        "a message refused to a customer without a number.")
    gateway = fields.Many2One(
        'sms.gateway', "Gateway", ondelete='RESTRICT', states=_states)
    template = fields.Many2One(
        'sms.template', "Template", ondelete='SET NULL', states=_states)
    kind = fields.Selection(
        MESSAGE_KINDS, "Kind", required=True, states=_states)
    text = fields.Text("Text", states=_states)
    params = fields.Dict(None, "Template Parameters", readonly=True)
    state = fields.Selection(STATES, "State", readonly=True, required=True)
    scheduled_at = fields.DateTime(
        "Send At", states=_states,
        help="Not before this time (scheduled sends, quiet hours, retries).")
    dispatched_at = fields.Timestamp("Dispatched At", readonly=True)
    attempts = fields.Integer("Attempts", readonly=True)
    sent_at = fields.DateTime("Sent At", readonly=True)
    delivered_at = fields.DateTime("Delivered At", readonly=True)
    provider_id = fields.Char("Gateway ID", readonly=True)
    status_detail = fields.Char("Delivery Report", readonly=True)
    error = fields.Char("Reason", readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    event_key = fields.Char(
        "Event Key", readonly=True,
        help="Set by event messages so one event is sent once.")
    employee = fields.Many2One(
        'company.employee', "Sent By", readonly=True, ondelete='SET NULL',
        help="The employee who sent the message; a message to no customer "
        "belongs to him.")

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    (t.scheduled_at, Index.Range())),
                Index(t, (t.provider_id, Index.Equality())),
                Index(t, (t.event_key, Index.Equality())),
                Index(t, (t.number, Index.Equality())),
                Index(t, (t.party, Index.Equality())),
                Index(t, (t.employee, Index.Equality())),
                })
        cls._sql_constraints += [
            ('event_key_unique', Unique(t, t.event_key),
                'sms_gateway.msg_message_event_unique'),
            ]
        cls._order.insert(0, ('id', 'DESC'))
        cls._transitions |= {
            ('queued', 'cancelled'),
            ('failed', 'queued'),
            }
        cls._buttons.update({
                'cancel': {
                    'invisible': Eval('state') != 'queued',
                    'depends': ['state'],
                    },
                'retry': {
                    'invisible': ~Eval('state').in_(['failed', 'queued']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_kind(cls):
        return 'notification'

    @classmethod
    def default_attempts(cls):
        return 0

    @classmethod
    def _get_origin(cls):
        "Hook: the models that can be the origin of a message"
        return ['sms.trigger']

    @classmethod
    def check_modification(cls, mode, messages, values=None, external=False):
        # the sending, the delivery reports and the buttons write the
        # messages; no client writes them, whatever the access rights
        super().check_modification(
            mode, messages, values=values, external=external)
        if external and mode == 'write' and values:
            raise protected_error(cls, sorted(values)[0])

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        models = cls._get_origin()
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in models]

    # -- buttons -----------------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, messages):
        pass

    @classmethod
    @ModelView.button
    def retry(cls, messages):
        """Send now a failed message, or a queued one waiting for its next
        attempt or its scheduled time"""
        failed = [m for m in messages if m.state == 'failed']
        waiting = [m for m in messages if m.state == 'queued']
        if failed:
            cls.write(failed, {'state': 'queued', 'attempts': 0})
        cls.write(failed + waiting, {'error': None, 'scheduled_at': None})
        cls.dispatch(failed + waiting)


class OptOut(MaskedRecordMixin, ModelSQL, ModelView):
    __string__ = "SMS Opt-out"
    __name__ = 'sms.opt_out'
    _rec_name = 'number'
    _masked_numbers = {'number'}
    _masked_texts = {'note'}
    number = fields.Char(
        "Number", required=True, help="In international format (E.164).")
    party = fields.Many2One('party.party', "Party", ondelete='SET NULL')
    source = fields.Selection([
            ('reply', "Reply"),
            ('staff', "Staff"),
            ], "Source", required=True, readonly=True)
    date = fields.DateTime("Date", required=True)
    note = fields.Char("Note")
    employee = fields.Many2One(
        'company.employee', "Recorded By", readonly=True,
        ondelete='SET NULL',
        help="The employee who recorded the opt-out or wrote to the number "
        "that replied; an opt-out of no customer belongs to him.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_unique', Unique(t, t.number),
                'sms_gateway.msg_opt_out_unique'),
            ]

    @classmethod
    def default_source(cls):
        return 'staff'

    @classmethod
    def default_date(cls):
        return dt.datetime.now()

    @classmethod
    def default_employee(cls):
        User = Pool().get('res.user')
        employee = User(Transaction().user).employee
        return employee.id if employee else None

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('number'):
            e164, _ = check_mobile(values['number'])
            if e164:
                values['number'] = e164
        return values

    @classmethod
    def check_modification(cls, mode, opt_outs, values=None, external=False):
        """A user records an opt-out as staff in his own name; the source and
        who recorded it are never rewritten"""
        super().check_modification(
            mode, opt_outs, values=values, external=external)
        if not external:
            return
        if mode == 'write':
            for name in ['source', 'employee']:
                if name in (values or {}):
                    raise protected_error(cls, name)
        elif mode == 'create':
            employee = cls.default_employee()
            for opt_out in opt_outs:
                if opt_out.source != 'staff':
                    raise protected_error(cls, 'source')
                if (opt_out.employee.id if opt_out.employee else None
                        ) != employee:
                    raise protected_error(cls, 'employee')
