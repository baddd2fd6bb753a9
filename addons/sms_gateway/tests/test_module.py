# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import json
from contextlib import contextmanager
from urllib.parse import urlsplit

from trytond import config
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, ModuleTestCase, with_transaction)
from trytond.transaction import Transaction

from sms_gateway import providers
from sms_gateway.providers import (
    FakeTransport, Response, TransientError, UncertainError)
from sms_gateway.providers.twilio import TwilioClient


class WorkerDied(BaseException):
    "Simulates a worker killed right after the gateway accepted"


@contextmanager
def fake_transport(handler):
    Gateway = Pool().get('sms.gateway')
    transport = FakeTransport(handler)
    original = Gateway._transport
    Gateway._transport = lambda self: transport
    try:
        yield transport
    finally:
        Gateway._transport = original


@contextmanager
def worker_configured():
    "As when trytond-worker processes run the queue"
    previous = config.get('queue', 'worker', default='False')
    config.set('queue', 'worker', 'True')
    try:
        yield
    finally:
        config.set('queue', 'worker', previous)


@contextmanager
def committed_before_first_update(table, commit):
    """Run ``commit`` (another callback's report) right before the first
    ``UPDATE`` of ``table`` this transaction executes.

    That is where SQLite takes the write lock: its transactions read
    without it, so what another connection committed between a read and
    the first write is seen by the write but not by the read."""
    transaction = Transaction()
    connection = transaction.connection
    pending = [commit]

    class Cursor:
        def __init__(self, cursor):
            self._cursor = cursor

        def execute(self, query, *args, **kwargs):
            if (pending and query.lstrip().upper().startswith('UPDATE')
                    and '"%s"' % table in query):
                pending.pop()()
            return self._cursor.execute(query, *args, **kwargs)

        def __iter__(self):
            return iter(self._cursor)

        def __getattr__(self, name):
            return getattr(self._cursor, name)

    class Connection:
        def cursor(self, *args, **kwargs):
            return Cursor(connection.cursor(*args, **kwargs))

        def __getattr__(self, name):
            return getattr(connection, name)

    transaction.connection = Connection()
    try:
        yield
    finally:
        transaction.connection = connection
    assert not pending, "no UPDATE of %s" % table


def accepted(request):
    return Response(202, b'0: Accepted for delivery')


def tencent_accepted(request):
    return Response(200, json.dumps({'Response': {'SendStatusSet': [{
                        'Code': 'Ok', 'SerialNo': '2028:%s' % len(
                            request.body)}], 'RequestId': 'r'}}).encode())


def call_route(url, method='GET', **kwargs):
    """Call trytond's WSGI application at ``url`` (a callback address) in
    this process, outside any transaction, as the gateway would"""
    from werkzeug.test import Client
    from trytond.wsgi import app
    url = urlsplit(url)
    return Client(app).open(url.path, method=method,
        query_string=url.query, base_url='%s://%s' % (url.scheme, url.netloc),
        **kwargs)


class SmsGatewayTestCase(CompanyTestMixin, ModuleTestCase):
    "Test sms_gateway module"
    module = 'sms_gateway'
    extras = ['telesales_pipeline']

    def setup_sms(self, quiet=False):
        pool = Pool()
        Gateway = pool.get('sms.gateway')
        Configuration = pool.get('sms.configuration')
        Party = pool.get('party.party')
        gateway = Gateway(name='Kannel', kind='kannel',
            url='http://127.0.0.1:1/cgi-bin/sendsms',
            callback_url='http://crm.test:8000')
        gateway.save()
        config = Configuration(1)
        config.gateway = gateway
        config.timezone = 'Asia/Shanghai'
        if not quiet:
            config.quiet_start = config.quiet_end = None
        config.save()
        party = Party(name='王芳', contact_mechanisms=[
                {'type': 'phone', 'value': '+8657983710010'},
                {'type': 'mobile', 'value': '+8613798312311'}])
        party.save()
        return gateway, party

    def template(self, **values):
        Template = Pool().get('sms.template')
        template = Template(name='Promo', kind='marketing',
            content='${name}您好，${company}欢迎您')
        for k, v in values.items():
            setattr(template, k, v)
        template.save()
        return template

    @with_transaction()
    def test_prepare_renders_and_refuses(self):
        "Messages are rendered per party; bad or opted-out numbers refused"
        pool = Pool()
        Message = pool.get('sms.message')
        OptOut = pool.get('sms.opt_out')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            gateway, party = self.setup_sms()
            landline = Party(name='座机', contact_mechanisms=[
                    {'type': 'phone', 'value': '+8657983710010'}])
            landline.save()
            nobody = Party(name='无号码')
            nobody.save()
            OptOut.create([{'number': '13911112222'}])
            messages = Message.prepare(
                parties=[party, landline, nobody],
                numbers=['13911112222', '13922223333', '12345'],
                template=self.template())
        by_number = {m.number: m for m in messages}
        self.assertEqual(len(messages), 6)
        ok = by_number['+8613798312311']
        self.assertEqual(ok.state, 'queued')
        self.assertEqual(ok.text, '王芳您好，%s欢迎您' % company.rec_name)
        self.assertEqual(ok.party, party)
        self.assertEqual(by_number['+8657983710010'].state, 'refused')
        self.assertIn('not a mobile', by_number['+8657983710010'].error)
        self.assertEqual(by_number[None].state, 'refused')
        self.assertEqual(by_number[None].error, 'No mobile number.')
        self.assertEqual(by_number['+8613911112222'].state, 'refused')
        self.assertIn('opted out', by_number['+8613911112222'].error)
        self.assertEqual(by_number['+8613922223333'].state, 'queued')
        self.assertEqual(by_number['12345'].state, 'refused')
        # notifications are not marketing: the opt-out does not block them
        notice, = Message.prepare(numbers=['13911112222'], text='课程提醒',
            kind='notification')
        self.assertEqual(notice.state, 'queued')

    @with_transaction()
    def test_send_to_customer_without_number(self):
        "A customer without a number gets a refused message; others are sent"
        pool = Pool()
        Message = pool.get('sms.message')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            gateway, party = self.setup_sms()
            nobody = Party(name='无号码')
            nobody.save()
            for store in [
                    lambda **k: Message.queue(Message.prepare(**k)),
                    lambda **k: Message.send(Message.compose(**k))]:
                messages = store(parties=[party, nobody], text='课程提醒',
                    kind='notification')
                self.assertEqual(
                    sorted((m.party.name, m.state, m.error or '')
                        for m in Message.browse(messages)),
                    [('无号码', 'refused', 'No mobile number.'),
                        ('王芳', 'queued', '')])

    @with_transaction()
    def test_rate_limit_per_number(self):
        "A number gets at most rate_limit marketing messages per period"
        pool = Pool()
        Message = pool.get('sms.message')
        Configuration = pool.get('sms.configuration')
        company = create_company()
        with set_company(company):
            self.setup_sms()
            # a number of its own: other tests commit messages (the
            # at-most-once claim) to the default party's number
            party = Pool().get('party.party')(name='限频', contact_mechanisms=[
                    {'type': 'mobile', 'value': '+8613755501234'}])
            party.save()
            config = Configuration(1)
            self.assertEqual((config.rate_limit, config.rate_period), (2, 24))
            template = self.template()
            first, = Message.queue(Message.prepare(
                    parties=[party], template=template))
            # the same number twice in one batch: the second is over
            second, third = Message.prepare(
                parties=[party], numbers=['13755501234'], template=template)
            self.assertEqual((first.state, second.state), ('queued', 'queued'))
            self.assertEqual(third.state, 'refused')
            self.assertIn('already received 2 marketing messages in the '
                'last 24 hours', third.error)
            Message.queue([second, third])
            # notifications are not limited
            notice, = Message.prepare(
                parties=[party], text='课程提醒', kind='notification')
            self.assertEqual(notice.state, 'queued')
            # refused and cancelled messages do not count; an older one
            # leaves the period
            Message.cancel([second])
            again, = Message.prepare(parties=[party], template=template)
            self.assertEqual(again.state, 'queued')
            config.rate_period = 1
            config.save()
            table = Message.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update([table.create_date],
                    [dt.datetime.now() - dt.timedelta(hours=2)]))
            self.assertEqual(
                [m.state for m in Message.prepare(
                        parties=[party], numbers=['+8613755501234'],
                        template=template)],
                ['queued', 'queued'])
            # no limit at all
            config.rate_limit = None
            config.save()
            self.assertEqual(
                {m.state for m in Message.prepare(
                        numbers=['13755501234'] * 5, template=template)},
                {'queued'})

    @with_transaction()
    def test_template_language_validated(self):
        "Unknown merge fields and code in templates are refused"
        create_company()
        with self.assertRaises(ValidationError):
            self.template(content='${party.name}')
        with self.assertRaises(ValidationError):
            self.template(content='${unknown}')
        with self.assertRaises(ValidationError):
            self.template(provider_params='name,unknown')
        template = self.template(provider_params='name, company')
        self.assertEqual(template.param_names(), ['name', 'company'])

    @with_transaction()
    def test_template_preview(self):
        "The preview renders the template for a chosen customer"
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            template = self.template(content='${name}：$$5 优惠 ${date}')
            template.preview_party = party
            self.assertEqual(template.on_change_with_preview(),
                '王芳：$5 优惠 %s' % dt.date.today().isoformat())
            self.assertIn('${name}', template.merge_fields)

    @with_transaction()
    def test_send_once(self):
        "A queued message is sent once and its DLR marks it delivered"
        Message = Pool().get('sms.message')
        company = create_company()
        with set_company(company):
            gateway, party = self.setup_sms()
            message, = Message.queue(Message.prepare(
                    parties=[party], text='你好', kind='notification'))
            with fake_transport(accepted) as transport:
                Message.process([message])
                Message.process([message])
            self.assertEqual(len(transport.requests), 1)
            self.assertIn('ref%%3D%s' % message.id, transport.requests[0].url)
            self.assertIn('secret%3D', transport.requests[0].url)
            message = Message(message.id)
            self.assertEqual(message.state, 'sent')
            self.assertEqual(message.attempts, 1)
            Message.record_status(gateway, str(message.id), 'delivered',
                'id:1 stat:DELIVRD')
            self.assertEqual(Message(message.id).state, 'delivered')
            self.assertEqual(
                list(party.sms_messages), [Message(message.id)])

    @with_transaction()
    def test_ack_after_concurrent_final_report(self):
        "An SMSC ack read before a final report never overwrites it"
        Message = Pool().get('sms.message')
        company = create_company()
        with set_company(company):
            gateway, party = self.setup_sms()
            messages = Message.queue(Message.prepare(
                    numbers=['+8613900003333', '+8613900004444'],
                    text='回执竞争', kind='notification'))
            with fake_transport(accepted):
                Message.process(messages)
            for message, final, detail in zip(messages,
                    ['failed', 'delivered'],
                    ['id:1 stat:UNDELIV err:001', 'id:2 stat:DELIVRD']):
                # Kannel calls back the ack and the final report together:
                # the ack has read the message (sent) when the final report
                # is committed, before its own write
                def final_report():
                    Message.record_status(
                        gateway, str(message.id), final, detail)
                with committed_before_first_update(
                        Message._table, final_report):
                    Message.record_status(
                        gateway, str(message.id), None, 'ACK/')
                message = Message(message.id)
                self.assertEqual(
                    (message.state, message.status_detail), (final, detail))

                # and in sequence, whichever comes first
                Message.record_status(gateway, str(message.id), None,
                    'BUFFERED')
                message = Message(message.id)
                self.assertEqual(
                    (message.state, message.status_detail), (final, detail))

    @with_transaction()
    def test_ack_then_final_report(self):
        "An SMSC ack then the final report: the final state and detail"
        Message = Pool().get('sms.message')
        company = create_company()
        with set_company(company):
            gateway, party = self.setup_sms()
            message, = Message.queue(Message.prepare(
                    parties=[party], text='先确认后失败',
                    kind='notification'))
            with fake_transport(accepted):
                Message.process([message])
            Message.record_status(gateway, str(message.id), None, 'ACK/')
            message = Message(message.id)
            self.assertEqual(
                (message.state, message.status_detail), ('sent', 'ACK/'))
            Message.record_status(
                gateway, str(message.id), 'failed', 'stat:UNDELIV')
            message = Message(message.id)
            self.assertEqual((message.state, message.status_detail),
                ('failed', 'stat:UNDELIV'))
            self.assertIn('UNDELIV', message.error)

    @with_transaction()
    def test_report_before_answer_kept(self):
        "A delivery report recorded while the task sends is not overwritten"
        Message = Pool().get('sms.message')
        company = create_company()
        with set_company(company):
            gateway, party = self.setup_sms()
            first, second = Message.queue(Message.prepare(
                    numbers=['+8613900001111', '+8613900002222'],
                    text='先到的回执', kind='notification'))

            def report_first(request):
                # Kannel reports the first message before the task is done
                if 'ref%%3D%s%%26' % first.id in request.url:
                    Message.record_status(
                        gateway, str(first.id), 'delivered', 'DELIVRD')
                return accepted(request)
            with fake_transport(report_first) as transport:
                Message.process([first, second])
            self.assertEqual(len(transport.requests), 2)
            first, second = Message(first.id), Message(second.id)
            self.assertEqual(
                (first.state, first.status_detail), ('delivered', 'DELIVRD'))
            self.assertIsNotNone(first.sent_at)
            self.assertEqual(second.state, 'sent')

    @with_transaction()
    def test_worker_dies_after_gateway_accepted(self):
        "A retried task does not send again what the gateway accepted"
        Message = Pool().get('sms.message')
        company = create_company()
        with set_company(company):
            gateway, party = self.setup_sms()
            message, = Message.queue(Message.prepare(
                    parties=[party], text='只发一次', kind='notification'))

            def accept_then_die(request):
                raise WorkerDied  # the gateway has it; the worker is gone
            with fake_transport(accept_then_die) as transport:
                with self.assertRaises(WorkerDied):
                    Message.process([message])
                Transaction().rollback()  # what the dead worker had not saved
                # the task is retried (queue retry or the dispatch cron)
                Message.process([Message(message.id)])
                Message.dispatch_due()
            self.assertEqual(len(transport.requests), 1)
            message = Message(message.id)
            self.assertEqual(message.state, 'sending')
            # later its DLR still arrives through the callback
            Message.record_status(gateway, str(message.id), 'delivered', '')
            self.assertEqual(Message(message.id).state, 'delivered')

    @with_transaction()
    def test_stale_sending_becomes_visible_failure(self):
        "A message left sending by a dead worker fails visibly, unsent"
        pool = Pool()
        Message = pool.get('sms.message')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            message, = Message.queue(Message.prepare(
                    parties=[party], text='x', kind='notification'))
            Message.write([message], {'state': 'sending'})
            Message._fail_stale(dt.datetime.now() + dt.timedelta(hours=1))
            message = Message(message.id)
            self.assertEqual(message.state, 'failed')
            self.assertIn('not sent again', message.error)

    @with_transaction()
    def test_failure_reason_in_senders_language(self):
        """A message sent by the cron (as root) fails with a reason in the
        language of the user who sent it (#16)"""
        pool = Pool()
        Message = pool.get('sms.message')
        Lang = pool.get('ir.lang')
        User = pool.get('res.user')
        company = create_company()
        zh_cn, = Lang.search([('code', '=', 'zh_CN')])
        Lang.load_translations([zh_cn])
        sender = User(login='sender', name='刘洋', language=zh_cn,
            companies=[company], company=company)
        sender.save()
        with set_company(company):
            _, party = self.setup_sms()
            with Transaction().set_user(sender.id):
                message, = Message.queue(Message.prepare(
                        parties=[party], text='x', kind='notification'))

            def down(request):
                raise TransientError('Connection refused')
            Message.write([message], {'attempts': 10})
            with fake_transport(down):
                Message.process([Message(message.id)])
            message = Message(message.id)
            self.assertEqual(message.state, 'failed')
            self.assertIn('网关', message.error)
            self.assertNotIn('refused', message.error)

    @with_transaction()
    def test_gateway_down_retries_with_backoff(self):
        "While the gateway is down, messages wait and back off, then fail"
        pool = Pool()
        Message = pool.get('sms.message')
        Configuration = pool.get('sms.configuration')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            config = Configuration(1)
            config.max_attempts = 3
            config.save()
            message, = Message.queue(Message.prepare(
                    parties=[party], text='x', kind='notification'))

            def down(request):
                raise TransientError('Connection refused')
            delays = []
            with fake_transport(down) as transport:
                for attempt in range(3):
                    before = dt.datetime.now()
                    Message.process([Message(message.id)])
                    message = Message(message.id)
                    if message.state == 'queued':
                        delays.append(message.scheduled_at - before)
                        # its time has come
                        Message.write([message], {'scheduled_at': None})
            self.assertEqual(len(transport.requests), 3)
            self.assertEqual(message.state, 'failed')
            self.assertIn('3 attempts', message.error)
            self.assertEqual(
                [round(d.total_seconds() / 60) for d in delays], [1, 2])
            # back up: the user sends it again
            Message.retry([message])
            with fake_transport(accepted):
                Message.process([Message(message.id)])
            self.assertEqual(Message(message.id).state, 'sent')

    @with_transaction()
    def test_quiet_hours_defer_marketing(self):
        "Marketing waits for the end of quiet hours; notifications do not"
        pool = Pool()
        Message = pool.get('sms.message')
        Configuration = pool.get('sms.configuration')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            config = Configuration(1)
            now = config.local_now()
            # quiet from one hour ago to one hour ahead, local time
            config.quiet_start = (now - dt.timedelta(hours=1)).time()
            config.quiet_end = (now + dt.timedelta(hours=1)).time()
            config.save()
            promo, = Message.queue(Message.prepare(
                    parties=[party], template=self.template()))
            notice, = Message.queue(Message.prepare(
                    parties=[party], text='提醒', kind='notification'))
            with fake_transport(accepted) as transport:
                Message.process([promo, notice])
            self.assertEqual(len(transport.requests), 1)
            promo, notice = Message(promo.id), Message(notice.id)
            self.assertEqual((promo.state, notice.state), ('queued', 'sent'))
            wait = promo.scheduled_at - dt.datetime.now()
            self.assertTrue(
                dt.timedelta(minutes=55) < wait < dt.timedelta(minutes=61),
                wait)

    @with_transaction()
    def test_quiet_until_wraps_midnight(self):
        "The default quiet hours 21:00-08:00 span midnight"
        Configuration = Pool().get('sms.configuration')
        config = Configuration(1)
        config.timezone = 'Asia/Shanghai'
        config.quiet_start = dt.time(21)
        config.quiet_end = dt.time(8)
        utc = dt.datetime(2026, 11, 22, 14, 30)  # 22:30 in Shanghai
        self.assertEqual(config.quiet_until(utc), dt.datetime(2026, 11, 23, 0))
        self.assertIsNone(config.quiet_until(dt.datetime(2026, 11, 22, 5)))
        self.assertEqual(
            config.quiet_until(dt.datetime(2026, 11, 22, 23, 0)),
            dt.datetime(2026, 11, 23, 0))

    @with_transaction()
    def test_rejected_number_fails_with_reason(self):
        "A gateway refusal fails the message with the provider's reason"
        Message = Pool().get('sms.message')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            message, = Message.queue(Message.prepare(
                    parties=[party], text='x', kind='notification'))
            with fake_transport(lambda r: Response(403, b'Authorization failed')):
                Message.process([message])
            message = Message(message.id)
            self.assertEqual(message.state, 'failed')
            self.assertIn('Authorization failed', message.error)

    @with_transaction()
    def test_scheduled_messages_wait_for_cron(self):
        "A scheduled message is enqueued by the dispatch cron when due"
        Message = Pool().get('sms.message')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            later = dt.datetime.now() + dt.timedelta(hours=2)
            message, = Message.queue(Message.prepare(
                    parties=[party], text='x', kind='notification',
                    scheduled_at=later))
            self.assertIsNone(Message(message.id).dispatched_at)
            Message.dispatch_due()
            self.assertIsNone(Message(message.id).dispatched_at)
            Message.write([message], {
                    'scheduled_at': dt.datetime.now() - dt.timedelta(1)})
            Message.dispatch_due()
            self.assertIsNotNone(Message(message.id).dispatched_at)

    @with_transaction()
    def test_inbound_opt_out(self):
        "A reply 退订 or TD opts the number out and links the party"
        pool = Pool()
        Inbound = pool.get('sms.inbound')
        OptOut = pool.get('sms.opt_out')
        company = create_company()
        with set_company(company):
            gateway, _ = self.setup_sms()
            party = pool.get('party.party')(name='退订者', contact_mechanisms=[
                    {'type': 'mobile', 'value': '+8613700001111'}])
            party.save()
            inbound = Inbound.receive(gateway, '13700001111', '10690', ' 退订 ')
            self.assertEqual(inbound.party, party)
            self.assertTrue(inbound.opt_out)
            opt_out, = OptOut.search([('number', '=', '+8613700001111')])
            self.assertEqual(opt_out.source, 'reply')
            self.assertTrue(party.sms_opted_out)
            Inbound.receive(gateway, '+8613700001111', '10690', 'td')
            self.assertEqual(
                OptOut.search_count([('number', '=', '+8613700001111')]), 1)
            other = Inbound.receive(gateway, '+8613700002222', '', '你好')
            self.assertFalse(other.opt_out)
            self.assertIsNone(other.party)

    @with_transaction()
    def test_birthday_trigger_once(self):
        "The birthday cron queues one greeting per customer per year"
        pool = Pool()
        Message = pool.get('sms.message')
        Trigger = pool.get('sms.trigger')
        company = create_company()
        today = dt.date.today()
        with set_company(company):
            _, party = self.setup_sms()
            party.birthday = today.replace(year=1990)
            party.save()
            template = self.template(
                kind='notification', content='${name}，生日快乐！')
            trigger, = Trigger.create([{'name': '生日', 'event': 'birthday',
                        'template': template.id}])
            Trigger.run()
            Trigger.run()
        message, = Message.search([('origin', '=', str(trigger))])
        self.assertEqual(message.text, '王芳，生日快乐！')
        self.assertEqual(message.party, party)

    @with_transaction()
    def test_send_wizard(self):
        "The send wizard queues one message per ticked party and number"
        pool = Pool()
        Message = pool.get('sms.message')
        Send = pool.get('sms.send', type='wizard')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            template = self.template()
            with Transaction().set_context(
                    active_model='party.party', active_ids=[party.id]):
                session_id, _, _ = Send.create()
                send = Send(session_id)
                defaults = send.default_start(None)
                self.assertEqual(defaults['parties'], [party.id])
                send.start.parties = [party]
                send.start.numbers = '13922223333\n'
                send.start.template = template
                send.start.kind = 'marketing'
                send.start.text = None
                send.start.gateway = None
                send.start.scheduled_at = None
                self.assertEqual(send.start.on_change_with_count(), 2)
                self.assertTrue(
                    send.start.on_change_with_preview().startswith('王芳您好'))
                send.transition_send()
                send.start.numbers = '0579-83710010'
                from trytond.exceptions import UserError
                with self.assertRaises(UserError):
                    send.transition_send()
        self.assertEqual(Message.search_count([('template', '=', template.id)]), 2)

    @with_transaction()
    def test_queue_many(self):
        "A large send is stored in bulk with the values queue stores"
        pool = Pool()
        Message = pool.get('sms.message')
        Queue = pool.get('ir.queue')
        company = create_company()
        with set_company(company):
            self.setup_sms()
            numbers = ['+86139%08d' % i for i in range(601)]
            template = self.template(provider_params='name')
            single, = Message.queue(Message.prepare(
                    numbers=['+8613999999999'], template=template))
            tasks = Queue.search_count([('name', '=', 'sms')])
            messages = Message.send(Message.compose(
                    numbers=numbers, template=template))
        stored = Message.search([('id', 'in', [m.id for m in messages])])
        self.assertEqual(len(stored), 601)
        # the ORM path writes dispatched_at after the creation
        names = [n for n, f in Message._fields.items()
            if not getattr(f, 'getter', None)
            and f._type not in {'one2many', 'many2many'} and n not in {
                'id', 'number', 'create_date', 'write_date', 'write_uid',
                'last_modified_at', 'dispatched_at'}]
        bulk, = Message.read([messages[0].id], names)
        one, = Message.read([single.id], names)
        bulk.pop('id'), one.pop('id')
        self.assertEqual(bulk, one)
        message = Message(messages[-1].id)
        self.assertEqual(
            (message.number, message.state, message.kind, message.params),
            ('+8613900000600', 'queued', 'marketing', {'name': ''}))
        self.assertIsNotNone(message.dispatched_at)
        # every message is in a queue task (batches of 50 with a worker)
        queued = [i for t in Queue.search(
                [('name', '=', 'sms')], order=[('id', 'ASC')])[tasks:]
            for i in t.data['instances']]
        self.assertEqual(sorted(queued), sorted(m.id for m in messages))

    @with_transaction()
    def test_queue_tasks_together_as_host(self):
        "Tasks created together are the host's tasks, run by a worker"
        pool = Pool()
        Message = pool.get('sms.message')
        Queue = pool.get('ir.queue')
        company = create_company()
        with set_company(company):
            self.setup_sms()
            messages = Message.queue(Message.prepare(
                    numbers=['+86139%08d' % i for i in range(120)],
                    text='课程提醒', kind='notification'))
            ids = [m.id for m in messages]
            Queue.delete(Queue.search([('name', '=', 'sms')]))
            Transaction().tasks.clear()
            with worker_configured():
                task_ids = Message._enqueue(ids)
                with Transaction().set_context(
                        queue_name='sms', queue_batch=50):
                    host_ids = Message.__queue__.process(ids)
            self.assertEqual(len(task_ids), 3)
            self.assertEqual(len(Transaction().tasks), 0)
            tasks = Queue.browse(task_ids)
            host = Queue.browse(host_ids)
            self.assertEqual([len(t.data['instances']) for t in tasks],
                [50, 50, 20])
            for task, host_task in zip(tasks, host):
                self.assertEqual(
                    (task.name, task.data, task.scheduled_at,
                        task.dequeued_at),
                    (host_task.name, host_task.data, host_task.scheduled_at,
                        host_task.dequeued_at))
            # without a worker: one task, run after the commit
            Queue.delete(host)
            task_id, = Message._enqueue(ids)
            self.assertEqual(Transaction().tasks, [task_id])
            Queue.delete([Queue(task_id)])
            Transaction().tasks.clear()
            with fake_transport(accepted) as transport:
                for task in tasks:
                    Queue(task.id).run()
            self.assertEqual(len(transport.requests), 120)
            self.assertEqual(
                {m.state for m in Message.browse(ids)}, {'sent'})

    @with_transaction()
    def test_sent_sms_logged_as_followup(self):
        "With telesales_pipeline each SMS sent to a customer is a follow-up"
        pool = Pool()
        Message = pool.get('sms.message')
        Followup = pool.get('crm.followup')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            message, = Message.queue(Message.prepare(
                    parties=[party], text='跟进短信', kind='notification'))
            with fake_transport(accepted):
                Message.process([message])
            followup, = Followup.search([('origin', '=', str(message))])
            self.assertEqual(followup.party, party)
            self.assertEqual(followup.method.code, 'sms')
            self.assertEqual(followup.content, '跟进短信')
            self.assertTrue(followup.automatic)

    @with_transaction()
    def test_callback_reminder_trigger(self):
        "Customers due for a callback get the reminder once"
        pool = Pool()
        Message = pool.get('sms.message')
        Followup = pool.get('crm.followup')
        Trigger = pool.get('sms.trigger')
        company = create_company()
        tomorrow = dt.date.today() + dt.timedelta(days=1)
        with set_company(company):
            _, party = self.setup_sms()
            followup, = Followup.create([{'party': party.id,
                        'content': '约好明天回访',
                        'next_callback': tomorrow}])
            template = self.template(kind='notification',
                content='${name}您好，${consultant}将于${callback_date}联系您')
            trigger, = Trigger.create([{'name': '回访提醒',
                        'event': 'callback', 'template': template.id,
                        'days': 1}])
            Trigger.run([trigger])
            Trigger.run([trigger])
        message, = Message.search([('origin', '=', str(followup))])
        self.assertIn(tomorrow.isoformat(), message.text)
        self.assertTrue(message.text.startswith('王芳您好'))

    @with_transaction()
    def test_tencent_params_in_template_order(self):
        "TemplateParamSet follows the template's provider parameters"
        pool = Pool()
        Gateway = pool.get('sms.gateway')
        Message = pool.get('sms.message')
        company = create_company()
        today = dt.date.today().isoformat()
        with set_company(company):
            _, party = self.setup_sms()
            gateway = Gateway(name='Tencent', kind='tencent',
                url='http://127.0.0.1:1', username='AKID', password='key',
                app_id='1400000001', sign_name='示范', callback_url='')
            gateway.save()
            # "name" sorts after "date": the stored parameters are sorted
            template = self.template(kind='notification',
                content='${name}您好，${date}有课', provider_code='449739',
                provider_params='name,date')
            single, = Message.queue(Message.prepare(
                    parties=[party], template=template, gateway=gateway))
            # more than a chunk: the bulk insert on PostgreSQL
            bulk = Message.queue(Message.prepare(
                    numbers=['+86139%08d' % i for i in range(501)],
                    template=template, gateway=gateway,
                    values={'name': '赵磊'}))
            self.assertEqual(
                Message(single.id).params, {'date': today, 'name': '王芳'})
            with fake_transport(tencent_accepted) as transport:
                Message.process([Message(single.id), Message(bulk[-1].id)])
            self.assertEqual(
                [json.loads(r.body)['TemplateParamSet']
                    for r in transport.requests],
                [['王芳', today], ['赵磊', today]])
            self.assertEqual(
                {Message(single.id).state, Message(bulk[-1].id).state},
                {'sent'})

    @with_transaction()
    def test_gateway_kinds_from_registry(self):
        "The gateway kinds and their fields come from the provider registry"
        pool = Pool()
        Gateway = pool.get('sms.gateway')
        self.assertEqual(Gateway.kind.selection, providers.selection())
        self.assertIn(('tencent', "Tencent Cloud SMS"), Gateway.kind.selection)
        fields = Gateway.fields_get(['app_id', 'smsc', 'password'])
        self.assertIn('tencent', fields['app_id']['states'])
        self.assertNotIn('kannel', fields['app_id']['states'])
        self.assertIn('kannel', fields['smsc']['states'])
        self.assertNotIn('log', fields['password']['states'])
        self.assertIn('kind', Gateway.app_id.display_depends)

    @with_transaction()
    def test_opted_out_after_scheduling_not_sent(self):
        "A scheduled or deferred marketing SMS is not sent after an opt-out"
        pool = Pool()
        Message = pool.get('sms.message')
        OptOut = pool.get('sms.opt_out')
        Configuration = pool.get('sms.configuration')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            self.setup_sms()
            # numbers of their own: process() commits
            party = Party(name='后退订', contact_mechanisms=[
                    {'type': 'mobile', 'value': '+8613700009991'}])
            party.save()
            later = dt.datetime.now() + dt.timedelta(hours=2)
            template = self.template()
            promo, = Message.queue(Message.prepare(
                    parties=[party], template=template, scheduled_at=later))
            notice, = Message.queue(Message.prepare(
                    parties=[party], text='课程提醒', kind='notification',
                    scheduled_at=later))
            # deferred by the quiet hours, then opted out
            config = Configuration(1)
            now = config.local_now()
            config.quiet_start = (now - dt.timedelta(hours=1)).time()
            config.quiet_end = (now + dt.timedelta(hours=1)).time()
            config.save()
            deferred, = Message.queue(Message.prepare(
                    numbers=['13700009992'], template=template))
            with fake_transport(accepted) as transport:
                Message.process([deferred])
                self.assertEqual(Message(deferred.id).state, 'queued')
                # the customer replies 退订
                OptOut.create([{'number': '13700009991', 'source': 'reply'},
                        {'number': '13700009992', 'source': 'reply'}])
                config.quiet_start = config.quiet_end = None
                config.save()
                Message.write([promo, notice, deferred], {
                        'scheduled_at': dt.datetime.now()
                        - dt.timedelta(minutes=1)})
                Message.dispatch_due()
                Message.process([promo, notice, deferred])
            promo, notice, deferred = Message.browse(
                [promo.id, notice.id, deferred.id])
            self.assertEqual(len(transport.requests), 1)
            self.assertIn('text=%E8%AF%BE', transport.requests[0].url)
            self.assertEqual(notice.state, 'sent')
            for message in [promo, deferred]:
                self.assertEqual(message.state, 'refused')
                self.assertIn('opted out of marketing messages after this '
                    'message was queued', message.error)
                self.assertIn(message.number, message.error)
                self.assertIsNone(message.sent_at)
            # the opt-outs were committed with the claim
            OptOut.delete(OptOut.search([('number', 'in',
                            ['+8613700009991', '+8613700009992'])]))
            Transaction().commit()

    @with_transaction()
    def test_outcome_unknown_not_resent(self):
        "A request that may have reached the gateway fails, never resent"
        Message = Pool().get('sms.message')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            message, = Message.queue(Message.prepare(
                    parties=[party], text='可能已发', kind='notification'))

            def dropped(request):
                raise UncertainError('Connection aborted.')
            with fake_transport(dropped) as transport:
                Message.process([message])
                Message.dispatch_due()
                Message.process([Message(message.id)])
            self.assertEqual(len(transport.requests), 1)
            message = Message(message.id)
            self.assertEqual((message.state, message.attempts), ('failed', 1))
            self.assertIn('may have received the message', message.error)
            self.assertIn('not sent again', message.error)

    @with_transaction()
    def test_credentials_admin_only(self):
        """Gateway credentials are readable by the SMS administrators only;
        the secrets by nobody: they are set through their input fields"""
        pool = Pool()
        Gateway = pool.get('sms.gateway')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        gateway, = Gateway.create([{'name': 'Aliyun', 'kind': 'aliyun',
                    'username': 'LTAIkey', 'password': 'aliyun-secret',
                    'app_id': 'app', 'sign_name': '示范'}])
        callback_secret = gateway.callback_secret
        self.assertTrue(callback_secret)
        clerk, admin = User.create([{
                    'login': 'sms_clerk', 'name': 'SMS clerk',
                    'groups': [('add', [
                                ModelData.get_id('sms_gateway', 'group_sms')])],
                    }, {
                    'login': 'sms_admin', 'name': 'SMS admin',
                    'groups': [('add', [ModelData.get_id(
                                    'sms_gateway', 'group_sms_admin')])],
                    }])
        credentials = ['username', 'app_id', 'password_input',
            'password_set', 'callback_secret_input', 'callback_secret_set']
        secrets = ['password', 'callback_secret']
        transaction = Transaction()
        with transaction.set_context(_check_access=True):
            with transaction.set_user(clerk.id):
                record, = Gateway.read([gateway.id], ['name', 'sign_name'])
                self.assertEqual(record['name'], 'Aliyun')
                for name in credentials + secrets:
                    with self.assertRaises(AccessError):
                        Gateway.read([gateway.id], [name])
                for name in ['username', 'app_id'] + secrets:
                    with self.assertRaises(AccessError):
                        Gateway.search([(name, '=', 'x')])
                for name in ['password', 'password_input']:
                    with self.assertRaises(AccessError):
                        Gateway.write([gateway], {name: 'other'})
            for user in [admin.id, 1]:
                with transaction.set_user(user):
                    record, = Gateway.read([gateway.id], credentials)
                    self.assertEqual(
                        (record['username'], record['app_id'],
                            record['password_input'], record['password_set'],
                            record['callback_secret_input'],
                            record['callback_secret_set']),
                        ('LTAIkey', 'app', None, True, None, True))
                    for name in secrets:
                        with self.assertRaises(AccessError):
                            Gateway.read([gateway.id], [name])
                        with self.assertRaises(AccessError):
                            Gateway.search([(name, 'like', 'a%')])
                        with self.assertRaises(AccessError):
                            Gateway.write([gateway], {name: 'forged'})
                    with self.assertRaises(AccessError):
                        Gateway.export_data([gateway], ['password'])
            with transaction.set_user(admin.id):
                Gateway.write([gateway], {
                        'password_input': 'changed',
                        'callback_secret_input': '',
                        })
                Gateway.new_secret([gateway])
        gateway = Gateway(gateway.id)
        self.assertEqual(gateway.password, 'changed')
        self.assertNotIn(gateway.callback_secret, {callback_secret, None})

    @with_transaction()
    def test_trigger_fire(self):
        "Trigger.fire queues the event's messages at once, once per event"
        pool = Pool()
        Message = pool.get('sms.message')
        Trigger = pool.get('sms.trigger')
        company = create_company()
        with set_company(company):
            _, party = self.setup_sms()
            template = self.template(
                kind='notification', content='${name}，余额不足')
            trigger, = Trigger.create([{'name': '事件', 'event': 'birthday',
                        'template': template.id}])
            Trigger.create([{'name': '停用', 'event': 'birthday',
                        'template': template.id, 'active': False}])
            messages = Trigger.fire('birthday', [(party, {}, None)])
            self.assertEqual(len(messages), 1)
            message = Message(messages[0].id)
            self.assertEqual(
                (message.party, message.text, message.origin, message.state),
                (party, '王芳，余额不足', trigger, 'queued'))
            self.assertIsNotNone(message.dispatched_at)
            self.assertTrue(message.event_key.startswith(
                    'trigger:%s:%s:' % (trigger.id, dt.date.today())))
            # the same event again, or an event without trigger: nothing
            self.assertEqual(Trigger.fire('birthday', [(party, {}, None)]), [])
            self.assertEqual(Trigger.fire('low_balance', [(party, {}, None)]),
                [])
            # another day is another event
            tomorrow = dt.date.today() + dt.timedelta(days=1)
            self.assertEqual(len(Trigger.fire(
                        'birthday', [(party, {}, None)], date=tomorrow)), 1)
            self.assertEqual(
                Message.search_count([('origin', '=', str(trigger))]), 2)

    def _committed_gateway(self, **values):
        "A gateway and a sent message, committed for the routes"
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Gateway = pool.get('sms.gateway')
            Message = pool.get('sms.message')
            gateway, = Gateway.create([dict({'name': 'Route',
                            'callback_url': 'http://crm.test:8000/'},
                        **values)])
            message, = Message.create([{'number': '+14155550100',
                        'gateway': gateway.id, 'kind': 'notification',
                        'text': 'hi', 'state': 'sent',
                        'provider_id': 'SM%032d' % gateway.id}])
            result = (gateway.id, message.id, message.provider_id,
                gateway.status_url(ref=message.id),
                gateway.callback_secret)
            transaction.commit()
        return result

    def _drop_gateway(self, gateway_id):
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Gateway = pool.get('sms.gateway')
            Message = pool.get('sms.message')
            Message.delete(Message.search([('gateway', '=', gateway_id)]))
            Gateway.delete([Gateway(gateway_id)])
            transaction.commit()

    def _message_state(self, message_id):
        with Transaction().start(DB_NAME, 0, readonly=True):
            message = Pool().get('sms.message')(message_id)
            return message.state, message.status_detail

    def test_twilio_status_callback_route(self):
        "A signed Twilio status callback updates the message; forged refused"
        gateway_id, message_id, sid, url, secret = self._committed_gateway(
            kind='twilio', username='AC0123', password='twilio-token')
        try:
            form = {'MessageSid': sid, 'SmsSid': sid, 'AccountSid': 'AC0123',
                'MessageStatus': 'undelivered', 'SmsStatus': 'undelivered',
                'ErrorCode': '30003', 'To': '+14155550100',
                'From': '+15005550006', 'ApiVersion': '2010-04-01'}

            def post(url, form, token='twilio-token'):
                signature = TwilioClient.signature(token, url, form)
                return call_route(url, 'POST', data=form,
                    headers={'X-Twilio-Signature': signature})
            with self.assertLogs('sms_gateway.routes', 'WARNING') as logs:
                # signed with another token, or not signed
                self.assertEqual(post(url, form, 'guess').status_code, 403)
                self.assertEqual(
                    call_route(url, 'POST', data=form).status_code, 403)
                # the signature of another message's report
                self.assertEqual(call_route(url, 'POST', data=form,
                        headers={'X-Twilio-Signature': TwilioClient.signature(
                                'twilio-token', url.replace('ref=', 'ref=1'),
                                form)}).status_code, 403)
                # a wrong callback secret
                wrong = url.replace(secret,
                    ('y' if secret[0] == 'x' else 'x') + secret[1:])
                self.assertEqual(post(wrong, form).status_code, 403)
            self.assertEqual(len(logs.records), 4)
            self.assertIn('bad signature', logs.output[0])
            self.assertEqual(self._message_state(message_id), ('sent', None))
            answer = post(url, form)
            self.assertEqual((answer.status_code, answer.text), (200, 'OK'))
            self.assertEqual(self._message_state(message_id),
                ('failed', 'undelivered (30003)'))
            delivered = {**form, 'MessageStatus': 'delivered',
                'SmsStatus': 'delivered'}
            del delivered['ErrorCode']
            self.assertEqual(post(url, delivered).status_code, 200)
            self.assertEqual(self._message_state(message_id),
                ('delivered', 'delivered'))
        finally:
            self._drop_gateway(gateway_id)

    def test_status_callback_unknown_message(self):
        "A delivery report for an unknown message is answered 404 and logged"
        gateway_id, message_id, _, url, _ = self._committed_gateway(
            kind='kannel')
        try:
            unknown = url.replace('ref=%s' % message_id, 'ref=999999999')
            with self.assertLogs('sms_gateway.routes', 'WARNING') as logs:
                answer = call_route(unknown + '&type=1&reply=DELIVRD')
            self.assertEqual(answer.status_code, 404)
            self.assertIn('unknown message', logs.output[0])
            self.assertEqual(self._message_state(message_id), ('sent', None))
            # the same report for the message itself
            answer = call_route(url + '&type=1&reply=DELIVRD')
            self.assertEqual(answer.status_code, 200)
            self.assertEqual(self._message_state(message_id),
                ('delivered', 'DELIVRD'))
        finally:
            self._drop_gateway(gateway_id)


del ModuleTestCase
