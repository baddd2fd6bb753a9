# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import without_check_access


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    birthday = fields.Date("Birthday")
    sms_messages = fields.One2Many(
        'sms.message', 'party', "SMS Messages", readonly=True)
    sms_opted_out = fields.Function(
        fields.Boolean("SMS Opt-out"), 'get_sms_opted_out')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'sms_send': {
                    'invisible': Eval('id', -1) < 0,
                    'depends': ['id'],
                    },
                })

    @classmethod
    @ModelView.button_action('sms_gateway.wizard_send')
    def sms_send(cls, parties):
        "Open the send wizard on the party (a button reachable on a phone)"
        pass

    @classmethod
    def get_sms_opted_out(cls, parties, name):
        OptOut = Pool().get('sms.opt_out')
        result = {p.id: False for p in parties}
        # whoever recorded it: the parties themselves were read under the
        # user's rules
        with without_check_access():
            opt_outs = OptOut.search(
                [('party', 'in', [p.id for p in parties])])
        for opt_out in opt_outs:
            result[opt_out.party.id] = True
        return result

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default else {}
        default.setdefault('sms_messages', None)
        return super().copy(parties, default=default)
