# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of early_ed_crm, loaded by demo/loader.py"
import datetime as dt
from decimal import Decimal

from proteus import Model, Wizard

_E = 'early_ed_crm.'
GROUPS = {
    'manager': [_E + 'group_early_ed', _E + 'group_early_ed_admin',
        _E + 'group_early_ed_store_manager', 'sale.group_sale',
        'sale_point.group_sale_point'],
    'supervisor': [_E + 'group_early_ed',
        _E + 'group_early_ed_consultant_supervisor', 'sale.group_sale',
        'sale_point.group_sale_point'],
    'rep': [_E + 'group_early_ed', _E + 'group_early_ed_consultant',
        'sale.group_sale'],
    # deferred revenue and card liabilities: the cards, lots, ledger and
    # check-ins (read only) and the accounting of the card operations
    'accountant': [_E + 'group_early_ed_accounting', 'account.group_account'],
    }

QUESTIONS = {
    "经济能力": [
        ("家庭月收入", 2, [("1万以下", 1), ("1-3万", 3), ("3万以上", 5)]),
        ("居住地离中心距离", 1, [("5公里以上", 1), ("2-5公里", 3),
                ("2公里以内", 5)]),
        ],
    "早教认识": [
        ("是否重视早期教育", 2, [("一般", 1), ("比较重视", 3),
                ("非常重视", 5)]),
        ("是否了解过其他早教机构", 1, [("没有", 1), ("了解过", 3),
                ("曾在其他机构上课", 5)]),
        ],
    }
LEVELS = [("C类客户", 0), ("B类客户", 12), ("A类客户", 22)]


def load(demo):
    config = demo.config
    Card = Model.get('member.card', config=config)
    if Card.find([], limit=1):
        return
    accounts = _accounting(demo)
    _assessment(config)
    products = _products(config, accounts)
    with demo.in_language():
        cards = _cards_and_contracts(demo, products, accounts)
        _answers(config)
    _point_of_sale(demo, products, accounts, cards)


def _accounting(demo):
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    config = demo.config
    Account = Model.get('account.account', config=config)
    AccountType = Model.get('account.account.type', config=config)
    FiscalYear = Model.get('account.fiscalyear', config=config)
    Journal = Model.get('account.journal', config=config)
    Configuration = Model.get('member.configuration', config=config)
    if not Account.find([('type', '!=', None)], limit=1):
        create_chart(demo.company, config=config)
    today = dt.date.today()
    # one fiscal year from 400 days back (the past disbursements of
    # loan_brokerage's demo, which looks for such a year before creating
    # its own) to two months ahead (the company's Asia/Shanghai date runs
    # ahead of the server's)
    start, end = today - dt.timedelta(days=400), today + dt.timedelta(days=60)
    if not FiscalYear.find([
                ('company', '=', demo.company.id),
                ('start_date', '<=', today),
                ('end_date', '>=', today)]):
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(demo.company, today=(start, end),
                config=config), config=config)
        fiscalyear.click('create_period')
    accounts = get_accounts(demo.company, config=config)
    liability = AccountType(name="会员负债", statement='balance',
        member_liability=True)
    liability.save()
    accounts['deferred'] = Account(name="预收课程款（递延收入）",
        type=liability)
    accounts['deferred'].save()
    accounts['deposit'] = Account(name="会员储值", type=liability)
    accounts['deposit'].save()
    configuration = Configuration(1)
    configuration.journal, = Journal.find([('type', '=', 'general')],
        limit=1)
    configuration.deposit_account = accounts['deposit']
    configuration.event_revenue_account = accounts['revenue']
    configuration.save()
    return accounts


def _assessment(config):
    Level = Model.get('crm.level', config=config)
    Section = Model.get('crm.assessment.section', config=config)
    Threshold = Model.get('crm.assessment.threshold', config=config)
    for name, score in LEVELS:
        levels = Level.find([('name', '=', name)])
        level = levels[0] if levels else Level(name=name)
        level.save()
        Threshold(score=Decimal(score), level=level).save()
    for section_name, questions in QUESTIONS.items():
        section = Section(name=section_name)
        for name, weight, options in questions:
            question = section.questions.new(name=name,
                weight=Decimal(weight))
            for option, score in options:
                question.options.new(name=option, score=Decimal(score))
        section.save()


def _products(config, accounts):
    Category = Model.get('product.category', config=config)
    Template = Model.get('product.template', config=config)
    Uom = Model.get('product.uom', config=config)
    unit, = Uom.find([('name', '=', 'Unit')])
    category = Category(name="早教课程", accounting=True)
    category.account_revenue = accounts['revenue']
    category.course_deferred_account = accounts['deferred']
    category.save()
    products = {}
    for key, name, hours, price in [
            ('48', "亲子课程包 48课时", 48, 9600),
            ('96', "亲子课程包 96课时", 96, 17280),
            ('book', "绘本", None, 68)]:
        template = Template(name=name, type='service', default_uom=unit,
            salable=True, account_category=category,
            list_price=Decimal(price))
        if hours:
            template.course_hours = Decimal(hours)
        else:
            # sold at the front desk (point of sale), tax included
            template.gross_price = Decimal(price)
        template.save()
        products[key], = template.products
    return products


def _party(demo, name, owner):
    Party = Model.get('party.party', config=demo.config)
    party = Party(name=name, crm_stage='closed', crm_ownership='personal',
        crm_owner=demo.employees[owner])
    party.save()
    return party


def _contract(config, party, card, product, allocation='pool', shares=(),
        sign=True):
    Sale = Model.get('sale.sale', config=config)
    # signed three months ago: the invoices are numbered before the fee
    # invoices loan_brokerage's demo dates from 45 days back
    date = dt.date.today() - dt.timedelta(days=90)
    sale = Sale(party=party, member_card=card, member_allocation=allocation,
        sale_date=date)
    line = sale.lines.new(product=product, quantity=1)
    line.unit_price = product.list_price_used
    for share_card, hours in shares:
        sale.member_allocations.new(card=share_card, hours=Decimal(hours))
    if not sign:
        sale.save()
        return sale
    sale.click('quote')
    sale.click('confirm')
    sale.reload()
    if sale.state == 'confirmed':
        sale.click('process')
    for invoice in sale.invoices:
        invoice.invoice_date = date
        invoice.click('post')
    return sale


def _cards_and_contracts(demo, products, accounts):
    config = demo.config
    Card = Model.get('member.card', config=config)
    CheckIn = Model.get('member.checkin', config=config)
    Method = Model.get('sale.point.payment.method', config=config)

    wang = _party(demo, "王女士", 'rep1')
    xiaoming = Card(party=wang, holder="小明")
    xiaoming.save()
    _contract(config, wang, xiaoming, products['48'])

    li = _party(demo, "李先生", 'rep2')
    dabao = Card(party=li, holder="大宝")
    dabao.save()
    erbao = Card(party=li, holder="二宝", parent=dabao)
    erbao.save()
    _contract(config, li, dabao, products['96'])

    zhao = _party(demo, "赵女士", 'rep3')
    lele = Card(party=zhao, holder="乐乐")
    lele.save()
    huanhuan = Card(party=zhao, holder="欢欢")
    huanhuan.save()
    _contract(config, zhao, lele, products['48'], allocation='fixed',
        shares=[(lele, 30), (huanhuan, 18)])

    for card, course in [(xiaoming, "音乐启蒙"), (dabao, "感统训练"),
            (erbao, "感统训练"), (huanhuan, "美术")]:
        checkin = CheckIn(card=card, course=course, hours=Decimal(1))
        checkin.click('do')

    cash = Method(name="现金", account=accounts['cash'], cash=True)
    cash.save()
    # the front desk's other means: WeChat Pay and Alipay settle to the
    # bank like a card terminal (not counted in the cash drawer)
    for name in ["微信支付", "支付宝"]:
        Method(name=name, account=accounts['cash']).save()
    Method(name="会员卡", account=accounts['deposit'], member_card=True).save()
    recharge = Wizard('member.card.recharge', [xiaoming], config=config)
    recharge.form.method = cash
    recharge.form.amount = Decimal('500')
    recharge.execute('recharge')

    # a second contract of rep1's customer, still a draft: its card
    # allocation may still change
    _contract(config, wang, xiaoming, products['48'], allocation='fixed',
        shares=[(xiaoming, 48)], sign=False)
    return {'xiaoming': xiaoming, 'lele': lele, 'cash': cash}


def _answers(config):
    "Assessment answers of rep1's and of rep3's customer"
    Party = Model.get('party.party', config=config)
    Question = Model.get('crm.assessment.question', config=config)
    for name, option in [("王女士", 1), ("赵女士", 2)]:
        party, = Party.find([('name', '=', name)])
        for question in Question.find([]):
            party.assessment_answers.new(question=question,
                option=question.options[option])
        party.save()


def _point_of_sale(demo, products, accounts, cards):
    """The centre's front desk: picture books sold by rep1 (paid from the
    card of rep1's customer, and one still open) and by rep3 (cash)"""
    config = demo.config
    Employee = Model.get('company.employee', config=config)
    Journal = Model.get('account.journal', config=config)
    Location = Model.get('stock.location', config=config)
    Method = Model.get('sale.point.payment.method', config=config)
    POS = Model.get('sale.point', config=config)
    Sale = Model.get('sale.point.sale', config=config)
    SequenceStrict = Model.get('ir.sequence.strict', config=config)
    SequenceType = Model.get('ir.sequence.type', config=config)
    card_method, = Method.find([('member_card', '=', True)])
    point = POS(name="前台")
    point.journal, = Journal.find([('type', '=', 'revenue')], limit=1)
    point.sequence = SequenceStrict(name="前台", company=point.company)
    point.sequence.sequence_type, = SequenceType.find(
        [('name', '=', "POS")], limit=1)
    point.sequence.save()
    point.storage_location, = Location.find([('code', '=', 'STO')])
    point.customer_location, = Location.find([('code', '=', 'CUS')])
    point.save()
    for login, quantity, method, card in [
            ('rep1', 1, card_method, cards['xiaoming']),
            ('rep3', 2, cards['cash'], None),
            ('rep1', 1, None, None)]:
        sale = Sale(point=point,
            employee=Employee(demo.employees[login].id))
        line = sale.lines.new()
        line.product = products['book']
        line.quantity = quantity
        sale.save()
        if method:
            pay = sale.click('pay')
            pay.form.method = method
            if card:
                pay.form.member_card = card
            pay.execute('pay')
