# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import secrets
from urllib.parse import urlencode

from trytond.model import (
    DeactivableMixin, ModelSingleton, ModelSQL, ModelView, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from . import providers
from . import routes  # noqa: F401 (registers the gateway callbacks)

# the gateway fields shown only for the kinds whose client uses them
# (Client.gateway_fields); the password through its input and indicator
KIND_FIELDS = {
    'username': 'username',
    'password_input': 'password',
    'password_set': 'password',
    'app_id': 'app_id',
    'sign_name': 'sign_name',
    'region': 'region',
    'smsc': 'smsc',
    }
# client instances keep their HTTP connections; keyed by gateway and the
# time it was last written so an edited gateway gets a new client
_clients = {}


def _new_secret():
    return secrets.token_urlsafe(24)


class Gateway(DeactivableMixin, ModelSQL, ModelView):
    __string__ = "SMS Gateway"
    __name__ = 'sms.gateway'
    name = fields.Char("Name", required=True)
    # a static list, so Tryton translates the labels of the registry
    kind = fields.Selection(providers.selection(), "Kind", required=True)
    url = fields.Char(
        "URL", help="The provider's address; empty for its public one.")
    # the credentials are lazy: a client reading a gateway does not read
    # them with its other fields (only the administrators may read them)
    username = fields.Char(
        "Username / Key ID", loading='lazy',
        help="Kannel sendsms user, Aliyun AccessKey ID, "
        "Tencent SecretId or Twilio Account SID.")
    # the secrets (password, callback_secret) are read by the server only,
    # never sent to a client (ir.model.field.access); a client sets them
    # through <name>_input and sees <name>_set
    password = fields.Char(
        "Password / Secret", strip=False, readonly=True, loading='lazy',
        help="Kannel password, Aliyun AccessKey secret, "
        "Tencent SecretKey or Twilio auth token.")
    password_input = fields.Function(fields.Char(
            "New Password / Secret", strip=False,
            help="Kannel password, Aliyun AccessKey secret, Tencent "
            "SecretKey or Twilio auth token: type it to set or change it; "
            "the stored one is never shown."),
        'get_secret_input', setter='set_secret_input')
    password_set = fields.Function(
        fields.Boolean("Password Set"), 'get_secret_set')
    app_id = fields.Char(
        "Application ID", loading='lazy',
        help="Tencent SmsSdkAppId or Twilio Messaging Service SID.")
    sign_name = fields.Char(
        "Signature",
        help="The approved SMS signature (签名).")
    region = fields.Char("Region")
    sender = fields.Char(
        "Sender", help="Sender number or ID (Kannel from, Twilio From).")
    smsc = fields.Char(
        "SMSC",
        help="Kannel smsc-id to route through (for example a 106 channel).")
    timeout = fields.Integer("Timeout", required=True, help="In seconds.")
    callback_url = fields.Char(
        "Callback Base URL",
        help="The address of this Tryton server as the gateway sees it, "
        "for example http://crm.example.com:8000; delivery reports and "
        "inbound messages come back there.")
    callback_secret = fields.Char(
        "Callback Secret", strip=False, readonly=True, loading='lazy',
        help="Part of every callback address; callbacks without it are "
        "refused.")
    callback_secret_input = fields.Function(fields.Char(
            "New Callback Secret", strip=False,
            help="Part of every callback address: type one to give it to "
            "the provider's console or Kannel, or press New Secret for a "
            "random one; the stored one is never shown."),
        'get_secret_input', setter='set_secret_input')
    callback_secret_set = fields.Function(
        fields.Boolean("Callback Secret Set"), 'get_secret_set')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for name, setting in KIND_FIELDS.items():
            field = getattr(cls, name)
            field.states = field.states.copy()
            field.states['invisible'] = ~Eval('kind').in_(
                providers.kinds(setting=setting))
        cls._buttons.update({
                'new_secret': {'icon': 'tryton-refresh'},
                })

    @classmethod
    def default_kind(cls):
        return 'log'

    @classmethod
    def default_timeout(cls):
        return 10

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('callback_secret'):
            # made here, not as a default: a default goes to the client
            values['callback_secret'] = _new_secret()
        return values

    @classmethod
    def copy(cls, gateways, default=None):
        default = default.copy() if default else {}
        # no client writes them: a copy gets a new callback secret and is
        # given its password
        default.setdefault('password', None)
        default.setdefault('callback_secret', None)
        return super().copy(gateways, default=default)

    def get_secret_input(self, name):
        "Always empty: a secret once stored is never sent back"
        return None

    @classmethod
    def set_secret_input(cls, gateways, name, value):
        if value:
            with without_check_access():
                cls.write(gateways, {name[:-len('_input')]: value})

    @classmethod
    def get_secret_set(cls, gateways, names):
        return {name: {g.id: bool(getattr(g, name[:-len('_set')]))
                for g in gateways} for name in names}

    @classmethod
    @ModelView.button
    def new_secret(cls, gateways):
        "A random callback secret, never shown"
        for gateway in gateways:
            gateway.callback_secret = _new_secret()
        cls.save(gateways)

    @property
    def uses_templates(self):
        return providers.get(self.kind).uses_templates

    def _settings(self):
        return {name: getattr(self, name) for name in [
                'url', 'username', 'password', 'app_id', 'sign_name',
                'region', 'sender', 'smsc', 'timeout']}

    def _transport(self):
        "Hook: the transport of the client, None for the real one"
        return None

    def get_client(self):
        key = (Transaction().database.name, self.id,
            self.write_date or self.create_date)
        client = _clients.get(key)
        transport = self._transport()
        if client is None or transport is not None:
            client = providers.get(self.kind)(
                self._settings(), transport=transport)
            if transport is None:
                _clients[key] = client
        return client

    def status_url(self, **params):
        "The callback address of delivery reports for this gateway"
        return self._callback('status', params)

    def inbound_url(self):
        return self._callback('inbound', {})

    def _callback(self, kind, params):
        if not self.callback_url:
            return ''
        params = {'secret': self.callback_secret, **params}
        return '%s/%s/sms_gateway/%s/%s?%s' % (
            self.callback_url.rstrip('/'), Transaction().database.name,
            kind, self.id, urlencode(params))


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __string__ = "SMS Configuration"
    __name__ = 'sms.configuration'
    gateway = fields.Many2One(
        'sms.gateway', "Default Gateway",
        help="Used when a send does not name a gateway.")
    region = fields.Char(
        "Default Region", required=True,
        help="Country code for numbers typed without one (CN).")
    quiet_start = fields.Time(
        "Quiet Hours Start", help="Marketing messages wait from this time…")
    quiet_end = fields.Time("Quiet Hours End", help="…until this time.")
    timezone = fields.Char(
        "Timezone", help="Of the quiet hours, for example Asia/Shanghai; "
        "empty for the company's or the server's.")
    max_attempts = fields.Integer(
        "Maximum Attempts", required=True,
        help="While the gateway is unreachable a message is tried again "
        "this many times before it fails.")
    retry_delay = fields.Integer(
        "Retry Delay", required=True,
        help="Seconds before the first new attempt; doubled each time.")
    rate_limit = fields.Integer(
        "Marketing Messages per Number",
        domain=['OR', ('rate_limit', '=', None), ('rate_limit', '>', 0)],
        help="At most this many marketing messages to one number within the "
        "rate period; more are refused with the reason. Empty for no limit.")
    rate_period = fields.Integer(
        "Rate Period", required=True,
        domain=[('rate_period', '>', 0)],
        help="In hours.")

    @classmethod
    def default_region(cls):
        return 'CN'

    @classmethod
    def default_quiet_start(cls):
        return dt.time(21, 0)

    @classmethod
    def default_quiet_end(cls):
        return dt.time(8, 0)

    @classmethod
    def default_max_attempts(cls):
        return 6

    @classmethod
    def default_retry_delay(cls):
        return 60

    @classmethod
    def default_rate_limit(cls):
        return 2

    @classmethod
    def default_rate_period(cls):
        return 24

    def get_gateway(self, gateway=None):
        gateway = gateway or self.gateway
        if not gateway:
            Gateway = Pool().get('sms.gateway')
            gateways = Gateway.search([], limit=1)
            gateway = gateways[0] if gateways else None
        return gateway

    def local_now(self, now=None):
        "The local time of the quiet hours, as a naive datetime"
        from trytond.tools import timezone as tz
        now = now or dt.datetime.now()
        zone = self.timezone
        if not zone:
            Company = Pool().get('company.company')
            company_id = Transaction().context.get('company')
            if company_id:
                zone = Company(company_id).timezone
        if not zone:
            return now
        return now.replace(tzinfo=dt.timezone.utc).astimezone(
            tz.ZoneInfo(zone)).replace(tzinfo=None)

    def quiet_until(self, now=None):
        """If ``now`` (UTC, naive) is in the quiet hours, the UTC datetime
        when they end, else None"""
        if not self.quiet_start or not self.quiet_end:
            return None
        now = now or dt.datetime.now()
        local = self.local_now(now)
        start, end, time = self.quiet_start, self.quiet_end, local.time()
        if start <= end:
            quiet = start <= time < end
        else:
            quiet = time >= start or time < end
        if not quiet:
            return None
        until = dt.datetime.combine(local.date(), end)
        if until <= local:
            until += dt.timedelta(days=1)
        return now + (until - local)

    def backoff(self, attempts):
        "Delay before the next attempt after ``attempts`` failed ones"
        return dt.timedelta(
            seconds=min(self.retry_delay * 2 ** max(attempts - 1, 0), 6 * 3600))
