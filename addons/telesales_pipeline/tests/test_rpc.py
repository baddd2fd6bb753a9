# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Visibility (PL-12) and masking (X-06) over JSON-RPC, as each role

Against a served copy of the PostgreSQL demo: the records of customers and
employees outside a role's scope are neither found nor read, the staff
outside the sales tree read customers masked and change none, and no answer
to a role without the "see full numbers" group holds a full phone number —
read, search, on_change, export, report or notification.
"""
import io
import re
import zipfile

import pytest

from testing.demo_server import serve_demo
from testing.rpc import Client, Refused

pytestmark = pytest.mark.postgresql

PASSWORDS = {'admin': 'admin@2026'}
# the roles of the demo without full numbers
MASKED = ['rep1', 'sup1', 'accountant', 'smsadmin', 'pbxadmin']
STAFF = ['accountant', 'smsadmin', 'pbxadmin']


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    log = tmp_path_factory.mktemp('telesales-rpc') / 'trytond.log'
    with serve_demo(log, backend='postgresql') as url:
        yield url


@pytest.fixture(scope='module')
def users(demo):
    clients = {}

    def get(login):
        if login not in clients:
            clients[login] = Client(demo, demo.database).login(
                login, PASSWORDS.get(login, f'{login}@2026'))
        return clients[login]
    yield get
    for client in clients.values():
        client.close()


@pytest.fixture(scope='module')
def data(users):
    "What the demo holds, read as the administrator"
    admin = users('admin')
    employees = {e['id']: e for e in admin.search_read(
            'company.employee', [], ['supervisor', 'party.name'])}
    parties = {p['id']: p for p in admin.search_read('party.party', [],
            ['name', 'crm_stage', 'crm_ownership', 'crm_owner',
                'crm_collaborators'])}
    mechanisms = admin.search_read('party.contact_mechanism',
        [('type', 'in', ['phone', 'mobile'])],
        ['party', 'value', 'value_compact'])
    return {
        'employees': employees, 'parties': parties,
        'mechanisms': mechanisms,
        'employee': {login: users(login).context.get('employee')
            for login in ['rep1', 'sup1', 'manager']},
        }


def national(e164):
    "The digits a full number shows whatever its format: 13800138000"
    digits = re.sub(r'\D', '', e164)
    return digits[2:] if digits.startswith('86') else digits


def full_numbers(data):
    return {national(m['value_compact']) for m in data['mechanisms']}


def leaked(text, data):
    "The full numbers found in text (spaces and dashes ignored)"
    flat = re.sub(r'[\s\-()]', '', text)
    return sorted(n for n in full_numbers(data) if n in flat)


def under(data, employee, top):
    while employee:
        if employee == top:
            return True
        employee = data['employees'][employee]['supervisor']
    return False


def in_scope(data, login, party_id):
    "Whether the customer is in the scope of the rep, supervisor or manager"
    if party_id is None:
        return True
    party = data['parties'][party_id]
    if not party['crm_stage'] or party['crm_ownership'] == 'shared':
        return True
    employee = data['employee'][login]
    staff = [party['crm_owner']] + party['crm_collaborators']
    if login == 'rep1':
        return employee in staff
    return any(e and under(data, e, employee) for e in staff)


def employee_in_scope(data, login, employee_id):
    employee = data['employee'][login]
    if employee_id is None:
        return True
    if login == 'rep1':
        return employee_id == employee
    return under(data, employee_id, employee)


def names_nothing(refused, data, party_id):
    "The refusal names neither the customer nor its owner"
    party = data['parties'][party_id]
    words = [party['name']]
    if party['crm_owner']:
        words.append(
            data['employees'][party['crm_owner']]['party.']['name'])
    return not any(w in refused.text for w in words)


# the models of a customer: model, path to the party
PARTY_MODELS = [
    ('crm.followup', 'party'),
    ('crm.party.owner.history', 'party'),
    ('sale.opportunity', 'party'),
    ('sale.sale', 'party'),
    ('party.contact_mechanism', 'party'),
    ('party.address', 'party'),
    ]
# the models of an employee: model, field of the employee
EMPLOYEE_MODELS = [
    ('crm.call.task', 'employee'),
    ]


@pytest.mark.parametrize('login', ['rep1', 'sup1', 'manager'])
@pytest.mark.parametrize('model,path', PARTY_MODELS)
def test_customer_records_in_scope_only(users, data, login, model, path):
    "search, search_count, read and export hold the role's customers only"
    admin, user = users('admin'), users(login)
    records = admin.search_read(model, [], [path])
    expected = {r['id'] for r in records
        if in_scope(data, login, r[path])}
    outside = [r for r in records if r['id'] not in expected]
    assert set(user.search(model, [])) == expected
    assert user.search_count(model, []) == len(expected)
    if login != 'manager':
        # the demo holds records of the other team for each model
        assert outside, model
    for record in outside[:3]:
        with pytest.raises(Refused) as refused:
            user.read(model, [record['id']], ['id'])
        assert names_nothing(refused.value, data, record[path])
        with pytest.raises(Refused):
            user.export_data(model, [record['id']], ['id'])


@pytest.mark.parametrize('login', ['rep1', 'sup1'])
def test_appointments_in_scope_only(users, data, login):
    "An appointment is seen for its customer or its employee"
    admin, user = users('admin'), users(login)
    records = admin.search_read('crm.appointment', [], ['party', 'employee'])
    expected = {r['id'] for r in records
        if in_scope(data, login, r['party'])
        or employee_in_scope(data, login, r['employee'])}
    assert set(user.search('crm.appointment', [])) == expected
    assert len(expected) < len(records)


@pytest.mark.parametrize('login', ['rep1', 'sup1'])
def test_call_tasks_and_lists_in_scope_only(users, data, login):
    "Call tasks, their numbers and their lists follow the employee"
    admin, user = users('admin'), users(login)
    tasks = admin.search_read('crm.call.task', [], ['employee', 'list'])
    expected = {t['id'] for t in tasks
        if employee_in_scope(data, login, t['employee'])}
    assert set(user.search('crm.call.task', [])) == expected
    assert len(expected) < len(tasks)
    lines = admin.search_read('crm.call.task.line', [], ['task'])
    assert set(user.search('crm.call.task.line', [])) == {
        l['id'] for l in lines if l['task'] in expected}
    hidden = [t['id'] for t in tasks if t['id'] not in expected]
    with pytest.raises(Refused):
        user.read('crm.call.task', hidden, ['name'])
    with pytest.raises(Refused):
        user.button('crm.call.task', 'do', hidden)
    assert admin.read('crm.call.task', hidden, ['state'])[0]['state'] == (
        'open')


def test_supervisor_sees_team_analyses(users, data):
    "The analyses by employee list the team only"
    sup = users('sup1')
    for model in ['crm.analysis.rep', 'crm.analysis.followup']:
        for row in sup.search_read(model, [], ['employee']):
            assert employee_in_scope(data, 'sup1', row['employee']), model


def test_stage_funnel_counts_the_scope(users, data):
    "The funnel's customers and reached counts are the supervisor's"
    sup = users('sup1')
    visible = [p for p in data['parties'].values()
        if p['crm_stage'] and in_scope(data, 'sup1', p['id'])]
    order = ['reserve', 'target', 'potential', 'opportunity', 'closed']
    rows = sup.search_read('crm.analysis.stage', [],
        ['stage', 'customers', 'reached'])
    assert rows
    for row in rows:
        index = order.index(row['stage'])
        assert row['customers'] == sum(
            1 for p in visible if p['crm_stage'] == row['stage'])
        assert row['reached'] == sum(
            1 for p in visible if order.index(p['crm_stage']) >= index)
    everyone = sum(1 for p in data['parties'].values() if p['crm_stage'])
    assert rows[0]['reached'] < everyone


@pytest.mark.parametrize('login', STAFF)
def test_staff_read_customers_masked_and_change_none(users, data, login):
    "The accountant and the connector administrators read, masked, only"
    admin, user = users('admin'), users(login)
    assert set(user.search('party.party', [])) == set(data['parties'])
    mechanism = data['mechanisms'][0]
    row, = user.read('party.contact_mechanism', [mechanism['id']],
        ['value', 'value_compact', 'rec_name', 'email', 'sip', 'url'])
    assert not leaked(repr(row), data)
    party_id = mechanism['party']
    name = data['parties'][party_id]['name']
    for call in [
            lambda: user.write('party.party', [party_id], {'name': 'x'}),
            lambda: user.create('party.party', [{'name': 'x'}]),
            lambda: user.delete('party.party', [party_id]),
            lambda: user.write('party.contact_mechanism',
                [mechanism['id']], {'value': '+8613900009999'}),
            lambda: user.search('crm.followup', []),
            lambda: user.search('crm.party.owner.history', []),
            lambda: user.search('sale.sale', []),
            ]:
        with pytest.raises(Refused) as refused:
            call()
        assert re.search(r'[\u4e00-\u9fff]', refused.value.message)
    assert admin.read('party.party', [party_id], ['name'])[0]['name'] == name
    assert admin.read('party.contact_mechanism', [mechanism['id']],
        ['value'])[0]['value'] == mechanism['value']


def _hidden_and_visible_mechanism(user, data):
    visible = set(user.search('party.contact_mechanism', []))
    hidden = [m for m in data['mechanisms'] if m['id'] not in visible]
    shown = [m for m in data['mechanisms'] if m['id'] in visible
        and data['parties'][m['party']]['crm_stage']]
    return (hidden or [None])[0], shown[0]


def test_on_change_of_a_hidden_record_refused(users, data):
    "on_change(_with) with the id of a record the rep cannot read"
    rep = users('rep1')
    hidden, _ = _hidden_and_visible_mechanism(rep, data)
    texts = []
    rep.watchers.append(lambda method, params, text: texts.append(text))
    try:
        for call in [
                lambda: rep.model('party.contact_mechanism',
                    'on_change_with', {'id': hidden['id'], 'type': 'mobile'},
                    ['url']),
                lambda: rep.model('party.contact_mechanism',
                    'on_change_with_url',
                    {'id': hidden['id'], 'type': 'mobile'}),
                lambda: rep.model('party.contact_mechanism', 'on_change',
                    {'id': hidden['id'], 'type': 'mobile'}, ['email']),
                lambda: rep.model('party.contact_mechanism',
                    'on_change_notify', {'id': hidden['id']}),
                # a new record naming a hidden customer
                lambda: rep.model('party.contact_mechanism',
                    'on_change_with', {'id': -1, 'type': 'mobile',
                        'party': hidden['party']}, ['url']),
                lambda: rep.model('party.party', 'on_change_with',
                    {'id': hidden['party']}, ['crm_vip_active']),
                lambda: rep.model('crm.followup', 'on_change_with',
                    {'id': -1, 'party': hidden['party']}, ['rec_name']),
                ]:
            with pytest.raises(Refused) as refused:
                call()
            assert names_nothing(refused.value, data, hidden['party'])
    finally:
        rep.watchers.clear()
    assert not [t for t in texts if leaked(t, data)]


@pytest.mark.parametrize('login', MASKED)
def test_on_change_of_a_visible_record_masked(users, data, login):
    "Numbers read from the database by an on_change come back masked"
    user = users(login)
    _, shown = _hidden_and_visible_mechanism(user, data)
    for method, args in [
            ('on_change_with', [['url']]),
            ('on_change_with_url', []),
            ('on_change', [['email', 'skype']]),
            ]:
        result = user.model('party.contact_mechanism', method,
            {'id': shown['id'], 'type': 'mobile'}, *args)
        assert not leaked(repr(result), data), (method, result)


def test_on_change_of_typed_number_keeps_it(users):
    "The number the rep types comes back formatted, not masked"
    rep = users('rep1')
    result = rep.model('party.contact_mechanism', 'on_change_value',
        {'id': -1, 'type': 'mobile', 'value': '13912345670'})
    assert result['value'] == '+86 139 1234 5670'


@pytest.mark.parametrize('login', MASKED)
def test_phone_function_fields_masked(users, data, login):
    user = users(login)
    _, shown = _hidden_and_visible_mechanism(user, data)
    fields = ['value', 'value_compact', 'other_value', 'email', 'website',
        'skype', 'sip', 'url', 'rec_name']
    row, = user.read('party.contact_mechanism', [shown['id']], fields)
    assert not leaked(repr(row), data), row
    party, = user.read('party.party', [shown['party']],
        ['phone', 'mobile', 'contact_mechanisms'])
    assert not leaked(repr(party), data)


def test_manager_sees_full_numbers(users, data):
    manager = users('manager')
    mechanism = data['mechanisms'][0]
    row, = manager.read('party.contact_mechanism', [mechanism['id']],
        ['value_compact'])
    assert row['value_compact'] == mechanism['value_compact']


@pytest.mark.parametrize('login', MASKED)
def test_search_cannot_rebuild_a_number(users, data, login):
    "A prefix finds nothing; the whole number finds the visible customer"
    user = users(login)
    _, shown = _hidden_and_visible_mechanism(user, data)
    number = shown['value_compact']
    for size in range(4, len(number)):
        for field, pattern in [
                ('value_compact', number[:size] + '%'),
                ('value', '%' + national(number)[:size - 3] + '%'),
                ('rec_name', '%' + number[size - 4:size] + '%'),
                ('value_compact', '%' + number[size:]),
                ]:
            assert user.search_count('party.contact_mechanism',
                [(field, 'like', pattern)]) == 0, (field, pattern)
    assert user.search_count('party.contact_mechanism',
        [('value_compact', '>=', number[:6])]) == 0
    assert user.search_count('party.party',
        [('contact_mechanisms.value_compact', 'like', number[:7] + '%')]) == 0
    assert user.search('party.contact_mechanism',
        [('value_compact', '=', number)]) == [shown['id']]
    assert shown['party'] in user.search('party.party',
        [('rec_name', 'ilike', '%' + national(number) + '%')])


def test_search_by_number_reveals_no_other_customer(users, data):
    "The whole number of a hidden customer finds nothing for the rep"
    rep = users('rep1')
    hidden, _ = _hidden_and_visible_mechanism(rep, data)
    number = hidden['value_compact']
    assert rep.search_count('party.party',
        [('rec_name', 'ilike', '%' + national(number) + '%')]) == 0
    assert rep.search_count('party.contact_mechanism',
        [('value_compact', '=', number)]) == 0


def test_duplicate_phone_toast_masked(users, data):
    "The host's duplicate warning and the telesales warning hide the number"
    rep = users('rep1')
    _, shown = _hidden_and_visible_mechanism(rep, data)
    mine = rep.search('party.party', [
            ('crm_owner', '=', data['employee']['rep1']),
            ('id', '!=', shown['party'])], 0, 1)
    notifications = rep.model('party.contact_mechanism', 'on_change_notify',
        {'id': -1, 'type': 'mobile', 'value': shown['value'],
            'party': mine[0]})
    assert notifications
    assert not leaked(repr(notifications), data)
    with pytest.raises(Refused) as refused:
        rep.create('party.contact_mechanism', [{'party': mine[0],
                    'type': 'mobile', 'value': shown['value']}])
    assert refused.value.kind == 'UserWarning'
    assert not leaked(refused.value.text, data)


def test_exports_masked(users, data):
    "Exports from any customer model hold no full number"
    sup, rep = users('sup1'), users('rep1')
    parties = sup.search('party.party', [('crm_stage', '!=', None)])
    rows = sup.export_data('party.party', parties,
        ['name', 'mobile', 'phone', 'contact_mechanisms/value',
            'contact_mechanisms/rec_name'])
    assert rows and not leaked(repr(rows), data)
    followups = rep.search('crm.followup', [])
    rows = rep.export_data('crm.followup', followups,
        ['party/name', 'party/mobile', 'party/contact_mechanisms/value'])
    assert rows and not leaked(repr(rows), data)
    sales = rep.search('sale.sale', [])
    rows = rep.export_data('sale.sale', sales, ['party/mobile'])
    assert not leaked(repr(rows), data)
    with pytest.raises(Refused):
        # a rep without the export group exports no customer list
        rep.export_data('party.party', parties[:1], ['name'])


def _texts_of(content):
    "The XML texts of an ODT or XLSX document"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return ''.join(archive.read(n).decode('utf-8', 'replace')
            for n in archive.namelist() if n.endswith('.xml'))


@pytest.mark.parametrize('login', ['sup1', 'accountant'])
def test_reports_masked(users, data, login):
    "The printable customer list and the Excel export hide the numbers"
    user = users(login)
    parties = [m['party'] for m in data['mechanisms']
        if in_scope(data, 'sup1', m['party'])]
    _, content, *_ = user.report(
        'telesales_pipeline.party.customer_list', parties, {})
    text = _texts_of(content)
    assert data['parties'][parties[0]]['name'] in text
    assert not leaked(text, data)
    if login == 'sup1':
        _, content, *_ = user.report(
            'telesales_pipeline.party.export_xlsx', parties, {})
        assert not leaked(_texts_of(content), data)


def test_chat_of_a_hidden_record_refused(users, data):
    "The chat of an order follows the order's rules"
    admin, rep = users('admin'), users('rep1')
    orders = admin.search_read('sale.sale', [], ['party'])
    hidden = [o for o in orders if not in_scope(data, 'rep1', o['party'])]
    shown = [o for o in orders if in_scope(data, 'rep1', o['party'])]
    resource = f"sale.sale,{hidden[0]['id']}"
    for method, args in [('get', [resource]), ('post', [resource, '你好'])]:
        with pytest.raises(Refused) as refused:
            rep.model('ir.chat.channel', method, *args)
        assert names_nothing(refused.value, data, hidden[0]['party'])
    assert admin.search_count('ir.chat.message',
        [('channel.resource', '=', resource)]) == 0
    assert rep.model('ir.chat.channel', 'get',
        f"sale.sale,{shown[0]['id']}") == []


def test_moved_mechanism_refusal_masked(users, data):
    "Moving a number to another customer is refused without the number"
    rep = users('rep1')
    _, shown = _hidden_and_visible_mechanism(rep, data)
    other = rep.search('party.party', [('id', '!=', shown['party'])], 0, 1)
    with pytest.raises(Refused) as refused:
        rep.write('party.contact_mechanism', [shown['id']],
            {'party': other[0]})
    assert not leaked(refused.value.text, data)


def test_resource_records_of_unreadable_models_left_out(users, data):
    "Notes and logs: those of models the rep may not read are left out"
    admin, rep = users('admin'), users('rep1')
    notes = admin.search_read('ir.note', [], ['resource'])
    shown = set(rep.search('ir.note', []))
    for note in notes:
        model, id_ = note['resource'].split(',')
        visible = (model != 'party.party'
            or in_scope(data, 'rep1', int(id_)))
        assert (note['id'] in shown) == visible
    assert rep.search_count('ir.model.log', []) < admin.search_count(
        'ir.model.log', [])
