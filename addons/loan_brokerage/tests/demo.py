# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of loan_brokerage, loaded by demo/loader.py"

GROUPS = {
    'manager': ['loan_brokerage.group_loan', 'loan_brokerage.group_loan_admin'],
    'supervisor': ['loan_brokerage.group_loan'],
    'rep': ['loan_brokerage.group_loan'],
    }
