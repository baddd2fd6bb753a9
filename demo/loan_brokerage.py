# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of loan_brokerage, loaded by demo/loader.py"
import base64
import datetime as dt
from decimal import Decimal

from proteus import Model, Wizard

GROUPS = {
    'manager': ['loan_brokerage.group_loan', 'loan_brokerage.group_loan_admin'],
    'supervisor': ['loan_brokerage.group_loan'],
    'rep': ['loan_brokerage.group_loan'],
    # reconciles the lenders' fee invoices with the reps' commission
    # payouts: accounting and commissions; reads (only) the applications,
    # disbursements and products behind them, not the repayments, the
    # change log or the customers' phone numbers
    'accountant': ['account.group_account', 'commission.group_commission'],
    }
CHANNEL_LOGIN = 'channel'

LENDERS = ['招商银行深圳分行', '平安普惠', '宜信财富']
# name, code, lender index, type, term, rate, fee rate
PRODUCTS = [
    ('经营贷', 'JYD', 0, 'loan', 12, '0.0600', '0.0200'),
    ('房产抵押贷', 'FCD', 1, 'loan', 36, '0.0490', '0.0150'),
    ('稳健理财', 'WJLC', 2, 'investment', 12, '0.0450', '0.0100'),
    ('资管计划', 'ZGJH', 2, 'asset_management', 24, '0.0700', '0.0120'),
    ]
# customer, mobile, product code, rep login, amount, state
APPLICATIONS = [
    ('周建国', '+8613800138001', 'JYD', 'rep1', '300000.00', 'draft'),
    ('吴丽华', '+8613800138002', 'FCD', 'rep1', '800000.00', 'signed'),
    ('郑海涛', '+8613800138003', 'JYD', 'rep2', '500000.00', 'disbursing'),
    ('孙晓梅', '+8613800138004', 'FCD', 'rep2', '1200000.00', 'disbursed'),
    ('钱志强', '+8613800138005', 'WJLC', 'rep3', '200000.00', 'repaying'),
    ('冯雪', '+8613800138006', 'JYD', 'rep3', '60000.00', 'closed'),
    ('陈宇', '+8613800138007', 'ZGJH', 'rep4', '1000000.00', 'cancelled'),
    ('黄志明', '+8613800138008', 'FCD', 'rep1', '400000.00', 'repaying'),
    ]
# the business administrator's logged corrections of signed terms (LN-05):
# customer, field, days added
CORRECTIONS = [
    ('黄志明', 'expected_disbursement_date', 3),
    ('钱志强', 'expected_disbursement_date', 5),
    ]
# a 1×1 PNG standing for a contract photo
PHOTO = base64.b64decode(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ'
    'DwAEhQGAhKmMIQAAAABJRU5ErkJggg==')


def load(demo):
    config = demo.config
    Application = Model.get('loan.application', config=config)
    if Application.find([], limit=1):
        return
    _setup_accounting(demo)
    plan = _setup_commission(demo)
    _create_agents(demo, plan)
    products = _create_products(demo)
    with demo.in_language():
        _create_applications(demo, products)
        _correct_applications(demo)
    _create_channel_user(demo)


def _setup_accounting(demo):
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    config = demo.config
    Account = Model.get('account.account', config=config)
    FiscalYear = Model.get('account.fiscalyear', config=config)
    company = demo.company
    if not Account.find([('company', '=', company.id)], limit=1):
        create_chart(company, config=config)
    today = dt.date.today()
    if not FiscalYear.find([
                ('company', '=', company.id),
                ('start_date', '<=', today - dt.timedelta(days=400)),
                ('end_date', '>=', today),
                ]):
        # one fiscal year covering the demo's past disbursements
        fiscalyear = create_fiscalyear(
            company, today=(today - dt.timedelta(days=400), today),
            config=config)
        fiscalyear = set_fiscalyear_invoice_sequences(
            fiscalyear, config=config)
        fiscalyear.click('create_period')


def _setup_commission(demo):
    from testing.loan import setup_products
    config = demo.config
    Plan = Model.get('commission.plan', config=config)
    plans = Plan.find([('name', '=', 'Rep commission')])
    if plans:
        return plans[0]
    plan = setup_products(config)
    plan.name = '营销经理提成 30%'
    plan.save()
    return plan


def _create_agents(demo, plan):
    config = demo.config
    Agent = Model.get('commission.agent', config=config)
    for login in demo.logins('rep') + demo.logins('supervisor'):
        party = demo.employees[login].party
        if not Agent.find([('party', '=', party.id)]):
            Agent(party=party, type_='agent', plan=plan).save()


def _create_products(demo):
    config = demo.config
    Party = Model.get('party.party', config=config)
    Product = Model.get('loan.product', config=config)
    lenders = []
    for name in LENDERS:
        lender = Party(name=name)
        lender.save()
        lenders.append(lender)
    products = {}
    for name, code, lender, type_, term, rate, fee_rate in PRODUCTS:
        product = Product(name=name, code=code, lender=lenders[lender])
        product.type_ = type_
        product.term = term
        product.rate = Decimal(rate)
        product.fee_rate = Decimal(fee_rate)
        product.save()
        products[code] = product
    return products


def _create_applications(demo, products):
    config = demo.config
    Party = Model.get('party.party', config=config)
    Application = Model.get('loan.application', config=config)
    Attachment = Model.get('ir.attachment', config=config)
    today = dt.date.today()
    for index, (name, mobile, code, rep, amount, state) in enumerate(
            APPLICATIONS):
        customer = Party(name=name)
        customer.contact_mechanisms.new(type='mobile', value=mobile)
        customer.crm_stage = {
            'draft': 'opportunity', 'cancelled': 'potential'}.get(
            state, 'closed')
        customer.crm_ownership = 'personal'
        customer.crm_owner = demo.employees[rep]
        customer.save()
        application = Application(
            party=customer, product=products[code],
            employee=demo.employees[rep])
        application.amount = Decimal(amount)
        application.save()
        if state == 'cancelled':
            application.click('cancel')
            continue
        if state == 'draft':
            continue
        application.signing_date = today - dt.timedelta(days=60 - index)
        application.click('sign')
        Attachment(
            name='合同照片.png', resource=application, type='data',
            data=PHOTO).save()
        if state == 'signed':
            continue
        _disburse(application, state, today - dt.timedelta(days=45 - index))


def _correct_applications(demo):
    Application = Model.get('loan.application', config=demo.config)
    for name, field, days in CORRECTIONS:
        application, = Application.find([('party.name', '=', name)])
        value = getattr(application, field) or application.signing_date
        setattr(application, field, value + dt.timedelta(days=days))
        application.save()


def _disburse(application, state, date):
    config = application._config
    amount = application.amount
    first = amount if state != 'disbursing' else (amount / 2).quantize(
        Decimal('0.01'))
    disburse = Wizard('loan.application.disburse', [application],
        config=config)
    disburse.form.amount = first
    disburse.form.date = date
    disburse.execute('disburse')
    application.reload()
    if state in {'repaying', 'closed'}:
        Repayment = Model.get('loan.repayment', config=config)
        repayments = application.repayments
        if state == 'repaying':
            repayments = repayments[:2]
        Repayment.click(list(repayments), 'receive')


def _create_channel_user(demo):
    "A channel staff user who only looks customers up by phone (LN-08)"
    from demo.loader import LANGUAGE, password_of
    config = demo.config
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    ModelData = Model.get('ir.model.data', config=config)
    Lang = Model.get('ir.lang', config=config)
    if User.find([('login', '=', CHANNEL_LOGIN)]):
        return
    user = User(login=CHANNEL_LOGIN, name='渠道 小何',
        password=password_of(CHANNEL_LOGIN))
    user.language, = Lang.find([('code', '=', LANGUAGE)])
    user.companies.append(
        Model.get('company.company', config=config)(demo.company.id))
    user.company = user.companies[0]
    user.groups.append(Group(ModelData.get_id(
                'loan_brokerage', 'group_loan_channel', config.context)))
    user.save()
