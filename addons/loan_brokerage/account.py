# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from telesales_pipeline.access import CustomerDataMixin


class Invoice(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice'
    # the host's on_change methods read the party's addresses, terms...
    crm_customer = fields.Function(fields.Many2One(
            'party.party', "Customer Concerned",
            context={'company': Eval('company', -1)}, depends={'company'},
            help="The customer a customer invoice is about: the customer "
            "of the disbursement for a loan fee invoice (its party is the "
            "lender), the party of the others."),
        'get_crm_customer', searcher='search_crm_customer')

    @classmethod
    def get_crm_customer(cls, invoices, name):
        return {i.id: getattr(i._get_crm_customer(), 'id', None)
            for i in invoices}

    def _get_crm_customer(self):
        pool = Pool()
        Disbursement = pool.get('loan.disbursement')
        if self.type != 'out':
            return None
        for line in self.lines:
            if isinstance(line.origin, Disbursement):
                return line.origin.application.party
        return self.party

    @classmethod
    def search_crm_customer(cls, name, clause):
        _, operator, value, *extra = clause
        nested = clause[0][len(name):]
        fee = [('origin', 'like', 'loan.disbursement,%')]
        return [('type', '=', 'out'), ['OR',
                ('lines', 'where', [
                        ('origin.application.party' + nested, operator, value,
                            'loan.disbursement', *extra)]),
                [('lines', 'not where', fee),
                    ('party' + nested, operator, value, *extra)],
                ]]


class InvoiceLine(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['loan.disbursement']


class InvoiceTax(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice.tax'


class Move(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'account.move'


class MoveLine(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'account.move.line'
