# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The permission matrix walked over JSON-RPC as each demo role.

``tests/permissions.py`` reads the matrix from ``doc/permissions.rst`` and
every module's ``doc/permissions.rst``. A copy of the demo database on
PostgreSQL is served by trytond; each role logs in with its demo login and
every cell is tried through the same JSON-RPC calls the web client makes.
What a role should see is computed here from the demo data (owners, teams,
collaborators), never from the rules under test.

The pool of the served database is also opened in this process, as user 0
(read only), to know the models, fields, buttons and paths: a model that
carries customer data (``tests/access_models.py``) or a button without a row
in the matrix fails ``test_matrix_is_complete``.
"""
import contextlib
import datetime as dt
import decimal
import io
import json
import re
import zipfile
from collections import defaultdict
from functools import cached_property

import pytest

from conftest import ROOT
from tests import permissions
from testing.demo_server import serve_demo
from testing.rpc import Client, Refused, TransportError

pytestmark = pytest.mark.postgresql

ARTIFACTS = ROOT / 'test-artifacts'
MATRIX = permissions.load()
ADMIN_PASSWORD = 'admin@2026'
SAMPLE = 8
# host validation errors: a create refused with one of them was permitted
VALIDATION_MESSAGES = [
    'msg_required_validation', 'msg_required_validation_record',
    'msg_domain_validation_record', 'msg_size_validation',
    'msg_size_validation_record', 'msg_digits_validation_record',
    'msg_forbidden_char_validation_record',
    'msg_selection_validation_record', 'msg_time_format_validation_record',
    'msg_foreign_model_missing']
EMPLOYEE = 'company.employee'
PARTY = 'party.party'
USER = 'res.user'


def password(login):
    return ADMIN_PASSWORD if login == 'admin' else f'{login}@2026'


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope='module')
def served():
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_demo(ARTIFACTS / 'trytond-access.log',
            backend='postgresql') as url:
        yield url


@pytest.fixture(scope='module')
def world(served):
    world = World(served.database)
    yield world
    world.close()


@pytest.fixture(scope='module')
def clients(served, world):
    "A logged-in client per role, with the full-number scanner attached"
    result = {}
    for role in MATRIX.roles.values():
        client = Client(served, served.database).login(
            role.login, password(role.login))
        client.role = role
        client.leaks = []
        if not role.full_numbers:
            client.watchers.append(world.number_scanner(client))
        result[role.name] = client
    yield result
    for client in result.values():
        client.close()


@pytest.fixture
def leaks(clients):
    "Fail a test when a role without full numbers received one"
    for client in clients.values():
        client.leaks.clear()
    yield
    found = [f'{c.role.name}: {leak}' for c in clients.values()
        for leak in c.leaks]
    assert not found, 'full phone numbers sent to roles that see them ' \
        'masked:\n' + '\n'.join(found[:20])


# ---------------------------------------------------------------- the world

class World:
    """What the demo database holds, read in this process as user 0

    The pool of the served database is opened read-only; nothing here goes
    through the rules under test."""

    def __init__(self, database):
        from trytond.pool import Pool
        self.database = database
        self.pool = Pool(database)
        self.pool.init()
        self._depth = 0
        self._visible_records = {}
        self._kinds = {}

    def close(self):
        from trytond import backend
        from trytond.pool import Pool
        Pool.stop(self.database)
        backend.Database(self.database).close()

    @contextlib.contextmanager
    def transaction(self):
        "A read-only transaction as user 0 (the one open, when nested)"
        from trytond.transaction import Transaction
        if self._depth:
            self._depth += 1
            try:
                yield Transaction()
            finally:
                self._depth -= 1
            return
        with Transaction().start(self.database, 0, readonly=True,
                context={'active_test': False, 'language': 'zh_CN'}
                ) as transaction:
            self._depth = 1
            try:
                yield transaction
            finally:
                self._depth = 0

    def model(self, name):
        return self.pool.get(name)

    def is_table_query(self, name):
        return callable(getattr(self.pool.get(name), 'table_query', None))

    def is_singleton(self, name):
        from trytond.model import ModelSingleton
        return issubclass(self.pool.get(name), ModelSingleton)

    def is_stored(self, name):
        from trytond.model import ModelSQL, ModelStorage
        try:
            Model = self.pool.get(name)
        except KeyError:
            return False
        return issubclass(Model, ModelStorage) and issubclass(
            Model, ModelSQL)

    # people
    @cached_property
    def users(self):
        "{login: (user id, employee ids)}"
        User = self.pool.get(USER)
        with self.transaction():
            return {u.login: (u.id, {e.id for e in u.employees})
                for u in User.search([])}

    @cached_property
    def supervisor_of(self):
        Employee = self.pool.get(EMPLOYEE)
        with self.transaction():
            return {e.id: e.supervisor.id if e.supervisor else None
                for e in Employee.search([])}

    @cached_property
    def employees_of_user(self):
        return {uid: employees for uid, employees in self.users.values()}

    def team(self, employees):
        "The employees at or under any of employees"
        result = set(employees)
        changed = True
        while changed:
            changed = False
            for employee, supervisor in self.supervisor_of.items():
                if supervisor in result and employee not in result:
                    result.add(employee)
                    changed = True
        return result

    @cached_property
    def customers(self):
        "{party id: (crm stage, ownership, owner, collaborators, name)}"
        Party = self.pool.get(PARTY)
        has_crm = 'crm_stage' in Party._fields
        with self.transaction():
            result = {}
            for party in Party.search([]):
                if has_crm:
                    result[party.id] = (party.crm_stage,
                        party.crm_ownership,
                        party.crm_owner.id if party.crm_owner else None,
                        {e.id for e in party.crm_collaborators},
                        party.name)
                else:
                    result[party.id] = (None, None, None, set(), party.name)
            return result

    def stored_values(self, model, ids, names):
        "{id: {name: value}} as the server's own code reads them"
        Model = self.pool.get(model)
        with self.transaction():
            return {r['id']: r for r in Model.read(list(ids), list(names))}

    def employee_name(self, employee):
        Employee = self.pool.get(EMPLOYEE)
        with self.transaction():
            return Employee(employee).rec_name

    # scopes
    def visible_parties(self, login, scope):
        _, employees = self.users[login]
        if scope == 'all':
            return set(self.customers)
        if scope in {'none', 'lookup'}:
            return set()
        staff = employees if scope == 'own' else self.team(employees)
        return {pid for pid, (stage, ownership, owner, collaborators, _)
            in self.customers.items()
            if stage is None or ownership == 'shared' or owner in staff
            or collaborators & staff}

    def visible_employees(self, login, scope):
        _, employees = self.users[login]
        if scope == 'all':
            return set(self.supervisor_of)
        if scope in {'none', 'lookup'}:
            return set()
        return set(employees) if scope == 'own' else self.team(employees)

    def visible_users(self, login, scope):
        uid, _ = self.users[login]
        if scope == 'all':
            return {u for u, _ in self.users.values()}
        if scope in {'none', 'lookup'}:
            return set()
        staff = self.visible_employees(login, scope)
        return {u for u, employees in self.employees_of_user.items()
            if u == uid or employees & staff}

    @cached_property
    def _ends(self):
        return {}

    def ends(self, model, path):
        """{record id: set of (kind, id)} the path leads to from each record
        of model; kind is 'party', 'employee', 'user' or 'record'

        ``a>b``: the ends of a, or of b for the records a leads nowhere."""
        key = (model, path)
        if key not in self._ends:
            if '>' in path:
                firsts = [self.ends(model, p) for p in path.split('>')]
                self._ends[key] = {rid: next(
                        (e[rid] for e in firsts if e.get(rid)), set())
                    for rid in firsts[0]}
            else:
                self._ends[key] = self._follow(model, path)
        return self._ends[key]

    def _follow(self, model, path):
        with self.transaction():
            return self._follow_path(model, path)


    def _follow_path(self, model, path):
        """{record id: ends}: the path's last field names a party, an
        employee or a user (many-to-one or -many), or any record (a
        reference: its end is ('record', (model, id)))"""
        from trytond.model import fields
        Model = self.pool.get(model)
        names = [] if path == 'id' else path.split('.')
        target, kind = Model, None
        for n, name in enumerate(names):
            field = target._fields[name]
            if isinstance(field, fields.Function):
                field = field._field
            if isinstance(field, fields.Reference):
                assert n == len(names) - 1, f'{model}: {path}: a reference ' \
                    'must be the last field of a path'
                kind = 'record'
                break
            target = field.get_target()
        kinds = {PARTY: 'party', EMPLOYEE: 'employee', USER: 'user'}
        if kind is None:
            if target.__name__ not in kinds:
                raise AssertionError(
                    f'{model}: path {path} leads to {target.__name__}, not '
                    'to a party, an employee, a user or a reference')
            kind = kinds[target.__name__]
        self._kinds[(model, path)] = kind
        result = {}
        for record in Model.search([]):
            values = [record]
            for name in names:
                following = []
                for value in values:
                    value = getattr(value, name, None)
                    if value is None:
                        continue
                    if isinstance(value, (list, tuple)):
                        following.extend(value)
                    else:
                        following.append(value)
                values = following
            if kind == 'record':
                result[record.id] = {('record', (v.__name__, v.id))
                    for v in values if getattr(v, 'id', -1) >= 0}
            else:
                result[record.id] = {(kind, v.id) for v in values}
        return result

    def all_ids(self, model):
        Model = self.pool.get(model)
        with self.transaction():
            return {r.id for r in Model.search([])}

    def in_scope(self, model, row, role, scope=None):
        "The ids of model the role must see (with the scope of its cell)"
        login = MATRIX.roles[role].login
        if scope is None:
            scope = row.cells[role].scope
        ids = self.all_ids(model)
        paths = [p for p in row.paths if p not in {'unowned', 'aggregate'}]
        if scope in {'none', 'lookup'} or scope is None:
            return set()
        # a reference follows its record's scope, whatever the role's scope
        references = [p for p in paths if self.path_kind(model, p) == 'record']
        if not paths or (scope == 'all' and not references):
            return ids
        visible = {
            'party': self.visible_parties(login, scope),
            'employee': self.visible_employees(login, scope),
            'user': self.visible_users(login, scope),
            }
        result, unowned = set(), set(ids)
        for path in paths:
            for rid, ends in self.ends(model, path).items():
                if ends:
                    unowned.discard(rid)
                for kind, i in ends:
                    if kind == 'record':
                        if self._record_visible(role, *i):
                            result.add(rid)
                    elif i in visible[kind]:
                        result.add(rid)
        if 'unowned' in row.paths:
            result |= unowned
        return result & ids

    def path_kind(self, model, path):
        "'party', 'employee', 'user' or 'record' (a reference)"
        kinds = set()
        for part in path.split('>'):
            self.ends(model, part)
            kinds.add(self._kinds[(model, part)])
        return 'record' if kinds == {'record'} else (
            'mixed' if 'record' in kinds else kinds.pop())

    def undetermined(self, model, row):
        """Records whose paths only name records of models outside the
        matrix (a log of a product, a note on a user): whether a role sees
        them is the host's business, not the matrix's"""
        result = None
        for path in row.paths:
            if path in {'unowned', 'aggregate'}:
                continue
            if self.path_kind(model, path) != 'record':
                return set()
            these = {rid for rid, ends in self.ends(model, path).items()
                if ends and all(m not in MATRIX.models
                    for _, (m, _) in ends)}
            result = these if result is None else result & these
        return result or set()

    def _record_visible(self, role, model, record_id):
        "Whether the record a reference names is in the role's scope"
        row = MATRIX.models.get(model)
        if row is None:
            return False
        cell = row.cells[role]
        if cell.denied:
            return False
        key = (model, role)
        if key not in self._visible_records:
            self._visible_records[key] = self.in_scope(model, row, role)
        return record_id in self._visible_records[key]

    def hidden_names(self, model, row, record_id):
        "Names a refusal about this hidden record must not contain"
        Model = self.pool.get(model)
        names = set()
        with self.transaction():
            try:
                names.add(Model(record_id).rec_name)
            except Exception:
                pass
        for path in row.paths:
            if path in {'unowned', 'aggregate'}:
                continue
            for kind, i in self.ends(model, path).get(record_id, ()):
                if kind == 'record':
                    with self.transaction():
                        try:
                            names.add(self.pool.get(i[0])(i[1]).rec_name)
                        except Exception:
                            pass
                elif kind == 'party':
                    stage, _, owner, _, name = self.customers[i]
                    if stage is None:
                        continue  # not a customer (company, lender…)
                    names.add(name)
                    if owner:
                        names.add(self.employee_name(owner))
        # a name that is only the id the caller gave tells nothing
        return {n for n in names
            if n and len(n) >= 2 and not re.fullmatch(r'[\s(\[]*\d+[)\]]*', n)}

    # phone numbers
    @cached_property
    def full_numbers(self):
        """Digits of every customer's phone number as stored and in its
        national form; a role without full numbers must receive none"""
        Mechanism = self.pool.get('party.contact_mechanism')
        numbers = set()
        with self.transaction():
            for mechanism in Mechanism.search([
                        ('type', 'in', ['phone', 'mobile', 'fax', 'sms']),
                        ]):
                party = mechanism.party
                if self.customers.get(party.id, (None,))[0] is None:
                    continue
                numbers.update(_number_forms(mechanism.value))
        return {n for n in numbers if len(n) >= 7}

    def number_scanner(self, client):
        pattern = re.compile('|'.join(sorted(
                    (re.escape(n) for n in self.full_numbers),
                    key=len, reverse=True)) or r'(?!)')

        def scan(method, params, text):
            text = _unzip_reports(text)
            digits = re.sub(r'[\s\-()]', '', text)
            found = pattern.search(digits)
            if found:
                client.leaks.append(f'{method}: {found.group(0)}')
        return scan

    # messages
    @cached_property
    def validation_patterns(self):
        IrMessage = self.pool.get('ir.message')
        ModelData = self.pool.get('ir.model.data')
        patterns = []
        with self.transaction():
            for xml_id in VALIDATION_MESSAGES:
                message = IrMessage(ModelData.get_id('ir', xml_id))
                for text in {message.text, _english(message)}:
                    escaped = re.escape(text)
                    escaped = re.sub(
                        r'%\\\(\w+\\\)[sdir]', '.*', escaped)
                    patterns.append(re.compile(escaped, re.S))
        return patterns

    def is_validation(self, refused):
        return any(p.search(refused.message)
            for p in self.validation_patterns)

    # buttons, wizards, reports
    def buttons(self, model):
        Model = self.pool.get(model)
        return sorted(getattr(Model, '_buttons', {}) or {})

    @cached_property
    def wizards(self):
        "{wizard name: set of models it is bound to}"
        Wizard = self.pool.get('ir.action.wizard')
        Keyword = self.pool.get('ir.action.keyword')
        result = defaultdict(set)
        with self.transaction():
            for wizard in Wizard.search([]):
                if wizard.model:
                    result[wizard.wiz_name].add(wizard.model)
            for keyword in Keyword.search([
                        ('action.type', '=', 'ir.action.wizard')]):
                if keyword.model:
                    wizard, = Wizard.search(
                        [('action', '=', keyword.action.id)], limit=1)
                    result[wizard.wiz_name].add(
                        str(keyword.model).split(',')[0])
        return result

    @cached_property
    def reports(self):
        "{report name: model}"
        Report = self.pool.get('ir.action.report')
        with self.transaction():
            return {r.report_name: r.model for r in Report.search([])
                if r.model}


def _english(message):
    from trytond.transaction import Transaction
    with Transaction().set_context(language='en'):
        return type(message)(message.id).text


def _number_forms(value):
    "The digit strings a full number shows as"
    import phonenumbers
    digits = re.sub(r'\D', '', value or '')
    forms = {digits} if digits else set()
    try:
        number = phonenumbers.parse(value, 'CN')
    except phonenumbers.NumberParseException:
        return forms
    national = str(number.national_number)
    forms.add(national)
    forms.add(f'{number.country_code}{national}')
    if number.country_code == 86 and not national.startswith('1'):
        forms.add('0' + national)  # landline with its trunk prefix
    return forms


def _unzip_reports(text):
    "The text of an answer, with the files a report returned unpacked"
    if '"base64"' not in text:
        return text
    parts = [text]
    for match in re.finditer(r'"base64":\s*("[^"]+")', text):
        import base64
        data = base64.b64decode(json.loads(match.group(1)))
        if data[:2] == b'PK':
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for name in archive.namelist():
                    if name.endswith('.xml'):
                        parts.append(archive.read(name).decode(
                                'utf-8', 'replace'))
        else:
            parts.append(data.decode('utf-8', 'replace'))
    return '\n'.join(parts)


# ---------------------------------------------------------------- helpers

def refused(call, *args, **kwargs):
    "The Refused a call raised, or None when it was answered"
    try:
        call(*args, **kwargs)
    except Refused as exc:
        return exc
    return None


def expect_refused(what, call, *args, undo=None, **kwargs):
    """The Refused the call raised; fail on an answer or a transport error

    ``undo(result)`` repairs what an accepted call did, so that one hole
    does not spoil the tests after it."""
    try:
        result = call(*args, **kwargs)
    except Refused as exc:
        return exc
    except TransportError as exc:
        pytest.fail(f'{what}: a transport error instead of a refusal: {exc}')
    if undo:
        try:
            undo(result)
        except (Refused, TransportError):
            pass
    pytest.fail(f'{what}: accepted, must be refused')


def assert_names_nothing(what, exc, names):
    told = [n for n in names if n in exc.text]
    assert not told, f'{what}: the refusal names {told}: {exc.text}'


def may_create(client, model):
    """Whether the model access lets the role create: a create stopped by a
    missing value of another record (a move line's move, made first by the
    host) was refused by this access all the same"""
    access = client.model('ir.model.access', 'get_access', [model])
    return bool(access[model]['create'])


def view_fields(client, model):
    "The fields the role's list and form views of model show"
    names = set()
    for view_type in ['tree', 'form']:
        try:
            view = client.model(model, 'fields_view_get', None, view_type)
        except (Refused, TransportError):
            continue  # not a ModelView, or no view of that type
        names.update(f for f, d in view['fields'].items()
            if d['type'] != 'binary')
    return sorted(names) or ['rec_name']


def sample(ids, size=SAMPLE):
    return sorted(ids)[:size]


def other_value(client_admin, model, fname, value, world):
    "A valid value for fname different from value (as sent over RPC)"
    definition = client_admin.model(model, 'fields_get', [fname])[fname]
    kind = definition['type']
    if kind == 'selection':
        options = definition.get('selection')
        if isinstance(options, str):
            options = client_admin.model(model, options)
        keys = [k for k, _ in options if k not in {value, None, ''}]
        return keys[0] if keys else None
    if kind == 'boolean':
        return not value
    if kind in {'integer', 'biginteger'}:
        return (value or 0) + 1
    if kind == 'float':
        return (value or 0) + 1.0
    if kind == 'numeric':
        return decimal.Decimal(str(value or 0)) + 1
    if kind in {'char', 'text'}:
        return (value or '') + 'x'
    if kind == 'date':
        return (value or dt.date.today()) + dt.timedelta(days=1)
    if kind == 'datetime':
        return (value or dt.datetime.now()) + dt.timedelta(hours=1)
    if kind == 'many2one':
        current = value
        ids = client_admin.search(definition['relation'], [], 0, 5)
        others = [i for i in ids if i != current]
        return others[0] if others else None
    if kind in {'many2many', 'one2many'} and kind == 'many2many':
        ids = client_admin.search(definition['relation'], [], 0, 10)
        missing = [i for i in ids if i not in (value or [])]
        return [['add', missing[:1]]] if missing else None
    return None


def _sent(value):
    "A value read, as write takes it back"
    if isinstance(value, list):  # x2many ids
        return [['set', value]]
    return value


# ---------------------------------------------------------------- tests

def test_matrix_is_complete(world):
    "Every model with customer data and every button has a row"
    from tests.access_models import customer_models
    with world.transaction():
        found = customer_models(world.pool)
    missing = sorted(f'{m} ({why})' for m, why in found.items()
        if m not in MATRIX.models)
    assert not missing, 'models with customer data missing from the ' \
        'permission matrix:\n' + '\n'.join(missing)
    unknown = [m for m in MATRIX.models if m not in dict(
            world.pool.iterobject())]
    assert not unknown, f'matrix rows for unknown models: {unknown}'
    buttons = sorted(f'{m}:{b}' for m in MATRIX.models
        if world.is_stored(m) for b in world.buttons(m)
        if f'{m}:{b}' not in MATRIX.actions
        and f'{m}:*' not in MATRIX.actions)
    assert not buttons, 'buttons missing from the action table:\n' + \
        '\n'.join(buttons)
    wizards = sorted(f'wizard:{w} (on {", ".join(sorted(models))})'
        for w, models in world.wizards.items()
        if models & set(MATRIX.models)
        and f'wizard:{w}' not in MATRIX.actions)
    assert not wizards, 'wizards missing from the action table:\n' + \
        '\n'.join(wizards)
    reports = sorted(f'report:{r} (on {m})'
        for r, m in world.reports.items()
        if m in MATRIX.models and f'report:{r}' not in MATRIX.actions)
    assert not reports, 'reports missing from the action table:\n' + \
        '\n'.join(reports)
    for model, fname, _, _ in MATRIX.protected:
        assert fname in world.model(model)._fields, f'{model}.{fname}?'
    for model, fname in MATRIX.masked:
        assert fname in world.model(model)._fields, f'{model}.{fname}?'


def test_anonymous_database_list(served):
    "The database list is not given to anonymous callers"
    client = Client(served, served.database)
    with pytest.raises((Refused, TransportError)):
        client.call('common.db.list', None, None)


MODEL_CASES = [(model, role) for model in MATRIX.models
    for role in MATRIX.roles]


@pytest.mark.parametrize('model,role', MODEL_CASES,
    ids=[f'{m}-{r}' for m, r in MODEL_CASES])
def test_model(model, role, world, clients, leaks):
    row = MATRIX.models[model]
    cell = row.cells[role]
    client = clients[role]
    if not world.is_stored(model):
        pytest.skip(f'{model} is not stored')  # wizard forms: no records
    Model = world.model(model)
    if 'search' not in Model.__rpc__:
        # not served over RPC at all: every call is answered 403
        assert cell.denied, f'{model} is not served over RPC: write -'
        with pytest.raises(TransportError):
            client.search_count(model, [])
        return
    all_ids = world.all_ids(model)
    if cell.denied:
        _check_denied(client, model, all_ids, world, clients['admin'])
        return
    if 'aggregate' in row.paths:
        # rows computed per caller from what it may see: their ids mean
        # nothing across roles; the module's tests check the figures
        found = client.search(model, [])
        if found:
            client.read(model, found[:SAMPLE], view_fields(client, model))
        _check_no_change(client, model, cell, found[:1], world, clients)
        return
    undetermined = world.undetermined(model, row)
    expected = world.in_scope(model, row, role) - undetermined
    outside = all_ids - expected - undetermined
    found = set(client.search(model, [], context={'active_test': False})
        ) - undetermined
    assert found == expected, (
        f'{role} sees {len(found)} {model} records, the matrix says '
        f'{len(expected)} ({cell}); not expected: '
        f'{sorted(found - expected)[:10]}, missing: '
        f'{sorted(expected - found)[:10]}')
    if not undetermined:
        assert client.search_count(model, [], context={
                'active_test': False}) == len(expected)
    fields = client.model(model, 'fields_get', None)
    readable = view_fields(client, model)
    if expected:
        client.read(model, sample(expected), readable)
        if not world.is_singleton(model):
            client.search_read(model, [('id', 'in', sample(expected))],
                readable)
        # export may be refused (an export group), never a server error
        refused(client.export_data, model, sample(expected), readable)
    modifiable = not world.is_table_query(model)
    # a lookup's ids are keys only the lookup hands out: not tried here
    for rid in sample(outside, 0 if cell.scope == 'lookup' else 3):
        names = world.hidden_names(model, row, rid)
        exc = expect_refused(f'{role} reads {model} {rid} out of scope',
            client.read, model, [rid], ['id'])
        assert_names_nothing(f'{role} read {model} {rid}', exc, names)
        exc = expect_refused(f'{role} exports {model} {rid} out of scope',
            client.export_data, model, [rid], ['rec_name'])
        assert_names_nothing(f'{role} export {model} {rid}', exc, names)
        _check_on_change(client, model, rid, fields, names, world)
        if cell.may('w') and modifiable:
            exc = expect_refused(f'{role} writes {model} {rid} out of scope',
                client.write, model, [rid], {})
            assert_names_nothing(f'{role} write {model} {rid}', exc, names)
        if cell.may('d') and modifiable:
            exc = expect_refused(
                f'{role} deletes {model} {rid} out of scope',
                client.delete, model, [rid])
            assert_names_nothing(f'{role} delete {model} {rid}', exc, names)
    _check_no_change(client, model, cell, sample(expected, 1), world,
        clients)
    _check_masked(client, model, role, expected, world, clients)


def _check_no_change(client, model, cell, target, world, clients):
    "Without w, c, d: write, create and delete are refused"
    role = client.role.name
    Model = world.model(model)
    if world.is_table_query(model):
        assert not set(cell.perms) & set('wcd'), (
            f'{model} is a view of other records: it is only read')
        return
    if not cell.may('w') and target and 'write' in Model.__rpc__:
        expect_refused(f'{role} writes {model} without write permission',
            client.write, model, target, {})
    if (not cell.may('d') and target and 'delete' in Model.__rpc__
            and not world.is_singleton(model)):  # no-op: nothing stored
        expect_refused(f'{role} deletes {model} without delete permission',
            client.delete, model, target)
    if not cell.may('c') and 'create' in Model.__rpc__:
        exc = expect_refused(
            f'{role} creates {model} without create permission',
            client.create, model, [{}],
            undo=lambda ids: clients['admin'].delete(model, ids))
        assert not world.is_validation(exc) or not may_create(client, model), (
            f'{role} may create {model}: only a missing value stopped it: '
            f'{exc.message}')


def _check_denied(client, model, all_ids, world, admin):
    what = f'{client.role.name} has no access to {model}'
    Model = world.model(model)
    expect_refused(what + ' (search)', client.search_count, model, [])
    some = sample(all_ids, 1)
    if some:
        expect_refused(what + ' (read)', client.read, model, some, ['id'])
    if world.is_table_query(model):
        return
    if some and 'write' in Model.__rpc__:
        expect_refused(what + ' (write)', client.write, model, some, {})
    if (some and 'delete' in Model.__rpc__
            and not world.is_singleton(model)):
        expect_refused(what + ' (delete)', client.delete, model, some)
    if 'create' not in Model.__rpc__:
        return
    exc = expect_refused(what + ' (create)', client.create, model, [{}],
        undo=lambda ids: admin.delete(model, ids))
    assert not world.is_validation(exc) or not may_create(client, model), (
        f'{what}: only a missing value stopped the create: {exc.message}')


def _check_on_change(client, model, rid, fields, names, world):
    "on_change_with on a hidden record refuses or tells nothing of it"
    Model = world.model(model)
    names_with = [f for f in fields
        if hasattr(Model, f'on_change_with_{f}')]
    if not names_with:
        return
    try:
        result = client.model(model, 'on_change_with',
            {'id': rid}, names_with)
    except Refused as exc:
        assert_names_nothing(f'on_change_with {model} {rid}', exc, names)
        return
    text = json.dumps(result, ensure_ascii=False, default=str)
    told = [n for n in names if n in text]
    assert not told, (f'{client.role.name}: on_change_with of hidden '
        f'{model} {rid} tells {told}')


def _check_masked(client, model, role, expected, world, clients):
    masked = [f for (m, f), full in MATRIX.masked.items()
        if m == model and role not in full]
    if not masked or not expected:
        return
    ids = sample(expected)
    mine = {r['id']: r for r in client.read(model, ids, masked)}
    truth = world.stored_values(model, ids, masked)
    for rid in ids:
        for fname in masked:
            value = truth[rid][fname]
            if value and '*' not in str(value):  # masked for all
                assert mine[rid][fname] != value, (
                    f'{role} reads {model}.{fname} of {rid} unmasked')


PROTECTED_CASES = [(model, fname, role)
    for model, fname, _, _ in MATRIX.protected for role in MATRIX.roles]


@pytest.mark.parametrize('model,fname,role', PROTECTED_CASES,
    ids=[f'{m}.{f}-{r}' for m, f, r in PROTECTED_CASES])
def test_protected_field(model, fname, role, world, clients, leaks):
    when, allowed = next((w, a) for m, f, w, a in MATRIX.protected
        if m == model and f == fname)
    row = MATRIX.models.get(model)
    cell = row.cells[role] if row else None
    if role in allowed or (cell is not None and not cell.may('w')):
        pytest.skip(f'{role} may write {model}.{fname} or nothing of it')
    admin, client = clients['admin'], clients[role]
    # a model without a row (staff records): any record; a role that may
    # write none of them is refused all the same
    scope = world.in_scope(model, row, role) if row else world.all_ids(model)
    candidates = set(admin.search(model, when, context={
                'active_test': False})) & scope
    if not candidates:
        pytest.skip(f'no {model} record matching {when} in {role} scope')
    rid = sample(candidates, 1)[0]
    before = admin.read(model, [rid], [fname])[0][fname]
    value = other_value(admin, model, fname, before, world)
    if value is None:
        pytest.skip(f'no other value for {model}.{fname}')
    expect_refused(f'{role} writes {model}.{fname} of {rid} directly',
        client.write, model, [rid], {fname: value},
        undo=lambda _: admin.write(model, [rid], {fname: _sent(before)}))
    after = admin.read(model, [rid], [fname])[0][fname]
    assert after == before


ACTION_CASES = [(action, role) for action in MATRIX.actions
    for role in MATRIX.roles]


@pytest.mark.parametrize('action,role', ACTION_CASES,
    ids=[f'{a}-{r}' for a, r in ACTION_CASES])
def test_action(action, role, world, clients, leaks):
    allowed = role in MATRIX.actions[action]
    client, admin = clients[role], clients['admin']
    kind, _, name = action.partition(':')
    if role == 'admin' and allowed:
        pytest.skip('the administrator sees every record')
    if kind == 'wizard':
        models = sorted(world.wizards.get(name, ()))
        model = next((m for m in models if m in MATRIX.models), None)
        _check_wizard(client, admin, world, name, model, allowed)
    elif kind == 'report':
        model = world.reports.get(name)
        _check_report(client, world, name, model, allowed)
    elif name == '*':
        # every button of a host model no role but those listed presses
        for button in world.buttons(kind):
            if f'{kind}:{button}' not in MATRIX.actions:
                _check_button(client, admin, world, kind, button, allowed)
    else:
        model, button = kind, name
        _check_button(client, admin, world, model, button, allowed)


def _scoped(world, client, model):
    "(ids in the role's scope, ids outside) of model"
    row = MATRIX.models.get(model)
    all_ids = world.all_ids(model) if model and world.is_stored(model) \
        else set()
    if row is None:
        return set(), all_ids
    cell = row.cells[client.role.name]
    if cell.denied:
        return set(), all_ids
    inside = world.in_scope(model, row, client.role.name)
    return inside, all_ids - inside


def _write_dates(admin, model, ids):
    return {r['id']: r['write_date']
        for r in admin.read(model, ids, ['write_date'])}


def _check_button(client, admin, world, model, button, allowed):
    inside, outside = _scoped(world, client, model)
    role = client.role.name
    if not allowed:
        target = sample(inside or world.all_ids(model), 1)
        if not target:
            pytest.skip(f'no {model} record')
        before = _write_dates(admin, model, target)
        expect_refused(f'{role} presses {model}:{button}',
            client.button, model, button, target)
        assert _write_dates(admin, model, target) == before
    else:
        if not outside:
            pytest.skip(f'no {model} record outside the {role} scope')
        rid = sample(outside, 1)
        exc = expect_refused(
            f'{role} presses {model}:{button} out of scope',
            client.button, model, button, rid)
        assert_names_nothing(f'{role} {model}:{button}', exc,
            world.hidden_names(model, MATRIX.models[model], rid[0]))


def _check_wizard(client, admin, world, name, model, allowed):
    role = client.role.name
    inside, outside = _scoped(world, client, model)
    if not allowed:
        ids = sample(inside or (world.all_ids(model) if model else set()), 1)
        context = dict(client.context, active_model=model,
            active_ids=ids, active_id=ids[0] if ids else None)
        try:
            session = client.call(f'wizard.{name}.create', context)
        except Refused:
            return
        except TransportError as exc:
            pytest.fail(f'{role} wizard {name}: transport error {exc}')
        client.call(f'wizard.{name}.delete', session[0], context)
        pytest.fail(f'{role} may start wizard {name} (session {session}): '
            'it must be refused (give the wizard action its groups)')
    else:
        if not outside or not model:
            pytest.skip(f'no {model} record outside the {role} scope')
        rid = sample(outside, 1)
        exc = expect_refused(f'{role} starts {name} out of scope',
            client.call, f'wizard.{name}.create', dict(client.context,
                active_model=model, active_ids=rid, active_id=rid[0]))
        assert_names_nothing(f'{role} wizard {name}', exc,
            world.hidden_names(model, MATRIX.models[model], rid[0]))


def _check_report(client, world, name, model, allowed):
    role = client.role.name
    inside, outside = _scoped(world, client, model)
    if not allowed:
        ids = sample(inside or world.all_ids(model), 1)
        if not ids:
            pytest.skip(f'no {model} record')
        expect_refused(f'{role} prints {name}', client.report, name, ids,
            {'model': model, 'id': ids[0], 'ids': ids})
    else:
        if inside:
            ids = sample(inside, 3)
            client.report(name, ids, {'model': model, 'id': ids[0],
                    'ids': ids})
        if outside:
            rid = sample(outside, 1)
            exc = expect_refused(f'{role} prints {name} out of scope',
                client.report, name, rid,
                {'model': model, 'id': rid[0], 'ids': rid})
            assert_names_nothing(f'{role} report {name}', exc,
                world.hidden_names(model, MATRIX.models[model], rid[0]))
