# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The loan roles' limits over JSON-RPC against the served demo (issue #15)

Each test logs in as a demo role and calls the server as the web client or
any script would: refusals must be business answers (``Refused``) in
Chinese that name nothing the caller cannot see, and the data must not have
changed (read back as the administrator).

Demo scope used below (``demo/loan_brokerage.py``): rep1 (under sup1)
owns 周建国 (draft), 吴丽华 (signed) and 黄志明 (repaying); rep2 (under
sup1) 郑海涛 and 孙晓梅; rep3 (under sup2) 钱志强 and 冯雪; rep4 (under sup2)
陈宇 (cancelled). The store manager's branch is everyone.
"""
import datetime as dt
import re
import threading
from decimal import Decimal

import pytest

from testing.demo_server import serve_demo
from testing.rpc import Client, Refused, TransportError

pytestmark = pytest.mark.postgresql

CJK = re.compile(r'[\u4e00-\u9fff]')
# the names a message quotes
QUOTED = re.compile(r'“[^”]*”|"[^"]*"')
REP1 = ['周建国', '吴丽华', '黄志明']
SUP1 = REP1 + ['郑海涛', '孙晓梅']
ALL = SUP1 + ['钱志强', '冯雪', '陈宇']
# what a refusal about rep3's customer 钱志强 must not name: the customer,
# the product, the owner and the amount
HIDDEN = ['钱志强', '稳健理财', '杨帆', '200000', '200,000']
PHONES = {
    '周建国': '+8613800138001', '吴丽华': '+8613800138002',
    '郑海涛': '+8613800138003', '孙晓梅': '+8613800138004',
    '钱志强': '+8613800138005', '冯雪': '+8613800138006',
    '陈宇': '+8613800138007', '黄志明': '+8613800138008'}


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    log = tmp_path_factory.mktemp('loan-rpc') / 'trytond.log'
    with serve_demo(log, backend='postgresql') as url:
        yield url


@pytest.fixture(scope='module')
def login(demo):
    clients = {}

    def login(name):
        if name not in clients:
            password = 'admin@2026' if name == 'admin' else f'{name}@2026'
            clients[name] = Client(demo, demo.database).login(name, password)
        return clients[name]
    yield login
    for client in clients.values():
        client.close()


@pytest.fixture(scope='module')
def apps(login):
    "{customer name: application row} read as the administrator"
    admin = login('admin')
    rows = admin.search_read('loan.application', [], [
            'party', 'party.name', 'product', 'state', 'amount', 'employee',
            'agent'])
    return {r['party.']['name']: r for r in rows}


def refused(call, *args, **kwargs):
    "The Refused answer of call; a transport error or a success fails"
    with pytest.raises(Refused) as info:
        call(*args, **kwargs)
    return info.value


def assert_chinese(refusal, hidden=()):
    "A translated message (not only Chinese names) naming nothing hidden"
    text = QUOTED.sub('', refusal.message)
    assert CJK.search(text), refusal.text
    for text in hidden:
        assert text not in refusal.text, (text, refusal.text)


def dig(row, path):
    "The value at the dotted path of a row read with that path"
    *parents, last = path.split('.')
    for name in parents:
        row = row[name + '.'] or {}
    return row.get(last)


def names(client, model, path, domain=None):
    "The customer names of the records of model the client finds"
    ids = client.search(model, domain or [])
    rows = client.read(model, ids, [f'{path}.name']) if ids else []
    return {dig(r, f'{path}.name') for r in rows}


# money and workflow by plain write/create (item 1)

def test_rep_cannot_move_workflow_state(login, apps):
    rep = login('rep1')
    app = apps['吴丽华']
    for state in ['draft', 'cancelled', 'disbursed', 'closed']:
        refusal = refused(rep.write, 'loan.application', [app['id']],
            {'state': state})
        assert_chinese(refusal)
    refusal = refused(rep.create, 'loan.application', [{
                'party': apps['周建国']['party'],
                'product': apps['周建国']['product'],
                'state': 'signed', 'amount': Decimal('1')}])
    assert_chinese(refusal)
    state, = login('admin').read(
        'loan.application', [app['id']], ['state'])
    assert state['state'] == 'signed'


def test_rep_cannot_change_signed_terms(login, apps):
    rep = login('rep1')
    app = apps['吴丽华']
    admin = login('admin')
    other_agent = admin.search('commission.agent', [
            ('id', '!=', app['agent'])], limit=1)[0]
    for values in [
            {'amount': Decimal('1000.00')},
            {'fee_rate': Decimal('0.5000')},
            {'signing_date': dt.date(2020, 1, 1)},
            {'agent': other_agent},
            {'employee': apps['钱志强']['employee']},
            {'state': 'draft', 'amount': Decimal('1000.00')},
            ]:
        refusal = refused(rep.write, 'loan.application', [app['id']], values)
        assert_chinese(refusal)
    row, = admin.read('loan.application', [app['id']],
        ['amount', 'state', 'agent', 'employee', 'fee_rate'])
    assert row['amount'] == Decimal('800000.00')
    assert row['state'] == 'signed'
    assert row['agent'] == app['agent']
    assert row['employee'] == app['employee']


def test_rep_cannot_reopen_cancelled_application(login, apps):
    # reset to draft reopens the terms: business administrator only
    rep = login('rep4')
    app = apps['陈宇']
    refusal = refused(rep.button, 'loan.application', 'draft', [app['id']])
    assert_chinese(refusal)
    row, = login('admin').read('loan.application', [app['id']], ['state'])
    assert row['state'] == 'cancelled'


def test_business_admin_correction_is_logged(login, apps):
    manager = login('manager')
    app = apps['冯雪']
    before = manager.search_count('loan.application.change', [
            ('application', '=', app['id'])])
    manager.write('loan.application', [app['id']], {
            'signing_date': dt.date.today() - dt.timedelta(days=70)})
    changes = manager.search_read('loan.application.change', [
            ('application', '=', app['id'])], ['field', 'user', 'new_value'],
        order=[('id', 'DESC')])
    assert len(changes) == before + 1
    assert changes[0]['field'] == 'signing_date'
    assert changes[0]['user'] == manager.user_id
    # nobody rewrites or removes the log
    for client in [manager, login('admin')]:
        refused(client.write, 'loan.application.change', [changes[0]['id']],
            {'new_value': 'x'})
        refused(client.delete, 'loan.application.change', [changes[0]['id']])


def test_rep_cannot_create_disbursements(login, apps):
    rep = login('rep1')
    admin = login('admin')
    before = admin.search_count('loan.disbursement', [])
    for app in [apps['吴丽华'], apps['周建国']]:
        refusal = refused(rep.create, 'loan.disbursement', [{
                    'application': app['id'], 'amount': Decimal('99999999'),
                    'date': dt.date.today()}])
        assert_chinese(refusal)
        refusal = refused(rep.write, 'loan.application', [app['id']], {
                'disbursements': [('create', [{
                                'amount': Decimal('99999999'),
                                'date': dt.date.today()}])]})
        assert_chinese(refusal)
    disbursement = rep.search('loan.disbursement', [], limit=1)[0]
    for values in [{'amount': Decimal('1')}, {'fee_amount': Decimal('0')}]:
        refused(rep.write, 'loan.disbursement', [disbursement], values)
    refused(rep.delete, 'loan.disbursement', [disbursement])
    assert admin.search_count('loan.disbursement', []) == before
    # the administrator's list reads every amount
    rows = admin.search_read('loan.application', [],
        ['disbursed_amount', 'fee_amount', 'repaid_amount'])
    assert all(r['disbursed_amount'] is not None for r in rows)


def test_repayment_schedule_is_not_rewritten(login, apps):
    rep = login('rep1')
    admin = login('admin')
    app = apps['黄志明']
    received = rep.search('loan.repayment', [
            ('application', '=', app['id']), ('state', '=', 'received')])
    pending = rep.search('loan.repayment', [
            ('application', '=', app['id']), ('state', '=', 'pending')])
    assert received and pending
    before = admin.read('loan.repayment', received + pending,
        ['principal', 'received_amount', 'state', 'due_date'])
    for ids, values in [
            (received, {'received_amount': Decimal('1.00')}),
            (received, {'received_date': dt.date(2020, 1, 1)}),
            (received, {'state': 'pending'}),
            (pending, {'state': 'received'}),
            (pending, {'principal': Decimal('0.01')}),
            (pending, {'due_date': dt.date(2099, 1, 1)}),
            ]:
        assert_chinese(refused(
                rep.write, 'loan.repayment', ids[:1], values))
    assert_chinese(refused(rep.create, 'loan.repayment', [{
                    'application': app['id'], 'number': 99,
                    'due_date': dt.date.today()}]))
    assert_chinese(refused(rep.delete, 'loan.repayment', pending[:1]))
    assert admin.read('loan.repayment', received + pending,
        ['principal', 'received_amount', 'state', 'due_date']) == before


def test_configuration_and_products_for_the_admin_only(login):
    for name in ['rep1', 'sup1']:
        client = login(name)
        refused(client.write, 'loan.configuration', [1],
            {'post_fee_invoices': False})
        product = client.search('loan.product', [], limit=1)[0]
        refused(client.write, 'loan.product', [product],
            {'fee_rate': Decimal('0.9')})
    assert login('admin').read('loan.configuration', [1],
        ['post_fee_invoices'])[0]['post_fee_invoices']


# visibility (item 3)

@pytest.mark.parametrize('model,path', [
        ('loan.application', 'party'),
        ('loan.disbursement', 'application.party'),
        ('loan.repayment', 'application.party'),
        ('loan.application.change', 'application.party'),
        ('loan.channel.status', 'application.party'),
        ])
def test_loan_records_by_customer_scope(login, model, path):
    admin_names = names(login('admin'), model, path)
    for name, scope in [('rep1', REP1), ('sup1', SUP1), ('manager', ALL)]:
        assert names(login(name), model, path) == admin_names & set(scope), (
            name, model)


def test_out_of_scope_records_are_refused(login, apps):
    rep = login('rep1')
    admin = login('admin')
    app = apps['钱志强']
    hidden = {
        'loan.application': [app['id']],
        'loan.disbursement': admin.search('loan.disbursement', [
                ('application', '=', app['id'])]),
        'loan.repayment': admin.search('loan.repayment', [
                ('application', '=', app['id'])], limit=2),
        'loan.application.change': admin.search('loan.application.change',
            [('application', '=', app['id'])]),
        }
    for model, ids in hidden.items():
        assert ids, model
        assert_chinese(refused(rep.read, model, ids, ['id']), HIDDEN)
        assert_chinese(
            refused(rep.export_data, model, ids, ['id']), HIDDEN)
        assert_chinese(refused(
                rep.model, model, 'on_change_with', {'id': ids[0]},
                ['currency']), HIDDEN)
    assert_chinese(refused(rep.model, 'loan.disbursement', 'on_change_with',
            {'application': app['id']}, ['party', 'employee']), HIDDEN)
    for values in [{'note': 'x'}, {'amount': Decimal('1')}]:
        assert_chinese(refused(rep.write, 'loan.application', [app['id']],
                values), HIDDEN)
    assert_chinese(refused(rep.delete, 'loan.application', [app['id']]),
        HIDDEN)
    assert_chinese(refused(rep.delete, 'party.party', [app['party']]),
        HIDDEN)
    assert_chinese(refused(rep.wizard, 'loan.application.disburse',
            'loan.application', [app['id']], [('start', {})]), HIDDEN)
    assert_chinese(refused(rep.button, 'loan.application', 'cancel',
            [app['id']]), HIDDEN)


def test_fee_invoices_follow_the_customer(login, apps):
    admin = login('admin')

    def fee_invoices(client):
        ids = client.search('account.invoice', [('type', '=', 'out')])
        rows = client.read('account.invoice', ids, ['description'])
        return {n for r in rows for n in ALL if n in (r['description'] or '')}
    everyone = fee_invoices(admin)
    assert everyone
    assert fee_invoices(login('rep1')) == everyone & set(REP1)
    assert fee_invoices(login('sup1')) == everyone & set(SUP1)
    assert fee_invoices(login('manager')) == everyone
    assert fee_invoices(login('accountant')) == everyone
    rep = login('rep1')
    hidden = admin.search('account.invoice', [
            ('description', 'like', '%钱志强%')])
    assert hidden
    assert_chinese(refused(rep.read, 'account.invoice', hidden, ['id']),
        HIDDEN)
    assert_chinese(refused(rep.export_data, 'account.invoice', hidden,
            ['description']), HIDDEN)
    assert_chinese(refused(rep.model, 'account.invoice', 'on_change_with',
            {'id': hidden[0]}, ['currency_date']), HIDDEN)
    lines = admin.search('account.invoice.line', [
            ('invoice', 'in', hidden)])
    assert_chinese(refused(rep.read, 'account.invoice.line', lines,
            ['description']), HIDDEN)
    rep_lines = rep.search_read('account.invoice.line', [],
        ['description'])
    assert rep_lines and all('钱志强' not in (r['description'] or '')
        for r in rep_lines)


def test_commissions_and_statistics_by_employee(login):
    admin = login('admin')
    employees = {r['id']: r['party.']['name'] for r in admin.search_read(
            'company.employee', [], ['party.name'])}
    teams = {
        'rep1': {'刘洋'},
        'sup1': {'李强', '刘洋', '陈静'},
        'manager': set(employees.values()),
        }
    for model, path in [
            ('commission', 'agent.employee'),
            ('loan.commission.statement', 'employee'),
            ('loan.statistics.workload', 'employee'),
            ('loan.statistics.callback', 'employee'),
            ('loan.statistics.funnel', 'employee'),
            ]:
        every = admin.search_read(model, [], [path])
        assert every, model
        for name, team in teams.items():
            rows = login(name).search_read(model, [], [path])
            seen = {employees.get(dig(r, path)) for r in rows}
            expected = {employees.get(dig(r, path)) for r in every
                if employees.get(dig(r, path)) in team}
            assert seen == expected, (name, model)
        other = [r['id'] for r in every
            if employees.get(dig(r, path)) not in teams['sup1']]
        assert other, model
        sup = login('sup1')
        refused(sup.read, model, other[:1], ['id'])
        refused(sup.export_data, model, other[:1], ['id'])


# the channel user (item 4, LN-08)

def test_channel_reaches_only_the_lookup(login):
    channel = login('channel')
    answers = []
    channel.watchers.append(lambda m, p, text: answers.append(text))
    for model in ['party.party', 'party.contact_mechanism', 'party.address',
            'party.identifier', 'crm.party.owner.history', 'ir.note',
            'commission.agent', 'commission', 'company.employee']:
        try:
            assert channel.search(model, []) == [], model
            assert channel.search_read(model, [], ['id']) == [], model
        except Refused:
            pass
    for model in ['loan.application', 'loan.disbursement', 'loan.repayment',
            'loan.application.change', 'account.invoice', 'loan.product',
            'loan.commission.statement']:
        assert_chinese(refused(channel.search, model, []))
    admin = login('admin')
    party = admin.search('party.party', [('name', '=', '吴丽华')])
    mechanisms = admin.search('party.contact_mechanism', [
            ('party', 'in', party)])
    refused(channel.export_data, 'party.party', party, ['name'])
    refused(channel.export_data, 'party.contact_mechanism', mechanisms,
        ['value'])
    refused(channel.read, 'party.contact_mechanism', mechanisms, ['value'])
    menus = channel.search_read('ir.ui.menu', [('parent', '=', None)],
        ['name'])
    assert [m['name'] for m in menus] == ['贷款中介']
    assert not any(p[3:] in text for text in answers
        for p in PHONES.values())


def test_channel_lookup_by_phone(login, apps):
    channel = login('channel')
    assert channel.search('loan.channel.status', []) == []
    assert channel.search('loan.channel.status', [
            ('customer', 'like', '%')]) == []
    assert channel.search('loan.channel.status', [
            'OR', ('phone', '=', '13800138002'), ('id', '>', 0)]) == []
    rows = channel.search_read('loan.channel.status', [
            ('phone', '=', '138 0013 8002')],
        ['customer', 'phone', 'state', 'amount', 'disbursed_amount'])
    assert [(r['customer'], r['phone'], r['state']) for r in rows] == [
        ('吴丽华', '138****8002', 'signed')]
    ids = channel.search('loan.channel.status', [
            ('phone', 'ilike', '%13800138008%')])
    row, = channel.read('loan.channel.status', ids, ['customer', 'phone'])
    assert row == {'id': ids[0], 'customer': '黄志明',
        'phone': '138****8008'}
    # the number typed alone in the web client's search box (#16)
    assert channel.search('loan.channel.status', [
            ('rec_name', 'ilike', '%13800138008%')]) == ids
    assert channel.search('loan.channel.status', [
            ('rec_name', 'ilike', '%黄志明%')]) == []
    assert channel.search('loan.channel.status', [
            ('rec_name', 'ilike', '%')]) == []
    # an id not found by its phone is refused, whatever it is
    guesses = [a['id'] for a in apps.values()] + [ids[0] + 1, ids[0] - 1]
    for guess in guesses:
        try:
            result = channel.read('loan.channel.status', [guess],
                ['customer'])
        except Refused as refusal:
            assert_chinese(refusal, ALL)
        else:
            assert result == []
        assert_chinese(refused(channel.export_data, 'loan.channel.status',
                [guess], ['customer']), ALL)


# the accountant (item 5)

def test_accountant_reconciles_and_reads_only(login, apps):
    accountant = login('accountant')
    admin = login('admin')
    assert (set(accountant.search('loan.disbursement', []))
        == set(admin.search('loan.disbursement', [])))
    rows = accountant.search_read('loan.disbursement', [], [
            'application.rec_name', 'fee_invoice.number', 'fee_amount',
            'commission_amount', 'commission_state'])
    assert rows and all(r['fee_invoice.'] for r in rows)
    assert accountant.search_count('commission', []) == admin.search_count(
        'commission', [])
    assert accountant.search('loan.commission.statement', [])
    app = apps['吴丽华']
    assert accountant.read('loan.application', [app['id']], ['amount'])
    for call in [
            (accountant.write, 'loan.application', [app['id']],
                {'note': 'x'}),
            (accountant.button, 'loan.application', 'cancel', [app['id']]),
            (accountant.wizard, 'loan.application.disburse',
                'loan.application', [app['id']], [('start', {})]),
            (accountant.search, 'loan.repayment', []),
            (accountant.search, 'loan.application.change', []),
            ]:
        assert_chinese(refused(*call))
    # the commissions of loan fees follow their fee invoice only
    commissions = admin.search_read('commission', [],
        ['agent', 'amount'])
    other_agent = admin.search('commission.agent', [
            ('id', '!=', commissions[0]['agent'])], limit=1)[0]
    for client in [accountant, admin]:
        for values in [{'amount': Decimal('99999')},
                {'agent': other_agent}]:
            refusal = refused(client.write, 'commission',
                [commissions[0]['id']], values)
        refused(client.delete, 'commission', [commissions[0]['id']])
        if client is accountant:
            assert_chinese(refusal)
    assert admin.search_read('commission', [], ['agent', 'amount']) == (
        commissions)


# concurrency (item 8)

def test_concurrent_disbursements(login, apps, demo):
    app = apps['吴丽华']
    amount = Decimal('150000.00')
    clients = [Client(demo, demo.database).login(name, f'{name}@2026')
        for name in ['rep1', 'sup1', 'manager'] * 3]
    barrier = threading.Barrier(len(clients))
    results = [None] * len(clients)

    def disburse(index, client):
        barrier.wait()
        try:
            client.wizard('loan.application.disburse', 'loan.application',
                [app['id']], [('start', {}), ('disburse', {'start': {
                                'amount': amount, 'date': dt.date.today(),
                                'application': app['id'],
                                }})])
        except (Refused, TransportError) as exception:
            results[index] = exception
        else:
            results[index] = 'done'
        finally:
            client.close()
    threads = [threading.Thread(target=disburse, args=(i, c))
        for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    transport = [r for r in results if isinstance(r, TransportError)]
    assert not transport, transport
    done = results.count('done')
    assert 1 <= done <= 5
    for refusal in results:
        if refusal != 'done':
            assert_chinese(refusal)
    admin = login('admin')
    row, = admin.read('loan.application', [app['id']],
        ['disbursed_amount', 'fee_amount'])
    assert row['disbursed_amount'] == amount * done
    assert admin.search_count('loan.disbursement', [
            ('application', '=', app['id'])]) == done


def test_concurrent_disbursements_of_several_applications(login, demo):
    """Disbursements of different applications at the same moment all go
    through: their fee invoices are posted after the commit, not under the
    company's strict invoice sequence inside each disbursement"""
    admin = login('admin')
    parties = admin.search('party.party', [
            ('crm_stage', '!=', None), ('loan_applications', '=', None)],
        limit=6)
    product, = admin.search('loan.product', [('code', '=', 'JYD')])
    employee, = [u['employee'] for u in admin.search_read(
            'res.user', [('login', '=', 'rep1')], ['employee'])]
    ids = admin.create('loan.application', [{
                'party': party, 'product': product, 'company': 1,
                'amount': Decimal('100000'), 'employee': employee,
                } for party in parties])
    admin.button('loan.application', 'sign', ids)
    clients = [Client(demo, demo.database).login('manager', 'manager@2026')
        for _ in ids]
    barrier = threading.Barrier(len(ids))
    results = [None] * len(ids)

    def disburse(index):
        barrier.wait()
        try:
            clients[index].wizard('loan.application.disburse',
                'loan.application', [ids[index]], [('start', {}),
                    ('disburse', {'start': {
                                'amount': Decimal('50000'),
                                'date': dt.date.today(),
                                'application': ids[index]}})])
        except (Refused, TransportError) as exception:
            results[index] = exception
        else:
            results[index] = 'done'
        finally:
            clients[index].close()
    threads = [threading.Thread(target=disburse, args=(i,))
        for i in range(len(ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ['done'] * len(ids), results
    # a posting that lost the sequence to another is left to the cron
    cron, = admin.search('ir.cron', [
            ('method', '=', 'loan.disbursement|post_fee_invoices')])
    admin.button('ir.cron', 'run_once', [cron])
    disbursements = admin.search_read('loan.disbursement',
        [('application', 'in', ids)], ['fee_invoice_state', 'fee_amount'])
    assert len(disbursements) == len(ids)
    assert {d['fee_invoice_state'] for d in disbursements} == {'posted'}
