# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of pbx_connector, loaded by demo/loader.py"
import datetime as dt
import random

from proteus import Model

GROUPS = {
    'manager': ['pbx_connector.group_pbx',
        'pbx_connector.group_pbx_quality'],
    'supervisor': ['pbx_connector.group_pbx',
        'pbx_connector.group_pbx_quality'],
    'rep': ['pbx_connector.group_pbx'],
    'pbx_admin': ['pbx_connector.group_pbx_admin'],
    }

DISPOSITIONS = ['answered'] * 5 + ['busy', 'no_answer', 'no_answer', 'empty']
# calls of a rep with telesales_pipeline's demo customers: rep login,
# customer name, direction, quality checks (reviewer login, score)
CUSTOMER_CALLS = [
    ('rep1', '深圳新程教育', 'outbound', [('sup1', 88)]),
    ('rep1', '苏州园林设计', 'inbound', []),
    ('rep1', '北京远景科技有限公司', 'outbound', []),
    ('rep2', '南京金陵制造', 'outbound', [('manager', 76)]),
    ('rep2', '武汉长江物流', 'inbound', []),
    ('rep3', '成都天府食品', 'outbound', [('sup2', 92)]),
    ('rep3', '上海宏达贸易有限公司', 'outbound', []),
    ('rep4', '青岛海风电器', 'inbound', [('sup2', 64)]),
    ]


def load(demo):
    "A PBX server with one extension per rep and two weeks of calls"
    Server = Model.get('pbx.server', config=demo.config)
    if Server.find([('name', '=', 'Asterisk')]):
        return
    server = Server(name='Asterisk', host='127.0.0.1', port=5038,
        username='crm', secret_input='demo-secret',
        recording_url='http://127.0.0.1:8088/recordings/')
    reps = [l for l in sorted(demo.employees) if demo.roles.get(l) == 'rep']
    for i, login in enumerate(reps):
        server.extensions.new(employee=demo.employees[login],
            number=str(8001 + i))
    server.save()
    _load_calls(demo, server.id)


def _load_calls(demo, server_id):
    """Two weeks of calls of each rep's extension, some with his customers
    and their quality checks, written as the listener writes them"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(demo.config.database_name, 0, context={
                'company': demo.company.id, 'language': 'zh_CN'}):
        pool = Pool()
        Call = pool.get('pbx.call')
        Review = pool.get('pbx.call.review')
        Extension = pool.get('pbx.extension')
        extensions = {e.employee.id: e for e in Extension.search([
                    ('server', '=', server_id)])}
        rng = random.Random(8001)
        now = dt.datetime.utcnow().replace(microsecond=0)
        calls = []
        for extension in extensions.values():
            for day in range(14):
                for _ in range(rng.randint(3, 9)):
                    start = now - dt.timedelta(days=day,
                        minutes=rng.randint(10, 480))
                    disposition = rng.choice(DISPOSITIONS)
                    calls.append(_call(extension, start, disposition,
                            rng.choice(['outbound'] * 3 + ['inbound']),
                            f'+86139{rng.randint(10000000, 99999999)}',
                            rng.randint(20, 600)))
        Call.create(calls)
        if 'telesales_pipeline' not in demo.modules:
            return
        parties = _parties(pool)
        reviews = []
        for i, (login, name, direction, checks) in enumerate(
                CUSTOMER_CALLS):
            if name not in parties:
                continue
            party, number = parties[name]
            extension = extensions[demo.employees[login].id]
            start = now - dt.timedelta(days=i % 5, hours=i + 1)
            values = _call(extension, start, 'answered', direction, number,
                60 + 30 * i)
            values['party'] = party
            values['recording'] = (
                f'/var/spool/asterisk/monitor/{start:%Y%m%d-%H%M%S}-'
                f'{extension.number}.wav')
            call, = Call.create([values])
            for reviewer, score in checks:
                reviews.append({'call': call.id, 'score': score,
                        'reviewer': demo.employees[reviewer].id,
                        'date': start + dt.timedelta(days=1),
                        'notes': '开场白规范，需求挖掘充分'
                        if score >= 80 else '未确认客户需求'})
        reviews += _generated_customer_calls(
            demo, pool, extensions, rng, now)
        Review.create(reviews)
        Transaction().commit()


# the share of each rep's other contacted customers called (one in N)
CALLED_CUSTOMERS = 2


def _generated_customer_calls(demo, pool, extensions, rng, now):
    """Recorded calls of the reps with their other contacted customers over
    the last two months (some checked by their supervisor);
    return the quality checks to create"""
    Party = pool.get('party.party')
    Call = pool.get('pbx.call')
    by_employee = {e.id: l for l, e in demo.employees.items()}
    hand_written = {name for _, name, _, _ in CUSTOMER_CALLS}
    supervisors = {'rep1': 'sup1', 'rep2': 'sup1', 'rep3': 'sup2',
        'rep4': 'sup2'}
    seen = dict.fromkeys(supervisors, 0)
    values, checks = [], []
    for party in Party.search([
                ('crm_owner', 'in', list(extensions)),
                ('crm_marker', '!=', 'uncontacted'),
                ], order=[('id', 'ASC')]):
        login = by_employee[party.crm_owner.id]
        numbers = [m.value_compact or m.value
            for m in party.contact_mechanisms
            if m.type in {'mobile', 'phone'}]
        if party.name in hand_written or not numbers:
            continue
        seen[login] += 1
        if seen[login] % CALLED_CUSTOMERS:
            continue
        extension = extensions[party.crm_owner.id]
        for _ in range(rng.randint(1, 3)):
            start = now - dt.timedelta(days=rng.randint(1, 60),
                minutes=rng.randint(10, 480))
            call = _call(extension, start, 'answered',
                rng.choice(['outbound'] * 3 + ['inbound']), numbers[0],
                rng.randint(45, 900))
            call['party'] = party.id
            call['recording'] = (
                f'/var/spool/asterisk/monitor/{start:%Y%m%d-%H%M%S}-'
                f'{extension.number}.wav')
            values.append(call)
            if len(checks) < 4 * len(supervisors) and rng.random() < 0.2:
                checks.append((len(values) - 1, supervisors[login],
                        rng.choice([58, 72, 80, 85, 90, 95])))
    calls = Call.create(values)
    return [{'call': calls[index].id, 'score': score,
            'reviewer': demo.employees[reviewer].id,
            'date': calls[index].start + dt.timedelta(days=1),
            'notes': '开场白规范，需求挖掘充分'
            if score >= 80 else '未确认客户需求'}
        for index, reviewer, score in checks]


def _call(extension, start, disposition, direction, number, talk):
    talk = talk if disposition == 'answered' else 0
    return dict(server=extension.server.id, extension=extension.id,
        employee=extension.employee.id, direction=direction,
        state='ended', disposition=disposition, number=number, start=start,
        answer=start + dt.timedelta(seconds=8) if talk else None,
        end=start + dt.timedelta(seconds=8 + talk), duration=talk)


def _parties(pool):
    "{customer name: (party id, phone E.164)} of the telesales demo"
    Party = pool.get('party.party')
    result = {}
    for party in Party.search([('crm_stage', '!=', None)]):
        numbers = [m.value_compact or m.value
            for m in party.contact_mechanisms
            if m.type in {'mobile', 'phone'}]
        if numbers:
            result[party.name] = (party.id, numbers[0])
    return result
