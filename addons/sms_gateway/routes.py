# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Callbacks of the gateways: delivery reports and inbound messages.

Every callback address carries the gateway's secret; a callback with an
unknown gateway or a wrong secret is refused (403) and logged, and so is a
delivery report the provider's client does not recognise as its own
(``Client.check_callback``: Twilio's X-Twilio-Signature when the gateway
has an auth token)."""
import hmac
import logging

from trytond.protocols.wrappers import (
    HTTPStatus, Response, allow_null_origin, with_pool, with_transaction)
from trytond.wsgi import app

logger = logging.getLogger(__name__)


def _params(request):
    params = dict(request.args.items())
    if request.method == 'POST':
        params.update(request.form.items())
    return params


def _callback_url(gateway, request):
    """The address the gateway called, as :meth:`Gateway.status_url` gave
    it (this server may sit behind a proxy that rewrites it)"""
    url = (gateway.callback_url or request.host_url).rstrip('/') + request.path
    if request.query_string:
        url += '?' + request.query_string.decode('latin-1')
    return url


def _gateway(pool, gateway_id, params, request):
    Gateway = pool.get('sms.gateway')
    gateways = Gateway.search([('id', '=', gateway_id)])
    secret = params.pop('secret', '') or ''
    if not gateways or not hmac.compare_digest(
            secret.encode(), (gateways[0].callback_secret or '').encode()):
        logger.warning(
            'refused SMS callback %s for gateway %s from %s',
            request.path, gateway_id, request.remote_addr)
        return None
    return gateways[0]


@app.route('/<database_name>/sms_gateway/status/<int:gateway_id>',
    methods={'GET', 'POST'})
@allow_null_origin
@with_pool
@with_transaction(readonly=False)  # Kannel calls back with GET
def status(request, pool, gateway_id):
    Message = pool.get('sms.message')
    params = _params(request)
    gateway = _gateway(pool, gateway_id, params, request)
    if gateway is None:
        return Response('forbidden', HTTPStatus.FORBIDDEN)
    client = gateway.get_client()
    if not client.check_callback(
            _callback_url(gateway, request), dict(request.form.items()),
            request.headers):
        logger.warning(
            'refused SMS callback %s for gateway %s from %s: bad signature',
            request.path, gateway_id, request.remote_addr)
        return Response('forbidden', HTTPStatus.FORBIDDEN)
    reference, state, detail = client.parse_status(params)
    # our own id travels in the callback address of every kind
    reference = params.get('ref') or reference
    message = Message.record_status(gateway, reference, state, detail)
    if message is None:
        logger.warning(
            'SMS status for unknown message %r on gateway %s',
            reference, gateway_id)
        return Response('unknown message', HTTPStatus.NOT_FOUND)
    return Response('OK', HTTPStatus.OK)


@app.route('/<database_name>/sms_gateway/inbound/<int:gateway_id>',
    methods={'GET', 'POST'})
@allow_null_origin
@with_pool
@with_transaction(readonly=False)  # Kannel calls back with GET
def inbound(request, pool, gateway_id):
    Inbound = pool.get('sms.inbound')
    params = _params(request)
    gateway = _gateway(pool, gateway_id, params, request)
    if gateway is None:
        return Response('forbidden', HTTPStatus.FORBIDDEN)
    Inbound.receive(
        gateway, params.get('from', ''), params.get('to', ''),
        params.get('text', ''))
    # Kannel sends a non-empty answer back as a reply SMS
    return Response('', HTTPStatus.OK)
