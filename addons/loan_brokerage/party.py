# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

from telesales_pipeline.access import check_rules, checking
from .exceptions import SignedDeleteError


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    loan_applications = fields.One2Many(
        'loan.application', 'party', "Loan Applications", readonly=True)

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        super().check_modification(
            mode, parties, values=values, external=external)
        if mode == 'delete':
            cls.check_loan_signed(parties, external=external)

    @classmethod
    def check_loan_signed(cls, parties, external=False):
        "A customer signed to a product cannot be deleted (LN-05)"
        pool = Pool()
        Application = pool.get('loan.application')
        # whoever deletes, even without access to loan applications
        with without_check_access():
            applications = Application.search([
                    ('party', 'in', [p.id for p in parties]),
                    ('state', 'not in', ['draft', 'cancelled']),
                    ], limit=1)
        if applications:
            application, = applications
            if external or checking():
                # name nothing the caller may not see
                check_rules(cls, [application.party], 'delete')
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
