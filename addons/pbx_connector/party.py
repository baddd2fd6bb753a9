# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from crm_base.phone import is_mobile

from trytond.i18n import gettext
from trytond.model import Index, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .access import check_parties_visible
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

    @classmethod
    def default_name(cls):
        # not default_name in the context: the contact mechanisms of the
        # form, which have a name too, would get it
        return Transaction().context.get('pbx_party_name')

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        call_id = Transaction().context.get('pbx_call')
        if mode == 'create' and isinstance(call_id, int) and len(parties) == 1:
            cls._link_call(parties[0], call_id)

    @classmethod
    def _link_call(cls, party, call_id):
        """Link the customer created from the screen pop of an unknown
        caller (``pbx_call`` in the context) to the call, and add the
        call's number to the customer when it was not typed in"""
        pool = Pool()
        Call = pool.get('pbx.call')
        Mechanism = pool.get('party.contact_mechanism')
        Notification = pool.get('res.notification')
        if not Notification.notified_call(call_id):
            return
        with without_check_access():
            calls = Call.search([
                    ('id', '=', call_id),
                    ('party', '=', None),
                    ], limit=1)
            if not calls:
                return
            call, = calls
            if call.number and call.number not in {
                    m.value_compact for m in party.contact_mechanisms
                    if m.type in PHONE_TYPES}:
                Mechanism.create([{
                            'party': party.id,
                            'type': ('mobile'
                                if is_mobile(call.number)
                                else 'phone'),
                            'value': call.number,
                            }])
            Call.write([call], {'party': party.id})

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
        # the button checked the user's rules on the parties
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
        # the number of a customer the user may not see is not dialled,
        # whatever the rules of the contact mechanisms
        check_parties_visible([m.party for m in mechanisms])
        for mechanism in mechanisms:
            if mechanism.type in PHONE_TYPES:
                Call.dial(mechanism.value_compact or mechanism.value,
                    party=mechanism.party)
