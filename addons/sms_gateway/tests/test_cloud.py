# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The cloud clients over real HTTP against a local server that checks the
request shape and signatures the providers document"""
import pytest

from sms_gateway import providers
from sms_gateway.providers import Outgoing, RejectedError

from testing.cloud_server import CloudServer

pytestmark = pytest.mark.fast

SECRETS = {
    'aliyun': ('LTAI5tKey', 'aliyun-secret'),
    'tencent': ('AKIDtencent', 'tencent-secret-key'),
    'twilio': ('AC0123456789abcdef', 'twilio-token'),
    }


@pytest.fixture(scope='module')
def server():
    with CloudServer(SECRETS) as server:
        yield server


def client(kind, server, **settings):
    key, secret = SECRETS[kind]
    return providers.get(kind)(dict({
                'url': server.url, 'username': key, 'password': secret,
                'timeout': 5}, **settings))


def message(**values):
    return Outgoing(**dict({'reference': '7', 'to': '+8613798312311',
                'text': '王芳您好', 'template_code': 'SMS_1',
                'params': {'name': '王芳', 'date': '5月1日'}}, **values))


def test_aliyun(server):
    aliyun = client('aliyun', server, sign_name='示范培训')
    result = aliyun.send(message())
    assert result.provider_id.endswith('^0')
    kind, params = server.received[-1]
    assert kind == 'aliyun'
    assert params['PhoneNumbers'] == '13798312311'
    assert params['SignName'] == '示范培训'
    assert params['TemplateParam'] == '{"name":"王芳","date":"5月1日"}'
    with pytest.raises(RejectedError) as info:
        aliyun.send(message(to='+8613800000000'))
    assert info.value.code == 'isv.MOBILE_NUMBER_ILLEGAL'


def test_aliyun_wrong_secret_refused(server):
    aliyun = client('aliyun', server, sign_name='x', password='wrong')
    with pytest.raises(RejectedError) as info:
        aliyun.send(message())
    assert info.value.code == 'IncompleteSignature'


def test_tencent(server):
    tencent = client('tencent', server, app_id='1400000001', sign_name='示范')
    result = tencent.send(message(template_code='1234567'))
    assert result.provider_id.startswith('2028:')
    kind, params = server.received[-1]
    assert (kind, params['TemplateParamSet']) == ('tencent', ['王芳', '5月1日'])
    assert params['PhoneNumberSet'] == ['+8613798312311']
    with pytest.raises(RejectedError) as info:
        tencent.send(message(to='+8613800000000'))
    assert info.value.code == 'InvalidParameterValue.IncorrectPhoneNumber'
    wrong = client('tencent', server, app_id='1', sign_name='x',
        password='wrong')
    with pytest.raises(RejectedError) as info:
        wrong.send(message())
    assert info.value.code == 'AuthFailure.SignatureFailure'


def test_twilio(server):
    twilio = client('twilio', server, sender='+15005550006')
    result = twilio.send(message(
            to='+14155550100', callback_url='http://crm/cb?ref=7'))
    assert result.provider_id.startswith('SM')
    kind, form = server.received[-1]
    assert form['StatusCallback'] == 'http://crm/cb?ref=7'
    assert form['Body'] == '王芳您好'
    with pytest.raises(RejectedError) as info:
        twilio.send(message(to='+8613800000000'))
    assert info.value.code == '21211'
    with pytest.raises(RejectedError):
        client('twilio', server, password='wrong').send(message())
