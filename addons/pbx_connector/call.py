# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The PBX call: its fields, numbers, click-to-dial and quality checks.

The listener's updates are applied by ``call_event.py``, the screen pops
sent by ``screen_pop.py``; the statistics are in ``statistics.py``."""
import datetime as dt
import logging

from crm_base.masking import MaskedExportMixin, MaskedNumberMixin
from crm_base.phone import dial_digits, is_mobile, mask_phone, normalize

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, check_access
from trytond.wizard import Button, StateAction, StateView, Wizard

from .exceptions import (
    InvalidNumberError, NoExtensionError, NoNumberError, PBXConnectionError,
    ScoreError)
from .access import check_parties_visible, protected_error

logger = logging.getLogger(__name__)
def _language(user):
    "The code of the language texts for user are written in"
    if user and user.language:
        return user.language.code
    return Pool().get('ir.configuration').get_language()


DIRECTIONS = [
    ('inbound', "Inbound"),
    ('outbound', "Outbound"),
    ]
STATES = [
    ('queued', "Queued"),
    ('ringing', "Ringing"),
    ('answered', "In Progress"),
    ('ended', "Ended"),
    ('failed', "Failed"),
    ]
DISPOSITIONS = [
    (None, ""),
    ('answered', "Answered"),
    ('busy', "Busy"),
    ('no_answer', "No Answer"),
    ('empty', "Number Not in Service"),
    ('wrong', "Wrong Number"),
    ('cancelled', "Cancelled"),
    ('agent_unreachable', "Rep's Phone Did Not Answer"),
    ('failed', "Failed"),
    ]


def to_datetime(timestamp):
    "Epoch seconds from the PBX → naive UTC datetime as Tryton stores it"
    if not timestamp:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(
        tzinfo=None)


class Call(MaskedNumberMixin, ModelSQL, ModelView):
    __string__ = "PBX Call"
    __name__ = 'pbx.call'
    _rec_name = 'linkedid'
    _masked_numbers = {'number'}
    server = fields.Many2One('pbx.server', "Server", required=True,
        readonly=True, ondelete='RESTRICT')
    company = fields.Many2One('company.company', "Company", required=True,
        readonly=True)
    direction = fields.Selection(DIRECTIONS, "Direction", required=True,
        readonly=True)
    direction_string = direction.translated('direction')
    state = fields.Selection(STATES, "State", required=True, readonly=True)
    number = fields.Char("Number", readonly=True,
        help="The customer's number in E.164 form.")
    number_display = fields.Function(fields.Char("Number"),
        'get_number_display')
    party = fields.Many2One('party.party', "Customer", ondelete='SET NULL',
        context={'company': Eval('company', -1)}, depends={'company'})
    employee = fields.Many2One('company.employee', "Employee", readonly=True)
    extension = fields.Many2One('pbx.extension', "Extension", readonly=True)
    start = fields.DateTime("Start", readonly=True)
    answer = fields.DateTime("Answer", readonly=True)
    end = fields.DateTime("End", readonly=True)
    duration = fields.Integer("Talk Time", readonly=True,
        help="Seconds from answer to hang-up.")
    ring_duration = fields.Integer("Ring Time", readonly=True)
    disposition = fields.Selection(DISPOSITIONS, "Disposition", readonly=True)
    disposition_string = disposition.translated('disposition')
    hangup_cause = fields.Integer("Hangup Cause", readonly=True)
    hangup_cause_text = fields.Char("Hangup Cause Text", readonly=True)
    uniqueid = fields.Char("Unique ID", readonly=True)
    linkedid = fields.Char("Linked ID", readonly=True)
    # the recordings are lazy: a client reading a call does not read them
    # with its other fields (only quality control may read them)
    recording = fields.Char("Recording File", readonly=True, loading='lazy')
    recording_url = fields.Function(fields.Char("Recording"),
        'get_recording_url')
    reviews = fields.One2Many('pbx.call.review', 'call', "Quality Checks")
    score = fields.Function(fields.Float("Score", digits=(3, 1)),
        'get_score')
    error = fields.Text("Error", readonly=True)
    screen_popped = fields.Boolean("Screen Popped", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start', 'DESC NULLS FIRST'), ('id', 'DESC')]
        cls._buttons.update({
                'redial': {
                    'invisible': ~Eval('state').in_(['ended', 'failed']),
                    'depends': ['state'],
                    },
                'create_party': {
                    'invisible': Eval('party', None) != None,  # noqa: E711
                    'depends': ['party'],
                    },
                })
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.linkedid, Index.Equality())),
                Index(t, (t.start, Index.Range())),
                })

    @classmethod
    def default_state(cls):
        return 'queued'

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if (mode == 'create' and values.get('server')
                and not values.get('company')):
            Server = Pool().get('pbx.server')
            values['company'] = Server(values['server']).company.id
        return values

    @classmethod
    def _client_writable(cls):
        """Hook: the fields a client may write; the listener, click-to-dial
        and the buttons write the others"""
        return {'party', 'reviews'}

    @classmethod
    def check_modification(cls, mode, calls, values=None, external=False):
        """A client links an unknown caller to a customer it sees; the rest
        of a call is the PBX's"""
        pool = Pool()
        Rule = pool.get('ir.rule')
        Party = pool.get('party.party')
        super().check_modification(
            mode, calls, values=values, external=external)
        if not external or mode != 'write':
            return
        for name in sorted(set(values or {}) - cls._client_writable()):
            raise protected_error(cls, name)
        if 'party' in values:
            # the caller's scope first: the answer about a call he may not
            # see is the same whatever it holds
            with check_access():
                Rule.check(cls.__name__, [c.id for c in calls], 'write')
            if any(c.party for c in calls):
                raise protected_error(cls, 'party')
            if values['party'] is not None:
                check_parties_visible([Party(values['party'])])

    # numbers -----------------------------------------------------------
    @classmethod
    def get_number_display(cls, calls, name):
        # Read the stored numbers directly: the number field itself may be
        # closed to the user by field access (telesales_pipeline).
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        numbers = {}
        for sub_ids in grouped_slice(
                [c.id for c in calls], backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.id, table.number,
                    where=table.id.in_(list(sub_ids))))
            numbers.update(cursor)
        ContactMechanism = Pool().get('party.contact_mechanism')
        return {c.id: ContactMechanism.display_number(numbers.get(c.id))
            for c in calls}

    def get_recording_url(self, name):
        if not self.recording or not self.server.recording_url:
            return None
        return (self.server.recording_url.rstrip('/') + '/'
            + self.recording.rsplit('/', 1)[-1])

    def get_score(self, name):
        scores = [r.score for r in self.reviews if r.score is not None]
        return sum(scores) / len(scores) if scores else None

    # click-to-dial -----------------------------------------------------
    @classmethod
    def dial(cls, number, party=None, employee=None, **values):
        """Create an outbound call and queue its Originate.

        The rep's extension rings first, then the PBX dials ``number``."""
        pool = Pool()
        Extension = pool.get('pbx.extension')
        User = pool.get('res.user')
        if employee is None:
            employee = User(Transaction().user).employee
        extension = Extension.for_employee(employee)
        if not extension:
            raise NoExtensionError(gettext('pbx_connector.msg_no_extension',
                    employee=employee.rec_name if employee else '-'))
        e164 = (normalize(number, extension.server.region)
            or (number or '').strip())
        if not e164:
            raise NoNumberError(gettext('pbx_connector.msg_no_number',
                    party=party.rec_name if party else '-'))
        if not e164.startswith('+'):
            raise InvalidNumberError(gettext(
                    'pbx_connector.msg_invalid_number',
                    number=Pool().get(
                        'party.contact_mechanism').display_number(e164)))
        call = cls(server=extension.server, direction='outbound',
            state='queued', number=e164, party=party, employee=employee,
            extension=extension, start=dt.datetime.utcnow(), **values)
        call.save()
        cls.__queue__.originate([call])
        return call

    @classmethod
    def originate(cls, calls):
        "Queue task: send the Originate of each call to its PBX"
        for call in calls:
            if call.state != 'queued':
                continue
            try:
                with call.server.ami_session() as client:
                    client.originate(call.extension.device,
                        dial_digits(call.number, call.server.region),
                        call.server.context,
                        caller_id=call.server.caller_id,
                        timeout_ms=call.server.ring_timeout * 1000,
                        variables={'CRM_CALL': call.id},
                        action_id=f'crm-call-{call.id}')
            except PBXConnectionError as exc:
                logger.warning('originate of call %s failed: %s',
                    call.id, exc)
                # the queue runs in no user's language: the error is
                # written in the language of the user who dialed
                cls.write([call], {
                        'state': 'failed', 'disposition': 'failed',
                        'error': exc.message_in(
                            _language(call.create_uid))})
                cls._notify_failure(call, exc)
                cls.on_failed([call])
                continue
            cls.write([call], {'state': 'ringing'})
            cls._notify_ringing(call)

    @classmethod
    def _notify_failure(cls, call, exc):
        "Tell the employee's users, each in his language, why the call failed"
        cls._notify(call, 'pbx_connector.msg_dial_failed', 'tryton-warning',
            exc.message_in)

    @classmethod
    def _notify_ringing(cls, call):
        """Tell the employee's users that the PBX rings his extension and
        whom it calls once it is picked up (the customer, or the number
        masked)"""
        callee = (call.party.rec_name if call.party
            else mask_phone(call.number))
        cls._notify(call, 'pbx_connector.msg_dial_ringing', 'tryton-public',
            lambda language: gettext('pbx_connector.msg_dial_ringing_detail',
                language, extension=call.extension.number, callee=callee))

    @classmethod
    def _notify(cls, call, label, icon, description):
        """Notify the employee's users of call, each in his language:
        description(language) details the label (a message id)"""
        Notification = Pool().get('res.notification')
        notifications = []
        for user in call.employee_users():
            language = _language(user)
            notifications.append({
                    'user': user.id,
                    'label': gettext(label, language),
                    'description': description(language)[:250],
                    'icon': icon,
                    'model': cls.__name__,
                    'records': str([call.id]),
                    })
        if notifications:
            Notification.create(notifications)

    def employee_users(self):
        User = Pool().get('res.user')
        if not self.employee:
            return []
        return User.search([('employees', '=', self.employee.id)])

    @classmethod
    @ModelView.button
    def redial(cls, calls):
        for call in calls:
            cls.dial(call.number, party=call.party)

    @classmethod
    @ModelView.button_action('pbx_connector.wizard_call_create_party')
    def create_party(cls, calls):
        pass

    @classmethod
    def dial_next(cls, extensions):
        "Hook: batch dialing places the next call of a ready rep"


    @classmethod
    def on_finished(cls, calls):
        "Hook called once per ended call (follow-ups, call tasks)"

    @classmethod
    def on_failed(cls, calls):
        "Hook called when the Originate of calls could not be sent"



class CallReview(MaskedExportMixin, ModelSQL, ModelView):
    __string__ = "Call Recording Quality Check"
    __name__ = 'pbx.call.review'
    call = fields.Many2One('pbx.call', "Call", required=True,
        ondelete='CASCADE')
    reviewer = fields.Many2One('company.employee', "Reviewer", readonly=True)
    date = fields.DateTime("Date", required=True)
    score = fields.Integer("Score", required=True,
        help="From 0 to 100.")
    notes = fields.Text("Notes")

    @classmethod
    def default_date(cls):
        return dt.datetime.utcnow()

    @classmethod
    def default_reviewer(cls):
        User = Pool().get('res.user')
        employee = User(Transaction().user).employee
        return employee.id if employee else None

    @classmethod
    def check_modification(cls, mode, reviews, values=None, external=False):
        "A quality check is recorded in the name of its reviewer"
        super().check_modification(
            mode, reviews, values=values, external=external)
        if not external:
            return
        if mode == 'write' and 'reviewer' in (values or {}):
            raise protected_error(cls, 'reviewer')
        elif mode == 'create':
            reviewer = cls.default_reviewer()
            for review in reviews:
                if (review.reviewer.id if review.reviewer else None
                        ) != reviewer:
                    raise protected_error(cls, 'reviewer')

    @classmethod
    def validate_fields(cls, reviews, field_names):
        super().validate_fields(reviews, field_names)
        if 'score' in field_names:
            for review in reviews:
                if not 0 <= review.score <= 100:
                    raise ScoreError(gettext('pbx_connector.msg_score_range',
                            score=review.score))


class CreatePartyStart(ModelView):
    __string__ = "Create Customer from Call"
    __name__ = 'pbx.call.create_party.start'
    name = fields.Char("Name", required=True)
    number = fields.Char("Number", readonly=True)


class CreateParty(Wizard):
    "Create Customer from Call"
    __name__ = 'pbx.call.create_party'
    start = StateView('pbx.call.create_party.start',
        'pbx_connector.call_create_party_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Create", 'create_', 'tryton-ok', default=True),
            ])
    create_ = StateAction('party.act_party_form')

    def default_start(self, fields):
        return {
            'name': gettext('pbx_connector.msg_new_customer_name',
                number=self.record.number_display or ''),
            'number': self.record.number_display,
            }

    def do_create_(self, action):
        pool = Pool()
        Party = pool.get('party.party')
        call = self.record
        party = Party(name=self.start.name, contact_mechanisms=[{
                    'type': 'mobile' if is_mobile(call.number)
                    else 'phone',
                    'value': call.number,
                    }])
        party.save()
        call.party = party
        call.save()
        action['res_id'] = [party.id]
        action['views'].reverse()
        return action, {}
