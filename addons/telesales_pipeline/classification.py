# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Configurable customer lists: levels, sources, statuses, industries (PL-22)"
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields, sequence_ordered,
    tree)


class _NamedList(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", strip=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_uniq', Unique(t, t.code),
                'telesales_pipeline.msg_list_code_unique'),
            ]
        cls._order.append(('name', 'ASC'))


class Level(_NamedList):
    __name__ = 'crm.level'
    __string__ = "Customer Level"


class Status(_NamedList):
    __name__ = 'crm.status'
    __string__ = "Customer Status"


class Industry(_NamedList):
    __name__ = 'crm.industry'
    __string__ = "Industry"


class Source(tree(separator=' / '), _NamedList):
    __name__ = 'crm.source'
    __string__ = "Customer Source"
    parent = fields.Many2One(
        'crm.source', "Parent", ondelete='CASCADE',
        help="The source this detail belongs to.")
    childs = fields.One2Many('crm.source', 'parent', "Details")
