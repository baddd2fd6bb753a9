# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of telesales_pipeline, loaded by demo/loader.py"

_P = 'telesales_pipeline.'
GROUPS = {
    'manager': [
        _P + 'group_telesales', _P + 'group_telesales_manager',
        _P + 'group_telesales_admin', _P + 'group_telesales_export',
        _P + 'group_telesales_full_number'],
    'supervisor': [
        _P + 'group_telesales', _P + 'group_telesales_supervisor',
        _P + 'group_telesales_export'],
    'rep': [_P + 'group_telesales', _P + 'group_telesales_rep'],
    }
