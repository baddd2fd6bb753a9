# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A local HTTP server standing in for Aliyun, Tencent Cloud and Twilio.

It checks each request's shape and signature as the providers document
them (independently of the clients' code) and answers like the provider.
"""
import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit


def verify_acs3(method, path, query, headers, body, secret):
    "Aliyun ACS3-HMAC-SHA256 as documented for the V3 request signature"
    auth = headers.get('Authorization', '')
    if not auth.startswith('ACS3-HMAC-SHA256 '):
        return False
    parts = dict(p.strip().split('=', 1) for p in auth[17:].split(','))
    names = parts['SignedHeaders'].split(';')
    lower = {k.lower(): v for k, v in headers.items()}
    canonical_query = '&'.join(
        quote(k, safe='-_.~') + '=' + quote(v[0], safe='-_.~')
        for k, v in sorted(query.items()))
    canonical = '\n'.join([
            method, path, canonical_query,
            ''.join(n + ':' + lower[n].strip() + '\n' for n in names),
            ';'.join(names), hashlib.sha256(body).hexdigest()])
    string = 'ACS3-HMAC-SHA256\n' + hashlib.sha256(
        canonical.encode()).hexdigest()
    expected = hmac.new(
        secret.encode(), string.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(parts['Signature'], expected)


def verify_tc3(headers, body, secret_id, secret_key):
    "Tencent Cloud TC3-HMAC-SHA256 as in its API documentation"
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = int(lower['x-tc-timestamp'])
    date = dt.datetime.fromtimestamp(
        timestamp, dt.timezone.utc).strftime('%Y-%m-%d')
    canonical = ('POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s'
        % (lower['content-type'], lower['host'],
            hashlib.sha256(body).hexdigest()))
    scope = date + '/sms/tc3_request'
    to_sign = 'TC3-HMAC-SHA256\n%s\n%s\n%s' % (
        timestamp, scope, hashlib.sha256(canonical.encode()).hexdigest())

    def sign(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()
    key = sign(sign(sign(('TC3' + secret_key).encode(), date), 'sms'),
        'tc3_request')
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = lower.get('authorization', '')
    return (auth.startswith('TC3-HMAC-SHA256 Credential=%s/%s' % (
                secret_id, scope))
        and auth.endswith('Signature=' + signature))


class CloudServer(ThreadingHTTPServer):
    "Records ``(provider, request)`` and answers with the provider's JSON"

    def __init__(self, secrets):
        self.secrets = secrets
        self.received = []
        self.invalid_numbers = {'+8613800000000'}
        super().__init__(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self):
        return 'http://127.0.0.1:%s' % self.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class Handler(BaseHTTPRequestHandler):

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        url = urlsplit(self.path)
        headers = dict(self.headers.items())
        if 'x-acs-action' in {k.lower() for k in headers}:
            status, answer = self.aliyun(url, headers, body)
        elif 'X-TC-Action' in headers:
            status, answer = self.tencent(headers, body)
        elif url.path.startswith('/2010-04-01/Accounts/'):
            status, answer = self.twilio(url, headers, body)
        else:
            status, answer = 404, {'message': 'unknown API'}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def aliyun(self, url, headers, body):
        key_id, secret = self.server.secrets['aliyun']
        query = parse_qs(url.query, keep_blank_values=True)
        lower = {k.lower(): v for k, v in headers.items()}
        if (lower.get('x-acs-action') != 'SendSms'
                or lower.get('x-acs-version') != '2017-05-25'
                or 'Credential=%s,' % key_id not in lower.get(
                    'authorization', '')
                or not verify_acs3('POST', url.path or '/', query, headers,
                    body, secret)):
            return 400, {'Code': 'IncompleteSignature',
                'Message': 'The request signature does not conform'}
        params = {k: v[0] for k, v in query.items()}
        for name in ['PhoneNumbers', 'SignName', 'TemplateCode']:
            if not params.get(name):
                return 400, {'Code': 'MissingParameter', 'Message': name}
        json.loads(params.get('TemplateParam') or '{}')
        self.server.received.append(('aliyun', params))
        if '+86' + params['PhoneNumbers'] in self.server.invalid_numbers:
            return 200, {'Code': 'isv.MOBILE_NUMBER_ILLEGAL',
                'Message': 'invalid mobile number'}
        return 200, {'Code': 'OK', 'Message': 'OK',
            'BizId': '%d^0' % len(self.server.received),
            'RequestId': 'A1B2'}

    def tencent(self, headers, body):
        secret_id, secret_key = self.server.secrets['tencent']
        if (headers.get('X-TC-Version') != '2021-01-11'
                or headers.get('X-TC-Action') != 'SendSms'
                or not verify_tc3(headers, body, secret_id, secret_key)):
            return 200, {'Response': {'Error': {
                        'Code': 'AuthFailure.SignatureFailure',
                        'Message': 'signature'}, 'RequestId': 'x'}}
        params = json.loads(body)
        for name in ['PhoneNumberSet', 'SmsSdkAppId', 'SignName',
                'TemplateId']:
            if not params.get(name):
                return 200, {'Response': {'Error': {
                            'Code': 'MissingParameter', 'Message': name}}}
        self.server.received.append(('tencent', params))
        statuses = []
        for number in params['PhoneNumberSet']:
            if number in self.server.invalid_numbers:
                statuses.append({'PhoneNumber': number, 'SerialNo': '',
                        'Code': 'InvalidParameterValue.IncorrectPhoneNumber',
                        'Message': 'incorrect number'})
            else:
                statuses.append({'PhoneNumber': number,
                        'SerialNo': '2028:%d' % len(self.server.received),
                        'Code': 'Ok', 'Message': 'send success'})
        return 200, {'Response': {
                'SendStatusSet': statuses, 'RequestId': 'r'}}

    def twilio(self, url, headers, body):
        sid, token = self.server.secrets['twilio']
        expected = 'Basic ' + base64.b64encode(
            ('%s:%s' % (sid, token)).encode()).decode()
        if (headers.get('Authorization') != expected
                or url.path != '/2010-04-01/Accounts/%s/Messages.json' % sid):
            return 401, {'code': 20003, 'message': 'Authenticate'}
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if not form.get('To') or not form.get('Body') or not (
                form.get('From') or form.get('MessagingServiceSid')):
            return 400, {'code': 21604, 'message': 'missing parameter'}
        self.server.received.append(('twilio', form))
        if form['To'] in self.server.invalid_numbers:
            return 400, {'code': 21211, 'message': "Invalid 'To' number"}
        return 201, {'sid': 'SM%032d' % len(self.server.received),
            'status': 'queued'}
