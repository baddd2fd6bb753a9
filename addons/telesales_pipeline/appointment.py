# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Appointments 预约 and visits 到访 with reminders (PL-25)"
import datetime as dt

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import timezone as tz
from trytond.transaction import Transaction, without_check_access

from .exceptions import ProtectedFieldError
from .guard import (
    TextCheckMixin, changed_fields, check_visible,
    field_labels, readonly_fields, refuse_changes, refuse_given)
from .notify import claim, user_language

# read-only once the appointment is no longer planned
PLANNED_FIELDS = {
    'party', 'employee', 'type_', 'date', 'subject', 'remind_before'}


class Appointment(
        TextCheckMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.appointment'
    __string__ = "Appointment"
    _states = {'readonly': Eval('state') != 'planned'}

    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE',
        states=_states)
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='RESTRICT',
        states=_states)
    type_ = fields.Selection([
            ('appointment', "Appointment"),
            ('visit', "Visit"),
            ], "Type", required=True, states=_states,
        help="An appointment is planned with the customer; "
        "a visit is the customer coming in.")
    date = fields.DateTime("Date", required=True, states=_states)
    subject = fields.Char("Subject", required=True, states=_states)
    description = fields.Text("Description")
    result = fields.Text(
        "Result", states={'readonly': Eval('state') == 'cancelled'},
        help="What happened, recorded as a follow-up when done.")
    remind_before = fields.TimeDelta(
        "Remind Before", states=_states,
        help="How long before the date the employee is reminded.")
    reminded = fields.Boolean("Reminded", readonly=True)
    due_today = fields.Function(fields.Boolean(
            "Due Today",
            help="Planned for today or earlier, in the company's timezone."),
        'get_due_today', searcher='search_due_today')
    state = fields.Selection([
            ('planned', "Planned"),
            ('done', "Done"),
            ('no_show', "No Show"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Range())),
                Index(t, (t.employee, Index.Range()), (t.date, Index.Range())),
                Index(t, (t.date, Index.Range()),
                    where=t.state == 'planned'),
                })
        cls._transitions |= {
            ('planned', 'done'),
            ('planned', 'no_show'),
            ('planned', 'cancelled'),
            ('no_show', 'planned'),
            ('cancelled', 'planned'),
            }
        cls._buttons.update({
                'done': {
                    'invisible': Eval('state') != 'planned',
                    'depends': ['state'],
                    },
                'no_show': {
                    'invisible': Eval('state') != 'planned',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'planned',
                    'depends': ['state'],
                    },
                'plan': {
                    'invisible': ~Eval('state').in_(['no_show', 'cancelled']),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'planned'

    @classmethod
    def default_type_(cls):
        return 'appointment'

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_remind_before(cls):
        return dt.timedelta(hours=1)

    @classmethod
    def default_reminded(cls):
        return False

    @classmethod
    def _due_before(cls):
        "The naive UTC datetime the company's day ends at"
        from .dashboard import company_today, local_midnight_utc
        today, zone = company_today()
        return local_midnight_utc(today + dt.timedelta(days=1), zone)

    @classmethod
    def get_due_today(cls, appointments, name):
        end = cls._due_before()
        return {a.id: a.state == 'planned' and a.date < end
            for a in appointments}

    @classmethod
    def search_due_today(cls, name, clause):
        _, operator, value = clause
        due = [('state', '=', 'planned'), ('date', '<', cls._due_before())]
        if (operator == '=') == bool(value):
            return due
        return ['OR', ('state', '!=', 'planned'),
            ('date', '>=', cls._due_before())]

    def get_rec_name(self, name):
        return '%s - %s' % (self.party.rec_name, self.subject)

    @classmethod
    def create(cls, vlist):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # planned, then moved by the buttons (done, no show, cancel)
            refuse_given(cls, [
                    {k: v for k, v in values.items()
                        if not (k == 'state' and v == 'planned')}
                    for values in vlist], readonly_fields(cls))
        return super().create(vlist)

    @classmethod
    def check_modification(
            cls, mode, appointments, values=None, external=False):
        if external and mode in {'write', 'delete'}:
            # before any message naming them
            check_visible(cls, appointments)
        super().check_modification(
            mode, appointments, values=values, external=external)
        if mode == 'write' and external:
            for appointment in appointments:
                refuse_changes(appointment, values, readonly_fields(cls))
                appointment._check_state_fields(values)

    def _check_state_fields(self, values):
        "Refuse a change of the fields the form shows read-only in the state"
        names = set()
        if self.state != 'planned':
            names |= PLANNED_FIELDS
        if self.state == 'cancelled':
            names.add('result')
        changed = changed_fields(self, values, names)
        if changed:
            states = dict(self.fields_get(['state'])['state']['selection'])
            raise ProtectedFieldError(gettext(
                    'telesales_pipeline.msg_field_readonly_state',
                    record=self.rec_name, state=states[self.state],
                    fields=field_labels(self.__class__, changed)))

    @classmethod
    def copy(cls, appointments, default=None):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # copy reads the originals past the record rules
            check_visible(cls, appointments)
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'planned')
        default.setdefault('result')
        default.setdefault('reminded', False)
        return super().copy(appointments, default=default)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def done(cls, appointments):
        Followup = Pool().get('crm.followup')
        for appointment in appointments:
            followup = Followup.log(
                appointment.party, appointment._followup_content(),
                method='visit', origin=appointment,
                employee=appointment.employee)
            # a visit is a contact made by the employee, not a system log
            followup.automatic = False
            with without_check_access():
                followup.save()
                Followup._update_parties([followup])

    def _followup_content(self):
        types = dict(self.fields_get(['type_'])['type_']['selection'])
        return gettext('telesales_pipeline.msg_log_appointment_done',
            type=types[self.type_], subject=self.subject,
            result=self.result or '')

    @classmethod
    @ModelView.button
    @Workflow.transition('no_show')
    def no_show(cls, appointments):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, appointments):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('planned')
    def plan(cls, appointments):
        cls.write(appointments, {'reminded': False})

    @classmethod
    def send_reminders(cls, now=None):
        "Notify the employees' users of the planned appointments due soon"
        pool = Pool()
        User = pool.get('res.user')
        Lang = pool.get('ir.lang')
        now = now or dt.datetime.now()
        appointments = cls.search([
                ('state', '=', 'planned'),
                ('reminded', '=', False),
                ('date', '>=', now),
                ('date', '<=', now + dt.timedelta(days=1)),
                ])
        due = claim(cls, [a for a in appointments
                if a.date - (a.remind_before or dt.timedelta()) <= now],
            'reminded')
        from .dashboard import company_today
        _, zone = company_today()
        for appointment in due:
            users = User.search([('employees', '=', appointment.employee.id)])
            # the time of the company's timezone, as the user enters it
            date = appointment.date.replace(tzinfo=tz.UTC).astimezone(zone)
            for user in users:
                language = user_language(user)
                cls.notify_user([appointment], 'tryton-calendar',
                    gettext('telesales_pipeline.msg_appointment_reminder',
                        language, appointment=appointment.rec_name),
                    description=Lang.get(language).strftime(
                        date, '%Y-%m-%d %H:%M') + (
                        ' UTC' if zone is tz.UTC else ''),
                    user=user.id)
        return due
