# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of sms_gateway, loaded by demo/loader.py"
import datetime as dt

GROUPS = {
    'manager': ['sms_gateway.group_sms'],
    'supervisor': ['sms_gateway.group_sms'],
    'rep': ['sms_gateway.group_sms'],
    'sms_admin': ['sms_gateway.group_sms_admin'],
    }

# the send log of several reps (telesales_pipeline's demo customers, or a
# number typed by hand): sender login (None: an event message of the
# system), customer name or typed number, kind, state, days ago
MESSAGES = [
    ('rep1', '深圳新程教育', 'marketing', 'delivered', 3),
    ('rep1', '苏州园林设计', 'notification', 'sent', 1),
    ('rep1', '+8613700001111', 'notification', 'delivered', 2),
    ('rep1', '天津港湾贸易', 'notification', 'queued', -2),
    ('rep1', '上海宏达贸易有限公司', 'marketing', 'refused', 1),
    ('rep2', '南京金陵制造', 'marketing', 'delivered', 2),
    ('rep2', '+8613700002222', 'notification', 'sent', 1),
    ('rep3', '成都天府食品', 'marketing', 'failed', 2),
    ('rep3', '重庆山城火锅', 'notification', 'queued', -1),
    ('rep4', '青岛海风电器', 'marketing', 'refused', 4),
    (None, '北京远景科技有限公司', 'notification', 'delivered', 5),
    (None, '西安古都文化', 'notification', 'delivered', 6),
    ]
# replies: number, text, days ago
INBOUND = [
    ('+8613800138000', '退订', 1),
    ('+8613700002222', '收到，谢谢', 1),
    ('+8613512345678', '好的，周六见', 2),
    ]
# opt-outs recorded by staff: login, customer name or number, note
OPT_OUTS = [
    ('rep3', '重庆山城火锅', '电话中要求不再发短信'),
    ('rep2', '+8613700002222', '电话中要求不再发短信'),
    ]


def load(demo):
    "A development gateway (messages go to the log), templates and a log"
    from proteus import Model
    Gateway = Model.get('sms.gateway', config=demo.config)
    Configuration = Model.get('sms.configuration', config=demo.config)
    Template = Model.get('sms.template', config=demo.config)
    if Gateway.find([('name', '=', '开发日志网关')]):
        return
    gateway = Gateway(name='开发日志网关', kind='log')
    gateway.save()
    config = Configuration(1)
    config.gateway = gateway
    config.timezone = 'Asia/Shanghai'
    config.save()
    Template(name='周末活动邀请', kind='marketing',
        content='${name}您好，${company}本周末举办体验活动，欢迎到店。'
        '退订回TD').save()
    Template(name='生日祝福', kind='notification',
        content='${name}，${company}祝您生日快乐！').save()
    if 'telesales_pipeline' in demo.modules:
        _load_log(demo, gateway.id)


def _load_log(demo, gateway_id):
    """Messages, replies and opt-outs of customers in and out of each rep's
    scope, written as the sending and the gateway write them"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(demo.config.database_name, 0, context={
                'company': demo.company.id, 'language': 'zh_CN'}):
        pool = Pool()
        Message = pool.get('sms.message')
        Inbound = pool.get('sms.inbound')
        OptOut = pool.get('sms.opt_out')
        Gateway = pool.get('sms.gateway')
        gateway = Gateway(gateway_id)
        parties = _parties(pool)
        employees = {l: e.id for l, e in demo.employees.items()}
        OptOut.create([{
                    'number': '+8613800138000', 'source': 'reply',
                    'party': parties.get('上海宏达贸易有限公司', (None,))[0],
                    'note': '退订', 'employee': employees['rep1'],
                    }] + [{
                    'number': parties[n][1] if n in parties else n,
                    'party': parties[n][0] if n in parties else None,
                    'source': 'staff', 'note': note,
                    'employee': employees[login],
                    } for login, n, note in OPT_OUTS])
        now = dt.datetime.now().replace(microsecond=0)
        for login, to, kind, state, days in MESSAGES:
            party, number = parties.get(to, (None, to))
            employee = employees[login] if login else None
            messages = Message.prepare(
                parties=[pool.get('party.party')(party)] if party else [],
                numbers=[] if party else [number], kind=kind,
                gateway=gateway, employee=employee,
                text='您好，本周六上午十点有体验课，欢迎到店。'
                if kind == 'marketing' else '您好，您的预约已确认。')
            when = now - dt.timedelta(days=days)
            for message in messages:
                if message.state == 'queued':
                    message.state = state
                    message.scheduled_at = when if days < 0 else None
                    message.attempts = 0 if state == 'queued' else 1
                    if state in {'sent', 'delivered', 'failed'}:
                        message.sent_at = when
                        message.provider_id = 'demo-%s' % when.timestamp()
                    if state == 'delivered':
                        message.delivered_at = when + dt.timedelta(
                            seconds=8)
                        message.status_detail = 'DELIVRD'
                    elif state == 'failed':
                        message.error = '网关拒绝发送（demo）'
            Message.save(messages)
        Inbound.create([{
                    'gateway': gateway_id, 'number': number,
                    'to': '10690123', 'text': text,
                    'received_at': now - dt.timedelta(days=days),
                    'party': Inbound.find_party(number).id
                    if Inbound.find_party(number) else None,
                    'employee': Inbound.find_employee(number).id
                    if Inbound.find_employee(number) else None,
                    'opt_out': text == '退订',
                    } for number, text, days in INBOUND])
        Transaction().commit()


def _parties(pool):
    "{customer name: (party id, mobile E.164)} of the telesales demo"
    Party = pool.get('party.party')
    result = {}
    for party in Party.search([('crm_stage', '!=', None)]):
        numbers = [m.value_compact or m.value
            for m in party.contact_mechanisms
            if m.type in {'mobile', 'phone'}]
        result[party.name] = (party.id, numbers[0] if numbers else None)
    return result
