# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of telesales_pipeline, loaded by demo/loader.py"
import datetime as dt
import random
from decimal import Decimal

_P = 'telesales_pipeline.'
GROUPS = {
    'manager': [
        _P + 'group_telesales', _P + 'group_telesales_manager',
        _P + 'group_telesales_admin', _P + 'group_telesales_export',
        _P + 'group_telesales_full_number'],
    'supervisor': [
        _P + 'group_telesales', _P + 'group_telesales_supervisor',
        _P + 'group_telesales_export'],
    'rep': [_P + 'group_telesales', _P + 'group_telesales_rep'],
    # staff outside the sales tree read parties (masked) without any
    # telesales group: they change none and see no telesales record
    'accountant': [],
    'sms_admin': [],
    'pbx_admin': [],
    }

LEVELS = [('A', 'A类（重点）'), ('B', 'B类（一般）'), ('C', 'C类（观察）')]
SOURCES = {
    '网络推广': ['百度', '抖音', '微信公众号'],
    '转介绍': ['老客户介绍', '员工介绍'],
    '电话营销': [],
    '地推活动': [],
    }
INDUSTRIES = ['教育培训', '金融服务', '商贸零售', '制造业', '信息技术']

# name, stage, marker, ownership, owner login, collaborator logins, phone
CUSTOMERS = [
    ('北京远景科技有限公司', 'reserve', 'uncontacted', 'shared', None, [],
        '13712342311'),
    ('上海宏达贸易有限公司', 'reserve', 'uncontacted', 'shared', None, [],
        '13800138000'),
    ('广州和信商贸', 'reserve', 'contacted', 'personal', 'rep1', [],
        '02087654321'),
    ('深圳新程教育', 'target', 'uncontacted', 'personal', 'rep1', [],
        '13923456789'),
    ('杭州云帆网络', 'target', 'contacted', 'personal', 'rep2', [],
        '057188776655'),
    ('成都天府食品', 'potential', 'tracking', 'personal', 'rep3', [],
        '13512345678'),
    ('武汉长江物流', 'potential', 'tracking_paused', 'collaborative',
        'rep1', ['rep2'], '13698765432'),
    ('南京金陵制造', 'opportunity', 'selling', 'personal', 'rep2', [],
        '13776543210'),
    ('西安古都文化', 'opportunity', 'sale_paused', 'personal', 'rep4', [],
        '02988887777'),
    ('重庆山城火锅', 'opportunity', 'sale_ended', 'personal', 'rep3', [],
        '13312341234'),
    ('苏州园林设计', 'opportunity', 'tracking', 'personal', 'rep1', [],
        '13151234567'),
    ('天津港湾贸易', 'closed', 'order_followup', 'personal', 'rep1', [],
        '13011112222'),
    ('青岛海风电器', 'closed', 'order_followup', 'personal', 'rep4', [],
        '053287654321'),
    ]

# rep2's VIP customer
VIP = '厦门鹭岛集团'


def load(demo):
    from proteus import Model
    config = demo.config
    Party = Model.get('party.party', config=config)
    if Party.find([('name', '=', CUSTOMERS[0][0])]):
        return
    lists = _load_lists(config)
    _load_customers(demo, lists)
    _load_generated(demo, lists)
    _load_scripts(demo)
    _load_scope(demo)
    _login_action(demo)


def _load_lists(config):
    from proteus import Model
    Level = Model.get('crm.level', config=config)
    Source = Model.get('crm.source', config=config)
    Industry = Model.get('crm.industry', config=config)
    levels = []
    for code, name in LEVELS:
        level = Level(code=code, name=name)
        level.save()
        levels.append(level)
    sources = []
    for name, details in SOURCES.items():
        source = Source(name=name)
        for detail in details:
            source.childs.new(name=detail)
        source.save()
        sources.extend(source.childs or [source])
    industries = []
    for name in INDUSTRIES:
        industry = Industry(name=name)
        industry.save()
        industries.append(industry)
    return levels, sources, industries


# (days ago, content) of the earlier follow-ups of a customer
HISTORY = [
    (85, '首次电话联系，介绍公司产品'),
    (62, '发送产品资料，客户表示会内部讨论'),
    (41, '回访：客户关注售后服务'),
    (19, '微信沟通报价细节'),
    ]


def _load_customers(demo, lists):
    from proteus import Model
    config = demo.config
    Party = Model.get('party.party', config=config)
    Employee = Model.get('company.employee', config=config)
    Status = Model.get('crm.status', config=config)
    Followup = Model.get('crm.followup', config=config)
    Method = Model.get('crm.followup.method', config=config)
    Appointment = Model.get('crm.appointment', config=config)
    User = Model.get('res.user', config=config)
    levels, sources, industries = lists
    statuses = Status.find([])
    phone, = Method.find([('code', '=', 'phone')])
    wechat, = Method.find([('code', '=', 'wechat')])
    today = dt.date.today()
    for i, row in enumerate(CUSTOMERS):
        _, stage, marker, _, owner, *_ = row
        party = _new_customer(demo, row)
        party.crm_level = levels[i % len(levels)]
        party.crm_source = sources[i % len(sources)]
        party.crm_industry = industries[i % len(industries)]
        party.crm_status = _status(statuses, i, stage)
        party.save()
        if owner and marker != 'uncontacted':
            employee = Employee(demo.employees[owner].id)
            user = User(demo.users[owner].id)
            # three months of earlier contacts, for the analyses' charts
            for days, content in HISTORY[:1 + i % len(HISTORY)]:
                Followup(party=party, employee=employee,
                    date=dt.datetime.now() - dt.timedelta(days=days + i),
                    method=wechat if days % 2 else phone,
                    content=content).save()
            # callbacks today and tomorrow make the dashboard light up
            callback = today + dt.timedelta(days=i % 2)
            followup = Followup(party=party, employee=employee,
                method=phone if i % 3 else wechat,
                content='电话沟通需求，客户希望了解价格方案',
                progress='需求确认', next_callback=callback,
                reminder_user=user)
            followup.save()
            if stage in {'potential', 'opportunity'}:
                appointment = Appointment(party=party, employee=employee,
                    subject='上门演示', type_='appointment',
                    date=dt.datetime.now() + dt.timedelta(hours=2 + i))
                appointment.save()
    vip = Party(name=VIP, crm_stage='target',
        crm_ownership='personal',
        crm_owner=Employee(demo.employees['rep2'].id), crm_vip=True)
    vip.save()


# stages where a customer may be on the blacklist: not once it is tracked
# or has bought (no closed customer on the blacklist)
BLACKLIST_STAGES = {'reserve', 'target'}
# one customer in BLACKLIST_EVERY of the generated pool is on the blacklist
BLACKLIST_EVERY = 5


def _new_customer(demo, row):
    """An unsaved customer of a CUSTOMERS row (name, stage, marker,
    ownership, owner login, collaborator logins, number)"""
    from proteus import Model
    Party = Model.get('party.party', config=demo.config)
    Employee = Model.get('company.employee', config=demo.config)
    name, stage, marker, ownership, owner, collaborators, number = row
    party = Party(name=name, crm_stage=stage, crm_ownership=ownership,
        crm_marker=marker)
    if owner:
        party.crm_owner = Employee(demo.employees[owner].id)
    for login in collaborators:
        party.crm_collaborators.append(Employee(demo.employees[login].id))
    # a landline (area code first) is a phone, not a mobile
    party.contact_mechanisms.new(
        type='phone' if number.startswith('0') else 'mobile', value=number)
    return party


def _status(statuses, index, stage):
    "The index-th status, never the blacklist past the target stage"
    status = statuses[index % len(statuses)]
    if status.code == 'blacklist' and stage not in BLACKLIST_STAGES:
        status = statuses[0]
    return status


def _generated_status(statuses, index, ownership):
    """The status of the index-th customer: on the blacklist only some of
    the pool's (released for it), the others cycled"""
    blacklist = [s for s in statuses if s.code == 'blacklist']
    others = [s for s in statuses if s.code != 'blacklist']
    if blacklist and ownership == 'shared' and not index % BLACKLIST_EVERY:
        return blacklist[0]
    return others[(index // 4) % len(others)]


# Generated customers, after the hand-written ones: about 200 customers in
# all, the same at each load (a fixed seed)
SEED = 16
# stage: [(ownership, marker, how many)]
GENERATED = {
    'reserve': [
        ('shared', 'uncontacted', 20), ('shared', 'contacted', 8),
        ('personal', 'uncontacted', 8), ('personal', 'contacted', 14)],
    'target': [
        ('shared', 'contacted', 6), ('personal', 'uncontacted', 6),
        ('personal', 'contacted', 26), ('collaborative', 'contacted', 2)],
    'potential': [
        ('personal', 'tracking', 26), ('personal', 'tracking_paused', 6),
        ('collaborative', 'tracking', 3)],
    'opportunity': [
        ('personal', 'selling', 16), ('personal', 'tracking', 4),
        ('personal', 'sale_paused', 4), ('personal', 'sale_ended', 5),
        ('collaborative', 'selling', 3)],
    'closed': [('personal', 'order_followup', 28)],
    }
REPS = ['rep1', 'rep2', 'rep3', 'rep4']
# the other rep of the same team (a collaborator)
TEAMMATES = {'rep1': 'rep2', 'rep2': 'rep1', 'rep3': 'rep4', 'rep4': 'rep3'}
# city: landline area code
CITIES = {
    '北京': '010', '上海': '021', '广州': '020', '深圳': '0755',
    '杭州': '0571', '成都': '028', '武汉': '027', '南京': '025',
    '西安': '029', '重庆': '023', '苏州': '0512', '天津': '022',
    '青岛': '0532', '长沙': '0731', '郑州': '0371', '济南': '0531',
    '合肥': '0551', '福州': '0591', '徐州': '0516', '宁波': '0574',
    '无锡': '0510', '大连': '0411', '沈阳': '024', '昆明': '0871',
    '南昌': '0791', '东莞': '0769', '佛山': '0757', '温州': '0577',
    }
WORDS = [
    '瑞丰', '恒泰', '鼎盛', '金源', '宏图', '博远', '信达', '嘉和', '永安',
    '隆兴', '天成', '明德', '和润', '海川', '新宇', '聚力', '卓越', '锦程',
    '安泰', '富民', '盛世', '广源', '汇通', '众诚', '启航', '正和', '德润',
    '华美', '优品', '万通', '同创', '合力', '百川', '润泽', '嘉禾', '立信',
    ]
SUFFIXES = [
    '科技有限公司', '贸易有限公司', '教育咨询有限公司', '食品有限公司',
    '电子有限公司', '物流有限公司', '建材商行', '餐饮管理有限公司',
    '文化传媒有限公司', '医疗器械有限公司', '商贸有限公司', '机械制造有限公司',
    '家居有限公司', '服饰有限公司', '网络科技有限公司', '实业有限公司',
    ]
# a few customers are people (shop owners, parents)
SURNAMES = [
    '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙',
    '马', '朱', '胡', '郭', '何', '高', '林', '罗', '郑', '梁', '谢', '宋']
GIVEN_NAMES = [
    '文博', '子涵', '浩然', '雨桐', '俊凯', '思远', '佳怡', '明轩', '欣妍',
    '宇航', '梦琪', '嘉懿', '晨阳', '诗涵', '立群', '秀英', '玉兰', '国平',
    '桂芳', '振华', '春梅', '德明', '永红', '建军']
# mobile prefixes the demo's other numbers and the tests do not use
MOBILE_PREFIXES = [
    '132', '134', '151', '152', '153', '155', '156', '157', '158', '159',
    '166', '176', '177', '178', '180', '181', '182', '183', '185', '186',
    '187', '188', '189', '191', '195', '198', '199']
# what was said, by stage
CONTENTS = {
    'reserve': ['首次电话联系，介绍公司产品', '客户表示暂无需求，三个月后再联系',
        '发送公司介绍短信'],
    'target': ['首次电话联系，介绍公司产品', '客户有兴趣，约定发送资料',
        '微信添加成功，发送产品手册', '客户在外出差，约下周再联系'],
    'potential': ['了解客户现有方案及预算', '客户关注售后服务',
        '发送报价单，客户内部讨论', '到访公司，参观展厅'],
    'opportunity': ['商务洽谈，客户要求优惠', '提交方案，客户负责人审核中',
        '微信沟通报价细节', '上门演示，客户反馈良好'],
    'closed': ['合同已签署，安排交付', '回访：客户对交付满意',
        '客户咨询续约优惠', '售后回访，客户推荐同行'],
    }
PROGRESS = {
    'reserve': '初步接触', 'target': '需求确认', 'potential': '方案沟通',
    'opportunity': '商务谈判', 'closed': '售后服务'}
# each rep's generated callbacks due today (the hand-written customers add
# theirs): enough to fill the reminders, not to flood them
TODAY_CALLBACKS = 2


def generated_customers():
    """The generated customers, in order: name, stage, marker, ownership,
    owner login, collaborator logins, phone (a landline starts with 0)"""
    rng = random.Random(SEED)
    names = {c[0] for c in CUSTOMERS} | {VIP}
    numbers = {c[6] for c in CUSTOMERS}
    plan = [(stage, ownership, marker)
        for stage, groups in GENERATED.items()
        for ownership, marker, count in groups
        for _ in range(count)]
    rng.shuffle(plan)
    customers = []
    for i, (stage, ownership, marker) in enumerate(plan):
        city = rng.choice(list(CITIES))
        name = None
        while name is None or name in names:
            if rng.random() < 0.15:
                name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
            else:
                name = city + rng.choice(WORDS) + rng.choice(SUFFIXES)
        names.add(name)
        number = None
        while number is None or number in numbers:
            if rng.random() < 0.12:
                # the city's area code and an 8-digit local number
                number = CITIES[city] + str(rng.randint(2, 7)) + ''.join(
                    rng.choice('0123456789') for _ in range(7))
            else:
                number = rng.choice(MOBILE_PREFIXES) + ''.join(
                    rng.choice('0123456789') for _ in range(8))
        numbers.add(number)
        owner = REPS[i % len(REPS)] if ownership != 'shared' else None
        collaborators = (
            [TEAMMATES[owner]] if ownership == 'collaborative' else [])
        customers.append((name, stage, marker, ownership, owner,
                collaborators, number))
    return customers


def _load_generated(demo, lists):
    """About 185 customers more: the pool, each rep's customers at every
    stage, three months of follow-ups, appointments and opportunities"""
    from proteus import Model
    config = demo.config
    Party = Model.get('party.party', config=config)
    Status = Model.get('crm.status', config=config)
    levels, sources, industries = lists
    statuses = Status.find([])
    offset = len(CUSTOMERS)
    customers = generated_customers()
    parties = []
    for i, row in enumerate(customers, offset):
        party = _new_customer(demo, row)
        party.crm_level = levels[i % len(levels)]
        party.crm_source = sources[(i // 2) % len(sources)]
        party.crm_industry = industries[(i // 3) % len(industries)]
        party.crm_status = _generated_status(statuses, i, party.crm_ownership)
        parties.append(party)
    Party.save(parties)
    rng = random.Random(SEED + 1)
    _generated_followups(demo, customers, parties, rng)
    _generated_appointments(demo, customers, parties, rng)
    _generated_opportunities(demo, customers, parties, rng)


def _generated_followups(demo, customers, parties, rng):
    """Three months of follow-ups of the contacted customers: their owner's,
    or for those back in the pool the rep's who released them; the last one
    of an owned customer often plans the next callback"""
    from proteus import Model
    config = demo.config
    Employee = Model.get('company.employee', config=config)
    Followup = Model.get('crm.followup', config=config)
    Method = Model.get('crm.followup.method', config=config)
    User = Model.get('res.user', config=config)
    methods = {m.code: m for m in Method.find([])}
    ways = ['phone'] * 4 + ['wechat'] * 2 + ['sms', 'visit']
    now = dt.datetime.now().replace(second=0, microsecond=0)
    today = dt.date.today()
    due_today = dict.fromkeys(REPS, 0)
    followups = []
    for i, ((name, stage, marker, ownership, owner, collaborators,
                number), party) in enumerate(zip(customers, parties)):
        if marker == 'uncontacted':
            continue
        writer = owner or REPS[i % len(REPS)]
        employee = Employee(demo.employees[writer].id)
        count = rng.randint(1, 2) if not owner else rng.randint(2, 6)
        # released customers were last called more than a month ago
        days = sorted(rng.sample(range(35 if not owner else 1, 91), count),
            reverse=True)
        contents = CONTENTS[stage]
        for n, days_ago in enumerate(days):
            followup = Followup(party=party, employee=employee,
                date=now - dt.timedelta(days=days_ago,
                    hours=rng.randint(0, 8), minutes=rng.randint(0, 59)),
                method=methods[rng.choice(ways)],
                content=contents[n % len(contents)])
            last = n == len(days) - 1
            if last and owner:
                followup.progress = PROGRESS[stage]
                callback = _next_callback(rng, stage, marker)
                if callback is not None and due_today[owner] < TODAY_CALLBACKS:
                    due_today[owner] += 1
                    callback = 0
                if callback is not None:
                    followup.next_callback = today + dt.timedelta(
                        days=callback)
                    followup.reminder_user = User(demo.users[owner].id)
            followups.append(followup)
    Followup.save(followups)


def _next_callback(rng, stage, marker):
    "In how many days the next callback is due (None: none planned)"
    if marker in {'tracking_paused', 'sale_paused', 'sale_ended'}:
        return None
    if stage == 'closed':
        return rng.choice([None, None, 7, 14, 30])
    return rng.choice([None, 1, 1, 2, 3, 4, 5, 7, 7, 10, 14])


def _generated_appointments(demo, customers, parties, rng):
    """Planned visits of potential and opportunity customers in the coming
    two weeks (none today), and some that did not happen"""
    from proteus import Model
    config = demo.config
    Employee = Model.get('company.employee', config=config)
    Appointment = Model.get('crm.appointment', config=config)
    now = dt.datetime.now().replace(minute=0, second=0, microsecond=0)
    appointments, missed, cancelled = [], [], []
    for i, ((name, stage, marker, ownership, owner, collaborators,
                number), party) in enumerate(zip(customers, parties)):
        if stage not in {'potential', 'opportunity'} or i % 3:
            continue
        employee = Employee(demo.employees[owner].id)
        days = rng.randint(-20, 14)
        if days == 0:
            days = 1
        hour = rng.choice([10, 14, 16])
        appointment = Appointment(party=party, employee=employee,
            type_='visit' if i % 2 else 'appointment',
            subject='到店参观' if i % 2 else '上门演示',
            date=now.replace(hour=hour) + dt.timedelta(days=days))
        appointments.append(appointment)
        if days < 0:
            (missed if i % 2 else cancelled).append(appointment)
    Appointment.save(appointments)
    if missed:
        Appointment.click(missed, 'no_show')
    if cancelled:
        Appointment.click(cancelled, 'cancel')


def _generated_opportunities(demo, customers, parties, rng):
    """Opportunities of the opportunity customers (open, or lost when the
    sale ended) and won ones, with their order (a service package; the order
    is confirmed and processing on the day it was won), of the closed
    customers"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    today = dt.date.today()
    with Transaction().start(demo.config.database_name, 0, context={
                'company': demo.company.id, 'language': 'zh_CN'}):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Sale = pool.get('sale.sale')
        Template = pool.get('product.template')
        Category = pool.get('product.category')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('symbol', '=', 'u')])
        # without tax: the accounting is early_ed_crm's demo's, made later
        category, = Category.create([{
                    'name': '企业服务', 'accounting': True}])
        # sold by the thousand yuan: an opportunity's amount is its quantity
        template, = Template.create([{
                    'name': '企业服务套餐（千元）',
                    'type': 'service',
                    'default_uom': unit.id,
                    'salable': True,
                    'sale_uom': unit.id,
                    'list_price': Decimal(1000),
                    'account_category': category.id,
                    'products': [('create', [{}])],
                    }])
        product, = template.products
        values, won, lost, opened = [], [], [], []
        for (name, stage, marker, ownership, owner, collaborators,
                number), party in zip(customers, parties):
            if stage not in {'opportunity', 'closed'}:
                continue
            start = today - dt.timedelta(days=rng.randint(20, 85))
            values.append({
                    'party': party.id,
                    'employee': demo.employees[owner].id,
                    'company': demo.company.id,
                    'description': f'{name} 采购项目',
                    'amount': Decimal(rng.randint(10, 300) * 1000),
                    'start_date': start,
                    })
            values[-1]['lines'] = [('create', [{
                            'product': product.id,
                            'quantity': float(values[-1]['amount'] / 1000),
                            'unit': unit.id,
                            }])]
        opportunities = Opportunity.create(values)
        for opportunity in opportunities:
            if opportunity.party.crm_stage == 'closed':
                won.append(opportunity)
            elif opportunity.party.crm_marker == 'sale_ended':
                lost.append(opportunity)
            else:
                opened.append(opportunity)
        Opportunity.opportunity(opened + won + lost)
        Opportunity.lost(lost)
        Opportunity.convert(won)
        sales = []
        for opportunity in won:
            # won some days after the start, the day the order is confirmed
            opportunity.end_date = min(today, opportunity.start_date
                + dt.timedelta(days=rng.randint(5, 20)))
            sale, = opportunity.sales
            sale.sale_date = opportunity.end_date
            # invoiced and delivered by hand, outside the demo
            sale.invoice_method = sale.shipment_method = 'manual'
            sales.append(sale)
        Opportunity.save(won)
        Sale.save(sales)
        Sale.quote(sales)
        Sale.confirm(sales)
        # the opportunity is won once its order is processed
        Sale.process(sales)
        assert {o.state for o in Opportunity.browse(won)} == {'won'}
        Transaction().commit()


def _load_scripts(demo):
    from proteus import Model
    config = demo.config
    Script = Model.get('crm.script', config=config)
    Employee = Model.get('company.employee', config=config)
    for name, stage, content in [
            ('开场白', None, '您好，我是华信的客户顾问，耽误您一分钟……'),
            ('需求挖掘', 'potential', '请问您目前在这方面遇到的最大问题是什么？'),
            ('促成成交', 'opportunity', '本月签约可享受首年服务费九折……'),
            ]:
        Script(name=name, type_='reference', stage=stage,
            content=content).save()
    Script(name='我的跟进话术', type_='personal',
        employee=Employee(demo.employees['rep1'].id),
        content='上次您提到预算的问题，我们有分期方案……').save()
    Script(name='餐饮客户话术', type_='personal',
        employee=Employee(demo.employees['rep3'].id),
        content='旺季备货之前，我们可以先帮您做一次成本测算……').save()


# customer, owner: records of customers of both teams, so that each role
# has records inside and outside its scope (permission matrix)
SCOPE_CUSTOMERS = [
    ('深圳新程教育', 'rep1'), ('南京金陵制造', 'rep2'),
    ('成都天府食品', 'rep3'), ('西安古都文化', 'rep4')]
# name, phone, customer (None: a number only)
CALL_LIST = [
    ('何先生', '13900000001', None), ('林女士', '13900000002', None),
    ('邓先生', '13900000003', None), ('上海宏达贸易有限公司', '13800138000',
        '上海宏达贸易有限公司')]


def _load_scope(demo):
    "Opportunities, orders, notes, a call list and imports of both teams"
    from proteus import Model
    config = demo.config
    Party = Model.get('party.party', config=config)
    Employee = Model.get('company.employee', config=config)
    Opportunity = Model.get('sale.opportunity', config=config)
    Sale = Model.get('sale.sale', config=config)
    Note = Model.get('ir.note', config=config)
    Attachment = Model.get('ir.attachment', config=config)
    PartyImport = Model.get('crm.party.import', config=config)
    for name, login in SCOPE_CUSTOMERS:
        party, = Party.find([('name', '=', name)])
        employee = Employee(demo.employees[login].id)
        Opportunity(party=party, employee=employee,
            description=f'{name} 年度合作意向').save()
        Sale(party=party, description=f'{name} 首批订单').save()
        Note(resource=party, message=f'{name}：客户要求下周二之前回电').save()
        Attachment(name='名片.txt', resource=party, type='data',
            data=f'{name} 名片'.encode()).save()
        PartyImport(owner=employee, stage='reserve', mode='valid',
            filename=f'{login}名单.xlsx').save()
    _load_call_list(demo)


def _load_call_list(demo):
    from proteus import Model, Wizard
    config = demo.config
    Party = Model.get('party.party', config=config)
    Employee = Model.get('company.employee', config=config)
    CallList = Model.get('crm.call.list', config=config)
    call_list = CallList(name='三月展会名单')
    for sequence, (name, phone, customer) in enumerate(CALL_LIST, 1):
        line = call_list.lines.new(sequence=sequence, name=name,
            phone='+86' + phone)
        if customer:
            line.party, = Party.find([('name', '=', customer)])
    call_list.save()
    assign = Wizard('crm.call.list.assign', [call_list], config=config)
    assign.form.employees.extend([Employee(demo.employees[login].id)
            for login in ['rep1', 'rep3']])
    assign.form.size = 2
    assign.execute('assign')


def _login_action(demo):
    "Open the work reminders and today's appointments at login (PL-11)"
    from proteus import Model
    config = demo.config
    User = Model.get('res.user', config=config)
    Action = Model.get('ir.action', config=config)
    ActWindow = Model.get('ir.action.act_window', config=config)
    ModelData = Model.get('ir.model.data', config=config)
    # run in this order: the callbacks, opened last, are the active tab
    action_ids = [ActWindow(ModelData.get_id(
                'telesales_pipeline', xml_id, config.context)).action.id
        for xml_id in ['act_my_appointments', 'act_my_reminders']]
    telesales = ModelData.get_id(
        'telesales_pipeline', 'group_telesales', config.context)
    for login in demo.users:
        user = User(demo.users[login].id)
        # only the sales staff: the others may not read the reminders and
        # their login would open on an access error
        if telesales not in [g.id for g in user.groups]:
            continue
        current = [a.id for a in user.actions]
        if [i for i in current if i in action_ids] != action_ids:
            for action in [a for a in user.actions if a.id in action_ids]:
                user.actions.remove(action)
            user.actions.extend(Action(i) for i in action_ids)
            user.save()
