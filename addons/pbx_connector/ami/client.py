# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A small synchronous AMI client.

Action/response correlation follows the AMI v2 Specification: an action may
carry an ``ActionID`` and the response echoes it; events that arrive while
waiting for a response are kept for :meth:`AMIClient.next_event`.
Originate with ``Async: true`` answers ``Response: Success`` / ``Message:
Originate successfully queued`` at once; the outcome comes later as the
``OriginateResponse`` event
(https://docs.asterisk.org/Latest_API/API_Documentation/AMI_Events/OriginateResponse).
"""
import collections
import itertools
import logging
import threading
import time

from .protocol import BANNER_PREFIX, Parser, encode

logger = logging.getLogger(__name__)


class AMIError(Exception):
    "Base class of the client's errors"


class ConnectionLost(AMIError):
    "The peer closed the connection or it broke"


class Timeout(AMIError):
    "No answer in time"


class ActionFailed(AMIError):
    "The server answered ``Response: Error``"

    def __init__(self, message):
        super().__init__(message.get('Message') or 'Error')
        self.message = message


class AuthenticationFailed(ActionFailed):
    "Login refused"


class AMIClient:
    "One AMI session over a transport"

    _ids = itertools.count(1)

    def __init__(self, transport, timeout=5):
        self.transport = transport
        self.timeout = timeout
        self.banner = None
        self._parser = Parser()
        self._messages = collections.deque()
        self._events = collections.deque()
        self._prefix = f'crm-{id(self):x}-'

    @classmethod
    def connect(cls, transport, username, secret, timeout=5):
        "Read the banner and log in; return the logged-in client"
        client = cls(transport, timeout=timeout)
        try:
            client.read_banner()
            client.login(username, secret)
        except BaseException:
            client.close()
            raise
        return client

    def read_banner(self):
        deadline = time.monotonic() + self.timeout
        while self._parser.banner is None:
            self._fill(deadline)
        self.banner = self._parser.banner
        if not self.banner.startswith(BANNER_PREFIX):
            raise AMIError(f'not an AMI server: {self.banner!r}')
        return self.banner

    def login(self, username, secret):
        try:
            return self.action('Login', [
                    ('Username', username), ('Secret', secret)])
        except ActionFailed as exc:
            raise AuthenticationFailed(exc.message) from None

    def originate(self, channel, exten, context, caller_id=None,
            timeout_ms=30000, variables=None, action_id=None, priority=1):
        "Queue a call: ring ``channel``, then run ``exten@context``"
        pairs = [
            ('Channel', channel), ('Exten', exten), ('Context', context),
            ('Priority', priority), ('Timeout', timeout_ms),
            ('Async', 'true')]
        if caller_id:
            pairs.append(('CallerID', caller_id))
        for key, value in (variables or {}).items():
            pairs.append(('Variable', f'{key}={value}'))
        return self.action('Originate', pairs, action_id=action_id)

    def ping(self):
        return self.action('Ping', [])

    def logoff(self):
        try:
            self.action('Logoff', [])
        except AMIError:
            pass
        finally:
            self.close()

    def action(self, name, pairs, action_id=None, timeout=None):
        "Send an action and return its response message"
        action_id = action_id or f'{self._prefix}{next(self._ids)}'
        self._write([('Action', name), ('ActionID', action_id)] + list(pairs))
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._next_message(deadline)
            if message.event is not None:
                self._events.append(message)
                continue
            if message.get('ActionID') != action_id:
                logger.debug('unexpected response %r', message)
                continue
            if (message.response or '').lower() == 'error':
                raise ActionFailed(message)
            return message

    def next_event(self, timeout):
        "The next event, or None when none came within timeout seconds"
        if self._events:
            return self._events.popleft()
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._next_message(deadline)
            except Timeout:
                return None
            if message.event is not None:
                return message

    @property
    def buffered(self):
        "Whether messages already read wait to be taken"
        return bool(self._events or self._messages)

    def close(self):
        self.transport.close()

    def _write(self, pairs):
        try:
            self.transport.write(encode(pairs))
        except OSError as exc:
            raise ConnectionLost(str(exc)) from exc

    def _next_message(self, deadline):
        while not self._messages:
            self._fill(deadline)
        return self._messages.popleft()

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout('no answer from the AMI server')
        try:
            data = self.transport.read(remaining)
        except TimeoutError:
            raise Timeout('no answer from the AMI server') from None
        except OSError as exc:
            raise ConnectionLost(str(exc)) from exc
        if not data:
            raise ConnectionLost('connection closed by the AMI server')
        self._messages.extend(self._parser.feed(data))


class Backoff:
    "Exponential reconnect delays: 0.5 s, 1 s, 2 s … capped"

    def __init__(self, initial=0.5, maximum=30.0, factor=2.0):
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.reset()

    def reset(self):
        self.current = self.initial

    def next(self):
        delay = self.current
        self.current = min(self.current * self.factor, self.maximum)
        return delay


def follow(connect, handle, on_state=None, stop=None, backoff=None,
        idle=1.0, keepalive=20.0, flush=None):
    """Hold a session and hand every event to ``handle(event)``.

    ``connect()`` returns a logged-in :class:`AMIClient`. When the
    connection drops or cannot be made, ``on_state('disconnected', reason)``
    is called and the next attempt waits for the backoff delay;
    ``on_state('connected', banner)`` after each successful login. A Ping
    after ``keepalive`` idle seconds detects half-open connections. Runs
    until ``stop`` (a :class:`threading.Event`) is set. ``flush()``, when
    given, is called once the events of a read are handled and after each
    ``idle`` seconds without one.
    """
    stop = stop or threading.Event()
    backoff = backoff or Backoff()
    on_state = on_state or (lambda state, info: None)
    while not stop.is_set():
        try:
            client = connect()
        except (OSError, AMIError) as exc:
            on_state('disconnected', str(exc))
            stop.wait(backoff.next())
            continue
        backoff.reset()
        on_state('connected', client.banner)
        try:
            _pump(client, handle, stop, idle, keepalive, flush)
        except (AMIError, OSError) as exc:
            on_state('disconnected', str(exc))
            stop.wait(backoff.next())
        finally:
            client.close()


def _pump(client, handle, stop, idle, keepalive, flush=None):
    quiet_since = time.monotonic()
    while not stop.is_set():
        event = client.next_event(idle)
        if event is None:
            if flush:
                flush()
            if time.monotonic() - quiet_since > keepalive:
                client.ping()
                quiet_since = time.monotonic()
            continue
        quiet_since = time.monotonic()
        handle(event)
        if flush and not client.buffered:
            flush()
