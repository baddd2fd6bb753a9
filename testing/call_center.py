# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"A call center against the scripted AMI peer, for the PBX tests and bench/pbx"
import types

from proteus import Model


def setup_call_center(peer, reps=1, config=None):
    """Create reps with users and extensions 8001…, a customer and a PBX
    server pointing at the scripted peer; return them in a namespace."""
    Party = Model.get('party.party', config=config)
    Employee = Model.get('company.employee', config=config)
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Company = Model.get('company.company', config=config)
    Server = Model.get('pbx.server', config=config)
    company, = Company.find()
    group, = Group.find([('name', '=', 'Call Center')])
    server = Server(name='Asterisk', host='127.0.0.1', port=peer.port,
        username=peer.username, secret_input=peer.secret)
    users, employees = [], []
    for i in range(reps):
        party = Party(name=f'坐席{i + 1}')
        party.save()
        employee = Employee(party=party, company=company)
        employee.save()
        user = User(login=f'pbxrep{i + 1}', name=party.name)
        user.groups.append(Group(group.id))
        user.companies.append(Company(company.id))
        user.company = company
        user.employees.append(employee)
        user.employee = employee
        user.save()
        server.extensions.new(employee=employee, number=str(8001 + i))
        users.append(user)
        employees.append(employee)
    server.save()
    customer = Party(name='张三')
    customer.contact_mechanisms.new(type='mobile', value='+8613798312311')
    customer.save()
    return types.SimpleNamespace(server=server, users=users,
        employees=employees, customer=customer, company=company)

