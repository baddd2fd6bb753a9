# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of pbx_connector, loaded by demo/loader.py"

GROUPS = {
    'manager': ['pbx_connector.group_pbx', 'pbx_connector.group_pbx_admin'],
    'supervisor': ['pbx_connector.group_pbx'],
    'rep': ['pbx_connector.group_pbx'],
    }
