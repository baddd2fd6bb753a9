# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The call center's records over JSON-RPC as each demo role (#15)

Against a served copy of the demo database on PostgreSQL, as the web client
calls it: who sees which calls, quality checks, statistics and extensions
(PL-12), what a plain write or create may not do, masked numbers (X-06),
recordings (PBX-04), refusals that name nothing and the AMI secret."""
import re

import pytest

from testing.demo_server import serve_demo
from testing.rpc import Client, Refused

pytestmark = pytest.mark.postgresql

CHINESE = re.compile(r'[\u4e00-\u9fff]')
# a full mainland mobile number, with or without +86
FULL_NUMBER = re.compile(r'(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    log = tmp_path_factory.mktemp('pbx-rpc') / 'trytond.log'
    with serve_demo(log, backend='postgresql') as url:
        yield url


def login(demo, name):
    password = 'admin@2026' if name == 'admin' else f'{name}@2026'
    return Client(demo, demo.database).login(name, password)


@pytest.fixture(scope='module')
def admin(demo):
    return login(demo, 'admin')


@pytest.fixture(scope='module')
def rep(demo):
    return login(demo, 'rep1')


@pytest.fixture(scope='module')
def supervisor(demo):
    return login(demo, 'sup1')


def refused(call, *args, **kwargs):
    """The Refused a call answers, with a Chinese message for the demo
    users (the administrator works in English)"""
    with pytest.raises(Refused) as info:
        call(*args, **kwargs)
    assert info.value.kind == 'UserError', info.value
    if call.__self__.login_name != 'admin':
        assert CHINESE.search(info.value.message), info.value
    return info.value


def customers(admin):
    "{name: party row} of the telesales customers"
    return {p['name']: p for p in admin.search_read('party.party',
            [('crm_stage', '!=', None)],
            ['name', 'crm_owner', 'crm_ownership', 'crm_collaborators',
                'crm_owner.rec_name'])}


def employees(admin):
    "{login: employee id}"
    return {u['login']: u['employee'] for u in admin.search_read(
            'res.user', [('employee', '!=', None)], ['login', 'employee'])}


def team(admin, login):
    "The employee ids at or under the employee of login"
    rows = admin.search_read('company.employee', [], ['supervisor'])
    result, changed = {employees(admin)[login]}, True
    while changed:
        changed = False
        for row in rows:
            if row['supervisor'] in result and row['id'] not in result:
                result.add(row['id'])
                changed = True
    return result


def in_scope(row, parties, scope, prefix=''):
    """Whether the customer, else the employee, of a call row (or a check's
    call) is in the scope"""
    party, employee = row[prefix + 'party'], row[prefix + 'employee']
    if not party:
        return employee in scope
    if party not in parties:
        return True
    customer = parties[party]
    return bool(customer['crm_ownership'] == 'shared'
        or customer['crm_owner'] in scope
        or set(customer['crm_collaborators']) & scope)


def expected(admin, scope):
    "{model: sorted ids} in the scope (a set of employee ids)"
    parties = {p['id']: p for p in customers(admin).values()}
    calls = admin.search_read('pbx.call', [], ['party', 'employee'])
    reviews = admin.search_read('pbx.call.review', [],
        ['call.party', 'call.employee'])
    for review in reviews:
        review['call.party'] = review['call.']['party']
        review['call.employee'] = review['call.']['employee']
    return {
        'pbx.call': sorted(c['id'] for c in calls
            if in_scope(c, parties, scope)),
        'pbx.call.review': sorted(r['id'] for r in reviews
            if in_scope(r, parties, scope, 'call.')),
        'pbx.call.statistics': sorted(s['id'] for s in admin.search_read(
                'pbx.call.statistics', [], ['employee'])
            if s['employee'] in scope),
        'pbx.extension': sorted(e['id'] for e in admin.search_read(
                'pbx.extension', [], ['employee'])
            if e['employee'] in scope),
        }


def test_scope_of_each_role(demo, admin, rep, supervisor):
    "Each role searches exactly the records of its scope (PL-12)"
    everyone = expected(admin, set(employees(admin).values()))
    mine = expected(admin, {employees(admin)['rep1']})
    ours = expected(admin, team(admin, 'sup1'))
    pbx_admin = login(demo, 'pbxadmin')
    for model, ids in everyone.items():
        assert ids == sorted(admin.search(model, [])), model
        assert set(ids) - set(mine[model]), model
        assert set(ids) - set(ours[model]), model
        assert sorted(rep.search(model, [])) == mine[model], model
        assert sorted(supervisor.search(model, [])) == ours[model], model
        assert sorted(login(demo, 'manager').search(model, [])) == ids
        if model == 'pbx.extension':
            assert sorted(pbx_admin.search(model, [])) == ids
        else:
            assert pbx_admin.search(model, []) == []
        for name in ['smsadmin', 'accountant']:
            refused(login(demo, name).search, model, [])
    # a rep sees the calls of the shared pool, whoever took them, not the
    # call he took of another rep's customer
    parties = customers(admin)
    shared = parties['上海宏达贸易有限公司']['id']
    assert rep.search('pbx.call', [('party', '=', shared)]) == admin.search(
        'pbx.call', [('party', '=', shared)])
    taken = rep.search('pbx.call', [
            ('employee', '=', employees(admin)['rep1']),
            ('party', '=', None)], limit=1)
    admin.write('pbx.call', taken, {'party': parties['成都天府食品']['id']})
    assert not set(taken) & set(rep.search('pbx.call', []))
    assert not set(taken) & set(supervisor.search('pbx.call', []))


def test_call_not_rewritten(admin, rep):
    """Duration and disposition of another rep's call, or his own, are not
    rewritten; no call is created or deleted"""
    parties = customers(admin)
    other, = admin.search('pbx.call', [
            ('party', '=', parties['成都天府食品']['id']),
            ('employee', '=', employees(admin)['rep3'])])
    own = rep.search('pbx.call', [('employee', '=', employees(admin)['rep1']),
            ('party', '=', None)], limit=1)
    fields = ['duration', 'disposition', 'state', 'number', 'employee']
    before = admin.read('pbx.call', [other] + own, fields)
    error = refused(rep.write, 'pbx.call', [other],
        {'duration': 1, 'disposition': 'busy'})
    for name in ['成都天府食品', parties['成都天府食品']['crm_owner.']['rec_name']]:
        assert name not in error.text
    for values in [{'duration': 1}, {'disposition': 'busy'},
            {'state': 'failed'}, {'number': '+8613900000000'},
            {'employee': employees(admin)['rep3']}]:
        refused(rep.write, 'pbx.call', own, values)
    refused(rep.create, 'pbx.call', [{'server': 1, 'direction': 'inbound',
                'state': 'ended', 'duration': 600}])
    refused(rep.delete, 'pbx.call', own)
    assert admin.read('pbx.call', [other] + own, fields) == before


def test_unknown_caller_linked_once(admin, rep):
    "A call of an unknown number is linked once, to a customer one sees"
    parties = customers(admin)
    own = rep.search('pbx.call', [('employee', '=', employees(admin)['rep1']),
            ('party', '=', None)], limit=1)
    error = refused(rep.write, 'pbx.call', own,
        {'party': parties['成都天府食品']['id']})
    assert '成都天府食品' not in error.text
    rep.write('pbx.call', own, {'party': parties['深圳新程教育']['id']})
    refused(rep.write, 'pbx.call', own,
        {'party': parties['苏州园林设计']['id']})
    assert admin.read('pbx.call', own, ['party'])[0]['party'] == (
        parties['深圳新程教育']['id'])


def test_numbers_masked(demo, admin):
    """A rep gets no full number by read, search_read or export, finds a
    call by the complete number, probes none by a part"""
    rep = login(demo, 'rep1')
    answers = []
    rep.watchers.append(lambda method, params, text: answers.append(text))
    ids = rep.search('pbx.call', [])
    rows = rep.read('pbx.call', ids, ['number', 'number_display'])
    assert all('****' in r['number'] for r in rows if r['number'])
    assert all(r['number'] == r['number_display'] for r in rows)
    rep.search_read('pbx.call', [], ['number', 'party.rec_name'], limit=20)
    rep.export_data('pbx.call', ids[:20],
        ['number', 'number_display', 'party/contact_mechanisms/value'])
    rep.search_read('pbx.call.review', [], ['call.number', 'score'])
    rep.export_data('pbx.call.review', rep.search('pbx.call.review', []),
        ['call/number', 'call/party/contact_mechanisms/value'])
    mine = customers(admin)['深圳新程教育']['id']
    assert rep.search_count('pbx.call', [('party', '=', mine),
            ('number', '=', '13923456789')]) >= 1
    assert rep.search_count('pbx.call', [('party', '=', mine),
            ('number', 'ilike', '%13923456789%')]) >= 1
    for model, domain in [
            ('pbx.call', [('number', 'like', '+86139%')]),
            ('pbx.call', [('number', '<', '+86139')]),
            ('party.party', [('calls.number', 'like', '+86139%')]),
            ('party.party', [('calls', 'where',
                        [('number', 'like', '+86139%')])]),
            ('pbx.call.review', [('call.number', 'like', '+86139%')]),
            ]:
        refused(rep.search_count, model, domain)
    leaks = [n for text in answers for n in FULL_NUMBER.findall(text)]
    assert not leaks
    manager = login(demo, 'manager')
    assert any(r['number'] and r['number'].startswith('+86')
        for r in manager.search_read('pbx.call', [], ['number'], limit=10))


def test_recordings_for_quality_control(demo, admin, rep, supervisor):
    """Only quality control reads a recording (link or file), on the calls
    it sees; the server's recording URL is the PBX administrator's"""
    own = rep.search('pbx.call', [('employee', '=', employees(admin)['rep1'])])
    for name in ['recording', 'recording_url']:
        refused(rep.read, 'pbx.call', own, [name])
        refused(rep.export_data, 'pbx.call', own, [name])
    refused(rep.search, 'pbx.call', [('recording', 'like', '%.wav')])
    refused(rep.read, 'pbx.server', [1], ['recording_url'])
    refused(rep.export_data, 'pbx.server', [1], ['recording_url'])
    recorded = supervisor.search('pbx.call', [('recording', '!=', None)])
    assert recorded
    links = supervisor.read('pbx.call', recorded, ['recording_url'])
    assert all(r['recording_url'].startswith('http') for r in links)
    hidden = admin.search('pbx.call', [('recording', '!=', None),
            ('id', 'not in', recorded)])
    assert hidden
    refused(supervisor.read, 'pbx.call', hidden, ['recording_url'])
    refused(supervisor.read, 'pbx.server', [1], ['recording_url'])
    assert login(demo, 'pbxadmin').read('pbx.server', [1],
        ['recording_url'])[0]['recording_url'].startswith('http')


def test_quality_checks(admin, rep, supervisor):
    "Supervisors check their team's calls, in their own name"
    team_call, = supervisor.search('pbx.call', [
            ('employee', '=', employees(admin)['rep2'])], limit=1)
    other, = admin.search('pbx.call', [
            ('employee', '=', employees(admin)['rep3'])], limit=1)
    refused(rep.create, 'pbx.call.review', [{'call': team_call,
                'score': 100}])
    refused(supervisor.create, 'pbx.call.review', [{'call': team_call,
                'score': 100, 'reviewer': employees(admin)['sup2']}])
    refused(supervisor.create, 'pbx.call.review', [{'call': other,
                'score': 100}])
    review, = supervisor.create('pbx.call.review', [{'call': team_call,
                'score': 90, 'notes': '话术规范'}])
    assert admin.read('pbx.call.review', [review], ['reviewer'])[0][
        'reviewer'] == employees(admin)['sup1']
    refused(supervisor.write, 'pbx.call.review', [review],
        {'reviewer': employees(admin)['rep1']})
    refused(supervisor.write, 'pbx.call.review', [review], {'call': other})


def test_dial_hidden_customer_refused(admin, rep):
    "Click-to-dial refuses a customer the rep may not see, naming nothing"
    parties = customers(admin)
    hidden = parties['成都天府食品']['id']
    mechanisms = admin.search('party.contact_mechanism',
        [('party', '=', hidden)])
    count = admin.search_count('pbx.call', [])
    for error in [
            refused(rep.button, 'party.party', 'dial', [hidden]),
            refused(rep.button, 'party.contact_mechanism', 'dial',
                mechanisms),
            ]:
        assert '成都天府食品' not in error.text
        assert '13512345678' not in error.text
    assert admin.search_count('pbx.call', []) == count


def test_extensions_ready_own_only(demo, admin, rep, supervisor):
    "A rep sets his own extension ready; nobody else's, nor his supervisor"
    own, = rep.search('pbx.extension', [])
    others = [e for e in admin.search('pbx.extension', []) if e != own]
    refused(rep.button, 'pbx.extension', 'set_ready', others[:1])
    team_extension = supervisor.search('pbx.extension',
        [('id', '!=', own)], limit=1)
    refused(supervisor.button, 'pbx.extension', 'set_ready', team_extension)
    refused(rep.write, 'pbx.extension', [own], {'ready': True})
    # the PBX administrator may (Ready would dial the rep's call tasks)
    login(demo, 'pbxadmin').write('pbx.extension', [own], {'ready': True})
    refused(supervisor.button, 'pbx.extension', 'set_not_ready', [own])
    rep.button('pbx.extension', 'set_not_ready', [own])
    assert not admin.read('pbx.extension', [own], ['ready'])[0]['ready']


def test_ami_secret_write_only(demo, admin):
    """Nobody reads the AMI secret back, not even the PBX administrator, who
    sets it and sees that it is set; the listener's values are its own"""
    manager = login(demo, 'manager')
    pbx_admin = login(demo, 'pbxadmin')
    answers = []
    pbx_admin.watchers.append(lambda method, params, text: answers.append(
            text))
    for user in [manager, pbx_admin, admin]:
        refused(user.read, 'pbx.server', [1], ['secret'])
        refused(user.search, 'pbx.server', [('secret', 'like', 'd%')])
        refused(user.write, 'pbx.server', [1], {'secret': 'forged'})
        refused(user.export_data, 'pbx.server', [1], ['secret'])
    for name in ['secret_input', 'secret_set', 'username']:
        refused(manager.read, 'pbx.server', [1], [name])
    refused(manager.write, 'pbx.server', [1], {'secret_input': 'forged'})
    refused(pbx_admin.write, 'pbx.server', [1], {'state': 'connected'})
    refused(pbx_admin.write, 'pbx.server', [1], {'buffered': 0,
            'last_error': None})
    pbx_admin.write('pbx.server', [1], {'secret_input': 'ami-s3cret'})
    fields = pbx_admin.model('pbx.server', 'fields_view_get', None, 'form')
    pbx_admin.read('pbx.server', [1],
        [f for f in fields['fields'] if f != 'secret'])
    row, = pbx_admin.read('pbx.server', [1], ['secret_input', 'secret_set'])
    assert row == {'id': 1, 'secret_input': None, 'secret_set': True}
    assert not [t for t in answers if 'ami-s3cret' in t]


def test_dial_failure_explained_in_chinese(admin, rep):
    """With the PBX down, the rep's call fails with a reason in his language
    (the notification and the call's error), never the network error's own
    text"""
    from testing.demo_server import free_port
    server, = admin.read('pbx.server', [1], ['port'])
    mine = [p for p in customers(admin).values()
        if p['crm_owner'] == employees(admin)['rep1']]
    party = next(p['id'] for p in mine if admin.search_count(
            'party.contact_mechanism', [('party', '=', p['id']),
                ('type', 'in', ['phone', 'mobile'])]))
    admin.write('pbx.server', [1], {'port': free_port()})
    try:
        rep.button('party.party', 'dial', [party])
    finally:
        admin.write('pbx.server', [1], {'port': server['port']})
    call, = rep.search_read('pbx.call', [('party', '=', party),
            ('state', '=', 'failed')], ['error'])
    notification, = rep.search_read('res.notification',
        [('label', '=', '呼叫未能发起')], ['description'])
    for text in [call['error'], notification['description']]:
        assert '拒绝连接' in text, text
        assert 'Errno' not in text and 'refused' not in text, text


def test_dial_from_call_task(admin, rep):
    """A rep dials a pending number of his call task from its line: he sees
    the number masked, the call goes to the full number (#16)"""
    lines = rep.search_read('crm.call.task.line', [('state', '=', 'pending')],
        ['phone', 'party'])
    assert lines
    line = lines[0]
    assert '****' in line['phone'], line
    before = admin.search('pbx.call', [])
    rep.button('crm.call.task.line', 'dial', [line['id']])
    full, = admin.read('crm.call.task.line', [line['id']], ['phone'])
    calls = admin.search_read('pbx.call', [('id', 'not in', before)],
        ['number', 'direction', 'party', 'employee'])
    assert [(c['number'], c['direction'], c['party'], c['employee'])
        for c in calls] == [(full['phone'], 'outbound', line['party'],
            employees(admin)['rep1'])]
