# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class LoanBrokerageTestCase(CompanyTestMixin, ModuleTestCase):
    "Test loan_brokerage module"
    module = 'loan_brokerage'
    extras = ['pbx_connector', 'sms_gateway']

    @with_transaction()
    def test_amounts_without_fee(self):
        "A disbursement not invoiced yet counts with no fee"
        pool = Pool()
        Party = pool.get('party.party')
        Product = pool.get('loan.product')
        Application = pool.get('loan.application')
        Disbursement = pool.get('loan.disbursement')
        company = create_company()
        with set_company(company):
            employee = create_employee(company)
            lender, customer = Party.create(
                [{'name': "Lender"}, {'name': "Customer"}])
            product, = Product.create([{
                        'name': "Loan", 'lender': lender.id,
                        'fee_rate': Decimal('0.02')}])
            application, = Application.create([{
                        'party': customer.id, 'product': product.id,
                        'employee': employee.id,
                        'amount': Decimal('1000')}])
            Disbursement.create([{
                        'application': application.id,
                        'amount': Decimal('400'),
                        'date': application.create_date.date()}])

            application = Application(application.id)
            self.assertEqual(application.disbursed_amount, Decimal('400'))
            self.assertEqual(application.fee_amount, Decimal('0'))
            self.assertEqual(application.remaining_amount, Decimal('600'))

    @with_transaction()
    def test_channel_keys(self):
        "Each application gets its own random channel key, copies too"
        pool = Pool()
        Party = pool.get('party.party')
        Product = pool.get('loan.product')
        Application = pool.get('loan.application')
        company = create_company()
        with set_company(company):
            lender, customer = Party.create(
                [{'name': "Lender"}, {'name': "Customer"}])
            product, = Product.create([{
                        'name': "Loan", 'lender': lender.id}])
            application, = Application.create([{
                        'party': customer.id, 'product': product.id}])
            copy, = Application.copy([application])
            self.assertTrue(application.channel_key)
            self.assertTrue(copy.channel_key)
            self.assertNotEqual(application.channel_key, copy.channel_key)


del ModuleTestCase
