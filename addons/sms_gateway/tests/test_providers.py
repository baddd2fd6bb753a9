# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Unit tests of the provider clients over fake transports (no trytond)"
import hashlib
import hmac
import json
import socket
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from sms_gateway import providers
from crm_base.phone import check_mobile, split_numbers
from sms_gateway.providers import (
    FakeTransport, Outgoing, RejectedError, Response, TransientError,
    UncertainError)
from sms_gateway.template_language import (
    TemplateSyntaxError, fields_of, render)

pytestmark = pytest.mark.fast

CHINESE = '您好，王先生：明天上午十点试听课，退订回TD'


def outgoing(**kw):
    values = dict(reference='42', to='+8613798312311', text='hello')
    values.update(kw)
    return Outgoing(**values)


def client(kind, answer, **settings):
    transport = FakeTransport(lambda request: answer)
    base = {'username': 'user', 'password': 'secret', 'timeout': 5}
    base.update(settings)
    return providers.get(kind)(base, transport=transport), transport


# -- template language and numbers -------------------------------------------

def test_render_merge_fields():
    assert render('${name}您好，$$${ amount }', {
            'name': '王芳', 'amount': 5}) == '王芳您好，$5'
    assert fields_of('${name} ${date} ${name}') == ['name', 'date']
    assert render('${missing}!', {}) == '!'


@pytest.mark.parametrize('text', [
        '${party.name}', '${__import__("os")}', '$name', '${}', 'cost $'])
def test_template_language_has_no_code(text):
    with pytest.raises(TemplateSyntaxError):
        fields_of(text)
    with pytest.raises(TemplateSyntaxError):
        render(text, {'party': object(), 'name': 'x'})


@pytest.mark.parametrize('raw,result', [
        ('13798312311', ('+8613798312311', None)),
        ('+86 137-9831-2311', ('+8613798312311', None)),
        ('0579-83710010', (None, 'not_mobile')),
        ('400-810-8888', (None, 'not_mobile')),
        ('1379831231', (None, 'invalid')),
        ('137983123119999999999', (None, 'malformed')),
        ('abc', (None, 'malformed')),
        ('', (None, 'empty')),
        ])
def test_check_mobile(raw, result):
    assert check_mobile(raw) == result


def test_split_numbers():
    assert split_numbers('137 9831 2311\n13911112222，13922223333;') == [
        '137 9831 2311', '13911112222', '13922223333']


# -- Kannel -------------------------------------------------------------------

def test_kannel_request():
    kannel, transport = client(
        'kannel', Response(202, b'0: Accepted for delivery'),
        url='http://127.0.0.1:13013/cgi-bin/sendsms', sender='10690000')
    result = kannel.send(outgoing(
            text=CHINESE, callback_url='http://crm/db/sms?secret=s&ref=42'))
    assert result.status == 'sent'
    request, = transport.requests
    url = urlsplit(request.url)
    assert '%2B8613798312311' in url.query  # a raw "+" would become a space
    query = parse_qs(url.query)
    assert query['to'] == ['+8613798312311']
    assert query['text'] == [CHINESE]
    assert query['coding'] == ['2'] and query['charset'] == ['UTF-8']
    assert query['dlr-mask'] == ['31']
    assert query['dlr-url'] == [
        'http://crm/db/sms?secret=s&ref=42'
        '&type=%d&reply=%A&smsc_id=%F&at=%T']
    assert query['from'] == ['10690000']


def test_kannel_ascii_has_no_coding():
    kannel, transport = client('kannel', Response(202, b'3: Queued for later'))
    kannel.send(outgoing())
    assert 'coding' not in parse_qs(urlsplit(transport.requests[0].url).query)


@pytest.mark.parametrize('answer,error', [
        (Response(403, b'Authorization failed for sendsms'), RejectedError),
        (Response(503, b'Sending failed.'), TransientError),
        (Response(202, b'4: Unknown'), RejectedError),
        ])
def test_kannel_errors(answer, error):
    kannel, _ = client('kannel', answer)
    with pytest.raises(error):
        kannel.send(outgoing())


def test_kannel_empty_text_refused():
    kannel, transport = client('kannel', Response(202, b'0: Accepted'))
    with pytest.raises(RejectedError):
        kannel.send(outgoing(text=''))
    assert not transport.requests


@pytest.mark.parametrize('type_,state', [
        ('1', 'delivered'), ('2', 'failed'), ('16', 'failed'), ('8', None),
        ('4', None), ('x', None)])
def test_kannel_dlr(type_, state):
    kannel, _ = client('kannel', None)
    assert kannel.parse_status({'ref': '42', 'type': type_, 'reply': 'r'}) == (
        '42', state, 'r')


# -- Aliyun -------------------------------------------------------------------

def test_aliyun_request_and_signature():
    answer = Response(200, json.dumps(
            {'Code': 'OK', 'BizId': '900619746936498440^0'}).encode())
    aliyun, transport = client(
        'aliyun', answer, url='http://127.0.0.1:9', sign_name='阿里云短信测试',
        username='LTAIkey')
    result = aliyun.send(outgoing(
            template_code='SMS_154950909',
            params={'name': '王芳', 'code': '1234'}))
    assert result.provider_id == '900619746936498440^0'
    request, = transport.requests
    assert request.method == 'POST'
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert query['PhoneNumbers'] == '13798312311'
    assert query['SignName'] == '阿里云短信测试'
    assert query['TemplateCode'] == 'SMS_154950909'
    assert json.loads(query['TemplateParam']) == {'name': '王芳', 'code': '1234'}
    headers = request.headers
    assert headers['x-acs-action'] == 'SendSms'
    assert headers['x-acs-version'] == '2017-05-25'
    assert headers['host'] == '127.0.0.1:9'
    assert verify_acs3(request, 'secret')
    assert not verify_acs3(request, 'other secret')


def verify_acs3(request, secret):
    "Recompute the signature the way Aliyun's documentation describes it"
    from urllib.parse import quote
    auth = request.headers['Authorization']
    algo, rest = auth.split(' ', 1)
    parts = dict(p.split('=', 1) for p in rest.split(','))
    names = parts['SignedHeaders'].split(';')
    query = parse_qs(urlsplit(request.url).query, keep_blank_values=True)
    canonical_query = '&'.join(
        quote(k, safe='~') + '=' + quote(v[0], safe='~')
        for k, v in sorted(query.items()))
    lower = {k.lower(): v for k, v in request.headers.items()}
    canonical = '\n'.join([
            'POST', '/', canonical_query,
            ''.join(n + ':' + lower[n].strip() + '\n' for n in names),
            ';'.join(names), hashlib.sha256(request.body).hexdigest()])
    string = algo + '\n' + hashlib.sha256(canonical.encode()).hexdigest()
    expected = hmac.new(
        secret.encode(), string.encode(), hashlib.sha256).hexdigest()
    return algo == 'ACS3-HMAC-SHA256' and parts['Signature'] == expected


@pytest.mark.parametrize('code,error', [
        ('isv.MOBILE_NUMBER_ILLEGAL', RejectedError),
        ('isv.BUSINESS_LIMIT_CONTROL', TransientError),
        ])
def test_aliyun_errors(code, error):
    aliyun, _ = client('aliyun', Response(200, json.dumps(
                {'Code': code, 'Message': 'no'}).encode()))
    with pytest.raises(error) as info:
        aliyun.send(outgoing(template_code='SMS_1'))
    assert info.value.code == code


def test_aliyun_needs_template_code():
    aliyun, transport = client('aliyun', None)
    with pytest.raises(RejectedError):
        aliyun.send(outgoing())
    assert not transport.requests


# -- Tencent ------------------------------------------------------------------

def test_tencent_request_and_signature():
    answer = Response(200, json.dumps({'Response': {
                    'SendStatusSet': [{
                            'SerialNo': '2028:f825e6b16e23f73f4123',
                            'PhoneNumber': '+8613798312311', 'Code': 'Ok'}],
                    'RequestId': 'a0aabda6'}}).encode())
    tencent, transport = client(
        'tencent', answer, url='http://127.0.0.1:9', app_id='1400006666',
        sign_name='腾讯云', username='AKIDz8krbsJ5', password='Gu5t9xGAR')
    result = tencent.send(outgoing(
            template_code='449739', params={'name': '王芳', 'date': '5月1日'}))
    assert result.provider_id == '2028:f825e6b16e23f73f4123'
    request, = transport.requests
    body = json.loads(request.body)
    assert body == {
        'PhoneNumberSet': ['+8613798312311'], 'SmsSdkAppId': '1400006666',
        'SignName': '腾讯云', 'TemplateId': '449739',
        'TemplateParamSet': ['王芳', '5月1日'], 'SessionContext': '42'}
    assert request.headers['X-TC-Action'] == 'SendSms'
    assert request.headers['X-TC-Version'] == '2021-01-11'
    assert verify_tc3(request, 'Gu5t9xGAR')
    assert not verify_tc3(request, 'wrong')


def verify_tc3(request, secret_key):
    "Recompute TC3-HMAC-SHA256 as in Tencent Cloud's API documentation"
    import datetime as dt
    h = request.headers
    timestamp = int(h['X-TC-Timestamp'])
    date = dt.datetime.utcfromtimestamp(timestamp).strftime('%Y-%m-%d')
    canonical = ('POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s'
        % (h['Content-Type'], h['Host'],
            hashlib.sha256(request.body).hexdigest()))
    scope = date + '/sms/tc3_request'
    to_sign = 'TC3-HMAC-SHA256\n%s\n%s\n%s' % (
        timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest())

    def sign(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()
    key = sign(sign(sign(('TC3' + secret_key).encode(), date), 'sms'),
        'tc3_request')
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return h['Authorization'].endswith('Signature=' + signature) and (
        'Credential=AKIDz8krbsJ5/' + scope) in h['Authorization']


def test_tencent_errors():
    tencent, _ = client('tencent', Response(200, json.dumps({'Response': {
                    'SendStatusSet': [{'Code': 'InvalidParameterValue.'
                            'IncorrectPhoneNumber', 'Message': 'bad'}]}}
                ).encode()))
    with pytest.raises(RejectedError):
        tencent.send(outgoing(template_code='1'))
    tencent, _ = client('tencent', Response(200, json.dumps({'Response': {
                    'Error': {'Code': 'RequestLimitExceeded', 'Message': 'x'}}}
                ).encode()))
    with pytest.raises(TransientError):
        tencent.send(outgoing(template_code='1'))


# -- Twilio -------------------------------------------------------------------

def test_twilio_request():
    twilio, transport = client(
        'twilio', Response(201, json.dumps(
                {'sid': 'SM123', 'status': 'queued'}).encode()),
        url='http://127.0.0.1:9', username='AC1', password='token',
        sender='+15005550006')
    result = twilio.send(outgoing(callback_url='http://crm/cb?ref=42'))
    assert result.provider_id == 'SM123'
    request, = transport.requests
    assert request.url == 'http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json'
    assert request.auth == ('AC1', 'token')
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert form == {'To': '+8613798312311', 'Body': 'hello',
        'From': '+15005550006', 'StatusCallback': 'http://crm/cb?ref=42'}


def test_twilio_status():
    twilio, _ = client('twilio', None)
    assert twilio.parse_status({'MessageSid': 'SM1',
            'MessageStatus': 'undelivered', 'ErrorCode': '30003'}) == (
        'SM1', 'failed', 'undelivered (30003)')
    assert twilio.parse_status({'MessageSid': 'SM1',
            'MessageStatus': 'delivered'})[1] == 'delivered'
    signature = twilio.signature('token', 'http://x/cb', {'b': '2', 'a': '1'})
    expected = __import__('base64').b64encode(hmac.new(
            b'token', b'http://x/cba1b2', hashlib.sha1).digest()).decode()
    assert signature == expected


def test_twilio_rejected():
    twilio, _ = client('twilio', Response(400, json.dumps(
                {'code': 21211, 'message': 'Invalid To'}).encode()))
    with pytest.raises(RejectedError) as info:
        twilio.send(outgoing())
    assert info.value.code == '21211'


# -- transport and registry ----------------------------------------------------

def test_real_transport_connection_refused_is_transient():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    kannel = providers.get('kannel')(
        {'url': 'http://127.0.0.1:%s/cgi-bin/sendsms' % port, 'timeout': 2})
    with pytest.raises(TransientError):
        kannel.send(outgoing())


class _Silent:
    """A local HTTP peer that reads the request and then either closes the
    connection without answering or keeps silent"""

    def __init__(self, close):
        self.close = close
        self.received = []
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        connection, _ = self.sock.accept()
        with connection:
            self.received.append(connection.recv(65536))
            if not self.close:
                connection.recv(1)  # until the client gives up

    def stop(self):
        self.sock.close()
        self.thread.join(10)


@pytest.mark.parametrize('close', [True, False], ids=['dropped', 'silent'])
def test_real_transport_request_sent_is_uncertain(close):
    "A connection dropped or silent once the request was sent: not resent"
    peer = _Silent(close)
    try:
        kannel = providers.get('kannel')({'timeout': 1,
                'url': 'http://127.0.0.1:%s/cgi-bin/sendsms' % peer.port})
        with pytest.raises(UncertainError):
            kannel.send(outgoing())
    finally:
        peer.stop()
    request, = peer.received
    assert request.startswith(b'GET /cgi-bin/sendsms?')


def test_real_transport_connect_timeout_is_transient():
    "A connection that cannot be made in time: nothing left, try again"
    import requests
    transport = providers.RequestsTransport(timeout=1)

    def refuse(*args, **kwargs):
        raise requests.ConnectTimeout('connect timeout')
    transport.session.request = refuse
    with pytest.raises(TransientError):
        transport.send(providers.Request('GET', 'http://192.0.2.1/'))


def test_registry():
    assert providers.kinds() == [
        'aliyun', 'kannel', 'log', 'tencent', 'twilio']
    assert providers.get('log')({}).send(outgoing()).provider_id
    assert providers.selection() == [
        ('aliyun', "Aliyun SMS"), ('kannel', "Kannel (HTTP/SMPP)"),
        ('log', "Log (development)"), ('tencent', "Tencent Cloud SMS"),
        ('twilio', "Twilio")]
    assert providers.kinds(setting='app_id') == ['tencent', 'twilio']
    assert providers.kinds(setting='password') == [
        'aliyun', 'kannel', 'tencent', 'twilio']


def test_register_a_provider():
    "A provider is one client class and its registration"
    from sms_gateway.providers import base

    @providers.register('example', "Example SMS")
    class ExampleClient(base.Client):
        gateway_fields = ('username', 'password', 'region')

        def send(self, outgoing):
            return providers.SendResult(provider_id='ex-1')
    try:
        assert ('example', "Example SMS") in providers.selection()
        assert 'example' in providers.kinds(setting='region')
        assert providers.get('example')(
            {}, transport=FakeTransport()).send(outgoing()).provider_id == (
            'ex-1')
    finally:
        del base._REGISTRY['example']


def test_twilio_callback_signature():
    "With an auth token, a status callback must carry Twilio's signature"
    twilio, _ = client('twilio', None, password='token')
    url = 'http://crm/db/sms_gateway/status/1?secret=s&ref=42'
    form = {'MessageSid': 'SM1', 'MessageStatus': 'delivered'}
    signed = {'X-Twilio-Signature': twilio.signature('token', url, form)}
    assert twilio.check_callback(url, form, signed)
    assert not twilio.check_callback(url, form, {})
    assert not twilio.check_callback(
        url, {**form, 'MessageStatus': 'failed'}, signed)
    assert not twilio.check_callback(url.replace('42', '43'), form, signed)
    # without an auth token only the callback secret protects it
    assert client('twilio', None, password='')[0].check_callback(url, form, {})
    assert client('kannel', None)[0].check_callback(url, {}, {})
