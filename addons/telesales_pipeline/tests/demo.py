# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of telesales_pipeline, loaded by demo/loader.py"
import datetime as dt

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


def load(demo):
    from proteus import Model
    config = demo.config
    Party = Model.get('party.party', config=config)
    if Party.find([('name', '=', CUSTOMERS[0][0])]):
        return
    lists = _load_lists(config)
    _load_customers(demo, lists)
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
    for i, (name, stage, marker, ownership, owner, collaborators,
            number) in enumerate(CUSTOMERS):
        party = Party(name=name, crm_stage=stage, crm_ownership=ownership,
            crm_marker=marker)
        if owner:
            party.crm_owner = Employee(demo.employees[owner].id)
        for login in collaborators:
            party.crm_collaborators.append(
                Employee(demo.employees[login].id))
        party.crm_level = levels[i % len(levels)]
        party.crm_source = sources[i % len(sources)]
        party.crm_industry = industries[i % len(industries)]
        party.crm_status = statuses[i % len(statuses)]
        # a landline (area code first) is a phone, not a mobile
        party.contact_mechanisms.new(
            type='phone' if number.startswith('0') else 'mobile',
            value=number)
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
    vip = Party(name='厦门鹭岛集团', crm_stage='target',
        crm_ownership='personal',
        crm_owner=Employee(demo.employees['rep2'].id), crm_vip=True)
    vip.save()


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
