# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt

from crm_base.phone import check_mobile

from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import check_access

from .access import (
    MaskedRecordMixin, check_parties_visible, protected_error)

# replies that unsubscribe (compared upper-cased, without spaces)
OPT_OUT_WORDS = {'退订', 'TD', 'T', 'N', 'STOP', 'UNSUBSCRIBE', '退', '取消'}


class Inbound(MaskedRecordMixin, ModelSQL, ModelView):
    __string__ = "Inbound SMS"
    __name__ = 'sms.inbound'
    _rec_name = 'number'
    _masked_numbers = {'number'}
    _masked_texts = {'text'}
    gateway = fields.Many2One(
        'sms.gateway', "Gateway", readonly=True, ondelete='SET NULL')
    number = fields.Char("From", readonly=True)
    to = fields.Char("To", readonly=True)
    text = fields.Text("Text", readonly=True)
    received_at = fields.DateTime("Received At", readonly=True)
    party = fields.Many2One('party.party', "Party", ondelete='SET NULL',
        help="Set when the number is a customer's; a user may link an "
        "unknown number to a customer he sees.")
    opt_out = fields.Boolean("Opt-out", readonly=True)
    employee = fields.Many2One(
        'company.employee', "Rep", readonly=True, ondelete='SET NULL',
        help="Who last wrote to the number; a reply of no customer belongs "
        "to him.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order.insert(0, ('received_at', 'DESC'))
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Equality())),
                Index(t, (t.employee, Index.Equality())),
                })

    @classmethod
    def receive(cls, gateway, number, to, text):
        "Store an inbound message, link its party and apply an opt-out"
        pool = Pool()
        OptOut = pool.get('sms.opt_out')
        e164, _ = check_mobile(number)
        party = cls.find_party(e164 or number)
        employee = cls.find_employee(e164 or number)
        words = (text or '').strip().upper().replace(' ', '')
        opt_out = bool(e164) and words in OPT_OUT_WORDS
        inbound, = cls.create([{
                    'gateway': gateway.id if gateway else None,
                    'number': e164 or (number or '')[:40],
                    'to': (to or '')[:40],
                    'text': text,
                    'received_at': dt.datetime.now(),
                    'party': party.id if party else None,
                    'opt_out': opt_out,
                    'employee': employee.id if employee else None,
                    }])
        if opt_out and not OptOut.search([('number', '=', e164)]):
            OptOut.create([{
                        'number': e164, 'source': 'reply',
                        'party': party.id if party else None,
                        'note': (text or '')[:100],
                        'employee': employee.id if employee else None,
                        }])
        return inbound

    @classmethod
    def find_party(cls, number):
        "The party whose phone or mobile is ``number`` (E.164), or None"
        ContactMechanism = Pool().get('party.contact_mechanism')
        if not number:
            return None
        candidates = {number}
        if number.startswith('+86'):
            candidates.add(number[3:])
        mechanisms = ContactMechanism.search([
                ('type', 'in', ['mobile', 'phone']),
                ['OR',
                    ('value_compact', 'in', list(candidates)),
                    ('value', 'in', list(candidates))],
                ], limit=1)
        return mechanisms[0].party if mechanisms else None

    @classmethod
    def find_employee(cls, number):
        "The employee who last sent a message to ``number``, or None"
        Message = Pool().get('sms.message')
        if not number:
            return None
        messages = Message.search([
                ('number', '=', number),
                ('employee', '!=', None),
                ], order=[('id', 'DESC')], limit=1)
        return messages[0].employee if messages else None

    @classmethod
    def check_modification(cls, mode, messages, values=None, external=False):
        """A client only links an unknown number to a customer it sees; the
        rest comes from the gateway"""
        pool = Pool()
        Rule = pool.get('ir.rule')
        Party = pool.get('party.party')
        super().check_modification(
            mode, messages, values=values, external=external)
        if not external or mode != 'write':
            return
        for name in sorted(set(values or {}) - {'party'}):
            raise protected_error(cls, name)
        if 'party' in values:
            # the caller's scope first: the answer about a record he may
            # not see is the same whatever it holds
            with check_access():
                Rule.check(cls.__name__, [m.id for m in messages], 'write')
            if any(m.party for m in messages):
                raise protected_error(cls, 'party')
            if values['party'] is not None:
                check_parties_visible([Party(values['party'])])
