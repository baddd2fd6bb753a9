# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of sms_gateway, loaded by demo/loader.py"

GROUPS = {
    'manager': ['sms_gateway.group_sms', 'sms_gateway.group_sms_admin'],
    'supervisor': ['sms_gateway.group_sms'],
    'rep': ['sms_gateway.group_sms'],
    }
