# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Transport, message and error types shared by every provider client"
import dataclasses
import json
from typing import Callable, Optional

_REGISTRY = {}


def register(kind, label):
    """Class decorator: make a client available as gateway kind ``kind``,
    shown as ``label`` (English; its zh_CN text goes in the module's
    ``locale/zh_CN.po`` under ``selection:sms.gateway,kind:``)"""
    def decorator(cls):
        cls.kind = kind
        cls.label = label
        _REGISTRY[kind] = cls
        return cls
    return decorator


def get(kind):
    return _REGISTRY[kind]


def kinds(setting=None):
    "The registered kinds; only those whose gateways use ``setting`` if given"
    return sorted(kind for kind, client in _REGISTRY.items()
        if setting is None or setting in client.gateway_fields)


def selection():
    "``[(kind, label)]`` of the registered clients"
    return [(kind, _REGISTRY[kind].label) for kind in kinds()]


class ProviderError(Exception):
    "Base of the client errors; ``code`` is the provider's own error code"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class TransientError(ProviderError):
    "The provider did not take the message: safe to try again later"


class RejectedError(ProviderError):
    "The provider refused the message: trying again will not help"


class UncertainError(ProviderError):
    "The request may have reached the provider: never send it again"


@dataclasses.dataclass
class Request:
    method: str
    url: str
    headers: dict = dataclasses.field(default_factory=dict)
    body: bytes = b''
    auth: Optional[tuple] = None


@dataclasses.dataclass
class Response:
    status: int
    body: bytes = b''
    headers: dict = dataclasses.field(default_factory=dict)

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.body.decode('utf-8'))


@dataclasses.dataclass
class Outgoing:
    "One message to send; ``reference`` is the caller's own id"
    reference: str
    to: str
    text: str = ''
    sender: str = ''
    template_code: str = ''
    params: dict = dataclasses.field(default_factory=dict)
    callback_url: str = ''


@dataclasses.dataclass
class SendResult:
    provider_id: str = ''
    status: str = 'sent'
    detail: str = ''


class RequestsTransport:
    """The real transport: one ``send(request) -> response`` over requests.

    A failure to connect (refused, unreachable, name not resolved, connect
    timeout) raises :class:`TransientError`: the request never left. Any
    other error (a read timeout, a connection dropped once the request was
    written) raises :class:`UncertainError` because the provider may
    already have taken the message.
    """

    def __init__(self, timeout=10):
        import requests
        self._requests = requests
        self.session = requests.Session()
        self.timeout = timeout

    def send(self, request):
        requests = self._requests
        try:
            answer = self.session.request(
                request.method, request.url, headers=request.headers,
                data=request.body or None, auth=request.auth,
                timeout=self.timeout)
        except requests.RequestException as exc:
            # code 'network': the text is the library's, for the log only
            if _not_connected(exc):
                raise TransientError(str(exc), code='network') from exc
            if isinstance(exc, (requests.ConnectionError, requests.Timeout,
                        requests.exceptions.ChunkedEncodingError)):
                raise UncertainError(str(exc), code='network') from exc
            raise
        return Response(
            answer.status_code, answer.content, dict(answer.headers))

    def close(self):
        self.session.close()


def _not_connected(exc):
    """Whether the requests error ``exc`` happened before a connection was
    made, so before any byte of the request was written"""
    import requests
    from urllib3.exceptions import (
        ConnectTimeoutError, MaxRetryError, NewConnectionError)
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # NewConnectionError covers refused, unreachable and name errors
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


class FakeTransport:
    "Records requests and answers them with ``handler(request)``"

    def __init__(self, handler: Callable[[Request], Response] = None):
        self.handler = handler or (lambda request: Response(200, b'{}'))
        self.requests = []

    def send(self, request):
        self.requests.append(request)
        return self.handler(request)

    def close(self):
        pass


class Client:
    """Base of the provider clients.

    ``settings`` is a plain dict of the gateway's fields (``url``,
    ``username``, ``password``, ``app_id``, ``sign_name``, ``sender``…).
    Subclasses implement :meth:`send`; cloud kinds that use provider-side
    templates set ``uses_templates``.
    """
    kind = None
    label = None
    uses_templates = False
    default_url = ''
    # the fields of sms.gateway this kind uses besides url, sender, timeout
    gateway_fields = ('username', 'password')

    def __init__(self, settings, transport=None):
        self.settings = settings
        self.transport = transport or RequestsTransport(
            timeout=settings.get('timeout') or 10)

    def setting(self, name, default=''):
        return self.settings.get(name) or default

    @property
    def url(self):
        return (self.setting('url') or self.default_url).rstrip('/')

    def send(self, outgoing: Outgoing) -> SendResult:
        raise NotImplementedError

    def parse_status(self, params):
        """Map a provider status callback to ``(reference_or_id, state,
        detail)``; ``state`` is ``delivered``, ``failed`` or None"""
        raise NotImplementedError

    def check_callback(self, url, form, headers):
        """Whether a callback POSTed to ``url`` (as the gateway was given
        it) with the ``form`` fields and ``headers`` comes from the
        provider; the gateway's callback secret is checked before"""
        return True

    def _check_http(self, response):
        if response.status >= 500 or response.status == 429:
            raise TransientError(
                'HTTP %s: %s' % (response.status, response.text[:200]),
                code=str(response.status))
        if response.status >= 400:
            raise RejectedError(
                'HTTP %s: %s' % (response.status, response.text[:200]),
                code=str(response.status))
