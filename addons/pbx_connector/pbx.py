# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import contextlib
import logging
import re

from crm_base.masking import MaskedExportMixin

from trytond.i18n import gettext
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .ami import (
    AMIClient, AMIError, AuthenticationFailed, ConnectionLost, TCPTransport)
from .ami import Timeout as AMITimeout
from .exceptions import (
    ExtensionDeviceError, ExtensionNotOwnError, PBXConnectionError)
from .access import protected_error

logger = logging.getLogger(__name__)

STATES = [
    ('unknown', "Unknown"),
    ('connected', "Connected"),
    ('disconnected', "Disconnected"),
    ]
DEVICE = re.compile(r'^[A-Za-z0-9]+/[A-Za-z0-9_.@+-]+$')


class Server(DeactivableMixin, ModelSQL, ModelView):
    __string__ = "PBX Server"
    __name__ = 'pbx.server'
    name = fields.Char("Name", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    host = fields.Char("Host", required=True)
    port = fields.Integer("Port", required=True)
    # the credentials are lazy: a client reading a server does not read
    # them with its other fields; the AMI secret is read by the server only,
    # never sent to a client (ir.model.field.access): the administrators set
    # it through secret_input and see secret_set
    username = fields.Char("AMI User", required=True, loading='lazy')
    secret = fields.Char(
        "AMI Secret", strip=False, readonly=True, loading='lazy')
    secret_input = fields.Function(fields.Char(
            "New AMI Secret", strip=False,
            help="Type it to set or change the AMI secret; the stored one "
            "is never shown."),
        'get_secret_input', setter='set_secret_input')
    secret_set = fields.Function(
        fields.Boolean("AMI Secret Set"), 'get_secret_set')
    context = fields.Char("Click-to-Dial Context", required=True,
        help="Dialplan context that dials the customer's number.")
    caller_id = fields.Char("Caller ID",
        help="Shown on the rep's phone while it rings for a click-to-dial.")
    ring_timeout = fields.Integer("Ring Timeout", required=True,
        help="Seconds to wait for the rep's phone to answer.")
    region = fields.Char("Default Region", required=True,
        help="Country code used to read numbers sent by the PBX.")
    recording_url = fields.Char("Recording URL", loading='lazy',
        help="Base URL under which the PBX serves its recordings.")
    extensions = fields.One2Many('pbx.extension', 'server', "Extensions")
    state = fields.Selection(STATES, "Connection", readonly=True)
    last_event = fields.DateTime("Last Event", readonly=True)
    last_error = fields.Char("Last Error", readonly=True)
    disconnections = fields.Integer("Disconnections", readonly=True,
        help="Connections lost since the listener started.")
    last_disconnect = fields.DateTime("Last Disconnection", readonly=True)
    buffered = fields.Integer("Buffered Events", readonly=True,
        help="Events received but not yet written, "
        "e.g. while the database was unreachable.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_port(cls):
        return 5038

    @classmethod
    def default_context(cls):
        return 'crm-click-to-dial'

    @classmethod
    def default_ring_timeout(cls):
        return 30

    @classmethod
    def default_region(cls):
        return 'CN'

    @classmethod
    def default_state(cls):
        return 'unknown'

    @classmethod
    def default_buffered(cls):
        return 0

    @classmethod
    def default_disconnections(cls):
        return 0

    def get_secret_input(self, name):
        "Always empty: a secret once stored is never sent back"
        return None

    @classmethod
    def set_secret_input(cls, servers, name, value):
        if value:
            with without_check_access():
                cls.write(servers, {'secret': value})

    @classmethod
    def get_secret_set(cls, servers, name):
        return {s.id: bool(s.secret) for s in servers}

    @classmethod
    def copy(cls, servers, default=None):
        default = default.copy() if default else {}
        # no client writes it: a copy is given its secret
        default.setdefault('secret', None)
        return super().copy(servers, default=default)

    @classmethod
    def _listener_fields(cls):
        "The supervision values only the listener writes"
        return {'state', 'last_event', 'last_error', 'disconnections',
            'last_disconnect', 'buffered'}

    @classmethod
    def check_modification(cls, mode, servers, values=None, external=False):
        super().check_modification(
            mode, servers, values=values, external=external)
        if not external:
            return
        if mode == 'write':
            for name in sorted(cls._listener_fields() & set(values or {})):
                raise protected_error(cls, name)
        elif mode == 'create':
            defaults = cls.default_get(
                list(cls._listener_fields()), with_rec_name=False)
            for server in servers:
                for name in sorted(cls._listener_fields()):
                    if getattr(server, name) != defaults.get(name):
                        raise protected_error(cls, name)

    @contextlib.contextmanager
    def ami_session(self, timeout=5):
        """A logged-in AMI client for one short exchange.

        The one boundary between Tryton and the network: client errors
        become PBXConnectionError."""
        try:
            client = AMIClient.connect(
                TCPTransport(self.host, self.port, connect_timeout=timeout),
                self.username, self.secret, timeout=timeout)
        except (OSError, AMIError) as exc:
            raise self._connection_error(exc) from exc
        try:
            yield client
        except (OSError, AMIError) as exc:
            raise self._connection_error(exc) from exc
        finally:
            client.logoff()

    def _connection_error(self, exc):
        "The user's explanation of a network or AMI error (never its text)"
        if isinstance(exc, ConnectionRefusedError):
            message = 'msg_pbx_refused'
        elif isinstance(exc, (TimeoutError, AMITimeout)):
            message = 'msg_pbx_timeout'
        elif isinstance(exc, AuthenticationFailed):
            message = 'msg_pbx_login'
        elif isinstance(exc, AMIError) and not isinstance(
                exc, ConnectionLost):
            message = 'msg_pbx_answer'
        else:
            message = 'msg_pbx_connection'
        logger.warning('PBX %s (%s:%s): %r', self.rec_name, self.host,
            self.port, exc)
        return PBXConnectionError(
            'pbx_connector.' + message, server=self.rec_name)

    @classmethod
    def set_status(cls, server_id, state=None, error=None, last_event=None,
            buffered=None, disconnected_at=None, disconnections=None):
        "Supervision values written by the listener"
        values = {}
        if state:
            values['state'] = state
        if disconnected_at is not None:
            values['last_disconnect'] = disconnected_at
        if disconnections is not None:
            values['disconnections'] = disconnections
        if error:
            values['last_error'] = error[:250]
        if last_event is not None:
            values['last_event'] = last_event
        if buffered is not None:
            values['buffered'] = buffered
        if values:
            cls.write([cls(server_id)], values)

    def listener_devices(self):
        return {e.device for e in self.extensions if e.active}


class Extension(MaskedExportMixin, DeactivableMixin, ModelSQL, ModelView):
    __string__ = "PBX Extension"
    __name__ = 'pbx.extension'
    server = fields.Many2One('pbx.server', "Server", required=True,
        ondelete='CASCADE')
    employee = fields.Many2One('company.employee', "Employee", required=True,
        ondelete='CASCADE')
    number = fields.Char("Number", required=True,
        help="The internal number, e.g. 8001.")
    device = fields.Char("Device", required=True,
        help="The channel of the rep's phone, e.g. PJSIP/8001 or SIP/8001.")
    ready = fields.Boolean("Ready for Batch Dialing",
        help="The rep is ready: batch dialing places the next call.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('number', 'ASC'))
        cls._buttons.update({
                'set_ready': {
                    'invisible': Eval('ready', False),
                    'depends': ['ready'],
                    },
                'set_not_ready': {
                    'invisible': ~Eval('ready', False),
                    'depends': ['ready'],
                    },
                })

    def on_change(self, fieldnames):
        # a client's on_change of a stored extension reads its other values
        # without the rules: the user must see it
        if (self.id is not None and self.id >= 0
                and Transaction().check_access):
            self.__class__.read([self.id], ['id'])
        return super().on_change(fieldnames)

    @fields.depends('number', 'device')
    def on_change_number(self):
        if self.number and not self.device:
            self.device = f'PJSIP/{self.number}'

    def get_rec_name(self, name):
        return f'{self.number} ({self.device})'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        return [bool_op,
            ('number',) + tuple(clause[1:]),
            ('device',) + tuple(clause[1:]),
            ('employee',) + tuple(clause[1:]),
            ]

    @classmethod
    def validate_fields(cls, extensions, field_names):
        super().validate_fields(extensions, field_names)
        if 'device' in field_names:
            for extension in extensions:
                if not DEVICE.match(extension.device or ''):
                    raise ExtensionDeviceError(gettext(
                            'pbx_connector.msg_extension_device',
                            device=extension.device))

    @classmethod
    def for_employee(cls, employee):
        "The active extension of the employee, or None"
        if not employee:
            return None
        extensions = cls.search([
                ('employee', '=', employee.id),
                ('server.active', '=', True),
                ], limit=1)
        return extensions[0] if extensions else None

    @classmethod
    def by_device(cls, server, device):
        extensions = cls.search([
                ('server', '=', server.id),
                ('device', '=', device),
                ], limit=1)
        return extensions[0] if extensions else None

    @classmethod
    def current(cls):
        "The extension of the current user's employee"
        pool = Pool()
        User = pool.get('res.user')
        user = User(Transaction().user)
        return cls.for_employee(user.employee)

    @classmethod
    def _own(cls, extensions):
        "Reps toggle their own extension; administrators any"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user = User(Transaction().user)
        admin = ModelData.get_id('pbx_connector', 'group_pbx_admin')
        if Transaction().user == 0 or admin in User.get_groups():
            return list(extensions)
        if any(e.employee not in user.employees for e in extensions):
            raise ExtensionNotOwnError(
                gettext('pbx_connector.msg_extension_not_own'))
        return list(extensions)

    @classmethod
    @ModelView.button
    def set_ready(cls, extensions):
        Call = Pool().get('pbx.call')
        extensions = cls._own(extensions)
        with without_check_access():
            cls.write(extensions, {'ready': True})
        Call.dial_next(extensions)

    @classmethod
    @ModelView.button
    def set_not_ready(cls, extensions):
        extensions = cls._own(extensions)
        with without_check_access():
            cls.write(extensions, {'ready': False})
