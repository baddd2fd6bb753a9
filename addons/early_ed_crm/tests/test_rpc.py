# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Server-side trust of early_ed_crm over JSON-RPC (issue #15)

Every test calls a served copy of the demo database on PostgreSQL as a demo
role would (``testing.rpc.Client``): plain ``write``/``create`` of money and
workflow fields, the record rules of each role, refusals that name nothing
hidden, the messages about what the user typed, and parallel clients on one
card.  Each refusal must be a business answer (``Refused``) in Chinese, and
the data must not change (read back as the administrator).
"""
import re
import threading
from collections import Counter
from decimal import Decimal

import pytest

from testing.demo_server import serve_demo
from testing.rpc import Client, Refused, TransportError

pytestmark = pytest.mark.postgresql

CJK = re.compile('[\u4e00-\u9fff]')
PASSWORDS = {'admin': 'admin@2026'}


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    log = tmp_path_factory.mktemp('early_ed_rpc') / 'trytond.log'
    with serve_demo(log, backend='postgresql') as url:
        yield url


def connect(url, login):
    return Client(url, url.database).login(
        login, PASSWORDS.get(login, f'{login}@2026'))


@pytest.fixture(scope='module')
def as_(demo):
    clients = {}

    def get(login):
        if login not in clients:
            clients[login] = connect(demo, login)
        return clients[login]
    yield get
    for client in clients.values():
        client.close()


@pytest.fixture(scope='module')
def data(as_):
    "Ids of the demo records by name, read as the administrator"
    admin = as_('admin')
    cards = {c['holder']: c for c in admin.search_read('member.card', [],
            ['holder', 'number', 'party', 'party.name',
                'party.crm_owner.rec_name'])}
    methods = {m['name']: m['id'] for m in admin.search_read(
            'sale.point.payment.method', [], ['name'])}
    return {'cards': cards, 'methods': methods}


def card_id(data, holder):
    return data['cards'][holder]['id']


def refused(call, *args, **kwargs):
    "The call is refused with a business answer, in Chinese for zh_CN"
    client = getattr(call, '__self__', None)
    if not isinstance(client, Client):
        client = args[0]
    with pytest.raises(Refused) as info:
        call(*args, **kwargs)
    if client.context.get('language', '').startswith('zh'):
        assert CJK.search(info.value.message), info.value.text
    return info.value


def names_nothing(refusal, data, *holders):
    "The refusal names none of the cards, members or owners given"
    for holder in holders:
        card = data['cards'][holder]
        for secret in [holder, card['number'], card['party.']['name'],
                (card['party.'].get('crm_owner.') or {}).get('rec_name')]:
            if secret:
                assert secret not in refusal.text, (secret, refusal.text)


def balances(admin, card):
    value, = admin.read('member.card', [card],
        ['cash_balance', 'hours_balance', 'state'])
    return value['cash_balance'], value['hours_balance'], value['state']


def checkin(client, card, hours=Decimal(1), **values):
    "Create and check in a class on card; return the check-in id"
    values = dict({'card': card, 'course': '测试课', 'hours': hours},
        **values)
    checkin_id, = client.create('member.checkin', [values])
    client.button('member.checkin', 'do', [checkin_id])
    return checkin_id


def recharge(client, card, amount, method):
    return client.wizard('member.card.recharge', 'member.card', [card], [
            ('start', {}),
            ('recharge', {'start': {'amount': amount, 'method': method}}),
            ])


# Item 1: money and workflow fields by plain write/create ---------------

@pytest.mark.parametrize('login', ['rep1', 'manager', 'admin'])
@pytest.mark.parametrize('values', [
        {'cash_balance': Decimal('99999')},
        {'state': 'closed'},
        {'number': 'VIP999999'},
        {'replaced_by': 2},
        {'sub_cards': [['add', [2]]]},
        ], ids=lambda v: next(iter(v)))
def test_card_workflow_fields(as_, data, login, values):
    "Balances, state, number and links are set by buttons and wizards"
    admin = as_('admin')
    card = card_id(data, '小明')
    before = admin.read('member.card', [card],
        ['cash_balance', 'state', 'number', 'replaced_by', 'sub_cards'])
    refused(as_(login).write, 'member.card', [card], values)
    assert admin.read('member.card', [card], [
            'cash_balance', 'state', 'number', 'replaced_by',
            'sub_cards']) == before


def test_card_lots_cannot_be_linked(as_, data):
    "A rep cannot draw on another customer's hours by linking its lot"
    admin, rep = as_('admin'), as_('rep1')
    card, other = card_id(data, '小明'), card_id(data, '乐乐')
    lot, = admin.read('member.card', [other], ['lots'])[0]['lots'][:1]
    before = balances(admin, card)
    refused(rep.write, 'member.card', [card], {'lots': [['add', [lot]]]})
    assert balances(admin, card) == before


def test_card_create_with_balance(as_, data):
    "A new card starts empty and active, whatever the caller sends"
    rep = as_('rep1')
    party = data['cards']['小明']['party']
    for values in [{'cash_balance': Decimal(1000)}, {'state': 'lost'},
            {'number': 'HACK1'}]:
        refused(rep.create, 'member.card', [
                dict({'party': party, 'holder': '测试'}, **values)])
    assert not as_('admin').search('member.card', [
            ['OR', ('number', '=', 'HACK1'),
                ('cash_balance', '=', Decimal(1000))]])


@pytest.mark.parametrize('login', ['rep1', 'admin'])
def test_ledger_is_append_only(as_, data, login):
    "No one writes, deletes or creates ledger moves or lots by RPC"
    admin, client = as_('admin'), as_(login)
    card = card_id(data, '小明')
    move, = admin.search('member.card.move', [('card', '=', card)], limit=1)
    lot, = admin.search('member.card.lot', [('cards', '=', card)], limit=1)
    before = admin.read('member.card.move', [move], ['quantity', 'balance'])
    refused(client.write, 'member.card.move', [move],
        {'quantity': Decimal(1000)})
    refused(client.delete, 'member.card.move', [move])
    refused(client.create, 'member.card.move', [{
                'card': card, 'wallet': 'cash', 'kind': 'adjustment',
                'quantity': Decimal(1000), 'balance': Decimal(1000)}])
    refused(client.write, 'member.card.lot', [lot],
        {'remaining': Decimal(1000)})
    refused(client.write, 'member.card', [card], {'moves': [['create', [{
                        'wallet': 'cash', 'kind': 'adjustment',
                        'quantity': Decimal(1000)}]]]})
    assert admin.read('member.card.move', [move],
        ['quantity', 'balance']) == before


def test_checkin_done_is_final(as_, data):
    "A done check-in keeps its state and amounts; a draft one is editable"
    admin, rep = as_('admin'), as_('rep1')
    card = card_id(data, '小明')
    refused(rep.create, 'member.checkin', [{
                'card': card, 'course': '测试课', 'hours': Decimal(1),
                'state': 'done'}])
    draft, = rep.create('member.checkin', [{
                'card': card, 'course': '测试课', 'hours': Decimal(1)}])
    rep.write('member.checkin', [draft], {'hours': Decimal(2)})
    rep.delete('member.checkin', [draft])
    done = checkin(rep, card)
    before = admin.read('member.checkin', [done],
        ['state', 'hours', 'card'])
    for values in [{'state': 'draft'}, {'hours': Decimal('0.5')},
            {'card': card_id(data, '大宝')}, {'course': '改名'}]:
        refused(rep.write, 'member.checkin', [done], values)
    refused(rep.delete, 'member.checkin', [done])
    refused(rep.model, 'member.checkin', 'copy', [done], {'state': 'done'})
    assert admin.read('member.checkin', [done],
        ['state', 'hours', 'card']) == before


def test_allocation_only_while_draft(as_, data):
    "Card allocations change with a draft contract only"
    admin, rep, manager = as_('admin'), as_('rep1'), as_('manager')
    allocations = admin.search_read('sale.member_allocation', [],
        ['sale.state', 'card', 'hours', 'sale'])
    draft = next(a for a in allocations if a['sale.']['state'] == 'draft')
    signed = next(a for a in allocations if a['sale.']['state'] != 'draft')
    rep.write('sale.member_allocation', [draft['id']],
        {'hours': Decimal(48)})
    for values in [{'hours': Decimal(1)}, {'card': draft['card']}]:
        refused(manager.write, 'sale.member_allocation', [signed['id']],
            values)
    refused(manager.delete, 'sale.member_allocation', [signed['id']])
    refused(manager.create, 'sale.member_allocation', [{
                'sale': signed['sale'], 'card': signed['card'],
                'hours': Decimal(5)}])
    after, = admin.read('sale.member_allocation', [signed['id']], ['hours'])
    assert after['hours'] == signed['hours']


def test_contract_terms_after_signing(as_, data):
    "The card a signed contract credits is not changed by plain write"
    admin, rep = as_('admin'), as_('rep1')
    sale, = admin.search('sale.sale', [
            ('member_card', '=', card_id(data, '小明')),
            ('state', '!=', 'draft')], limit=1)
    for values in [{'member_allocation': 'fixed'},
            {'member_card': None}]:
        refused(rep.write, 'sale.sale', [sale], values)
    assert admin.read('sale.sale', [sale], ['member_card'])[0][
        'member_card'] == card_id(data, '小明')


def test_point_of_sale_paid_sale(as_, data):
    "A done POS sale and its card payment are final"
    admin, sup = as_('admin'), as_('sup1')
    card = card_id(data, '小明')
    payment, = admin.search('sale.point.payment',
        [('member_card', '=', card)], limit=1)
    sale = admin.read('sale.point.payment', [payment], ['sale'])[0]['sale']
    before = balances(admin, card)
    for values in [{'state': 'open'}, {'number': 'X'}, {'date': None}]:
        refused(sup.write, 'sale.point.sale', [sale], values)
    refused(sup.write, 'sale.point.payment', [payment],
        {'amount': Decimal(1)})
    refused(sup.write, 'sale.point.payment', [payment], {'card_move': None})
    refused(sup.delete, 'sale.point.payment', [payment])
    assert balances(admin, card) == before
    assert admin.read('sale.point.sale', [sale], ['state'])[0][
        'state'] == 'done'


def test_point_of_sale_card_payment(as_, data):
    """A card pays an open sale in the cashier's scope only, refunds on
    delete; what the cashier typed is checked in Chinese"""
    admin, sup = as_('admin'), as_('sup1')
    card, other = card_id(data, '小明'), card_id(data, '乐乐')
    method = data['methods']['会员卡']
    sale, = admin.search('sale.point.sale', [('state', '=', 'open')],
        limit=1)
    before = balances(admin, card)
    error = refused(sup.create, 'sale.point.payment', [{
                'sale': sale, 'method': method, 'member_card': other,
                'amount': Decimal(10)}])
    names_nothing(error, data, '乐乐')
    for amount in ['0', '0.001', '123456789012']:
        refused(sup.create, 'sale.point.payment', [{
                    'sale': sale, 'method': method, 'member_card': card,
                    'amount': Decimal(amount)}])
    payment, = sup.create('sale.point.payment', [{
                'sale': sale, 'method': method, 'member_card': card,
                'amount': Decimal(10)}])
    assert balances(admin, card)[0] == before[0] - 10
    sup.delete('sale.point.payment', [payment])
    assert balances(admin, card) == before


# Item 9: what the user typed --------------------------------------------

@pytest.mark.parametrize('amount, text', [
        ('0', '大于零'), ('-5', '大于零'), ('0.001', '两位小数'),
        ('100000000000000000000', '上限'), ('123456789012345678', '上限'),
        ])
def test_recharge_amount_messages(as_, data, amount, text):
    "The recharge amount the user typed is explained, not the ledger"
    admin, rep = as_('admin'), as_('rep1')
    card = card_id(data, '小明')
    before = balances(admin, card)
    error = refused(recharge, rep, card, Decimal(amount),
        data['methods']['现金'])
    assert text in error.message
    assert '流水' not in error.text and 'Balance' not in error.text
    assert balances(admin, card) == before


def test_recharge_with_card_method(as_, data):
    "A card is not recharged with its own money"
    admin, rep = as_('admin'), as_('rep1')
    card = card_id(data, '小明')
    before = balances(admin, card)
    refused(recharge, rep, card, Decimal(100), data['methods']['会员卡'])
    assert balances(admin, card) == before


@pytest.mark.parametrize('hours, text', [
        ('0', '大于零'), ('-1', '大于零'), ('0.001', '两位小数'),
        ('100000', '上限')])
def test_hours_messages(as_, data, hours, text):
    "Hours typed in a check-in or a conversion are explained"
    admin, rep = as_('admin'), as_('rep1')
    card = card_id(data, '小明')
    before = balances(admin, card)
    error = refused(rep.create, 'member.checkin', [{
                'card': card, 'course': '测试课', 'hours': Decimal(hours)}])
    assert text in error.message
    error = refused(rep.wizard, 'member.card.convert', 'member.card',
        [card], [('start', {}),
            ('convert', {'start': {'hours': Decimal(hours)}})])
    assert text in error.message
    assert balances(admin, card) == before


def test_event_amount_message(as_, data):
    "A paid event's amount is explained"
    rep = as_('rep1')
    error = refused(rep.create, 'member.checkin', [{
                'card': card_id(data, '小明'), 'course': '运动会',
                'type_': 'event', 'wallet': 'cash', 'amount': Decimal('0')}])
    assert '大于零' in error.message


def test_nul_in_text(as_, data):
    "A NUL byte the user typed is refused with a message"
    rep = as_('rep1')
    card = card_id(data, '小明')
    refused(rep.write, 'member.card', [card], {'holder': '小\x00明'})
    refused(rep.create, 'member.checkin', [{
                'card': card, 'course': '音\x00乐', 'hours': Decimal(1)}])
    refused(rep.search, 'member.card', [('holder', 'ilike', '%\x00%')])
    assert as_('admin').read('member.card', [card], ['holder'])[0][
        'holder'] == '小明'


# Item 3 and item 6: what each role sees, refusals naming nothing --------

def scope(admin, login):
    "The customers (party ids) and employees in the scope of a demo login"
    user, = admin.search_read('res.user', [('login', '=', login)],
        ['employee'])
    employees = admin.search_read('company.employee', [],
        ['supervisor'])
    under = {user['employee']}
    changed = True
    while login != 'rep1' and changed:
        changed = False
        for employee in employees:
            if (employee['supervisor'] in under
                    and employee['id'] not in under):
                under.add(employee['id'])
                changed = True
    parties = {p['id'] for p in admin.search_read('party.party', [
                ['OR', ('crm_stage', '=', None),
                    ('crm_ownership', '=', 'shared'),
                    ('crm_owner', 'in', list(under)),
                    ('crm_collaborators', 'in', list(under))]], ['id'])}
    return parties, under


@pytest.mark.parametrize('login', ['rep1', 'sup1', 'manager'])
def test_scope_of_role(as_, login):
    "Cards, ledger, lots, check-ins, answers, allocations, figures, POS"
    admin, client = as_('admin'), as_(login)
    parties, employees = scope(admin, login)
    paths = {
        'member.card': 'party',
        'member.card.move': 'card.party',
        'member.checkin': 'card.party',
        'crm.assessment.answer': 'party',
        'sale.member_allocation': 'sale.party',
        }
    for model, path in paths.items():
        expected = admin.search(model, [(path, 'in', list(parties))])
        assert sorted(client.search(model, [])) == sorted(expected), model
        assert expected, model
    lots = admin.search('member.card.lot',
        [('cards.party', 'in', list(parties))])
    assert sorted(client.search('member.card.lot', [])) == sorted(lots)
    figures = admin.search('early_ed.consultant.efficiency',
        [('employee', 'in', list(employees))])
    assert sorted(client.search(
            'early_ed.consultant.efficiency', [])) == sorted(figures)
    if login != 'rep1':
        sales = admin.search('sale.point.sale',
            [('employee', 'in', list(employees))])
        assert sorted(client.search('sale.point.sale', [])) == sorted(sales)
        assert sales


def test_hidden_records_name_nothing(as_, data):
    "Reads, buttons, wizards and deletes of hidden records name nothing"
    admin, rep = as_('admin'), as_('rep1')
    card = card_id(data, '乐乐')
    before = balances(admin, card)
    done, = admin.search('member.checkin', [('card', '=', card_id(
                    data, '欢欢')), ('state', '=', 'done')], limit=1)
    move, = admin.search('member.card.move', [('card', '=', card)],
        limit=1)
    calls = [
        (rep.read, 'member.card', [card], ['holder']),
        (rep.button, 'member.card', 'freeze', [card]),
        (rep.write, 'member.card', [card], {'holder': 'x'}),
        (rep.delete, 'member.checkin', [done]),
        (rep.write, 'member.checkin', [done], {'hours': Decimal(5)}),
        (rep.report, 'member.card.receipt', [move]),
        (recharge, rep, card, Decimal(100), data['methods']['现金']),
        (rep.model, 'member.card', 'on_change_with',
            {'id': card}, ['hours_balance']),
        (rep.model, 'member.checkin', 'on_change',
            {'card': card, 'child': None}, ['card']),
        (checkin, rep, card),
        ]
    for call, *args in calls:
        names_nothing(refused(call, *args), data, '乐乐', '欢欢')
    assert balances(admin, card) == before


def test_accountant(as_, data):
    "The accountant reads the cards' money and its entries, changes none"
    admin, accountant = as_('admin'), as_('accountant')
    for model in ['member.card', 'member.card.lot', 'member.card.move',
            'member.checkin']:
        assert sorted(accountant.search(model, [])) == sorted(
            admin.search(model, [])), model
    entries = [m['account_move.'] for m in accountant.search_read(
            'member.card.move', [], ['account_move', 'account_move.state'])
        if m['account_move']]
    assert entries and {e['state'] for e in entries} == {'posted'}
    card = card_id(data, '小明')
    before = balances(admin, card)
    refused(accountant.write, 'member.card', [card], {'holder': 'x'})
    refused(accountant.button, 'member.card', 'freeze', [card])
    refused(recharge, accountant, card, Decimal(100),
        data['methods']['现金'])
    for model in ['early_ed.consultant.efficiency', 'crm.assessment.answer',
            'sale.point.sale']:
        refused(accountant.search, model, [])
    assert balances(admin, card) == before


def test_rep_reads_no_accounting(as_, data):
    "A rep's ledger has no account move field to follow"
    rep = as_('rep1')
    move, = rep.search('member.card.move', [], limit=1)
    refused(rep.read, 'member.card.move', [move], ['account_move'])
    fields = rep.model('member.card.move', 'fields_get', [])
    assert 'account_move' not in fields


@pytest.mark.parametrize('login', ['rep1', 'sup1', 'accountant'])
def test_views_read(as_, login):
    """Every field of the card, lot, ledger and check-in views reads for
    each role, origins paid at the point of sale or of contract lines
    included"""
    client = as_(login)
    for model in ['member.card', 'member.card.lot', 'member.card.move',
            'member.checkin']:
        for view_type in ['tree', 'form']:
            view = client.model(model, 'fields_view_get', None, view_type)
            names = [n + ('.rec_name' if f['type'] in {
                        'many2one', 'reference'} else '')
                for n, f in view['fields'].items()]
            rows = client.search_read(model, [], names)
            assert rows, (model, view_type)
    kinds = {m['kind']: m['origin_name'] for m in client.search_read(
            'member.card.move', [], ['kind', 'origin_name'])}
    assert kinds.get('pos'), kinds


# Item 8: contention -----------------------------------------------------

def run_parallel(demo, login, jobs):
    "Run each job(client) in its own thread and client; return outcomes"
    outcomes, lock = [], threading.Lock()

    def worker(job):
        client = connect(demo, login)
        try:
            result = job(client)
        except Refused as refusal:
            result = refusal
        except TransportError as error:
            result = error
        finally:
            client.close()
        with lock:
            outcomes.append(result)
    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def assert_business(outcomes):
    "No transport error; every refusal a translated business answer"
    errors = [o for o in outcomes if isinstance(o, TransportError)]
    assert not errors, errors[:3]
    for outcome in outcomes:
        if isinstance(outcome, Refused):
            assert CJK.search(outcome.message), outcome.text


def test_parallel_checkins_one_card(demo, as_, data):
    """8 clients check in on one card until its hours run out: each loser
    is told why, the balance is exact"""
    admin = as_('admin')
    card = card_id(data, '乐乐')
    _, hours, _ = balances(admin, card)
    count = int(hours) + 8

    def job(client):
        return checkin(client, card)
    outcomes = run_parallel(demo, 'manager', [job] * count)
    assert_business(outcomes)
    done = [o for o in outcomes if isinstance(o, int)]
    refusals = Counter(o.message for o in outcomes
        if isinstance(o, Refused))
    _, after, _ = balances(admin, card)
    assert after == hours - len(done)
    assert after == 0, refusals
    assert sum(refusals.values()) == 8
    assert all('课时' in m for m in refusals), refusals
    states = admin.search_read('member.checkin',
        [('id', 'in', done)], ['state'])
    assert {s['state'] for s in states} == {'done'}


def test_reissue_during_use(demo, as_, data):
    """Check-ins and a reissue on one card at once: the reissue waits, the
    check-ins after it are refused on the replaced card, no hour is lost"""
    admin = as_('admin')
    card = card_id(data, '欢欢')
    _, hours, _ = balances(admin, card)

    def use(client):
        return checkin(client, card)

    def reissue(client):
        client.wizard('member.card.reissue', 'member.card', [card],
            [('start', {}), ('reissue', {'start': {'number': None}})])
        return 'reissued'
    jobs = [use] * 6
    jobs.insert(3, reissue)
    outcomes = run_parallel(demo, 'manager', jobs)
    assert_business(outcomes)
    assert 'reissued' in outcomes
    done = [o for o in outcomes if isinstance(o, int)]
    old = admin.read('member.card', [card],
        ['state', 'replaced_by', 'hours_balance'])[0]
    assert old['state'] == 'replaced'
    _, new_hours, _ = balances(admin, old['replaced_by'])
    assert new_hours + len(done) == hours
