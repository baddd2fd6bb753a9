# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of pbx_connector, loaded by demo/loader.py"
import datetime as dt
import random

from proteus import Model

GROUPS = {
    'manager': ['pbx_connector.group_pbx', 'pbx_connector.group_pbx_admin',
        'pbx_connector.group_pbx_quality'],
    'supervisor': ['pbx_connector.group_pbx',
        'pbx_connector.group_pbx_quality'],
    'rep': ['pbx_connector.group_pbx'],
    }

DISPOSITIONS = ['answered'] * 5 + ['busy', 'no_answer', 'no_answer', 'empty']


def load(demo):
    "A PBX server with one extension per rep and two weeks of calls"
    Server = Model.get('pbx.server', config=demo.config)
    Call = Model.get('pbx.call', config=demo.config)
    if Server.find([('name', '=', 'Asterisk')]):
        return
    server = Server(name='Asterisk', host='127.0.0.1', port=5038,
        username='crm', secret='demo-secret',
        recording_url='http://127.0.0.1:8088/recordings/')
    reps = [l for l in sorted(demo.employees) if demo.roles.get(l) == 'rep']
    for i, login in enumerate(reps):
        server.extensions.new(employee=demo.employees[login],
            number=str(8001 + i))
    server.save()
    rng = random.Random(8001)
    now = dt.datetime.utcnow().replace(microsecond=0)
    calls = []
    for extension in server.extensions:
        for day in range(14):
            for _ in range(rng.randint(3, 9)):
                start = now - dt.timedelta(days=day,
                    minutes=rng.randint(10, 480))
                disposition = rng.choice(DISPOSITIONS)
                talk = rng.randint(20, 600) if disposition == 'answered' else 0
                calls.append(dict(server=server.id, extension=extension.id,
                        employee=extension.employee.id,
                        direction=rng.choice(['outbound'] * 3 + ['inbound']),
                        state='ended', disposition=disposition,
                        number=f'+86139{rng.randint(10000000, 99999999)}',
                        start=start,
                        answer=start + dt.timedelta(seconds=8)
                        if talk else None,
                        end=start + dt.timedelta(seconds=8 + talk),
                        duration=talk))
    # The call fields are read-only (written by the listener), which the
    # proteus records would not send: create through the RPC directly.
    Call._proxy.create(calls, demo.config.context)
