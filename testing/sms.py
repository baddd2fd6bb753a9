# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Set-up of the sms_gateway scenarios: Kannel (bearerbox, smsbox, its fake
SMSC) and a scripted SMPP SMSC behind it as the real peers, and trytond's
callback routes served in the scenario's process on a loopback port, so
that Kannel's delivery reports reach the scenario's database"""
import atexit
import time

from proteus import Model
from werkzeug.serving import WSGIRequestHandler, make_server

from .sms_peers import Kannel
from .smpp_smsc import SMSC

SENDER = '10690123'
# the administrator types the secret he gives to Kannel
CALLBACK_SECRET = 'kannel-callback-secret'


class _QuietHandler(WSGIRequestHandler):

    def log(self, type, message, *args):
        pass


class Callbacks:
    """trytond's WSGI application on a loopback port, answering on the
    calling thread only (:meth:`serve_until`): the routes write the
    scenario's database, SQLite in memory included, which belongs to that
    thread"""

    def __init__(self):
        from trytond.wsgi import app
        self.server = make_server('127.0.0.1', 0, app,
            request_handler=_QuietHandler)
        self.server.timeout = 0.1
        self.url = 'http://127.0.0.1:%s' % self.server.server_port

    def serve_until(self, condition, timeout=90, logs=None):
        "Answer the callbacks until condition() is true"
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError('no callback made it true in %ss\n%s'
                    % (timeout, logs() if logs else ''))
            self.server.handle_request()

    def close(self):
        self.server.server_close()


class Peers:
    """The callback server, the scripted SMSC (refusing the ``reject``
    numbers, not delivering to the ``undeliverable`` ones) and Kannel with
    its fake SMSC and an SMPP link to that SMSC; stopped at exit if the
    scenario does not :meth:`close` them"""

    def __init__(self, reject=(), undeliverable=()):
        self.callbacks = Callbacks()
        self.smsc = SMSC(system_id='crm', password='secret', reject=reject,
            undeliverable=undeliverable)
        self.kannel = Kannel(smpp_port=self.smsc.port)
        atexit.register(self.close)
        try:
            self.smsc.start()
            self.kannel.start()
        except BaseException:
            self.close()
            raise

    def wait_bound(self, timeout=90):
        "Wait for Kannel's SMPP client to bind to the SMSC"
        deadline = time.monotonic() + timeout
        while not self.smsc.binds:
            if time.monotonic() > deadline:
                raise AssertionError('no SMPP bind\n' + self.kannel.logs())
            time.sleep(0.1)

    def until_state(self, messages, states, timeout=90):
        "Answer the delivery reports until every message is in states"
        def done():
            for message in messages:
                message.reload()
            return all(m.state in states for m in messages)
        self.callbacks.serve_until(done, timeout=timeout,
            logs=lambda: '%s\n%s' % (
                [(m.id, m.state, m.error) for m in messages],
                self.kannel.logs()))

    def close(self):
        for stop in [self.kannel.close, self.smsc.stop, self.callbacks.close]:
            try:
                stop()
            except Exception:
                pass
        atexit.unregister(self.close)


def setup_gateways(peers, config=None):
    """The default gateway ``Kannel`` (to Kannel's fake SMSC) and the
    ``106 通道`` gateway through Kannel's SMPP client, both calling back to
    peers' callback server; no quiet hours. Return both."""
    Gateway = Model.get('sms.gateway', config=config)
    Configuration = Model.get('sms.configuration', config=config)
    kannel = peers.kannel
    gateways = []
    for name, smsc in [('Kannel', None), ('106 通道', 'smpp')]:
        gateway = Gateway(name=name, kind='kannel', url=kannel.sendsms_url,
            username=kannel.username, password_input=kannel.password,
            sender=SENDER, smsc=smsc, callback_url=peers.callbacks.url,
            callback_secret_input=CALLBACK_SECRET)
        gateway.save()
        gateways.append(gateway)
    sms_config = Configuration(1)
    sms_config.gateway = gateways[0]
    sms_config.quiet_start = sms_config.quiet_end = None
    sms_config.save()
    return gateways


def customer(name, number, type_='mobile', config=None):
    "A customer with number as contact mechanism of type_"
    Party = Model.get('party.party', config=config)
    party = Party(name=name)
    mechanism = party.contact_mechanisms.new(type=type_)
    mechanism.value = number
    party.save()
    return party
