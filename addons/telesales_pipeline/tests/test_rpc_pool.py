# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Ownership, pool rules and workflow fields over JSON-RPC (issue #15)

Each role logs in to a served copy of the PostgreSQL demo and calls the
server as the web client or a script would: fields that only buttons and
wizards set are refused in a plain write or create, the pool rules hold
whatever the path, a refusal about a customer the caller cannot see names
nothing, concurrent claims are answered with business messages, and a NUL
character gets a clear message. What changed (or did not) is read back as
the administrator.
"""
import datetime as dt
import random
import re
import threading
from collections import Counter, defaultdict

import pytest

from conftest import ROOT
from testing.demo_server import serve_demo
from testing.rpc import Client, Refused, TransportError

pytestmark = pytest.mark.postgresql

ARTIFACTS = ROOT / 'test-artifacts'
PARTY = 'party.party'
HISTORY = 'crm.party.owner.history'
CJK = re.compile('[\u4e00-\u9fff]')
QUOTED = re.compile('"[^"]*"|“[^”]*”')
LOGINS = ['admin', 'manager', 'sup1', 'sup2', 'rep1', 'rep2', 'rep3', 'rep4']
CUSTOMER = {'crm_customer': True}


def password(login):
    return 'admin@2026' if login == 'admin' else f'{login}@2026'


def login(url, name):
    return Client(url, url.database).login(name, password(name))


@pytest.fixture(scope='module')
def served():
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_demo(ARTIFACTS / 'trytond-rpc-pool.log',
            backend='postgresql') as url:
        yield url


@pytest.fixture(scope='module')
def clients(served):
    result = {name: login(served, name) for name in LOGINS}
    yield result
    for client in result.values():
        client.close()


@pytest.fixture(scope='module')
def demo(clients):
    "Ids of the demo's employees, groups and customers, read as admin"
    admin = clients['admin']
    employees = {c: clients[c].context['employee']
        for c in LOGINS if c != 'admin'}
    names = {r['id']: r['rec_name'] for r in admin.read(
            'company.employee', list(employees.values()), ['rec_name'])}
    return {'employee': employees, 'employee_name': names}


# helpers

def translated(message):
    "Whether message is Chinese, leaving out the names it quotes"
    return bool(CJK.search(QUOTED.sub('', message)))


def refusal(what, call, *args, **kwargs):
    """The Refused the call raised: a business answer, in Chinese for the
    users working in Chinese (the administrator works in English)"""
    client = getattr(call, '__self__', None)
    chinese = client is None or client.context.get(
        'language', 'zh_CN') == 'zh_CN'
    try:
        call(*args, **kwargs)
    except Refused as exc:
        assert translated(exc.message) or not chinese, (
            f'{what}: not in Chinese: {exc}')
        return exc
    except TransportError as exc:
        pytest.fail(f'{what}: a transport error instead of a refusal: {exc}')
    pytest.fail(f'{what}: accepted, must be refused')


def new_customer(admin, name, stage='target', ownership='shared',
        owner=None, collaborators=()):
    values = {'name': name, 'crm_stage': stage, 'crm_ownership': ownership,
        'crm_owner': owner}
    if collaborators:
        values['crm_collaborators'] = [['add', list(collaborators)]]
    party_id, = admin.create(PARTY, [values], context=CUSTOMER)
    return party_id


def party_of(admin, party_id, fields=(
            'crm_stage', 'crm_ownership', 'crm_owner', 'crm_collaborators',
            'crm_vip', 'crm_vip_state', 'crm_last_contact', 'name')):
    record, = admin.read(PARTY, [party_id], list(fields))
    return record


def history_of(admin, party_id):
    return admin.search_read(HISTORY, [('party', '=', party_id)],
        ['action', 'from_ownership', 'from_owner', 'to_ownership',
            'to_owner', 'collaborators', 'user'], order=[('id', 'ASC')])


def by_name(admin, name):
    party_id, = admin.search(PARTY, [('name', '=', name)])
    return party_id


def rep_group(admin):
    group, = admin.search('res.group',
        [('name', '=', 'Telesales Representative')],
        context={'language': 'en'})
    return group


def set_rep_quota(admin, quota):
    "The daily claim quota of the representatives"
    group = rep_group(admin)
    quotas = admin.search('crm.configuration.claim_quota',
        [('group', '=', group)])
    if quotas:
        admin.write('crm.configuration.claim_quota', quotas,
            {'quota': quota})
    else:
        # the singleton's record is created by its first write
        admin.write('crm.configuration', [1], {'role_quotas': [
                    ['create', [{'group': group, 'quota': quota}]]]})


# item 1: fields set by buttons and wizards

def test_rep_approves_own_vip_by_write(clients, demo):
    "A rep's plain write of the VIP approval is refused (PL-23)"
    admin, rep2 = clients['admin'], clients['rep2']
    vip = by_name(admin, '厦门鹭岛集团')
    assert party_of(admin, vip)['crm_vip_state'] == 'pending'
    exc = refusal('rep writes crm_vip_state', rep2.write, PARTY, [vip],
        {'crm_vip_state': 'approved'})
    assert 'VIP' in exc.message
    assert party_of(admin, vip)['crm_vip_state'] == 'pending'
    # ticking VIP again leaves it waiting
    rep2.write(PARTY, [vip], {'crm_vip': True})
    assert party_of(admin, vip)['crm_vip_state'] == 'pending'
    # the supervisor decides with the button, not with a write
    sup1 = clients['sup1']
    refusal('supervisor writes crm_vip_state', sup1.write, PARTY, [vip],
        {'crm_vip_state': 'approved'})
    sup1.button(PARTY, 'crm_approve_vip', [vip])
    assert party_of(admin, vip)['crm_vip_state'] == 'approved'


@pytest.mark.parametrize('login_', ['rep1', 'sup1', 'manager'])
def test_button_fields_by_write(clients, demo, login_):
    "Stage, ownership, last contact and keys only by their buttons"
    admin, client = clients['admin'], clients[login_]
    employee = demo['employee']
    party = new_customer(admin, f'按钮字段{login_}', ownership='personal',
        owner=employee['rep1'])
    before, history = party_of(admin, party), history_of(admin, party)
    for values in [
            {'crm_stage': 'closed'},
            {'crm_stage': None},
            {'crm_ownership': 'shared'},
            {'crm_ownership': 'collaborative'},
            {'crm_owner': employee['rep2']},
            {'crm_collaborators': [['add', [employee['rep2']]]]},
            {'crm_vip_state': 'approved'},
            {'crm_last_contact': dt.datetime(2026, 1, 1, 8, 0)},
            {'crm_name_key': 'x'},
            ]:
        refusal(f'{login_} writes {values}', client.write, PARTY, [party],
            values)
    assert party_of(admin, party) == before
    assert history_of(admin, party) == history
    # an unchanged value and the fields of the form pass
    client.write(PARTY, [party], {'crm_stage': 'target',
            'crm_next_callback': dt.date(2026, 12, 1),
            'crm_marker': 'contacted'})


def test_stage_by_button_logs(clients, demo):
    "The stage moves with the buttons, which log it (PL-04, PL-07)"
    admin, rep1 = clients['admin'], clients['rep1']
    party = new_customer(admin, '阶段按钮客户', ownership='personal',
        owner=demo['employee']['rep1'])
    rep1.button(PARTY, 'crm_stage_up', [party])
    assert party_of(admin, party)['crm_stage'] == 'potential'
    logs = admin.search_read('crm.followup', [('party', '=', party)],
        ['content', 'automatic'])
    assert any(f['automatic'] and '潜在' in f['content'] for f in logs)


def test_create_rules(clients, demo):
    "A new customer: initial stage and owner within the user's reach"
    admin, rep1, sup1 = clients['admin'], clients['rep1'], clients['sup1']
    employee = demo['employee']
    # as the form creates it: reserve, personal, the rep's
    own, = rep1.create(PARTY, [{'name': '新录入客户'}], context=CUSTOMER)
    record = party_of(admin, own)
    assert (record['crm_stage'], record['crm_ownership'],
        record['crm_owner']) == ('reserve', 'personal', employee['rep1'])
    assert [h['action'] for h in history_of(admin, own)] == ['create']
    # at a later stage, VIP waiting for approval
    vip, = rep1.create(PARTY, [{'name': '新录入贵宾', 'crm_stage': 'target',
                'crm_vip': True}], context=CUSTOMER)
    assert party_of(admin, vip)['crm_vip_state'] == 'pending'
    count = admin.search_count(PARTY, [('name', 'like', '新录入%')])
    for values in [
            {'crm_owner': employee['rep3']},
            {'crm_ownership': 'collaborative', 'crm_owner': employee['rep2'],
                'crm_collaborators': [['add', [employee['rep1']]]]},
            {'crm_vip_state': 'approved'},
            {'crm_last_contact': dt.datetime(2026, 1, 1, 8, 0)},
            ]:
        refusal(f'rep creates {values}', rep1.create, PARTY,
            [dict(values, name='新录入被拒')], context=CUSTOMER)
    # the same through import_data (the client's CSV import)
    refusal('rep imports for another owner', rep1.model, PARTY,
        'import_data', ['name', 'crm_stage', 'crm_ownership', 'crm_owner'],
        [['新录入导入', 'target', 'personal',
                demo['employee_name'][employee['rep3']]]],
        context=CUSTOMER)
    assert admin.search_count(
        PARTY, [('name', 'like', '新录入%')]) == count
    # a supervisor enters customers for the team, not for another team
    team, = sup1.create(PARTY, [{'name': '主管录入客户',
                'crm_owner': employee['rep2']}], context=CUSTOMER)
    assert party_of(admin, team)['crm_owner'] == employee['rep2']
    refusal('supervisor creates for another team', sup1.create, PARTY,
        [{'name': '主管录入被拒', 'crm_owner': employee['rep3']}],
        context=CUSTOMER)


def test_create_with_numbers_as_the_client_sends(clients, demo):
    """A new customer with a phone, saved as sao sends it from the customer
    list's form: the phone columns empty, the numbers as new contact
    mechanisms (issue #16); later saves send the masked number back"""
    admin, rep1 = clients['admin'], clients['rep1']
    mobile = '139%08d' % random.randrange(10 ** 8)
    party, = rep1.create(PARTY, [{'name': '带电话的新客户', 'phone': '',
                'mobile': '', 'contact_mechanisms': [['create', [
                            {'type': 'mobile', 'value': mobile}]]]}],
        context=CUSTOMER)
    record, = admin.read(PARTY, [party], ['mobile'])
    assert record['mobile'].replace(' ', '')[-11:] == mobile
    shown, = rep1.read(PARTY, [party], ['mobile'])
    assert mobile not in shown['mobile'].replace(' ', '')
    rep1.write(PARTY, [party], {'mobile': shown['mobile'], 'phone': ''})
    assert admin.read(PARTY, [party], ['mobile'])[0] == record
    # another number typed in the column is still refused, in Chinese
    refusal('a number typed over the mobile column', rep1.write, PARTY,
        [party], {'mobile': '13800000000'})


def test_claim_counters(clients, demo):
    "The day's claims are counted by the claims only"
    admin = clients['admin']
    employee = demo['employee']['rep1']
    before, = admin.read('company.employee', [employee],
        ['crm_claim_date', 'crm_claim_count'])
    refusal('admin writes a claim counter', admin.write, 'company.employee',
        [employee], {'crm_claim_count': 0,
            'crm_claim_date': dt.date(2020, 1, 1)})
    refusal('rep writes his claim counter', clients['rep1'].write,
        'company.employee', [employee], {'crm_claim_count': 0})
    after, = admin.read('company.employee', [employee],
        ['crm_claim_date', 'crm_claim_count'])
    assert after == before


def test_admin_correction_logged(clients, demo):
    "The administrator corrects stage and owner by a write, logged"
    admin = clients['admin']
    employee = demo['employee']
    party = new_customer(admin, '管理员更正客户', ownership='personal',
        owner=employee['rep1'])
    admin.write(PARTY, [party], {'crm_owner': employee['rep2'],
            'crm_stage': 'potential'})
    record = party_of(admin, party)
    assert (record['crm_owner'], record['crm_stage']) == (
        employee['rep2'], 'potential')
    history = history_of(admin, party)[-1]
    assert (history['action'], history['from_owner'],
        history['to_owner']) == ('edit', employee['rep1'], employee['rep2'])
    # the VIP approval and the last contact stay the buttons' own
    refusal('admin writes crm_vip_state', admin.write, PARTY, [party],
        {'crm_vip_state': 'approved'})


def test_followup_workflow_fields(clients, demo):
    "System logs and reminder states are the system's"
    admin, rep1 = clients['admin'], clients['rep1']
    party = new_customer(admin, '跟进字段客户', ownership='personal',
        owner=demo['employee']['rep1'])
    rep1.button(PARTY, 'crm_stage_up', [party])
    log, = admin.search('crm.followup', [('party', '=', party),
            ('automatic', '=', True)])
    manual, = rep1.create('crm.followup', [{'party': party,
                'content': '电话沟通', 'next_callback': dt.date(2026, 12, 1)}])
    reminder, = admin.read('crm.followup', [manual], ['reminder_state'])
    assert reminder['reminder_state'] == 'open'
    for values in [{'reminder_state': 'done'}, {'automatic': True},
            {'reminded': True}, {'origin': 'crm.appointment,1'}]:
        refusal(f'rep writes {values}', rep1.write, 'crm.followup',
            [manual], values)
    for values in [{'automatic': True}, {'reminder_state': 'done'}]:
        refusal(f'rep creates {values}', rep1.create, 'crm.followup',
            [dict(values, party=party, content='伪造')])
    rep1.write('crm.followup', [manual], {'content': '电话沟通，已报价'})
    refusal('rep rewrites a system log', rep1.write, 'crm.followup',
        [log], {'content': '伪造的日志'})


def test_appointment_workflow_fields(clients, demo):
    "An appointment moves by its buttons; once done it is read-only"
    admin, rep1 = clients['admin'], clients['rep1']
    party = new_customer(admin, '预约字段客户', stage='potential',
        ownership='personal', owner=demo['employee']['rep1'])
    appointment, = rep1.create('crm.appointment', [{'party': party,
                'subject': '上门演示',
                'date': dt.datetime.now() + dt.timedelta(days=1)}])
    refusal('rep writes the state', rep1.write, 'crm.appointment',
        [appointment], {'state': 'done'})
    refusal('rep creates a done appointment', rep1.create,
        'crm.appointment', [{'party': party, 'subject': '伪造',
                'date': dt.datetime.now(), 'state': 'done'}])
    rep1.button('crm.appointment', 'done', [appointment])
    refusal('rep rewrites a done appointment', rep1.write,
        'crm.appointment', [appointment], {'subject': '改过的主题'})
    record, = admin.read('crm.appointment', [appointment],
        ['state', 'subject'])
    assert record == {'id': appointment, 'state': 'done',
        'subject': '上门演示'}
    rep1.write('crm.appointment', [appointment], {'result': '客户满意'})


def test_opportunity_state(clients, demo):
    "An opportunity's state moves by its buttons (PL-18)"
    admin, rep1 = clients['admin'], clients['rep1']
    party = new_customer(admin, '商机字段客户', ownership='personal',
        owner=demo['employee']['rep1'])
    opportunity, = rep1.create('sale.opportunity', [{'party': party,
                'description': '年度服务'}])
    refusal('rep writes won', rep1.write, 'sale.opportunity',
        [opportunity], {'state': 'won'})
    refusal('rep creates a won opportunity', rep1.create,
        'sale.opportunity', [{'party': party, 'description': '伪造',
                'state': 'won'}])
    record, = admin.read('sale.opportunity', [opportunity], ['state'])
    assert record['state'] == 'lead'


# item 2: pool rules whatever the path

def test_pool_rules_by_write(clients, demo):
    "After the quota, no plain write takes a shared customer"
    admin, rep4 = clients['admin'], clients['rep4']
    employee = demo['employee']['rep4']
    set_rep_quota(admin, 1)
    first = new_customer(admin, '共享池客户一')
    second = new_customer(admin, '共享池客户二')
    rep4.button(PARTY, 'crm_claim', [first])
    # the claim is confirmed with what is left of the day's quota (#16)
    notification, = rep4.search_read('res.notification',
        [('label', 'like', '已占有%')], ['label', 'records'])
    assert ('共享池客户一' in notification['label']
        and '今日还可占有 0 个' in notification['label']), notification
    exc = refusal('claim over the quota', rep4.button, PARTY, 'crm_claim',
        [second])
    assert '1' in exc.message
    before, history = party_of(admin, second), history_of(admin, second)
    for values in [
            {'crm_ownership': 'personal', 'crm_owner': employee},
            {'crm_owner': employee},
            {'crm_ownership': 'collaborative', 'crm_owner': employee},
            {'crm_ownership': 'collaborative', 'crm_owner': employee,
                'crm_collaborators': [['add', [employee]]]},
            {'crm_collaborators': [['add', [employee]]]},
            ]:
        refusal(f'rep writes {values}', rep4.write, PARTY, [second], values)
    # nor by the relation of the collaborators (not even served over RPC;
    # the server refuses it too, see PartyCollaborator), nor by a copy
    with pytest.raises((Refused, TransportError)) as info:
        rep4.create('party.party-company.employee',
            [{'party': second, 'employee': employee}])
    assert isinstance(info.value, Refused) or info.value.status == 403
    refusal('rep takes it by a copy', rep4.model, PARTY, 'copy', [second],
        {'crm_ownership': 'personal', 'crm_owner': employee,
            'name': '共享池客户二副本'})
    assert party_of(admin, second) == before
    assert history_of(admin, second) == history
    count, = admin.read('company.employee', [employee], ['crm_claim_count'])
    assert count['crm_claim_count'] == 1
    set_rep_quota(admin, 20)


def test_collaborators_wizard(clients, demo):
    "The owner or a supervisor chooses the collaborators, with history"
    admin = clients['admin']
    rep1, rep2, sup1 = clients['rep1'], clients['rep2'], clients['sup1']
    employee = demo['employee']
    party = new_customer(admin, '协同向导客户', ownership='personal',
        owner=employee['rep1'])
    assert rep2.search(PARTY, [('id', '=', party)]) == []

    def collaborators(client, ids, employees):
        return client.wizard('crm.customer.collaborators', PARTY, ids,
            [('save', {'start': {'employees': employees}})])

    collaborators(rep1, [party], [employee['rep2']])
    record = party_of(admin, party)
    assert (record['crm_ownership'], record['crm_collaborators']) == (
        'collaborative', [employee['rep2']])
    history = history_of(admin, party)[-1]
    assert history['action'] == 'collaborate'
    assert history['collaborators'] == demo['employee_name'][employee['rep2']]
    assert rep2.search(PARTY, [('id', '=', party)]) == [party]
    logs = admin.search_read('crm.followup', [('party', '=', party),
            ('automatic', '=', True)], ['content'])
    assert any(demo['employee_name'][employee['rep2']] in f['content']
        for f in logs)
    # a collaborator neither chooses collaborators nor releases it
    refusal('collaborator chooses collaborators', collaborators, rep2,
        [party], [])
    refusal('collaborator releases', rep2.button, PARTY, 'crm_release',
        [party])
    # nor sends it back to the pool by the stage down to reserve
    refusal('collaborator downgrades to reserve', rep2.button, PARTY,
        'crm_stage_down', [party])
    assert party_of(admin, party)['crm_ownership'] == 'collaborative'
    # the supervisor makes it personal again
    collaborators(sup1, [party], [])
    record = party_of(admin, party)
    assert (record['crm_ownership'], record['crm_collaborators']) == (
        'personal', [])
    assert rep2.search(PARTY, [('id', '=', party)]) == []
    # a shared customer is claimed before it is shared
    shared = new_customer(admin, '协同向导共享客户')
    refusal('collaborators of a shared customer', collaborators, rep1,
        [shared], [employee['rep2']])


def test_import_for_another_owner(clients, demo):
    """An import for an employee the user may not give customers to is
    refused (its run checks the owner again: the queue runs it without the
    user's rights)"""
    admin = clients['admin']
    employee = demo['employee']
    IMPORT = 'crm.party.import'

    def new_import(client, owner):
        import_id, = client.create(IMPORT, [{'owner': employee[owner],
                    'filename': 'customers.xlsx'}])
        template = client.read(IMPORT, [import_id], ['template'])[0]
        client.write(IMPORT, [import_id], {'file': template['template']})
        return import_id

    # a loan rep's name list is refused as soon as it is entered
    exc = refusal('rep1 enters an import for rep2', new_import,
        clients['rep1'], 'rep2')
    assert demo['employee_name'][employee['rep2']] in exc.message
    # a supervisor's import for another team is outside the team's rule
    sup1 = clients['sup1']
    before = admin.search_count(IMPORT, [('owner', '=', employee['rep3'])])
    exc = refusal('sup1 enters an import for rep3', new_import, sup1,
        'rep3')
    # Tryton's own rule message, with its context line, in Chinese
    assert 'Within groups' not in exc.message, exc.message
    assert admin.search_count(IMPORT,
        [('owner', '=', employee['rep3'])]) == before
    # for himself and for his team, it runs
    for login_, owner in [('rep1', 'rep1'), ('sup1', 'rep2')]:
        client = clients[login_]
        import_id = new_import(client, owner)
        client.button(IMPORT, 'run', [import_id])
        state, = admin.read(IMPORT, [import_id], ['state'])
        assert state['state'] != 'draft'


def test_import_result_in_importers_language(clients):
    """The queue runs an import in the language of the user who pressed
    Import: its summary, the result workbook's sheets, columns and every
    reason are in Chinese for a rep working in Chinese (#16)"""
    import io
    import time

    import openpyxl
    rep1 = clients['rep1']
    IMPORT = 'crm.party.import'
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [['客户名称', '手机', '下次回访'],
            ['导入语言客户甲', '13900001111', ''],
            ['', '13900002222', ''],
            ['导入语言客户乙', '12345', ''],
            ['导入语言客户丙', '13900003333', '下周']]:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    import_id, = rep1.create(IMPORT, [{'owner': rep1.context['employee'],
                'filename': '导入.xlsx', 'file': data.getvalue(),
                'mode': 'valid'}])
    rep1.button(IMPORT, 'run', [import_id])
    for _ in range(120):
        record, = rep1.read(IMPORT, [import_id],
            ['state', 'message', 'result', 'imported', 'rejected'])
        if record['state'] in {'done', 'failed'}:
            break
        time.sleep(0.5)
    assert (record['state'], record['imported'], record['rejected']) == (
        'done', 1, 3), record
    assert translated(record['message']), record['message']
    result = openpyxl.load_workbook(io.BytesIO(record['result']))
    assert result.sheetnames == ['已拒绝', '已标记']
    rows = list(result['已拒绝'].values)
    assert rows[0] == ('行', '客户名称', '手机', '下次回访', '原因')
    reasons = [row[-1] for row in rows[1:]]
    assert len(reasons) == 3 and all(map(translated, reasons)), reasons


# item 6: refusals about hidden customers name nothing

def test_hidden_customers_named_nowhere(clients, demo):
    "Claims and writes of customers the rep cannot see name nothing"
    admin, rep1 = clients['admin'], clients['rep1']
    employee = demo['employee']
    visible = set(rep1.search(PARTY, [('crm_stage', '!=', None)]))
    customers = admin.search_read(PARTY, [('crm_stage', '!=', None)],
        ['name', 'crm_owner'])
    owners = {r['id']: r['rec_name'] for r in admin.read(
            'company.employee', list({c['crm_owner'] for c in customers
                    if c['crm_owner']}), ['rec_name'])}
    hidden = [c for c in customers if c['id'] not in visible]
    assert any(c['name'] == '成都天府食品' for c in hidden)
    for customer in hidden:
        names = [customer['name'], owners.get(customer['crm_owner'], '-')]
        for what, call, args in [
                ('claim', rep1.button, (PARTY, 'crm_claim',
                        [customer['id']])),
                ('release', rep1.button, (PARTY, 'crm_release',
                        [customer['id']])),
                ('stage up', rep1.button, (PARTY, 'crm_stage_up',
                        [customer['id']])),
                ('rename', rep1.write, (PARTY, [customer['id']],
                        {'name': '改名'})),
                ('take', rep1.write, (PARTY, [customer['id']],
                        {'crm_owner': employee['rep1']})),
                ('copy', rep1.model, (PARTY, 'copy', [customer['id']],
                        {'crm_ownership': 'shared'})),
                ('delete', rep1.delete, (PARTY, [customer['id']])),
                ]:
            exc = refusal(f'{what} {customer["id"]}', call, *args)
            told = [n for n in names if n in exc.text]
            assert not told, f'{what} names {told}: {exc.text}'
    # an id of no customer gets the same answer as a hidden one
    missing = max(c['id'] for c in customers) + 1000
    exc = refusal('claim of a missing id', rep1.button, PARTY, 'crm_claim',
        [missing])
    chengdu = next(c for c in hidden if c['name'] == '成都天府食品')
    assert exc.message == refusal('claim hidden', rep1.button, PARTY,
        'crm_claim', [chengdu['id']]).message


def test_claim_taken_named_to_who_sees_it(clients, demo):
    "A supervisor who sees the customer is told who has it"
    admin, sup1 = clients['admin'], clients['sup1']
    party = new_customer(admin, '主管可见客户', ownership='personal',
        owner=demo['employee']['rep1'])
    exc = refusal('claim of a team customer', sup1.button, PARTY,
        'crm_claim', [party])
    assert '主管可见客户' in exc.message
    assert demo['employee_name'][demo['employee']['rep1']] in exc.message
    # a release of a customer released meanwhile is done, not refused
    rep1 = clients['rep1']
    rep1.button(PARTY, 'crm_release', [party])
    rep1.button(PARTY, 'crm_release', [party])
    assert party_of(admin, party)['crm_ownership'] == 'shared'
    # nor are buttons of other roles given by the skipped customers
    refusal('rep approves a VIP decided meanwhile', rep1.button, PARTY,
        'crm_approve_vip', [party])


# item 9: NUL characters

def test_nul_in_texts(clients, demo):
    "A NUL typed (or pasted) in a text is refused with a clear message"
    admin, rep1 = clients['admin'], clients['rep1']
    party = new_customer(admin, '空字符客户', ownership='personal',
        owner=demo['employee']['rep1'])
    for what, call, args in [
            ('create a customer', rep1.create, (PARTY,
                    [{'name': '坏\x00名字'}])),
            ('rename a customer', rep1.write, (PARTY, [party],
                    {'name': '坏\x00名字'})),
            ('add a phone', rep1.write, (PARTY, [party],
                    {'contact_mechanisms': [['create', [{'type': 'email',
                                        'value': 'a\x00@example.com'}]]]})),
            ('add an address', rep1.create, ('party.address',
                    [{'party': party, 'city': '杭\x00州'}])),
            ('write a follow-up', rep1.create, ('crm.followup',
                    [{'party': party, 'content': '内容\x00'}])),
            ('plan an appointment', rep1.create, ('crm.appointment',
                    [{'party': party, 'subject': '主\x00题',
                            'date': dt.datetime.now()}])),
            ('search customers', rep1.search, (PARTY,
                    [('name', 'ilike', '%\x00%')])),
            ]:
        exc = refusal(what, call, *args)
        assert '\\0' in exc.message, f'{what}: {exc.message}'
    assert party_of(admin, party)['name'] == '空字符客户'


def test_host_messages_in_chinese(clients, demo):
    "Tryton's own validation messages reach a rep in Chinese"
    admin, rep1 = clients['admin'], clients['rep1']
    party = new_customer(admin, '必填校验客户', ownership='personal',
        owner=demo['employee']['rep1'])
    exc = refusal('a follow-up without a method', rep1.create,
        'crm.followup', [{'party': party, 'method': None}])
    assert '方式' in exc.message, exc.message


# item 8: concurrent claims, releases and reassignments

CONCURRENT_CUSTOMERS = 24
CONCURRENT_QUOTA = 4


@pytest.fixture
def contested(tmp_path):
    "A fresh served demo with a pool of shared customers"
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_demo(ARTIFACTS / 'trytond-rpc-pool-concurrency.log',
            backend='postgresql') as url:
        admin = login(url, 'admin')
        set_rep_quota(admin, CONCURRENT_QUOTA)
        ids = admin.create(PARTY, [{'name': f'抢占客户{i:02d}',
                    'crm_stage': 'target', 'crm_ownership': 'shared'}
                for i in range(CONCURRENT_CUSTOMERS)], context=CUSTOMER)
        yield url, admin, ids
        admin.close()


def _rep_worker(client, ids, seed, barrier, answers):
    rng = random.Random(seed)
    order = list(ids)
    rng.shuffle(order)
    barrier.wait()
    while order:
        batch = [order.pop() for _ in range(min(len(order),
                    rng.choice([1, 1, 2])))]
        answers.append(_call(client, 'claim', client.button, PARTY,
                'crm_claim', batch))
        if answers[-1] == 'ok' and rng.random() < 0.3:
            answers.append(_call(client, 'release', client.button, PARTY,
                    'crm_release', batch[:1]))
            order.insert(0, batch[0])


def _supervisor_worker(client, ids, reps, seed, barrier, answers):
    rng = random.Random(seed)
    order = list(ids) * 2
    rng.shuffle(order)
    barrier.wait()
    for party in order:
        if rng.random() < 0.5:
            answers.append(_call(client, 'reassign', client.wizard,
                    'crm.customer.reassign', PARTY, [party],
                    [('reassign', {'start': {
                                    'employee': rng.choice(reps)}})]))
        else:
            answers.append(_call(client, 'release', client.button, PARTY,
                    'crm_release', [party]))


def _call(client, what, call, *args):
    "'ok', ('refused', message) or ('transport', text): never raises"
    try:
        call(*args)
    except Refused as exc:
        return ('refused', what, exc.message)
    except TransportError as exc:
        return ('transport', what, str(exc))
    except Exception as exc:  # the thread must report, not die
        return ('error', what, repr(exc))
    return 'ok'


def test_concurrent_claims(contested):
    "8 clients race for the pool: every loser gets a business answer"
    url, admin, ids = contested
    reps = {name: login(url, name) for name in ['rep1', 'rep2', 'rep3',
            'rep4']}
    # two sessions of the same reps: their claims count on one quota
    workers = [reps['rep1'], reps['rep2'], reps['rep3'], reps['rep4'],
        login(url, 'rep1'), login(url, 'rep3')]
    supervisors = {'sup1': ['rep1', 'rep2'], 'sup2': ['rep3', 'rep4']}
    barrier = threading.Barrier(len(workers) + len(supervisors))
    answers = defaultdict(list)
    threads = [threading.Thread(target=_rep_worker,
            args=(client, ids, i, barrier, answers[f'rep{i}']))
        for i, client in enumerate(workers)]
    for i, (name, team) in enumerate(supervisors.items()):
        client = login(url, name)
        workers.append(client)
        threads.append(threading.Thread(target=_supervisor_worker,
                args=(client, ids, [reps[r].context['employee']
                        for r in team], 100 + i, barrier, answers[name])))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert not any(t.is_alive() for t in threads), 'a client hangs'
    for client in workers:
        client.close()

    flat = [a for values in answers.values() for a in values]
    kinds = Counter(a if a == 'ok' else f'{a[0]} {a[1]}' for a in flat)
    failures = [a for a in flat if a != 'ok' and a[0] != 'refused']
    assert not failures, f'{kinds}: {failures[:5]}'
    untranslated = [a for a in flat
        if a != 'ok' and not translated(a[2])]
    assert not untranslated, untranslated[:5]
    assert kinds['ok'] and kinds['refused claim'], kinds
    print('answers of the concurrent calls:', dict(kinds))

    # integrity, read as the administrator
    employees = {r.context['employee'] for r in reps.values()}
    histories = admin.search_read(HISTORY, [('party', 'in', ids)],
        ['party', 'action', 'from_ownership', 'from_owner',
            'to_ownership', 'to_owner'], order=[('id', 'ASC')])
    claims = Counter()
    state = {i: ('shared', None) for i in ids}
    for history in histories:
        if history['action'] == 'create':
            continue
        # every change starts from the state the previous one left
        assert (history['from_ownership'], history['from_owner']) == \
            state[history['party']], history
        state[history['party']] = (
            history['to_ownership'], history['to_owner'])
        if history['action'] == 'claim':
            claims[history['to_owner']] += 1
    parties = {p['id']: p for p in admin.read(PARTY, ids,
            ['crm_ownership', 'crm_owner'])}
    for party_id, (ownership, owner) in state.items():
        assert (parties[party_id]['crm_ownership'],
            parties[party_id]['crm_owner']) == (ownership, owner)
    counters = {e['id']: e['crm_claim_count'] or 0 for e in admin.read(
            'company.employee', list(employees), ['crm_claim_count'])}
    for employee in employees:
        assert claims[employee] <= CONCURRENT_QUOTA
        assert counters[employee] == claims[employee]


def test_reminders_in_recipients_language(clients, demo):
    """The reminder crons run as the administrator, who works in English:
    each notification is in its recipient's language, the appointment's
    time in the company's timezone, and a second run sends nothing"""
    import zoneinfo
    admin, rep1 = clients['admin'], clients['rep1']
    assert admin.context.get('language') != 'zh_CN'
    party = new_customer(admin, '提醒语言客户', ownership='personal',
        owner=demo['employee']['rep1'])
    today = rep1.model('ir.date', 'today')
    rep1.create('crm.followup', [{'party': party, 'content': '约定回访',
                'next_callback': today, 'reminder_user': rep1.user_id}])
    when = (dt.datetime.utcnow() + dt.timedelta(minutes=30)).replace(
        second=0, microsecond=0)
    rep1.create('crm.appointment', [{'party': party,
                'employee': demo['employee']['rep1'], 'subject': '到店体验',
                'date': when}])

    def run_crons():
        for method in ['crm.followup|send_reminders',
                'crm.appointment|send_reminders']:
            cron, = admin.search('ir.cron', [('method', '=', method)])
            admin.button('ir.cron', 'run_once', [cron])

    def mine():
        return rep1.search_read('res.notification',
            [('label', 'like', '%提醒语言客户%')], ['label', 'description'])

    run_crons()
    # Tryton's date format keeps its spaces unbreakable
    notifications = {n['label']: n['description'].replace('\xa0', ' ')
        for n in mine()}
    local = when.replace(tzinfo=dt.timezone.utc).astimezone(
        zoneinfo.ZoneInfo('Asia/Shanghai'))
    assert notifications == {
        '回访 提醒语言客户': '约定回访',
        '预约：提醒语言客户 - 到店体验': local.strftime('%Y-%m-%d %H:%M'),
        }, notifications
    run_crons()
    assert len(mine()) == 2
