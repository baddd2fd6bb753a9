# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The SMS records over JSON-RPC as each demo role (#15)

Against a served copy of the demo database on PostgreSQL, as the web client
calls it: who sees which messages, replies and opt-outs (PL-12), what a
plain write or create may not do, masked numbers (X-06), refusals that name
nothing and the gateway's secrets."""
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
    log = tmp_path_factory.mktemp('sms-rpc') / 'trytond.log'
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
    rows = admin.search_read(
        'company.employee', [], ['supervisor'], context={'active_test': False})
    top = employees(admin)[login]
    result, changed = {top}, True
    while changed:
        changed = False
        for row in rows:
            if row['supervisor'] in result and row['id'] not in result:
                result.add(row['id'])
                changed = True
    return result


def party_in_scope(party, scope):
    "Whether a customer row is in the scope (a set of employee ids)"
    return (party['crm_ownership'] == 'shared'
        or party['crm_owner'] in scope
        or bool(set(party['crm_collaborators']) & scope))


def expected(admin, model, scope):
    "The ids of model whose customer, else employee, is in the scope"
    parties = {p['id']: p for p in customers(admin).values()}
    rows = admin.search_read(model, [], ['party', 'employee'])

    def in_scope(row):
        if not row['party']:
            return row['employee'] in scope
        return (row['party'] not in parties
            or party_in_scope(parties[row['party']], scope))
    return sorted(r['id'] for r in rows if in_scope(r))


def test_scope_of_each_role(demo, admin, rep):
    "Each role searches exactly the records of its scope (PL-12)"
    everyone = {m: sorted(admin.search(m, []))
        for m in ['sms.message', 'sms.inbound', 'sms.opt_out']}
    rep_scope = {employees(admin)['rep1']}
    supervisor = login(demo, 'sup1')
    for model, ids in everyone.items():
        assert ids, model
        mine = expected(admin, model, rep_scope)
        assert sorted(rep.search(model, [])) == mine
        assert rep.search_count(model, []) == len(mine)
        # records of the demo outside the rep's scope
        assert set(ids) - set(mine), model
        assert sorted(supervisor.search(model, [])) == expected(
            admin, model, team(admin, 'sup1'))
        for name in ['manager', 'smsadmin']:
            assert sorted(login(demo, name).search(model, [])) == ids
        for name in ['pbxadmin', 'accountant']:
            refused(login(demo, name).search, model, [])


def test_hidden_message_refused_naming_nothing(admin, rep):
    "A rep reads, cancels or exports no message of another rep's customer"
    parties = customers(admin)
    hidden = admin.search_read('sms.message',
        [('party.name', '=', '重庆山城火锅'), ('state', '=', 'queued')],
        ['party', 'state', 'number'])
    assert hidden
    ids = [m['id'] for m in hidden]
    owner = parties['重庆山城火锅']['crm_owner.']['rec_name']
    for call, args in [
            (rep.read, ('sms.message', ids, ['text'])),
            (rep.export_data, ('sms.message', ids, ['text'])),
            (rep.button, ('sms.message', 'cancel', ids)),
            (rep.write, ('sms.message', ids, {'scheduled_at': None})),
            (rep.delete, ('sms.message', ids)),
            ]:
        error = refused(call, *args)
        for secret in ['重庆山城火锅', owner, hidden[0]['number'],
                hidden[0]['number'][3:]]:
            assert secret not in error.text
    assert admin.read('sms.message', ids, ['state'])[0]['state'] == 'queued'


def test_queued_message_not_rewritten(admin, rep):
    """No plain write or create of a message: a queued one keeps its number
    and text; the rep cancels it with the button"""
    queued, = rep.search('sms.message', [('state', '=', 'queued')])
    before, = admin.read('sms.message', [queued],
        ['number', 'text', 'state', 'party', 'employee'])
    for values in [{'number': '+8613900000000'}, {'text': '中奖了'},
            {'state': 'sent'}, {'employee': None}]:
        refused(rep.write, 'sms.message', [queued], values)
    refused(rep.create, 'sms.message', [{'number': '+8613900000000',
                'kind': 'notification', 'text': '中奖了'}])
    after, = admin.read('sms.message', [queued],
        ['number', 'text', 'state', 'party', 'employee'])
    assert after == before
    rep.button('sms.message', 'cancel', [queued])
    assert admin.read(
        'sms.message', [queued], ['state'])[0]['state'] == 'cancelled'


def test_numbers_masked(demo, admin, rep):
    """A rep gets no full number by read, search_read, export or a record
    name, finds a message by the complete number, probes none by a part"""
    answers = []
    rep = login(demo, 'rep1')
    rep.watchers.append(lambda method, params, text: answers.append(text))
    ids = rep.search('sms.message', [])
    rows = rep.read('sms.message', ids,
        ['number', 'rec_name', 'error', 'text', 'status_detail'])
    assert {r['number'] for r in rows} and all(
        '****' in r['number'] for r in rows)
    assert any(r['error'] and '****' in r['error'] for r in rows)
    rep.search_read('sms.message', [], ['number', 'party.rec_name'])
    rep.export_data('sms.message', ids,
        ['number', 'error', 'party/contact_mechanisms/value'])
    rep.search_read('sms.inbound', [], ['number', 'text', 'rec_name'])
    rep.search_read('sms.opt_out', [], ['number', 'note', 'rec_name'])
    opted_out, = admin.search('sms.opt_out',
        [('number', '=', '+8613800138000')])
    assert rep.search('sms.opt_out', [('number', '=', '13800138000')]) == [
        opted_out]
    assert rep.search_count(
        'sms.message', [('number', 'ilike', '%13800138000%')]) == 1
    assert rep.search_count(
        'sms.message', [('rec_name', 'ilike', '%上海宏达%')]) == 1
    for domain in [[('number', 'like', '+86138%')],
            [('number', '>', '+86138')],
            [('error', 'ilike', '%1380013%')],
            [('rec_name', 'ilike', '%1380013%')],
            [('party.sms_messages.number', 'like', '+86138%')]]:
        refused(rep.search_count, 'sms.message', domain)
    refused(rep.search_count, 'party.party',
        [('sms_messages', 'where', [('number', 'like', '+86138%')])])
    leaks = [n for text in answers for n in FULL_NUMBER.findall(text)]
    assert not leaks
    # the store manager sees them in full
    manager = login(demo, 'manager')
    numbers = {r['number'] for r in manager.search_read(
            'sms.message', [], ['number'])}
    assert '+8613800138000' in numbers


def test_inbound_linked_once_to_a_visible_customer(demo, admin):
    "A reply of an unknown number is linked once, to a customer one sees"
    supervisor = login(demo, 'sup1')
    parties = customers(admin)
    unknown, = supervisor.search('sms.inbound', [('party', '=', None)])
    error = refused(supervisor.write, 'sms.inbound', [unknown],
        {'party': parties['成都天府食品']['id']})
    assert '成都天府食品' not in error.text
    refused(supervisor.write, 'sms.inbound', [unknown], {'text': '退订'})
    supervisor.write('sms.inbound', [unknown],
        {'party': parties['南京金陵制造']['id']})
    refused(supervisor.write, 'sms.inbound', [unknown],
        {'party': parties['杭州云帆网络']['id']})
    row, = admin.read('sms.inbound', [unknown], ['party', 'text'])
    assert row['party'] == parties['南京金陵制造']['id']
    assert row['text'] == '收到，谢谢'


def test_opt_outs_added_not_removed(demo, admin, rep):
    "Staff add opt-outs in their own name; only SMS administrators remove"
    new, = rep.create('sms.opt_out', [{'number': '13900004321',
                'note': '电话中要求退订'}])
    row, = admin.read('sms.opt_out', [new], ['number', 'source', 'employee'])
    assert row == {'id': new, 'number': '+8613900004321', 'source': 'staff',
        'employee': employees(admin)['rep1']}
    refused(rep.create, 'sms.opt_out', [{'number': '13900004322',
                'source': 'reply'}])
    refused(rep.create, 'sms.opt_out', [{'number': '13900004323',
                'employee': employees(admin)['rep3']}])
    refused(rep.write, 'sms.opt_out', [new], {'number': '+8613900000001'})
    refused(rep.delete, 'sms.opt_out', [new])
    # of no customer it is his; of another rep's customer, the customer's
    assert new in rep.search('sms.opt_out', [])
    sms_admin = login(demo, 'smsadmin')
    sms_admin.write('sms.opt_out', [new],
        {'party': customers(admin)['成都天府食品']['id']})
    assert new not in rep.search('sms.opt_out', [])
    sms_admin.delete('sms.opt_out', [new])
    assert not admin.search('sms.opt_out', [('id', '=', new)])


def test_send_to_hidden_customer_refused(admin, rep):
    """The send wizard, its preview and the template preview refuse a
    customer the rep may not see, naming nothing, and send nothing"""
    parties = customers(admin)
    hidden = parties['成都天府食品']['id']
    mine = parties['深圳新程教育']['id']
    count = admin.search_count('sms.message', [('party', '=', hidden)])
    template, = rep.search('sms.template', [('name', '=', '生日祝福')])
    data = {'start': {'parties': [hidden], 'kind': 'notification',
            'text': '您好', 'numbers': '', 'template': None,
            'gateway': None, 'scheduled_at': None}}
    for error in [
            refused(rep.wizard, 'sms.send', 'party.party', [mine],
                [('start', {}), ('send', data)]),
            refused(rep.model, 'sms.send.start', 'on_change_with',
                {'template': template, 'text': '', 'parties': [hidden]},
                ['preview']),
            refused(rep.model, 'sms.template', 'on_change_with',
                {'id': template, 'content': '${name}',
                    'preview_party': hidden, 'provider_params': None},
                ['preview']),
            ]:
        assert '成都天府食品' not in error.text
    assert admin.search_count(
        'sms.message', [('party', '=', hidden)]) == count
    # his own customer: sent in his name
    data['start']['parties'] = [mine]
    rep.wizard('sms.send', 'party.party', [mine],
        [('start', {}), ('send', data)])
    sent = admin.search_read('sms.message', [('party', '=', mine)],
        ['employee'], order=[('id', 'DESC')], limit=1)
    assert sent[0]['employee'] == employees(admin)['rep1']


def test_gateway_secrets_write_only(demo, admin):
    """Nobody reads the password or the callback secret back, not even the
    SMS administrator, who sets them and sees that they are set"""
    gateway, = admin.search('sms.gateway', [])
    manager = login(demo, 'manager')
    sms_admin = login(demo, 'smsadmin')
    answers = []
    sms_admin.watchers.append(lambda method, params, text: answers.append(
            text))
    for user in [manager, sms_admin, admin]:
        for name in ['password', 'callback_secret']:
            refused(user.read, 'sms.gateway', [gateway], [name])
            refused(user.search, 'sms.gateway', [(name, 'like', 'a%')])
            refused(user.write, 'sms.gateway', [gateway], {name: 'forged'})
            refused(user.export_data, 'sms.gateway', [gateway], [name])
    for name in ['password_input', 'password_set', 'username']:
        refused(manager.read, 'sms.gateway', [gateway], [name])
    refused(manager.write, 'sms.gateway', [gateway],
        {'password_input': 'forged'})
    refused(manager.button, 'sms.gateway', 'new_secret', [gateway])
    sms_admin.write('sms.gateway', [gateway], {
            'password_input': 'kannel-s3cret',
            'callback_secret_input': 'callback-s3cret'})
    # what the form reads after a save, and a new gateway's defaults
    fields = sms_admin.model('sms.gateway', 'fields_view_get', None, 'form')
    sms_admin.read('sms.gateway', [gateway],
        [f for f in fields['fields'] if f not in {
                'password', 'callback_secret'}])
    defaults = sms_admin.model('sms.gateway', 'default_get',
        list(fields['fields']), False)
    assert 'callback_secret' not in defaults
    row, = sms_admin.read('sms.gateway', [gateway], [
            'password_input', 'password_set', 'callback_secret_input',
            'callback_secret_set'])
    assert row == {'id': gateway, 'password_input': None,
        'password_set': True, 'callback_secret_input': None,
        'callback_secret_set': True}
    sms_admin.button('sms.gateway', 'new_secret', [gateway])
    assert not [t for t in answers
        if 'kannel-s3cret' in t or 'callback-s3cret' in t]
