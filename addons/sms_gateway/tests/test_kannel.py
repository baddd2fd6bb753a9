# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Integration: trytond serving sms_gateway, and Kannel (bearerbox, smsbox,
fakesmsc from Debian) on loopback. Messages leave through Kannel's sendsms,
delivery reports and inbound messages come back into trytond's routes.

A second gateway routes through Kannel's SMPP client (``smsc = smpp``, a
carrier's "106" channel) to a scripted SMPP 3.4 SMSC (``smpp_smsc.py``),
which refuses or fails some numbers: the failure reports come back too.

The daemons are started once for the module and stopped at its end."""
import time
import urllib.parse

import pytest
import requests
from proteus import Model, Wizard
from proteus import config as pconfig

from testing.sms_peers import Kannel, served_database, stop, ucs2
from testing.smpp_smsc import SMSC

# real peers run once, in the PostgreSQL pass, against the database users
# run in production
pytestmark = pytest.mark.postgresql

CHINESE = '王芳您好：周六上午十点试听课，欢迎光临！退订回TD'
REJECTED = '8613900000001'  # the SMSC refuses it: invalid destination
UNDELIVERABLE = '8613900000002'  # accepted, then not delivered
# the administrator types the secret he gives to Kannel: it is never read
# back from the gateway
SECRET = 'kannel-callback-secret'


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    log = tmp_path_factory.mktemp('sms') / 'trytond.log'
    previous = getattr(pconfig._CONFIG, 'current', None)
    with served_database(log_path=log) as (url, database):
        config = pconfig.set_xmlrpc(
            '%s/%s/rpc/' % (url.replace('http://', 'http://admin:admin@'),
                database))
        Gateway = Model.get('sms.gateway', config=config)
        Configuration = Model.get('sms.configuration', config=config)
        gateway = Gateway(name='Kannel', kind='kannel', callback_url=url,
            sender='10690123', callback_secret_input=SECRET)
        gateway.save()
        sms_config = Configuration(1)
        sms_config.gateway = gateway
        sms_config.quiet_start = sms_config.quiet_end = None
        sms_config.save()
        inbound = '%s/%s/sms_gateway/inbound/%s?secret=%s' % (
            url, database, gateway.id, SECRET)
        with SMSC(system_id='crm', password='secret', reject=[REJECTED],
                undeliverable=[UNDELIVERABLE]) as smsc, \
                Kannel(inbound_url=inbound, smpp_port=smsc.port) as kannel:
            gateway.url = kannel.sendsms_url
            gateway.username = kannel.username
            gateway.password_input = kannel.password
            gateway.save()
            channel = Gateway(name='106 通道', kind='kannel', callback_url=url,
                sender='10690123', smsc='smpp', url=kannel.sendsms_url,
                username=kannel.username, password_input=kannel.password)
            channel.save()
            try:
                yield {'config': config, 'url': url, 'database': database,
                    'gateway': gateway, 'kannel': kannel, 'log': log,
                    'channel': channel, 'smsc': smsc}
            finally:
                pconfig._CONFIG.current = previous


def party(stack, name, number):
    Party = Model.get('party.party', config=stack['config'])
    party = Party(name=name)
    mechanism = party.contact_mechanisms.new()
    mechanism.type = 'mobile'
    mechanism.value = number
    party.save()
    return party


def send(stack, parties, text, gateway=None):
    config = stack['config']
    wizard = Wizard('sms.send', parties, config=config)
    wizard.form.kind = 'notification'
    wizard.form.text = text
    if gateway:
        wizard.form.gateway = gateway
    wizard.execute('send')
    Message = Model.get('sms.message', config=config)
    return Message.find([('party', 'in', [p.id for p in parties])])


def wait_state(message, states, timeout=120, kannel=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message.reload()
        if message.state in states:
            return message
        time.sleep(0.2)
    logs = kannel.logs() if kannel else ''
    raise AssertionError('%s still %s (%s)\n%s' % (
            message.id, message.state, message.error, logs))


def test_send_chinese_and_delivery_report(stack):
    "A Chinese text reaches the SMSC as UCS-2 and its DLR marks it delivered"
    customer = party(stack, '王芳', '+8613798312311')
    message, = send(stack, [customer], CHINESE)
    wait_state(message, {'delivered'})
    assert message.sent_at and message.delivered_at
    assert message.attempts == 1
    received = stack['kannel'].fakesmsc_received()
    assert ('10690123', '+8613798312311', CHINESE) in received
    assert received.count(('10690123', '+8613798312311', CHINESE)) == 1


def test_smpp_channel_delivers_chinese(stack):
    "Through Kannel's SMPP client: UCS-2 at the SMSC, receipt DELIVRD"
    smsc = stack['smsc']
    deadline = time.monotonic() + 90
    while not smsc.binds:
        assert time.monotonic() < deadline, stack['kannel'].logs()
        time.sleep(0.2)
    customer = party(stack, '刘洋', '+8613798312388')
    message, = send(stack, [customer], CHINESE, gateway=stack['channel'])
    wait_state(message, {'delivered'}, kannel=stack['kannel'])
    assert message.gateway == stack['channel']
    submitted = [f for f in smsc.submitted
        if f['destination_addr'].endswith('13798312388')]
    assert len(submitted) == 1
    assert submitted[0]['data_coding'] == 8
    assert submitted[0]['text'] == CHINESE
    assert submitted[0]['source_addr'] == '10690123'
    assert submitted[0]['registered_delivery'] & 0x01
    # the fake SMSC of the other gateway got nothing of it
    assert CHINESE not in [t for _, to, t in
        stack['kannel'].fakesmsc_received() if to.endswith('13798312388')]


def test_smpp_refused_and_undelivered(stack):
    "An SMSC refusal (NACK) and an UNDELIV receipt fail the message"
    customers = [party(stack, '拒收号码', '+' + REJECTED),
        party(stack, '关机号码', '+' + UNDELIVERABLE)]
    messages = send(stack, customers, 'smpp failure reports',
        gateway=stack['channel'])
    by_party = {m.party.id: m for m in messages}
    refused = wait_state(by_party[customers[0].id], {'failed'},
        kannel=stack['kannel'])
    assert '0x0000000b' in refused.status_detail.lower(), \
        refused.status_detail
    assert refused.error
    undelivered = wait_state(by_party[customers[1].id], {'failed'},
        kannel=stack['kannel'])
    assert 'UNDELIV' in undelivered.status_detail, undelivered.status_detail
    # each was sent once: no retry of a message the SMSC answered
    assert [m.attempts for m in (refused, undelivered)] == [1, 1]


def test_gateway_down_then_up(stack):
    "While smsbox is down the message waits; once it is up it is sent"
    kannel = stack['kannel']
    customer = party(stack, '张敏', '+8613922223333')
    kannel.stop_smsbox()
    try:
        message, = send(stack, [customer], 'down then up')
        message.reload()
        assert message.state == 'queued', message.error
        assert message.attempts == 1
        assert 'will try again' in message.error
        assert message.scheduled_at
    finally:
        kannel.start_smsbox()
    message.click('retry')  # "send now" rather than waiting for the cron
    wait_state(message, {'delivered'}, kannel=kannel)
    assert message.attempts == 2
    texts = [t for _, _, t in kannel.fakesmsc_received()]
    assert texts.count('down then up') == 1


def test_forged_callbacks_refused(stack):
    "Callbacks with a wrong secret or an unknown gateway are refused"
    customer = party(stack, '杨帆', '+8613933334444')
    message, = send(stack, [customer], 'forged')
    wait_state(message, {'delivered'})
    gateway = stack['gateway']
    base = '%s/%s/sms_gateway/status/' % (stack['url'], stack['database'])
    query = {'ref': message.id, 'type': 2, 'reply': 'forged'}
    bad_secret = requests.get(base + str(gateway.id), params={
            **query, 'secret': 'guess'}, timeout=10)
    assert bad_secret.status_code == 403
    no_secret = requests.get(base + str(gateway.id), params=query, timeout=10)
    assert no_secret.status_code == 403
    unknown = requests.get(base + '999999', params={
            **query, 'secret': SECRET}, timeout=10)
    assert unknown.status_code == 403
    message.reload()
    assert message.state == 'delivered'
    inbound = requests.get('%s/%s/sms_gateway/inbound/%s?%s' % (
            stack['url'], stack['database'], gateway.id,
            urllib.parse.urlencode({'secret': 'x', 'from': '1', 'text': 'T'})),
        timeout=10)
    assert inbound.status_code == 403
    assert 'refused SMS callback' in stack['log'].read_text()


def test_inbound_reply_opts_out(stack):
    """A reply 退订 from a customer is stored, linked and opts him out

    (last of the module: it reconnects the fake SMSC)"""
    customer = party(stack, '李强', '+8613911112222')
    kannel = stack['kannel']
    # the fake SMSC takes one client: this one sends the reply
    kannel.stop_fakesmsc()
    mo = kannel.start_fakesmsc(
        '+8613911112222 10690123 ucs2 %s' % ucs2('退订'), count=1)
    Inbound = Model.get('sms.inbound', config=stack['config'])
    deadline = time.monotonic() + 90
    try:
        while not (inbound := Inbound.find(
                    [('number', '=', '+8613911112222')])):
            assert time.monotonic() < deadline, 'no inbound message'
            time.sleep(0.2)
    finally:
        stop(mo)
        kannel.start_fakesmsc()
    inbound, = inbound
    assert inbound.text == '退订'
    assert inbound.party == customer
    assert inbound.opt_out
    OptOut = Model.get('sms.opt_out', config=stack['config'])
    assert OptOut.find([('number', '=', '+8613911112222')])
