# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Contact data of customers in a locked stage (PL-04)"""
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .phone import mask_in_text, may_see_full_numbers


def check_locked_parties(records, field_name):
    "Refuse a user's change of the contact data of locked customers"
    Party = Pool().get('party.party')
    if Transaction().context.get('_crm_locked_checked'):
        # changed through the party, checked there
        return
    # the host refuses to move them to another party
    Party.crm_check_locked(
        list({r.party for r in records if r.party}), [field_name])


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def check_modification(
            cls, mode, mechanisms, values=None, external=False):
        if (mode == 'write' and external and 'party' in values
                and not may_see_full_numbers()):
            # the host names the mechanism with its full number
            for mechanism in mechanisms:
                if mechanism.party.id != values['party']:
                    raise AccessError(gettext(
                            'party.msg_contact_mechanism_change_party',
                            contact=mask_in_text(mechanism.rec_name)))
        super().check_modification(
            mode, mechanisms, values=values, external=external)
        if external:
            check_locked_parties(mechanisms, 'contact_mechanisms')


class Address(metaclass=PoolMeta):
    __name__ = 'party.address'

    @classmethod
    def check_modification(cls, mode, addresses, values=None, external=False):
        super().check_modification(
            mode, addresses, values=values, external=external)
        if external:
            check_locked_parties(addresses, 'addresses')
