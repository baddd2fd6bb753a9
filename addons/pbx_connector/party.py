# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import Index, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .exceptions import NoNumberError

PHONE_TYPES = {'phone', 'mobile'}


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    calls = fields.One2Many('pbx.call', 'party', "Calls", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'dial': {
                    'invisible': ~Eval('id', -1) | (Eval('id', -1) < 0),
                    'depends': ['id'],
                    },
                })

    def dial_mechanism(self):
        "The contact mechanism click-to-dial calls"
        for mechanism in self.contact_mechanisms:
            if mechanism.type == 'mobile' and mechanism.active:
                return mechanism
        for mechanism in self.contact_mechanisms:
            if mechanism.type in PHONE_TYPES and mechanism.active:
                return mechanism

    @classmethod
    @ModelView.button
    def dial(cls, parties):
        Call = Pool().get('pbx.call')
        for party in parties:
            mechanism = party.dial_mechanism()
            if not mechanism:
                raise NoNumberError(gettext('pbx_connector.msg_no_number',
                        party=party.rec_name))
            Call.dial(mechanism.value_compact or mechanism.value, party=party)


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'dial': {
                    'invisible': (~Eval('type').in_(list(PHONE_TYPES))
                        | (Eval('id', -1) < 0)),
                    'depends': ['type', 'id'],
                    },
                })
        # the listener finds callers by their E.164 number
        # (Call._find_parties)
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.value_compact, Index.Equality()),
                where=t.type.in_(sorted(PHONE_TYPES))))

    @classmethod
    @ModelView.button
    def dial(cls, mechanisms):
        Call = Pool().get('pbx.call')
        for mechanism in mechanisms:
            if mechanism.type in PHONE_TYPES:
                Call.dial(mechanism.value_compact or mechanism.value,
                    party=mechanism.party)
