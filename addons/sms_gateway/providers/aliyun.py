# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Aliyun Dysms 2017-05-25 SendSms, signed with ACS3-HMAC-SHA256"
import datetime as dt
import json
import uuid
from urllib.parse import urlsplit

from .base import (
    Client, RejectedError, Request, SendResult, TransientError, register)
from .signing import acs3_canonical_query, acs3_signature, sha256_hex

TRANSIENT = {'isp.SYSTEM_ERROR', 'isv.BUSINESS_LIMIT_CONTROL',
    'Throttling.User', 'ServiceUnavailable', 'InternalError'}


@register('aliyun', "Aliyun SMS")
class AliyunClient(Client):
    uses_templates = True
    default_url = 'https://dysmsapi.aliyuncs.com'
    gateway_fields = ('username', 'password', 'sign_name')

    def build(self, outgoing, now=None, nonce=None):
        now = now or dt.datetime.now(dt.timezone.utc)
        # E.164 without the "+": Aliyun expects 8613…; mainland numbers
        # are sent without the country code
        number = outgoing.to.lstrip('+')
        if number.startswith('86'):
            number = number[2:]
        params = {
            'PhoneNumbers': number,
            'SignName': self.setting('sign_name'),
            'TemplateCode': outgoing.template_code,
            'TemplateParam': json.dumps(
                outgoing.params, ensure_ascii=False, separators=(',', ':')),
            'OutId': outgoing.reference,
            }
        host = urlsplit(self.url).netloc
        headers = {
            'host': host,
            'x-acs-action': 'SendSms',
            'x-acs-version': '2017-05-25',
            'x-acs-date': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'x-acs-signature-nonce': nonce or uuid.uuid4().hex,
            'x-acs-content-sha256': sha256_hex(b''),
            }
        signed, signature = acs3_signature(
            self.setting('password'), 'POST', '/', params, headers)
        headers['Authorization'] = (
            'ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s'
            % (self.setting('username'), signed, signature))
        return Request(
            'POST', self.url + '/?' + acs3_canonical_query(params),
            headers=headers)

    def send(self, outgoing):
        if not outgoing.template_code:
            raise RejectedError('no template code', code='template')
        response = self.transport.send(self.build(outgoing))
        try:
            answer = response.json()
        except ValueError:
            self._check_http(response)
            raise RejectedError(response.text[:200], str(response.status))
        code = answer.get('Code')
        if code == 'OK':
            return SendResult(provider_id=answer.get('BizId', ''))
        error = TransientError if (
            code in TRANSIENT or response.status >= 500) else RejectedError
        raise error(answer.get('Message') or code, code=code)
