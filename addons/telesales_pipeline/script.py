# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Call scripts 话术: personal and reference scripts (PL-13)"
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import ScriptError
from .customer import STAGES, user_in_group


class Script(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'crm.script'
    __string__ = "Call Script"
    name = fields.Char("Name", required=True)
    type_ = fields.Selection([
            ('reference', "Reference"),
            ('personal', "Personal"),
            ], "Type", required=True,
        help="Reference scripts are maintained by supervisors for everyone; "
        "personal scripts are the employee's own.")
    employee = fields.Many2One(
        'company.employee', "Employee", ondelete='CASCADE',
        states={
            'required': Eval('type_') == 'personal',
            'invisible': Eval('type_') != 'personal',
            })
    stage = fields.Selection(
        [(None, "")] + STAGES, "Stage", sort=False,
        help="Show the script for customers at this stage only.")
    content = fields.Text("Content", required=True)

    @classmethod
    def default_type_(cls):
        return 'personal'

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def check_modification(cls, mode, scripts, values=None, external=False):
        super().check_modification(
            mode, scripts, values=values, external=external)
        if not external or user_in_group('group_telesales_supervisor'):
            return
        if user_in_group('group_telesales_admin'):
            return
        reference = (values or {}).get('type_') == 'reference' or any(
            s.type_ == 'reference' for s in scripts)
        if reference:
            raise ScriptError(gettext(
                    'telesales_pipeline.msg_script_reference_supervisor'))

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('type_') == 'reference':
            values['employee'] = None
        return values

    @classmethod
    def for_party(cls, party):
        "Return the scripts to show while calling party"
        User = Pool().get('res.user')
        return cls.search([
                ['OR',
                    ('type_', '=', 'reference'),
                    ('employee', 'in', list(User.get_employees())),
                    ],
                ['OR',
                    ('stage', '=', None),
                    ('stage', '=', party.crm_stage),
                    ],
                ])


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    crm_scripts = fields.Function(
        fields.Many2Many('crm.script', None, None, "Call Scripts"),
        'get_crm_scripts')

    def get_crm_scripts(self, name):
        Script = Pool().get('crm.script')
        if not self.crm_stage:
            return []
        return [s.id for s in Script.for_party(self)]
