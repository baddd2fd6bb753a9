# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval, If


class AccountType(metaclass=PoolMeta):
    __name__ = 'account.account.type'
    member_liability = fields.Boolean(
        "Member Liability",
        domain=[
            If(Eval('statement') != 'balance',
                ('member_liability', '=', False), ()),
            ],
        states={'invisible': Eval('statement') != 'balance'},
        help="Prepaid class hours (deferred revenue) or member deposits.")

    @classmethod
    def default_member_liability(cls):
        return False


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _account_domain(cls, type_):
        domain = super()._account_domain(type_)
        if type_ == 'out':
            domain = domain + [('type.member_liability', '=', True)]
        return domain


class Move(metaclass=PoolMeta):
    __name__ = 'account.move'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['member.card.move']
