# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool

from .phone import check_mobile

# replies that unsubscribe (compared upper-cased, without spaces)
OPT_OUT_WORDS = {'退订', 'TD', 'T', 'N', 'STOP', 'UNSUBSCRIBE', '退', '取消'}


class Inbound(ModelSQL, ModelView):
    __string__ = "Inbound SMS"
    __name__ = 'sms.inbound'
    _rec_name = 'number'
    gateway = fields.Many2One(
        'sms.gateway', "Gateway", readonly=True, ondelete='SET NULL')
    number = fields.Char("From", readonly=True)
    to = fields.Char("To", readonly=True)
    text = fields.Text("Text", readonly=True)
    received_at = fields.DateTime("Received At", readonly=True)
    party = fields.Many2One('party.party', "Party", ondelete='SET NULL')
    opt_out = fields.Boolean("Opt-out", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('received_at', 'DESC'))

    @classmethod
    def receive(cls, gateway, number, to, text):
        "Store an inbound message, link its party and apply an opt-out"
        pool = Pool()
        OptOut = pool.get('sms.opt_out')
        e164, _ = check_mobile(number)
        party = cls.find_party(e164 or number)
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
                    }])
        if opt_out and not OptOut.search([('number', '=', e164)]):
            OptOut.create([{
                        'number': e164, 'source': 'reply',
                        'party': party.id if party else None,
                        'note': (text or '')[:100],
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
