# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Set-up helpers for loan_brokerage scenarios, the demo and the benchmark"
import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from proteus import Model, Wizard
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    set_fiscalyear_invoice_sequences)
from trytond.modules.company.tests.tools import create_company, get_company


def setup_loan(config, commission_formula='amount * 0.3'):
    """Company, chart of accounts, the fee product in the loan configuration,
    a commission product and a plan with the formula on the fee"""
    create_company(config=config)
    create_chart(get_company(config=config), config=config)
    setup_products(config, commission_formula=commission_formula)


def setup_products(config, commission_formula='amount * 0.3'):
    "Fee product, commission product and plan; returns the plan"
    accounts = get_accounts(config=config)
    Category = Model.get('product.category', config=config)
    Uom = Model.get('product.uom', config=config)
    Template = Model.get('product.template', config=config)
    Plan = Model.get('commission.plan', config=config)
    Configuration = Model.get('loan.configuration', config=config)
    unit, = Uom.find([('name', '=', 'Unit')])

    category = Category(name='Loan Brokerage')
    category.accounting = True
    category.account_expense = accounts['expense']
    category.account_revenue = accounts['revenue']
    category.save()

    def service(name):
        template = Template(name=name, default_uom=unit, type='service')
        template.list_price = Decimal(0)
        template.account_category = category
        template.save()
        return template.products[0]

    configuration = Configuration(1)
    configuration.fee_product = service('贷款服务费 Brokerage fee')
    configuration.save()
    plan = Plan(name='Rep commission')
    plan.commission_product = service('销售提成 Rep commission')
    plan.commission_method = 'posting'
    line = plan.lines.new()
    line.formula = commission_formula
    plan.save()
    return plan


def setup_loan_actors(config):
    """After setup_loan: the rep 刘洋 (login ``rep``, an employee in the loan
    and telesales rep groups, commission agent on the plan), a second rep
    陈静, and the lender 招商银行深圳分行 with its product 经营贷: 12 months
    at 6 %, the firm earns 2 % of what is disbursed"""
    company = get_company(config=config)
    Party = Model.get('party.party', config=config)
    Employee = Model.get('company.employee', config=config)
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Agent = Model.get('commission.agent', config=config)
    Plan = Model.get('commission.plan', config=config)
    Product = Model.get('loan.product', config=config)
    plan, = Plan.find([])
    rep_party = Party(name='刘洋')
    rep_party.save()
    rep = Employee(party=rep_party, company=company)
    rep.save()
    rep_user = User(login='rep', name='刘洋')
    rep_user.groups.extend(Group.find([('name', 'in', [
                    'Loan Brokerage', 'Telesales',
                    'Telesales Representative'])]))
    rep_user.companies.append(company)
    rep_user.company = company
    rep_user.employees.append(rep)
    rep_user.employee = rep
    rep_user.save()
    Agent(party=rep_party, type_='agent', plan=plan).save()
    other_party = Party(name='陈静')
    other_party.save()
    Employee(party=other_party, company=company).save()
    lender = Party(name='招商银行深圳分行')
    lender.save()
    product = Product(name='经营贷', lender=lender, type_='loan')
    product.term = 12
    product.rate = Decimal('0.0600')
    product.fee_rate = Decimal('0.0200')
    product.save()


def loan_actors(config=None):
    "The records of setup_loan_actors, by role"
    Employee = Model.get('company.employee', config=config)
    User = Model.get('res.user', config=config)
    Agent = Model.get('commission.agent', config=config)
    Product = Model.get('loan.product', config=config)
    rep, = Employee.find([('party.name', '=', '刘洋')])
    other_rep, = Employee.find([('party.name', '=', '陈静')])
    rep_user, = User.find([('login', '=', 'rep')])
    agent, = Agent.find([('party', '=', rep.party.id)])
    product, = Product.find([('name', '=', '经营贷')])
    return SimpleNamespace(company=get_company(config=config), rep=rep,
        other_rep=other_rep, rep_user=rep_user, agent=agent,
        product=product, lender=product.lender)


def setup_fiscal_year(config=None, today=None):
    "A fiscal year of today with invoice sequences and monthly periods"
    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(today=today or dt.date.today(), config=config),
        config=config)
    fiscalyear.click('create_period')
    return fiscalyear


def create_customer(rep, name='王先生', mobile='13798312311',
        stage='opportunity', config=None):
    "A customer of rep at stage, with a mobile number (as an admin)"
    Party = Model.get('party.party', config=config)
    customer = Party(name=name, crm_stage=stage, crm_ownership='personal',
        crm_owner=rep)
    mechanism = customer.contact_mechanisms.new(type='mobile')
    mechanism.value = mobile
    customer.save()
    return customer


def sign_application(customer, product, amount, config=None):
    "A loan application of customer signed for amount (as its rep)"
    Application = Model.get('loan.application', config=config)
    application = Application(party=customer, product=product)
    application.amount = amount
    application.save()
    application.click('sign')
    return application


def disburse(application, amount=None, config=None):
    "Disburse amount (the rest when None) of the application today"
    wizard = Wizard('loan.application.disburse', [application],
        config=config)
    if amount is not None:
        wizard.form.amount = amount
    wizard.execute('disburse')
    application.reload()
    return application
