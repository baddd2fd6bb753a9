# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from trytond.model.exceptions import DomainValidationError
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from ..exceptions import DisburseError, RepaymentError, SignError


class LoanBrokerageTestCase(CompanyTestMixin, ModuleTestCase):
    "Test loan_brokerage module"
    module = 'loan_brokerage'
    extras = ['pbx_connector', 'sms_gateway']

    def application(self, amount=Decimal('1000'), fee_rate=Decimal('0.02'),
            term=12, rate=Decimal(0), employee=True, **values):
        """A draft application of amount by a new customer, for a new
        product of fee_rate, term and rate, signed by a new rep (employee
        True) or employee"""
        pool = Pool()
        Party = pool.get('party.party')
        Product = pool.get('loan.product')
        Application = pool.get('loan.application')
        Company = pool.get('company.company')
        company = Company(Transaction().context['company'])
        lender, customer = Party.create(
            [{'name': "Lender"}, {'name': "Customer"}])
        product, = Product.create([{
                    'name': "Loan", 'lender': lender.id, 'term': term,
                    'rate': rate, 'fee_rate': fee_rate}])
        if employee is True:
            employee = create_employee(company, name="Rep")
        application, = Application.create([{
                    'party': customer.id, 'product': product.id,
                    'employee': employee.id if employee else None,
                    'amount': amount, **values}])
        return application

    def signed(self, *args, **kwargs):
        "A signed application (the arguments of application)"
        Application = Pool().get('loan.application')
        application = self.application(*args, **kwargs)
        Application.sign([application])
        return Application(application.id)

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

    @with_transaction()
    def test_product_rate_bounds(self):
        "A product's fee rate is in [0, 1), its rate >= 0, its term > 0"
        pool = Pool()
        Party = pool.get('party.party')
        Product = pool.get('loan.product')
        company = create_company()
        with set_company(company):
            lender, = Party.create([{'name': "Lender"}])

            def product(**values):
                return Product.create([{'name': "Loan",
                            'lender': lender.id, **values}])
            for values in [{'fee_rate': Decimal(0)},
                    {'fee_rate': Decimal('0.9999')}, {'rate': Decimal(0)},
                    {'term': 1}]:
                with self.subTest(**values):
                    product(**values)
            for values in [{'fee_rate': Decimal(1)},
                    {'fee_rate': Decimal('-0.0001')},
                    {'rate': Decimal('-0.0001')}, {'term': 0}]:
                with self.subTest(**values):
                    with self.assertRaises(DomainValidationError):
                        product(**values)

    @with_transaction()
    def test_sign_amount_and_rep_required(self):
        "Signing needs a positive amount and a rep"
        Application = Pool().get('loan.application')
        company = create_company()
        with set_company(company):
            for amount in [None, Decimal(0), Decimal('-0.01')]:
                with self.subTest(amount=amount):
                    application = self.application(amount=amount)
                    with self.assertRaises(SignError):
                        Application.sign([application])
                    self.assertEqual(application.state, 'draft')
            application = self.application(employee=None)
            with self.assertRaises(SignError):
                Application.sign([application])
            application = self.signed(amount=Decimal('0.01'))
            self.assertEqual(application.state, 'signed')

    @with_transaction()
    def test_sign_fee_rate(self):
        "Signing copies the product's fee rate unless one is set, 0 too"
        Application = Pool().get('loan.application')
        company = create_company()
        with set_company(company):
            copied = self.signed(fee_rate=Decimal('0.0150'))
            self.assertEqual(copied.fee_rate, Decimal('0.0150'))
            for rate in [Decimal('0.0300'), Decimal(0)]:
                with self.subTest(rate=rate):
                    kept = self.application(fee_rate=Decimal('0.0150'))
                    kept.fee_rate = rate
                    kept.save()
                    Application.sign([kept])
                    self.assertEqual(kept.fee_rate, rate)

    @with_transaction()
    def test_disbursable_states_and_amounts(self):
        """Only a signed or partly disbursed application is disbursed, by a
        positive amount up to what remains"""
        Application = Pool().get('loan.application')
        company = create_company()
        with set_company(company):
            draft = self.application()
            with self.assertRaises(DisburseError):
                draft.check_disbursable(Decimal('1'))
            application = self.signed(amount=Decimal('1000.00'))
            for amount in [None, Decimal(0), Decimal('-0.01'),
                    Decimal('1000.01')]:
                with self.subTest(amount=amount):
                    with self.assertRaises(DisburseError):
                        application.check_disbursable(amount)
            application.check_disbursable(Decimal('0.01'))
            application.check_disbursable(Decimal('1000.00'))
            # against a remainder given by the caller (several at once)
            with self.assertRaises(DisburseError):
                application.check_disbursable(
                    Decimal('400.01'), Decimal('400.00'))
            Application.cancel([application])
            with self.assertRaises(DisburseError):
                application.check_disbursable(Decimal('1'))

    @with_transaction()
    def test_disburse_in_parts_not_twice(self):
        """Parts add up to the signed amount, in one call or several; a
        disbursed application is not disbursed again"""
        Application = Pool().get('loan.application')
        company = create_company()
        today = dt.date.today()
        with set_company(company):
            # without fee, no fee invoice: only the disbursement rules
            application = self.signed(
                amount=Decimal('1000.00'), fee_rate=Decimal(0))
            with self.assertRaises(DisburseError):
                Application.add_disbursements([
                        (application, Decimal('600.00'), today),
                        (application, Decimal('400.01'), today)])
            Application.add_disbursement(
                application, Decimal('600.00'), today)
            application = Application(application.id)
            self.assertEqual(application.state, 'disbursing')
            self.assertEqual(application.remaining_amount, Decimal('400.00'))
            self.assertEqual(application.repayments, ())
            Application.add_disbursements([
                    (application, Decimal('399.99'), today),
                    (application, Decimal('0.01'), today)])
            application = Application(application.id)
            self.assertEqual(application.state, 'disbursed')
            self.assertEqual(application.disbursed_amount, Decimal('1000.00'))
            self.assertEqual(application.remaining_amount, Decimal(0))
            self.assertEqual(len(application.repayments), 12)
            with self.assertRaises(DisburseError):
                Application.add_disbursement(
                    application, Decimal('0.01'), today)
            self.assertEqual(len(application.disbursements), 3)

    @with_transaction()
    def test_fee_rate_and_rounding(self):
        """The fee is the disbursed amount times the application's fee rate
        (the product's when it has none), rounded half up to the cent"""
        pool = Pool()
        Application = pool.get('loan.application')
        Disbursement = pool.get('loan.disbursement')
        company = create_company()
        with set_company(company):
            application = self.application(fee_rate=Decimal('0.0200'))

            def fee(amount, rate=None):
                if rate is not None:
                    Application.write([application], {'fee_rate': rate})
                disbursement, = Disbursement.create([{
                            'application': application.id,
                            'amount': amount,
                            'date': dt.date.today()}])
                return disbursement.compute_fee()
            # the draft has the product's rate from on_change only: none
            self.assertIsNone(application.fee_rate)
            self.assertEqual(fee(Decimal('1000.00')),
                (Decimal('0.0200'), Decimal('20.00')))
            self.assertEqual(fee(Decimal('0.25')),
                (Decimal('0.0200'), Decimal('0.01')))  # 0.005 half up
            self.assertEqual(fee(Decimal('0.24')),
                (Decimal('0.0200'), Decimal('0.00')))  # 0.0048
            self.assertEqual(fee(Decimal('0.74'), Decimal('0.0125')),
                (Decimal('0.0125'), Decimal('0.01')))  # 0.00925
            self.assertEqual(fee(Decimal('500000.00'), Decimal('0.0125')),
                (Decimal('0.0125'), Decimal('6250.00')))
            # a fee rate of 0 on the application is not the product's
            self.assertEqual(fee(Decimal('1000.00'), Decimal(0)),
                (Decimal(0), Decimal('0.00')))

    @with_transaction()
    def test_no_fee_no_invoice(self):
        "A disbursement whose fee rounds to zero gets no fee invoice"
        pool = Pool()
        Application = pool.get('loan.application')
        company = create_company()
        with set_company(company):
            application = self.signed(
                amount=Decimal('0.24'), fee_rate=Decimal('0.0200'))
            disbursement = Application.add_disbursement(
                application, Decimal('0.24'), dt.date.today())
            self.assertEqual(disbursement.fee_amount, Decimal('0.00'))
            self.assertEqual(disbursement.fee_rate, Decimal('0.0200'))
            self.assertIsNone(disbursement.fee_invoice)
            self.assertEqual(disbursement.fee_invoice_state, '')
            self.assertEqual(disbursement.commission_amount, Decimal(0))
            self.assertEqual(disbursement.commission_state, '')

    @with_transaction()
    def test_schedule_equal_principal(self):
        """Equal principal rounded to the cent, the last instalment takes
        the rest; interest on the outstanding principal, monthly; due
        dates a month apart from the last disbursement"""
        Application = Pool().get('loan.application')
        company = create_company()
        with set_company(company):
            application = self.signed(amount=Decimal('100.00'),
                fee_rate=Decimal(0), term=3, rate=Decimal('0.1200'))
            Application.add_disbursement(
                application, Decimal('40.00'), dt.date(2026, 1, 15))
            Application.add_disbursement(
                application, Decimal('60.00'), dt.date(2026, 1, 31))
            application = Application(application.id)
            self.assertEqual(
                [(r.number, r.due_date, r.principal, r.interest, r.amount)
                    for r in application.repayments], [
                    (1, dt.date(2026, 2, 28), Decimal('33.33'),
                        Decimal('1.00'), Decimal('34.33')),
                    (2, dt.date(2026, 3, 31), Decimal('33.33'),
                        Decimal('0.67'), Decimal('34.00')),
                    (3, dt.date(2026, 4, 30), Decimal('33.34'),
                        Decimal('0.33'), Decimal('33.67')),
                    ])
            self.assertEqual(sum(r.principal for r in application.repayments),
                application.amount)
            # made once
            self.assertEqual(application.create_schedule(), [])

    @with_transaction()
    def test_schedule_rounding_sums(self):
        "Whatever the amount and term, the principal sums to the amount"
        Application = Pool().get('loan.application')
        company = create_company()
        with set_company(company):
            for amount, term in [(Decimal('0.01'), 3), (Decimal('0.05'), 12),
                    (Decimal('99999.99'), 7), (Decimal('1000.00'), 1)]:
                with self.subTest(amount=amount, term=term):
                    application = self.signed(amount=amount,
                        fee_rate=Decimal(0), term=term)
                    Application.add_disbursement(
                        application, amount, dt.date.today())
                    repayments = Application(application.id).repayments
                    self.assertEqual(len(repayments), term)
                    self.assertEqual(
                        sum(r.principal for r in repayments), amount)
                    self.assertEqual({r.interest for r in repayments},
                        {Decimal(0)})

    @with_transaction()
    def test_receive_repayments(self):
        """A repayment is received in full unless an amount is entered, a
        positive one; the first starts repaying, the last closes, and a
        received repayment is kept"""
        pool = Pool()
        Application = pool.get('loan.application')
        Repayment = pool.get('loan.repayment')
        company = create_company()
        with set_company(company):
            draft = self.application()
            signed = self.signed(amount=Decimal('90.00'),
                fee_rate=Decimal(0), term=3)
            Application.add_disbursement(
                signed, Decimal('90.00'), dt.date.today())
            first, second, third = Application(signed.id).repayments
            self.assertEqual(first.amount, Decimal('30.00'))
            for amount in [Decimal(0), Decimal('-0.01')]:
                with self.subTest(amount=amount):
                    first.received_amount = amount
                    with self.assertRaises(RepaymentError):
                        Repayment.receive([first])
            first.received_amount = None
            Repayment.receive([first])
            self.assertEqual(first.received_amount, Decimal('30.00'))
            self.assertEqual(first.received_date, dt.date.today())
            application = Application(signed.id)
            self.assertEqual(application.state, 'repaying')
            self.assertEqual(application.repaid_amount, Decimal('30.00'))
            with self.assertRaises(RepaymentError):
                Repayment.write([first], {'received_amount': Decimal('1')})
            second.received_amount = Decimal('0.01')
            Repayment.receive([second, third])
            application = Application(signed.id)
            self.assertEqual(application.state, 'closed')
            self.assertEqual(application.repaid_amount, Decimal('60.01'))
            # nothing is received on an application not disbursed
            repayment, = Repayment.create([{'application': draft.id,
                        'number': 1, 'due_date': dt.date.today(),
                        'principal': Decimal(10), 'interest': Decimal(0)}])
            with self.assertRaises(RepaymentError):
                Repayment.receive([repayment])

    @with_transaction()
    def test_commission_agent_of_the_rep(self):
        """Signing gives the commission to the agent the host's agent
        selections choose for the rep, else to the agent of the rep's own
        party; without one nobody gets it"""
        pool = Pool()
        Agent = pool.get('commission.agent')
        Selection = pool.get('commission.agent.selection')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            application = self.signed()
            self.assertIsNone(application.agent)

            rep = create_employee(company, name="Rep 2")
            own, = Agent.create([{'party': rep.party.id, 'type_': 'agent'}])
            application = self.signed(employee=rep)
            self.assertEqual(application.agent, own)

            team_party, = Party.create([{'name': "Team"}])
            team, = Agent.create([{'party': team_party.id, 'type_': 'agent'}])
            Selection.create([{'agent': team.id, 'employee': rep.id}])
            application = self.signed(employee=rep)
            self.assertEqual(application.agent, team)

            # a principal (what the firm pays to) never earns it
            other = create_employee(company, name="Rep 3")
            Agent.create([{'party': other.party.id, 'type_': 'principal'}])
            application = self.signed(employee=other)
            self.assertIsNone(application.agent)

    @with_transaction()
    def test_commission_state_of_disbursement(self):
        "A disbursement's commission state sums up those of its commissions"
        Disbursement = Pool().get('loan.disbursement')

        def state(*invoice_states):
            return Disbursement._commission_state(
                [SimpleNamespace(invoice_state=s) for s in invoice_states])
        self.assertEqual(state(), '')
        self.assertEqual(state(''), 'pending')
        self.assertEqual(state('', 'paid'), 'pending')
        self.assertEqual(state('paid', 'paid'), 'paid')
        self.assertEqual(state('cancelled'), 'cancelled')
        self.assertEqual(state('invoiced', 'paid'), 'invoiced')
        self.assertEqual(state('cancelled', 'paid'), 'invoiced')


del ModuleTestCase
