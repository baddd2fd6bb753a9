# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data loader shared by the demo command and the tests.

It creates one company in CNY, loads Simplified Chinese, and builds the
employee tree store manager → 2 supervisors → 4 reps with a user for each.
Then every activated module of the suite with a demo module
``demo/<module>.py`` adds its own records:

* ``GROUPS`` (optional): ``{role: ['module.xml_id', …]}`` — groups given to
  the demo users of that role (roles: ``manager``, ``supervisor``, ``rep``,
  and the staff without a place in the sales tree: ``accountant``,
  ``sms_admin``, ``pbx_admin``);
* ``load(demo)`` (optional): called with the :class:`Demo` object, in module
  dependency order.

Run it on an existing database with::

    python -m demo.loader -c config/trytond.conf -d demo
"""
import argparse
import importlib
from contextlib import contextmanager
from dataclasses import dataclass, field

from proteus import Model, Wizard
from proteus import config as pconfig

from demo.suite import suite_modules

LANGUAGE = 'zh_CN'
TIMEZONE = 'Asia/Shanghai'
COMPANY_NAME = '华信示范销售服务有限公司'

# login, name, role, supervisor login
PEOPLE = [
    ('manager', '王芳', 'manager', None),
    ('sup1', '李强', 'supervisor', 'manager'),
    ('sup2', '张敏', 'supervisor', 'manager'),
    ('rep1', '刘洋', 'rep', 'sup1'),
    ('rep2', '陈静', 'rep', 'sup1'),
    ('rep3', '杨帆', 'rep', 'sup2'),
    ('rep4', '赵磊', 'rep', 'sup2'),
    ]
# login, name, role: staff outside the sales tree (no employee)
STAFF = [
    ('accountant', '孙丽', 'accountant'),
    ('smsadmin', '周杰', 'sms_admin'),
    ('pbxadmin', '吴刚', 'pbx_admin'),
    ]
ROLE_LABELS = {
    'manager': '店长', 'supervisor': '主管', 'rep': '销售代表/顾问',
    'accountant': '会计', 'sms_admin': '短信管理员',
    'pbx_admin': '呼叫中心管理员'}


def password_of(login):
    "The demo password of a login (printed by the demo command)"
    return f'{login}@2026'


@dataclass
class Demo:
    "What the loader built, handed to each module's demo hook"
    config: object
    company: object
    modules: list
    employees: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    roles: dict = field(default_factory=dict)

    def logins(self, role):
        return [l for l, r in self.roles.items() if r == role]

    @contextmanager
    def in_language(self):
        """``with demo.in_language():`` the texts the server writes on the
        way (the follow-ups logged when a loan is signed, a card reported
        lost…) are in the demo's language; the host's test tools, which
        find records by their English names, run outside

        The queue runs its tasks (a contract's processing) in the language
        of the user who queued them, without the context's: the loading
        user speaks the demo's language meanwhile, as the staff who enter
        such records do."""
        User = Model.get('res.user', config=self.config)
        Lang = Model.get('ir.lang', config=self.config)
        user = User(self.config.user)
        before = user.language
        user.language, = Lang.find([('code', '=', LANGUAGE)])
        user.save()
        try:
            with self.config.set_context(language=LANGUAGE):
                yield
        finally:
            user = User(self.config.user)
            user.language = before
            user.save()


def load(config=None):
    "Load the demo data in the database of the proteus config"
    config = config or pconfig.get_config()
    _load_language(config)
    modules = _activated_suite_modules(config)
    company = _get_or_create_company(config)
    demo = Demo(config=config, company=company, modules=modules)
    _create_people(demo)
    _create_staff(demo)
    hooks = [_hook(m) for m in modules]
    for hook in hooks:
        _grant_groups(demo, getattr(hook, 'GROUPS', {}))
    for hook in hooks:
        if hasattr(hook, 'load'):
            hook.load(demo)
    return demo


def _load_language(config):
    Lang = Model.get('ir.lang', config=config)
    lang, = Lang.find([('code', '=', LANGUAGE)])
    Lang.click([lang], 'load_translations')


def _activated_suite_modules(config):
    Module = Model.get('ir.module', config=config)
    active = {m.name for m in Module.find([('state', '=', 'activated')])}
    return [m for m in suite_modules() if m in active]


def _hook(module):
    "The demo module of module: demo/<module>.py, or None"
    name = f'demo.{module}'
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
    return None


def _get_or_create_company(config):
    Company = Model.get('company.company', config=config)
    User = Model.get('res.user', config=config)
    companies = Company.find([('party.name', '=', COMPANY_NAME)])
    if companies:
        company, = companies
    else:
        company = _create_company(config)
    admin = User(config.user)
    if company not in admin.companies:
        admin.companies.append(company)
    admin.company = company
    admin.save()
    config._context = User.get_preferences(True, {})
    return company


def _create_company(config):
    from trytond.modules.currency.tests.tools import get_currency
    Party = Model.get('party.party', config=config)
    party = Party(name=COMPANY_NAME)
    party.save()
    company_config = Wizard('company.company.config', config=config)
    company_config.execute('company')
    company = company_config.form
    company.party = party
    company.currency = get_currency('CNY', config=config)
    company.timezone = TIMEZONE
    company_config.execute('add')
    Company = Model.get('company.company', config=config)
    company, = Company.find([('party.name', '=', COMPANY_NAME)])
    return company


def _create_people(demo):
    config = demo.config
    Party = Model.get('party.party', config=config)
    Employee = Model.get('company.employee', config=config)
    User = Model.get('res.user', config=config)
    Lang = Model.get('ir.lang', config=config)
    lang, = Lang.find([('code', '=', LANGUAGE)])
    for login, name, role, supervisor in PEOPLE:
        demo.roles[login] = role
        users = User.find([('login', '=', login)])
        if users:
            user, = users
            demo.users[login] = user
            demo.employees[login] = user.employee
            continue
        party = Party(name=name)
        party.save()
        employee = Employee(party=party, company=demo.company)
        if supervisor:
            employee.supervisor = demo.employees[supervisor]
        employee.save()
        user = User(login=login, name=name, password=password_of(login))
        user.language = lang
        user.companies.append(_company(demo))
        user.company = demo.company
        user.employees.append(employee)
        user.employee = employee
        user.save()
        demo.employees[login] = employee
        demo.users[login] = user


def _create_staff(demo):
    "Users outside the sales tree: the accountant and connector admins"
    User = Model.get('res.user', config=demo.config)
    Lang = Model.get('ir.lang', config=demo.config)
    lang, = Lang.find([('code', '=', LANGUAGE)])
    for login, name, role in STAFF:
        demo.roles[login] = role
        users = User.find([('login', '=', login)])
        if users:
            demo.users[login], = users
            continue
        user = User(login=login, name=name, password=password_of(login))
        user.language = lang
        user.companies.append(_company(demo))
        user.company = demo.company
        user.save()
        demo.users[login] = user


def _company(demo):
    "The company as a record of this config (a fresh instance per list)"
    Company = Model.get('company.company', config=demo.config)
    return Company(demo.company.id)


def _grant_groups(demo, groups):
    if not groups:
        return
    config = demo.config
    ModelData = Model.get('ir.model.data', config=config)
    Group = Model.get('res.group', config=config)
    for login, user in demo.users.items():
        user = user.__class__(user.id)
        for xml_id in groups.get(demo.roles[login], []):
            module, fs_id = xml_id.split('.', 1)
            group = Group(ModelData.get_id(module, fs_id, config.context))
            if group not in user.groups:
                user.groups.append(group)
        user.save()
        demo.users[login] = user


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', dest='config_file')
    parser.add_argument('-d', '--database', required=True)
    args = parser.parse_args()
    config = pconfig.set_trytond(
        database=args.database, config_file=args.config_file)
    load(config)
    print_logins()


def print_logins():
    "Print the demo logins, passwords and roles"
    from demo.setup import ADMIN_PASSWORD
    print(f'  Logins (login / password):\n    {"admin":8} / {ADMIN_PASSWORD:13}'
        ' 系统管理员 (administrator)')
    for login, name, role, *_ in PEOPLE + STAFF:
        print(f'    {login:8} / {password_of(login):13} {name} '
            f'({ROLE_LABELS[role]})')


if __name__ == '__main__':
    main()
