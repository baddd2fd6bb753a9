# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of early_ed_crm, loaded by demo/loader.py"

GROUPS = {
    'manager': ['early_ed_crm.group_early_ed', 'early_ed_crm.group_early_ed_admin'],
    'supervisor': ['early_ed_crm.group_early_ed'],
    'rep': ['early_ed_crm.group_early_ed'],
    }
