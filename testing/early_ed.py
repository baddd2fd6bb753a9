# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Helpers shared by the concurrency test and bench/wallet, and the set-up
of the member card scenarios"""
import datetime as dt
import random
import time
from decimal import Decimal
from types import SimpleNamespace

from proteus import Model, Wizard

from trytond import backend
from trytond.exceptions import UserError
from trytond.transaction import Transaction, TransactionError


class Outcome:
    "What happened to one operation run by run_like_rpc"
    def __init__(self):
        self.result = None
        self.refused = None
        self.retries = 0


def run_like_rpc(database, user, func, context=None, max_retries=1000):
    """Run func in its own transaction the way trytond's dispatcher does:
    restart with the row locks a TransactionError asks for, retry on
    lock/serialisation failures, and report a UserError as a refusal."""
    outcome, extras = Outcome(), {}
    while True:
        try:
            with Transaction().start(database, user, context=context,
                    **extras) as transaction:
                try:
                    outcome.result = func()
                except TransactionError as exc:
                    transaction.rollback()
                    exc.fix(extras)
                    outcome.retries += 1
                    continue
                except UserError as exc:
                    transaction.rollback()
                    outcome.refused = exc
                    return outcome
            return outcome
        except backend.DatabaseOperationalError:
            outcome.retries += 1
            if outcome.retries > max_retries:
                raise
            # random exponential back-off leaves the CPU to the lock holder
            time.sleep(random.uniform(
                    0, min(0.2, 0.002 * 2 ** min(outcome.retries, 7))))


# -- scenarios ----------------------------------------------------------------

def setup_member_cards(config):
    """After create_company and create_chart: the member liabilities
    (deferred course revenue, member deposits), the card configuration
    (100 per class hour, the general journal) and a course package of 48
    class hours at 9600 invoiced to the deferred revenue"""
    from trytond.modules.account.tests.tools import get_accounts
    accounts = get_accounts(config=config)
    Account = Model.get('account.account', config=config)
    AccountType = Model.get('account.account.type', config=config)
    Journal = Model.get('account.journal', config=config)
    Configuration = Model.get('member.configuration', config=config)
    ProductCategory = Model.get('product.category', config=config)
    ProductTemplate = Model.get('product.template', config=config)
    ProductUom = Model.get('product.uom', config=config)
    liability = AccountType(name="Member liabilities",
        statement='balance', member_liability=True)
    liability.save()
    deferred = Account(name="Deferred course revenue", type=liability)
    deferred.save()
    deposit = Account(name="Member deposits", type=liability)
    deposit.save()
    journal, = Journal.find([('type', '=', 'general')], limit=1)
    configuration = Configuration(1)
    configuration.hour_cash_rate = Decimal('100')
    configuration.journal = journal
    configuration.deposit_account = deposit
    configuration.event_revenue_account = accounts['revenue']
    configuration.save()
    unit, = ProductUom.find([('name', '=', 'Unit')])
    category = ProductCategory(name="Courses", accounting=True)
    category.account_revenue = accounts['revenue']
    category.course_deferred_account = deferred
    category.save()
    template = ProductTemplate(name="Music 48 hours", type='service')
    template.default_uom = unit
    template.salable = True
    template.list_price = Decimal('9600')
    template.course_hours = Decimal('48')
    template.account_category = category
    template.save()


def member_books(config=None, today=None):
    """A fiscal year of today, and the records of setup_member_cards:
    ``accounts`` (the chart's), ``deferred``, ``deposit``, ``category``,
    ``course`` and ``unit``"""
    from trytond.modules.account.tests.tools import (
        create_fiscalyear, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(
            today=today or dt.date.today(), config=config), config=config)
    fiscalyear.click('create_period')
    Account = Model.get('account.account', config=config)
    ProductCategory = Model.get('product.category', config=config)
    Product = Model.get('product.product', config=config)
    ProductUom = Model.get('product.uom', config=config)
    deferred, = Account.find([('name', '=', "Deferred course revenue")])
    deposit, = Account.find([('name', '=', "Member deposits")])
    category, = ProductCategory.find([('name', '=', "Courses")])
    course, = Product.find([('name', '=', "Music 48 hours")])
    unit, = ProductUom.find([('name', '=', 'Unit')])
    return SimpleNamespace(accounts=get_accounts(config=config),
        deferred=deferred, deposit=deposit, category=category, course=course,
        unit=unit)


def check_books(books, config=None):
    """Check the trial balance agrees with the card ledger: the deferred
    revenue is what was invoiced less the value of the hours consumed, the
    member deposits the cash on the cards; return True"""
    MoveLine = Model.get('account.move.line', config=config)
    Invoice = Model.get('account.invoice', config=config)
    Lot = Model.get('member.card.lot', config=config)
    Card = Model.get('member.card', config=config)
    lines = MoveLine.find([('move.state', '=', 'posted')])
    assert sum(l.debit - l.credit for l in lines) == 0

    def balance(account):
        return sum(l.credit - l.debit for l in lines if l.account == account)
    invoiced = sum(l.amount for i in Invoice.find([('state', '=', 'posted')])
        for l in i.lines if l.account == books.deferred)
    consumed = sum((lot.hours - lot.remaining) * lot.price_per_hour
        for lot in Lot.find([('price_per_hour', '!=', None)]))
    assert balance(books.deferred) == invoiced - consumed, (
        balance(books.deferred), invoiced, consumed)
    cash = sum(c.cash_balance for c in Card.find(
            [('state', 'in', ['active', 'lost', 'frozen'])]))
    assert balance(books.deposit) == cash, (balance(books.deposit), cash)
    return True


def sign_contract(party, card, course, quantity=1, allocation='pool',
        shares=(), config=None):
    """Sign a contract of quantity course packages at 9600 for the card
    (allocation ``pool`` or ``fixed`` with shares of (card, hours)), process
    it and post its invoice; return the sale"""
    Sale = Model.get('sale.sale', config=config)
    sale = Sale(party=party, member_card=card, member_allocation=allocation)
    line = sale.lines.new(product=course, quantity=quantity)
    line.unit_price = Decimal('9600')
    for share_card, hours in shares:
        sale.member_allocations.new(card=share_card, hours=hours)
    sale.click('quote')
    sale.click('confirm')
    sale.reload()
    if sale.state == 'confirmed':
        sale.click('process')
    invoice, = sale.invoices
    invoice.click('post')
    return sale


def cash_method(books, config=None):
    "The cash payment method 现金 (created the first time)"
    PaymentMethod = Model.get('sale.point.payment.method', config=config)
    methods = PaymentMethod.find([('name', '=', "现金")])
    if methods:
        return methods[0]
    method = PaymentMethod(name="现金", account=books.accounts['cash'],
        cash=True)
    method.save()
    return method


def recharge(card, amount, method, config=None):
    "Recharge the card's cash wallet with amount paid with method"
    wizard = Wizard('member.card.recharge', [card], config=config)
    wizard.form.method = method
    wizard.form.amount = amount
    wizard.execute('recharge')
    card.reload()
    return card
