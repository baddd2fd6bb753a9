# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Twilio Messages API (2010-04-01) with StatusCallback"
import base64
import hashlib
import hmac
from urllib.parse import urlencode

from .base import (
    Client, RejectedError, Request, SendResult, TransientError, register)

FAILED = {'failed', 'undelivered', 'canceled'}


@register('twilio', "Twilio")
class TwilioClient(Client):
    default_url = 'https://api.twilio.com'
    gateway_fields = ('username', 'password', 'app_id')

    def build(self, outgoing):
        sid = self.setting('username')
        form = {
            'To': outgoing.to,
            'Body': outgoing.text,
            }
        if self.setting('app_id'):  # messaging service
            form['MessagingServiceSid'] = self.setting('app_id')
        else:
            form['From'] = outgoing.sender or self.setting('sender')
        if outgoing.callback_url:
            form['StatusCallback'] = outgoing.callback_url
        return Request(
            'POST',
            '%s/2010-04-01/Accounts/%s/Messages.json' % (self.url, sid),
            headers={'Content-Type': 'application/x-www-form-urlencoded'},
            body=urlencode(form).encode('utf-8'),
            auth=(sid, self.setting('password')))

    def send(self, outgoing):
        response = self.transport.send(self.build(outgoing))
        if response.status == 429 or response.status >= 500:
            raise TransientError(response.text[:200], str(response.status))
        if response.status not in {200, 201}:
            try:
                error = response.json()
                raise RejectedError(
                    error.get('message', ''), code=str(error.get('code')))
            except ValueError:
                raise RejectedError(response.text[:200], str(response.status))
        answer = response.json()
        if answer.get('status') in FAILED:
            raise RejectedError(
                answer.get('error_message') or answer['status'],
                code=str(answer.get('error_code')))
        return SendResult(provider_id=answer['sid'], detail=answer.get('status', ''))

    def parse_status(self, params):
        status = params.get('MessageStatus', '')
        state = None
        if status == 'delivered':
            state = 'delivered'
        elif status in FAILED:
            state = 'failed'
        detail = status
        if params.get('ErrorCode'):
            detail += ' (%s)' % params['ErrorCode']
        return params.get('MessageSid'), state, detail

    def check_callback(self, url, form, headers):
        "With an auth token, the X-Twilio-Signature header must match"
        token = self.setting('password')
        if not token:
            return True
        given = headers.get('X-Twilio-Signature') or ''
        return hmac.compare_digest(
            given.encode(), self.signature(token, url, form).encode())

    @staticmethod
    def signature(auth_token, url, params):
        "X-Twilio-Signature of a POST callback to ``url`` with ``params``"
        data = url + ''.join(k + params[k] for k in sorted(params))
        digest = hmac.new(
            auth_token.encode(), data.encode('utf-8'), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()
