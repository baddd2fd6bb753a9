# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of telesales_pipeline, loaded by demo/loader.py"

GROUPS = {
    'manager': ['telesales_pipeline.group_telesales', 'telesales_pipeline.group_telesales_admin'],
    'supervisor': ['telesales_pipeline.group_telesales'],
    'rep': ['telesales_pipeline.group_telesales'],
    }
