# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A JSON-RPC client that calls a served database as the web client does.

It logs in with ``common.db.login``, sends the session in the
``Authorization`` header and the user's preferences as context (as sao does:
language, company, employee…), and turns answers into results or
:class:`Refused` (a ``UserError``, ``UserWarning`` or
``ConcurrencyException`` the user would see) or :class:`TransportError` (an
HTTP error or a server traceback: never a business answer).

Every answer is also handed to the client's ``watchers`` (callables taking
the method, the params and the raw JSON text) so a test can scan everything a
role receives, e.g. for full phone numbers.
"""
import base64
import http.client
import itertools
import json
import urllib.parse

__all__ = ['Client', 'Refused', 'TransportError']


class Refused(Exception):
    "A business answer: UserError, UserWarning or ConcurrencyException"

    def __init__(self, kind, message, description='', raw=None):
        super().__init__(kind, message, description)
        self.kind = kind
        self.message = message or ''
        self.description = description or ''
        self.raw = raw

    @property
    def text(self):
        return f'{self.message}\n{self.description}'.strip()

    def __str__(self):
        return f'{self.kind}: {self.text}'


class TransportError(Exception):
    "An HTTP error or a server-side exception: what a user must never get"

    def __init__(self, status, text):
        super().__init__(status, text)
        self.status = status
        self.text = text

    def __str__(self):
        return f'HTTP {self.status}: {self.text[:2000]}'


class Client:
    "One session of one user on one database"

    def __init__(self, url, database, timeout=120):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.database = database
        self.timeout = timeout
        self.path = f'/{urllib.parse.quote(database)}/rpc/'
        self.login_name = None
        self.user_id = None
        self.session = None
        self.context = {}
        self.watchers = []
        self._ids = itertools.count(1)
        self._connection = None

    # transport
    def _post(self, method, params, path=None):
        body = json.dumps({
                'id': next(self._ids), 'method': method, 'params': params,
                }, default=_encode).encode('utf-8')
        headers = {'Content-Type': 'application/json'}
        if self.session:
            token = f'{self.login_name}:{self.user_id}:{self.session}'
            headers['Authorization'] = 'Session ' + base64.b64encode(
                token.encode('utf-8')).decode('ascii')
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout)
            try:
                self._connection.request(
                    'POST', path or self.path, body, headers)
                response = self._connection.getresponse()
                text = response.read().decode('utf-8', 'replace')
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                self.close()
                if attempt:
                    raise
        for watcher in self.watchers:
            watcher(method, params, text)
        if response.status != 200:
            raise TransportError(response.status, text)
        return json.loads(text, object_hook=_decode)

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def call(self, method, *params):
        "Call ``method`` with ``params`` (the context is not added)"
        data = self._post(method, list(params))
        if 'error' not in data:
            return data.get('result')
        error = data['error']
        if (isinstance(error, list) and len(error) == 2
                and error[0] in {'UserError', 'UserWarning'}):
            args = error[1]
            if error[0] == 'UserWarning':
                name, message, description = (list(args) + ['', ''])[:3]
            else:
                message, description = (list(args) + ['', ''])[:2]
            raise Refused(error[0], message, description, raw=error)
        if (isinstance(error, list) and error
                and error[0] == 'ConcurrencyException'):
            raise Refused('ConcurrencyException', error[1], raw=error)
        raise TransportError(200, json.dumps(error, ensure_ascii=False))

    # session
    def login(self, login, password):
        "Log in and load the user's preferences as context; return self"
        result = self.call(
            'common.db.login', login, {'password': password}, 'zh_CN')
        self.login_name = login
        self.user_id, self.session = result[0], result[1]
        self.context = self.call(
            'model.res.user.get_preferences', True, {})
        return self

    # model helpers: the last parameter is the context, as sao sends it
    def model(self, model, method, *args, context=None):
        ctx = dict(self.context)
        if context:
            ctx.update(context)
        return self.call(f'model.{model}.{method}', *args, ctx)

    def search(self, model, domain, offset=0, limit=None, order=None,
            context=None):
        return self.model(model, 'search', domain, offset, limit, order,
            context=context)

    def search_count(self, model, domain, context=None):
        return self.model(model, 'search_count', domain, context=context)

    def read(self, model, ids, fields, context=None):
        return self.model(model, 'read', ids, fields, context=context)

    def search_read(self, model, domain, fields, offset=0, limit=None,
            order=None, context=None):
        return self.model(model, 'search_read', domain, offset, limit, order,
            fields, context=context)

    def write(self, model, ids, values, context=None):
        return self.model(model, 'write', ids, values, context=context)

    def create(self, model, vlist, context=None):
        return self.model(model, 'create', vlist, context=context)

    def delete(self, model, ids, context=None):
        return self.model(model, 'delete', ids, context=context)

    def button(self, model, name, ids, context=None):
        return self.model(model, name, ids, context=context)

    def export_data(self, model, ids, fields, context=None):
        return self.model(model, 'export_data', ids, fields,
            context=context)

    def report(self, name, ids, data=None, context=None):
        ctx = dict(self.context)
        ctx.update(context or {})
        return self.call(f'report.{name}.execute', ids, data or {}, ctx)

    def wizard(self, name, model, ids, steps, context=None):
        """Run wizard ``name`` on ``ids`` of ``model``

        ``steps`` is a list of ``(state_name, data)``: each is executed in
        turn; the answer of the last one is returned. The session is always
        deleted at the end.
        """
        ctx = dict(self.context)
        ctx.update(context or {})
        ctx.update({'active_model': model, 'active_id': ids[0] if ids
                else None, 'active_ids': ids})
        session, start, end = self.call(f'wizard.{name}.create', ctx)
        result = None
        try:
            for state, data in steps:
                result = self.call(
                    f'wizard.{name}.execute', session, data, state, ctx)
        finally:
            self.call(f'wizard.{name}.delete', session, ctx)
        return result


def _decode(obj):
    import datetime
    import decimal
    kind = obj.get('__class__')
    if kind == 'Decimal':
        return decimal.Decimal(obj['decimal'])
    if kind == 'date':
        return datetime.date(obj['year'], obj['month'], obj['day'])
    if kind == 'datetime':
        return datetime.datetime(obj['year'], obj['month'], obj['day'],
            obj['hour'], obj['minute'], obj['second'], obj['microsecond'])
    if kind == 'bytes':
        return base64.b64decode(obj['base64'])
    return obj


def _encode(value):
    import datetime
    import decimal
    if isinstance(value, decimal.Decimal):
        return {'__class__': 'Decimal', 'decimal': str(value)}
    if isinstance(value, datetime.datetime):
        return {'__class__': 'datetime', 'year': value.year,
            'month': value.month, 'day': value.day, 'hour': value.hour,
            'minute': value.minute, 'second': value.second,
            'microsecond': value.microsecond}
    if isinstance(value, datetime.date):
        return {'__class__': 'date', 'year': value.year,
            'month': value.month, 'day': value.day}
    if isinstance(value, bytes):
        return {'__class__': 'bytes',
            'base64': base64.b64encode(value).decode('ascii')}
    raise TypeError(f'{value!r} is not JSON serialisable')
