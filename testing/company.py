# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A company as the suite's users have one: in CNY, in China's timezone,
with an address; its employees. Run inside a transaction."""
import datetime as dt
from contextlib import contextmanager
from decimal import Decimal

from trytond.pool import Pool
from trytond.transaction import Transaction


def get_currency(code='CNY'):
    "The currency of code, created with a rate of 1 if missing"
    Currency = Pool().get('currency.currency')
    currencies = Currency.search([('code', '=', code)])
    if currencies:
        currency, = currencies
        return currency
    currency, = Currency.create([{
                'name': code, 'code': code, 'symbol': code,
                'rounding': Decimal('0.01'), 'digits': 2,
                'rates': [('create', [{
                                'date': dt.date(2000, 1, 1),
                                'rate': Decimal(1)}])],
                }])
    return currency


def create_company(name='示范销售服务有限公司', currency='CNY'):
    pool = Pool()
    Party = pool.get('party.party')
    Company = pool.get('company.company')
    party, = Party.create([{'name': name, 'addresses': [('create', [{}])]}])
    company = Company(party=party, currency=get_currency(currency),
        timezone='Asia/Shanghai')
    company.save()
    return company


def create_employee(company, name='销售代表'):
    pool = Pool()
    Party = pool.get('party.party')
    Employee = pool.get('company.employee')
    party, = Party.create([{'name': name, 'addresses': [('create', [{}])]}])
    employee = Employee(party=party, company=company)
    employee.save()
    return employee


@contextmanager
def set_company(company):
    "Make company the current user's company for the block"
    User = Pool().get('res.user')
    User.write([User(Transaction().user)], {
            'companies': [('add', [company.id])],
            'company': company.id,
            })
    with Transaction().set_context(User.get_preferences(context_only=True)):
        yield
