# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import logging

from sql import Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import Button, StateAction, StateView, Wizard

from .exceptions import (
    InvalidNumberError, NoExtensionError, NoNumberError, PBXConnectionError,
    ScoreError)

try:
    import phonenumbers
except ImportError:
    phonenumbers = None

logger = logging.getLogger(__name__)

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
CDR_DISPOSITIONS = {
    'ANSWERED': 'answered', 'BUSY': 'busy', 'NO ANSWER': 'no_answer',
    'FAILED': 'failed', 'CONGESTION': 'failed',
    }


def to_datetime(timestamp):
    "Epoch seconds from the PBX → naive UTC datetime as Tryton stores it"
    if not timestamp:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(
        tzinfo=None)


def mask_number(number):
    "137****2311; telesales_pipeline's mask_phone replaces it when present"
    digits = number or ''
    if digits.startswith('+86'):
        digits = digits[3:]
    if len(digits) <= 4:
        return '*' * len(digits)
    keep = 3 if len(digits) > 7 else 1
    return digits[:keep] + '****' + digits[-4:]


class Call(ModelSQL, ModelView):
    __string__ = "PBX Call"
    __name__ = 'pbx.call'
    _rec_name = 'linkedid'
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
    recording = fields.Char("Recording File", readonly=True)
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
        if mode == 'create' and values.get('server'):
            Server = Pool().get('pbx.server')
            values['company'] = Server(values['server']).company.id
        return values

    # numbers -----------------------------------------------------------
    @classmethod
    def may_see_full_numbers(cls):
        "Hook: telesales_pipeline limits full numbers to a group"
        return True

    @classmethod
    def mask(cls, number):
        return mask_number(number)

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
        full = cls.may_see_full_numbers()
        return {c.id: (numbers.get(c.id) if full
                else cls.mask(numbers.get(c.id))) for c in calls}

    @classmethod
    def normalize(cls, number, region='CN'):
        "E.164 of a number typed by a user or sent by the PBX"
        raw = (number or '').strip()
        if not raw:
            return ''
        if phonenumbers:
            try:
                parsed = phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                return raw
            if phonenumbers.is_valid_number(parsed):
                return phonenumbers.format_number(
                    parsed, phonenumbers.PhoneNumberFormat.E164)
        return raw

    @classmethod
    def dial_string(cls, number, region='CN'):
        "What the dialplan dials: national digits, 00 for abroad"
        if not phonenumbers:
            return number.lstrip('+')
        parsed = phonenumbers.parse(number, region)
        if phonenumbers.region_code_for_number(parsed) == region:
            national = phonenumbers.format_number(
                parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
            return ''.join(c for c in national if c.isdigit())
        return '00' + number.lstrip('+')

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
        e164 = cls.normalize(number, extension.server.region)
        if not e164:
            raise NoNumberError(gettext('pbx_connector.msg_no_number',
                    party=party.rec_name if party else '-'))
        if not e164.startswith('+'):
            raise InvalidNumberError(gettext(
                    'pbx_connector.msg_invalid_number',
                    number=cls.mask(e164)
                    if not cls.may_see_full_numbers() else e164))
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
                        cls.dial_string(call.number, call.server.region),
                        call.server.context,
                        caller_id=call.server.caller_id,
                        timeout_ms=call.server.ring_timeout * 1000,
                        variables={'CRM_CALL': call.id},
                        action_id=f'crm-call-{call.id}')
            except PBXConnectionError as exc:
                logger.warning('originate of call %s failed: %s',
                    call.id, exc)
                cls.write([call], {
                        'state': 'failed', 'disposition': 'failed',
                        'error': exc.message})
                cls._notify_failure(call, exc.message)
                cls.on_failed([call])
                continue
            cls.write([call], {'state': 'ringing'})

    @classmethod
    def _notify_failure(cls, call, message):
        Notification = Pool().get('res.notification')
        users = call.employee_users()
        if users:
            Notification.create([{
                        'user': u.id,
                        'label': gettext('pbx_connector.msg_dial_failed'),
                        'description': message[:250],
                        'icon': 'tryton-warning',
                        'model': cls.__name__,
                        'records': str([call.id]),
                        } for u in users])

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

    # events from the listener -------------------------------------------
    @classmethod
    def ami_update(cls, server, kind, call, timestamp, data):
        """Apply one update of the listener's call tracker.

        ``call`` is the tracker's snapshot (linkedid, direction, number,
        extension device, start/answer/end epoch seconds, disposition…)."""
        handler = getattr(cls, f'_ami_{kind}', None)
        if handler:
            return handler(server, call, timestamp, data)

    @classmethod
    def _find(cls, server, call):
        domain = [('server', '=', server.id)]
        if call.get('crm_call', '').isdigit():
            records = cls.search(domain + [('id', '=', int(call['crm_call']))])
            if records:
                return records[0]
        if call.get('linkedid'):
            records = cls.search(domain + [
                    ('linkedid', '=', call['linkedid'])], limit=1)
            if records:
                return records[0]
        return None

    @classmethod
    def _find_party(cls, number):
        Mechanism = Pool().get('party.contact_mechanism')
        if not number:
            return None
        mechanisms = Mechanism.search([
                ('type', 'in', ['phone', 'mobile']),
                ('value_compact', '=', number),
                ('party.active', '=', True),
                ], limit=1, order=[('id', 'DESC')])
        return mechanisms[0].party if mechanisms else None

    @classmethod
    def _get_or_create(cls, server, call, timestamp):
        Extension = Pool().get('pbx.extension')
        record = cls._find(server, call)
        if record is None:
            record = cls(server=server, direction=call['direction'],
                state='ringing', start=to_datetime(call['start'] or timestamp),
                linkedid=None, uniqueid=None, number=None, party=None,
                extension=None, employee=None, recording=None,
                screen_popped=False)
        record.linkedid = call['linkedid']
        if not record.uniqueid:
            record.uniqueid = call['linkedid']
        if call.get('number') and not (record.direction == 'outbound'
                and record.number):
            record.number = cls.normalize(call['number'], server.region)
        if call.get('extension') and not record.extension:
            extension = Extension.by_device(server, call['extension'])
            if extension:
                record.extension = extension
                record.employee = extension.employee
        if not record.party and record.number:
            record.party = cls._find_party(record.number)
        return record

    @classmethod
    def _ami_started(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        if record.state == 'queued':
            record.state = 'ringing'
        record.save()
        return record

    @classmethod
    def _ami_ringing(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        record.state = 'ringing'
        record.save()
        if record.direction == 'inbound' and not record.screen_popped:
            cls.screen_pop(record)
        return record

    @classmethod
    def _ami_answered(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        record.state = 'answered'
        record.answer = to_datetime(call['answer'])
        record.save()
        return record

    @classmethod
    def _ami_recording(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        record.recording = call['recording']
        record.save()
        return record

    @classmethod
    def _ami_finished(cls, server, call, timestamp, data):
        record = cls._get_or_create(server, call, timestamp)
        record.state = 'ended'
        record.end = to_datetime(call['end'])
        if call.get('answer'):
            record.answer = to_datetime(call['answer'])
            record.duration = round(call['end'] - call['answer'])
        else:
            record.duration = 0
        if call.get('ring') and call['start']:
            record.ring_duration = round(
                (call['answer'] or call['end']) - call['ring'])
        record.disposition = call['disposition']
        record.hangup_cause = call['cause'] or None
        record.hangup_cause_text = call['cause_text'] or None
        if call.get('recording'):
            record.recording = call['recording']
        record.save()
        cls.on_finished([record])
        return record

    @classmethod
    def on_finished(cls, calls):
        "Hook called once per ended call (follow-ups, call tasks)"

    @classmethod
    def on_failed(cls, calls):
        "Hook called when the Originate of calls could not be sent"

    @classmethod
    def _ami_originate(cls, server, call, timestamp, data):
        action_id = data.get('action_id', '')
        if not action_id.startswith('crm-call-'):
            return
        records = cls.search([
                ('server', '=', server.id),
                ('id', '=', int(action_id[len('crm-call-'):] or 0)),
                ])
        if not records:
            return
        record, = records
        if data.get('uniqueid') and not record.linkedid:
            record.linkedid = record.uniqueid = data['uniqueid']
        if data.get('response', '').lower() == 'failure':
            record.error = gettext('pbx_connector.msg_agent_unreachable',
                reason=data.get('reason', ''))
        record.save()
        return record

    @classmethod
    def _ami_cdr(cls, server, call, timestamp, data):
        """Reconcile from the CDR: fill what the channel events missed, or
        create the call when its events were lost."""
        linkedid = data.get('UniqueID')
        if not linkedid:
            return
        records = cls.search([
                ('server', '=', server.id),
                ('linkedid', '=', linkedid),
                ], limit=1)
        billable = int(data.get('BillableSeconds') or 0)
        disposition = CDR_DISPOSITIONS.get(
            (data.get('Disposition') or '').upper(), 'failed')
        if records:
            record, = records
            if record.state != 'ended':
                record.state = 'ended'
                record.duration = billable
                record.disposition = record.disposition or disposition
                record.end = record.end or to_datetime(timestamp)
                record.save()
                cls.on_finished([record])
            return record
        record = cls._from_cdr(server, data, timestamp, billable,
            disposition)
        cls.on_finished([record])
        return record

    @classmethod
    def _from_cdr(cls, server, data, timestamp, billable, disposition):
        Extension = Pool().get('pbx.extension')
        source = data.get('Source') or ''
        extension = Extension.search([
                ('server', '=', server.id),
                ('number', '=', source),
                ], limit=1)
        outbound = bool(extension)
        number = data.get('Destination') if outbound else source
        duration = int(data.get('Duration') or 0)
        end = to_datetime(timestamp)
        record = cls(server=server, linkedid=data['UniqueID'],
            uniqueid=data['UniqueID'], state='ended',
            direction='outbound' if outbound else 'inbound',
            number=cls.normalize(number, server.region),
            duration=billable, disposition=disposition,
            start=end - dt.timedelta(seconds=duration) if end else None,
            end=end)
        if extension:
            record.extension, = extension
            record.employee = record.extension.employee
        record.party = cls._find_party(record.number)
        record.save()
        return record

    # screen pop -------------------------------------------------------
    @classmethod
    def screen_pop(cls, call):
        """Notify the rep whose extension rings: a res.notification, sent to
        the web client over the bus (PostgreSQL only)."""
        Notification = Pool().get('res.notification')
        users = call.employee_users()
        if not users:
            return
        values = []
        for user in users:
            with Transaction().set_user(user.id), \
                    Transaction().set_context(_check_access=False):
                label, description = cls(call.id).screen_pop_text()
            values.append({
                    'user': user.id,
                    'label': label[:250],
                    'description': description[:250],
                    'icon': 'tryton-public',
                    'model': 'party.party' if call.party else cls.__name__,
                    'records': str([
                            call.party.id if call.party else call.id]),
                    })
        Notification.create(values)
        call.screen_popped = True
        call.save()

    def screen_pop_text(self):
        "(label, description) shown to the rep; extended by telesales"
        number = self.number_display or ''
        if self.party:
            label = gettext('pbx_connector.msg_pop_known',
                party=self.party.rec_name, number=number)
            # a notification's description is a one-line Char
            return label, ' | '.join(self.screen_pop_lines())
        return (gettext('pbx_connector.msg_pop_unknown', number=number),
            gettext('pbx_connector.msg_pop_unknown_hint'))

    def screen_pop_lines(self):
        return []


class CallReview(ModelSQL, ModelView):
    __string__ = "Call Recording Quality Check"
    __name__ = 'pbx.call.review'
    call = fields.Many2One('pbx.call', "Call", required=True,
        ondelete='CASCADE')
    reviewer = fields.Many2One('company.employee', "Reviewer")
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
    def validate_fields(cls, reviews, field_names):
        super().validate_fields(reviews, field_names)
        if 'score' in field_names:
            for review in reviews:
                if not 0 <= review.score <= 100:
                    raise ScoreError(gettext('pbx_connector.msg_score_range',
                            score=review.score))


class CallStatistics(ModelSQL, ModelView):
    __string__ = "Call Statistics"
    __name__ = 'pbx.call.statistics'
    date = fields.Date("Date")
    employee = fields.Many2One('company.employee', "Employee")
    company = fields.Many2One('company.company', "Company")
    calls = fields.Integer("Calls")
    outbound = fields.Integer("Outbound")
    inbound = fields.Integer("Inbound")
    answered = fields.Integer("Answered")
    talk_time = fields.Integer("Talk Time (s)")
    talk_minutes = fields.Function(fields.Float("Talk Time (min)",
            digits=(16, 1)), 'get_talk_minutes')
    answer_rate = fields.Function(fields.Float("Answer Rate (%)",
            digits=(5, 1)), 'get_answer_rate')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('employee', 'ASC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        call = pool.get('pbx.call').__table__()
        date = cls.date.sql_cast(call.start)
        answered = Case((call.disposition == 'answered', 1), else_=0)
        row_id = Min(call.id)
        return call.select(
            row_id.as_('id'),
            date.as_('date'),
            call.employee.as_('employee'),
            call.company.as_('company'),
            Count(call.id).as_('calls'),
            Sum(Case((call.direction == 'outbound', 1), else_=0)).as_(
                'outbound'),
            Sum(Case((call.direction == 'inbound', 1), else_=0)).as_(
                'inbound'),
            Sum(answered).as_('answered'),
            Sum(Case((call.duration != Null, call.duration), else_=0)).as_(
                'talk_time'),
            where=(call.state == 'ended') & (call.start != Null),
            group_by=[date, call.employee, call.company])

    def get_talk_minutes(self, name):
        return round((self.talk_time or 0) / 60, 1)

    def get_answer_rate(self, name):
        if not self.calls:
            return 0.0
        return round(100.0 * (self.answered or 0) / self.calls, 1)


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
                    'type': 'mobile' if self._is_mobile(call.number)
                    else 'phone',
                    'value': call.number,
                    }])
        party.save()
        call.party = party
        call.save()
        action['res_id'] = [party.id]
        action['views'].reverse()
        return action, {}

    @staticmethod
    def _is_mobile(number):
        if not phonenumbers or not number:
            return False
        try:
            parsed = phonenumbers.parse(number)
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.number_type(parsed) == (
            phonenumbers.PhoneNumberType.MOBILE)
