# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta

from .exceptions import SignedDeleteError


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    loan_applications = fields.One2Many(
        'loan.application', 'party', "Loan Applications", readonly=True)

    @classmethod
    def delete(cls, parties):
        cls.check_loan_signed(parties)
        super().delete(parties)

    @classmethod
    def check_loan_signed(cls, parties):
        "A customer signed to a product cannot be deleted (LN-05)"
        pool = Pool()
        Application = pool.get('loan.application')
        applications = Application.search([
                ('party', 'in', [p.id for p in parties]),
                ('state', 'not in', ['draft', 'cancelled']),
                ], limit=1)
        if applications:
            application, = applications
            raise SignedDeleteError(gettext(
                    'loan_brokerage.msg_party_delete_signed',
                    party=application.party.rec_name,
                    application=application.rec_name))


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def check_erase_company(self, party, company):
        super().check_erase_company(party, company)
        Party = Pool().get('party.party')
        Party.check_loan_signed([party])


class Followup(metaclass=PoolMeta):
    __name__ = 'crm.followup'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + [
            'loan.application', 'loan.disbursement']
