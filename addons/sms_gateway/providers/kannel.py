# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Kannel smsbox HTTP ``sendsms`` with delivery reports through ``dlr-url``.

Kannel also fronts the carriers' SMPP "106" channels: this client only talks
to smsbox; the SMSC side is Kannel's configuration.
"""
from urllib.parse import urlencode

from .base import Client, RejectedError, Request, SendResult, register

# dlr-mask 31: delivered, failed, buffered, SMSC ack, SMSC nack
DLR_MASK = 31
DLR_STATES = {
    1: 'delivered',
    2: 'failed',
    4: None,  # buffered on the SMSC
    8: None,  # SMSC accepted
    16: 'failed',  # SMSC refused
    }


@register('kannel', "Kannel (HTTP/SMPP)")
class KannelClient(Client):
    default_url = 'http://127.0.0.1:13013/cgi-bin/sendsms'
    gateway_fields = ('username', 'password', 'smsc')

    def build(self, outgoing):
        if not outgoing.text:
            raise RejectedError('empty text', code='empty')
        params = {
            'username': self.setting('username'),
            'password': self.setting('password'),
            'from': outgoing.sender or self.setting('sender'),
            # urlencode turns "+" into "%2B": Kannel reads a raw "+" as space
            'to': outgoing.to,
            'text': outgoing.text,
            }
        if not outgoing.text.isascii():
            params.update({'coding': 2, 'charset': 'UTF-8'})
        if self.setting('smsc'):
            params['smsc'] = self.setting('smsc')
        if outgoing.callback_url:
            separator = '&' if '?' in outgoing.callback_url else '?'
            params['dlr-mask'] = DLR_MASK
            params['dlr-url'] = (
                outgoing.callback_url + separator
                + 'type=%d&reply=%A&smsc_id=%F&at=%T')
        return Request('GET', self.url + '?' + urlencode(params))

    def send(self, outgoing):
        response = self.transport.send(self.build(outgoing))
        self._check_http(response)
        # "0: Accepted for delivery" / "3: Queued for later delivery"
        text = response.text.strip()
        if response.status not in {200, 202} or text[:2] not in {'0:', '3:'}:
            raise RejectedError(text[:200], code=str(response.status))
        return SendResult(
            provider_id='', status='sent', detail=text)

    def parse_status(self, params):
        try:
            type_ = int(params.get('type') or 0)
        except ValueError:
            type_ = 0
        detail = params.get('reply') or ''
        return params.get('ref'), DLR_STATES.get(type_), detail
