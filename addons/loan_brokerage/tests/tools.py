# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Set-up helpers for loan_brokerage scenarios, the demo and the benchmark"
from decimal import Decimal

from proteus import Model
from trytond.modules.account.tests.tools import create_chart, get_accounts
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
