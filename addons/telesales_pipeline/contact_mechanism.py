# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Phone numbers default to mainland China (X-04)"
from trytond.model import fields
from trytond.pool import PoolMeta

DEFAULT_PHONE_COUNTRY = 'CN'


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @fields.depends('party', '_parent_party.addresses')
    def _phone_country_codes(self):
        "Numbers without country prefix are read as Chinese numbers"
        codes = list(super()._phone_country_codes())
        yield from codes
        if DEFAULT_PHONE_COUNTRY not in codes:
            yield DEFAULT_PHONE_COUNTRY
