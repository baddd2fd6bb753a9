# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The phone service on ``party.contact_mechanism``: numbers without
country prefix are Chinese (X-04), and the one hook that says who sees full
numbers (X-06)"""
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.transaction import Transaction

from . import phone


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @fields.depends('party', '_parent_party.addresses')
    def _phone_country_codes(self):
        "Numbers without country prefix are read as Chinese numbers"
        codes = list(super()._phone_country_codes())
        yield from codes
        if phone.DEFAULT_REGION not in codes:
            yield phone.DEFAULT_REGION

    @fields.depends(methods=['_phone_country_codes'])
    def _parse_phonenumber(self, value):
        """Parse with the suite's normaliser; a number with its
        international prefix needs no country (reading the party's
        addresses for every "+86…" number cost a database read)"""
        if value and value.lstrip().startswith('+'):
            number = phone.parse(value, None)
            if number is not None:
                return number
        for code in self._phone_country_codes():
            number = phone.parse(value, code)
            if number is not None:
                return number
        return None

    @classmethod
    def may_see_full_numbers(cls):
        """Hook: whether the user sees full phone numbers (X-06)

        Everyone does unless a module limits them (telesales_pipeline to
        its "see full numbers" group); internal code running as root always
        does."""
        return True

    @classmethod
    def must_mask(cls):
        "Whether the answers of this client call hide full numbers"
        return (Transaction().check_access
            and not cls.may_see_full_numbers())

    @classmethod
    def must_mask_search(cls):
        """Whether the user searches masked numbers: also without access
        check, as the domains of a search through a relation are converted
        (server code searches a number by the complete number)"""
        return bool(Transaction().user) and not cls.may_see_full_numbers()

    @classmethod
    def display_number(cls, number):
        "The number as the user may see it"
        if not number or cls.may_see_full_numbers():
            return number
        return phone.mask_phone(number)
