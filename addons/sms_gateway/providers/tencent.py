# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Tencent Cloud SMS 2021-01-11 SendSms, signed with TC3-HMAC-SHA256"
import datetime as dt
import json
import time
from urllib.parse import urlsplit

from .base import (
    Client, RejectedError, Request, SendResult, TransientError, register)
from .signing import tc3_signature

CONTENT_TYPE = 'application/json; charset=utf-8'


@register('tencent', "Tencent Cloud SMS")
class TencentClient(Client):
    uses_templates = True
    default_url = 'https://sms.tencentcloudapi.com'
    gateway_fields = (
        'username', 'password', 'app_id', 'sign_name', 'region')

    def build(self, outgoing, timestamp=None):
        timestamp = int(timestamp or time.time())
        body = json.dumps({
                'PhoneNumberSet': [outgoing.to],
                'SmsSdkAppId': self.setting('app_id'),
                'SignName': self.setting('sign_name'),
                'TemplateId': outgoing.template_code,
                'TemplateParamSet': [str(v) for v in outgoing.params.values()],
                'SessionContext': outgoing.reference,
                }, ensure_ascii=False).encode('utf-8')
        host = urlsplit(self.url).netloc
        date = dt.datetime.fromtimestamp(
            timestamp, dt.timezone.utc).strftime('%Y-%m-%d')
        scope, signature = tc3_signature(
            self.setting('password'), 'sms', timestamp, host, CONTENT_TYPE,
            body, date)
        headers = {
            'Host': host,
            'Content-Type': CONTENT_TYPE,
            'X-TC-Action': 'SendSms',
            'X-TC-Version': '2021-01-11',
            'X-TC-Timestamp': str(timestamp),
            'X-TC-Region': self.setting('region', 'ap-guangzhou'),
            'Authorization': (
                'TC3-HMAC-SHA256 Credential=%s/%s, '
                'SignedHeaders=content-type;host, Signature=%s'
                % (self.setting('username'), scope, signature)),
            }
        return Request('POST', self.url + '/', headers=headers, body=body)

    def send(self, outgoing):
        if not outgoing.template_code:
            raise RejectedError('no template code', code='template')
        response = self.transport.send(self.build(outgoing))
        self._check_http(response)
        answer = response.json().get('Response', {})
        if 'Error' in answer:
            code = answer['Error'].get('Code', '')
            error = TransientError if (
                code.startswith('InternalError')
                or code.startswith('RequestLimitExceeded')) else RejectedError
            raise error(answer['Error'].get('Message') or code, code=code)
        status, = answer.get('SendStatusSet') or [{}]
        if status.get('Code') != 'Ok':
            raise RejectedError(
                status.get('Message') or 'no status', code=status.get('Code'))
        return SendResult(provider_id=status.get('SerialNo', ''))
