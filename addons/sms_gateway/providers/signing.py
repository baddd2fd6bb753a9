# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Request signatures of the Chinese cloud APIs (Aliyun ACS3, Tencent TC3)"
import hashlib
import hmac
from urllib.parse import quote


def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode('utf-8')
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key, message):
    if isinstance(key, str):
        key = key.encode('utf-8')
    return hmac.new(key, message.encode('utf-8'), hashlib.sha256).digest()


def acs3_canonical_query(params):
    return '&'.join(
        '%s=%s' % (quote(str(k), safe='-_.~'), quote(str(v), safe='-_.~'))
        for k, v in sorted(params.items()))


def acs3_signature(secret, method, path, params, headers, body=b''):
    """Aliyun ACS3-HMAC-SHA256: return ``(signed_headers, signature)``.

    ``headers`` must hold ``host`` and the ``x-acs-*`` headers; names are
    compared in lower case.
    """
    signed = {
        k.lower(): str(v).strip() for k, v in headers.items()
        if k.lower() in {'host', 'content-type'}
        or k.lower().startswith('x-acs-')}
    names = sorted(signed)
    canonical = '\n'.join([
            method.upper(),
            path or '/',
            acs3_canonical_query(params),
            ''.join('%s:%s\n' % (n, signed[n]) for n in names),
            ';'.join(names),
            sha256_hex(body),
            ])
    to_sign = 'ACS3-HMAC-SHA256\n' + sha256_hex(canonical)
    signature = hmac.new(
        secret.encode('utf-8'), to_sign.encode('utf-8'),
        hashlib.sha256).hexdigest()
    return ';'.join(names), signature


def tc3_signature(secret_key, service, timestamp, host, content_type,
        body, date):
    "Tencent Cloud TC3-HMAC-SHA256 signature of a JSON POST to ``/``"
    canonical = '\n'.join([
            'POST', '/', '',
            'content-type:%s\nhost:%s\n' % (content_type, host),
            'content-type;host',
            sha256_hex(body),
            ])
    scope = '%s/%s/tc3_request' % (date, service)
    to_sign = '\n'.join([
            'TC3-HMAC-SHA256', str(timestamp), scope, sha256_hex(canonical)])
    key = hmac_sha256('TC3' + secret_key, date)
    key = hmac_sha256(key, service)
    key = hmac_sha256(key, 'tc3_request')
    return scope, hmac.new(
        key, to_sign.encode('utf-8'), hashlib.sha256).hexdigest()
