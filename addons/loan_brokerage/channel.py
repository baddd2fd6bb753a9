# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from sql import Cast

from crm_base.phone import mask_phone, variants

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from telesales_pipeline.access import CustomerDataMixin

# Row ids are the application id under the application's random channel
# key: a row can only be read through the phone lookup that found it, never
# by trying ids (LN-08).
KEY_SHIFT = 2 ** 22
LOOKUP_OPERATORS = {'=', 'like', 'ilike'}


class ChannelStatus(CustomerDataMixin, ModelSQL, ModelView):
    "Customer Disbursement Status"
    __name__ = 'loan.channel.status'
    application = fields.Many2One('loan.application', "Application")
    company = fields.Many2One('company.company', "Company")
    customer = fields.Char("Customer")
    phone = fields.Function(
        fields.Char("Phone"), 'get_phone', searcher='search_phone')
    product = fields.Char("Product")
    lender = fields.Char("Lender")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    amount = Monetary("Signed Amount", currency='currency', digits='currency')
    signing_date = fields.Date("Signing Date")
    disbursed_amount = fields.Function(Monetary(
            "Disbursed", currency='currency', digits='currency'),
        'get_disbursement')
    last_disbursement = fields.Function(
        fields.Date("Last Disbursement"), 'get_disbursement')
    state = fields.Selection('get_states', "State")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('signing_date', 'DESC NULLS FIRST'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Application = pool.get('loan.application')
        Party = pool.get('party.party')
        Product = pool.get('loan.product')
        application = Application.__table__()
        customer = Party.__table__()
        lender = Party.__table__()
        product = Product.__table__()
        id_ = (Cast(application.channel_key, 'BIGINT')
            * KEY_SHIFT + application.id)
        return (application
            .join(customer, condition=application.party == customer.id)
            .join(product, condition=application.product == product.id)
            .join(lender, condition=product.lender == lender.id)
            .select(
                id_.as_('id'),
                application.id.as_('application'),
                application.company.as_('company'),
                customer.name.as_('customer'),
                product.name.as_('product'),
                lender.name.as_('lender'),
                application.amount.as_('amount'),
                application.signing_date.as_('signing_date'),
                application.state.as_('state'),
                where=application.state != 'draft'))

    @classmethod
    def get_states(cls):
        Application = Pool().get('loan.application')
        return Application.fields_get(['state'])['state']['selection']

    def get_currency(self, name):
        return self.company.currency

    @classmethod
    def get_disbursement(cls, statuses, names):
        result = {n: {} for n in names}
        for status in statuses:
            application = status.application
            dates = [d.date for d in application.disbursements]
            if 'disbursed_amount' in names:
                result['disbursed_amount'][status.id] = (
                    application.disbursed_amount)
            if 'last_disbursement' in names:
                result['last_disbursement'][status.id] = (
                    max(dates) if dates else None)
        return result

    def get_phone(self, name):
        party = self.application.party
        phones = [m.value_compact or m.value for m in party.contact_mechanisms
            if m.type in {'phone', 'mobile'}]
        return mask_phone(phones[0]) if phones else None

    @classmethod
    def search_phone(cls, name, clause):
        "The rows of the customers with the exact number typed"
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        Application = pool.get('loan.application')
        _, operator, value = clause[:3]
        if operator not in LOOKUP_OPERATORS or not isinstance(value, str):
            return [('id', '=', None)]
        numbers = variants(value)
        # the lookup finds customers the channel user cannot see
        with without_check_access():
            mechanisms = Mechanism.search([
                    ('type', 'in', ['phone', 'mobile']),
                    ['OR',
                        ('value_compact', 'in', numbers),
                        ('value', 'in', numbers),
                        ],
                    ])
            applications = Application.search([
                    ('party', 'in', [m.party.id for m in mechanisms]),
                    ])
        return [('application', 'in', [a.id for a in applications])]

    def get_rec_name(self, name):
        return self.customer

    @classmethod
    def search_rec_name(cls, name, clause):
        "The web client's search box: a number (or, for loan staff, a name)"
        phone = ('phone',) + tuple(clause[1:])
        if cls._browse_all():
            return ['OR', ('customer',) + tuple(clause[1:]), phone]
        return [phone]

    @classmethod
    def search(cls, domain, offset=0, limit=None, order=None, count=False,
            query=False):
        # channel staff find a customer only by the number they are given
        if not cls._browse_all() and not cls._has_phone_clause(domain):
            domain = [('id', '=', None), domain]
        return super().search(domain, offset=offset, limit=limit,
            order=order, count=count, query=query)

    @classmethod
    def _browse_all(cls):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        if Transaction().user == 0:
            return True
        return ModelData.get_id(
            'loan_brokerage', 'group_loan') in User.get_groups()

    @classmethod
    def _has_phone_clause(cls, domain):
        "Whether the domain restricts (AND) the rows to a phone number"
        if not isinstance(domain, (list, tuple)) or not domain:
            return False
        if isinstance(domain[0], str):
            if domain[0] in {'phone', 'rec_name'}:
                return (len(domain) >= 3
                    and domain[1] in LOOKUP_OPERATORS
                    and isinstance(domain[2], str)
                    and bool(domain[2].strip('% ')))
            if domain[0] == 'OR':
                return all(cls._has_phone_clause(d) for d in domain[1:])
            if domain[0] == 'AND':
                domain = domain[1:]
            else:
                return False
        return any(cls._has_phone_clause(d) for d in domain)
