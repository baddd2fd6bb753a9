# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"The loan module's shared terms: guarded fields, signed states, locks"
import secrets

from trytond.pool import Pool
from trytond.transaction import Transaction


RATE_DIGITS = (6, 4)
# Terms an application keeps once out of draft unless a business admin
# changes them (LN-05); every such change is logged. They decide the money:
# the amount and fee invoiced, and who earns the commission.
GUARDED_FIELDS = [
    'amount', 'signing_date', 'expected_disbursement_date', 'fee_rate',
    'product', 'party', 'employee', 'agent']
# fields nobody changes once the application left draft
FROZEN_FIELDS = ['company']
SIGNED_STATES = ['signed', 'disbursing', 'disbursed', 'repaying', 'closed']
# what a rep enters on a pending repayment, kept once received
RECEIPT_FIELDS = {'received_date', 'received_amount'}
# PostgreSQL: the row is locked by another transaction (FOR UPDATE NOWAIT)
LOCK_NOT_AVAILABLE = '55P03'


def new_channel_key():
    "A random key hiding the ids of the channel lookup rows"
    return secrets.randbelow(2 ** 30 - 1) + 1


def is_loan_admin():
    "Whether the current user belongs to the business-admin group"
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    if Transaction().user == 0:
        return True
    return ModelData.get_id(
        'loan_brokerage', 'group_loan_admin') in User.get_groups()
