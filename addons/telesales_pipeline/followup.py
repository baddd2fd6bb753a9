# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Follow-ups (contact records) and their methods (PL-06, PL-07)"
import datetime

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields,
    sequence_ordered)
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import ProtectedFieldError
from .guard import (
    TextCheckMixin, check_visible, readonly_fields,
    refuse_changes, refuse_given)
from .notify import claim, user_language


class FollowupMethod(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'crm.followup.method'
    __string__ = "Follow-up Method"
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char(
        "Code", required=True, strip=False,
        help="Used by other modules to log follow-ups, "
        "e.g. phone, sms, email, wechat, visit, system.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_uniq', Unique(t, t.code),
                'telesales_pipeline.msg_followup_method_code_unique'),
            ]

    @classmethod
    def get_by_code(cls, code):
        "Return the method of the code or None"
        with without_check_access():
            methods = cls.search(
                [('code', '=', code)], limit=1, order=[])
        return methods[0] if methods else None


class Followup(
        TextCheckMixin, ModelSQL, ModelView):
    __name__ = 'crm.followup'
    __string__ = "Follow-up"
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", ondelete='RESTRICT')
    date = fields.DateTime("Date", required=True)
    method = fields.Many2One(
        'crm.followup.method', "Method", required=True, ondelete='RESTRICT')
    content = fields.Text("Content")
    progress = fields.Char("Progress", help="Where the tracking stands.")
    next_callback = fields.Date("Next Callback")
    reminder_user = fields.Many2One(
        'res.user', "Remind", ondelete='SET NULL',
        help="The user reminded on the next callback date.")
    reminder_state = fields.Selection([
            (None, ""),
            ('open', "Open"),
            ('done', "Done"),
            ], "Reminder", readonly=True)
    reminded = fields.Boolean("Reminded", readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origin', readonly=True)
    automatic = fields.Boolean("Automatic", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Range()), (t.date, Index.Range())),
                Index(
                    t, (t.reminder_user, Index.Range()),
                    (t.next_callback, Index.Range()),
                    where=t.reminder_state == 'open'),
                })
        cls.reminder_state.states = {
            'invisible': ~Bool(Eval('reminder_state')),
            }
        # the system's log is read-only
        for name in ['party', 'employee', 'date', 'method', 'content',
                'progress', 'next_callback', 'reminder_user']:
            field = getattr(cls, name)
            field.states = field.states.copy()
            field.states['readonly'] = (
                field.states.get('readonly', False)
                | Eval('automatic', False))

    @staticmethod
    def default_date():
        return datetime.datetime.now()

    @staticmethod
    def default_employee():
        return Transaction().context.get('employee')

    @staticmethod
    def default_automatic():
        return False

    @staticmethod
    def default_reminded():
        return False

    @classmethod
    def default_method(cls):
        Method = Pool().get('crm.followup.method')
        method = Method.get_by_code('phone')
        return method.id if method else None

    @fields.depends('next_callback', 'reminder_user')
    def on_change_next_callback(self):
        "A callback date reminds its writer unless someone else is chosen"
        User = Pool().get('res.user')
        if self.next_callback and not self.reminder_user:
            self.reminder_user = User(Transaction().user)

    @classmethod
    def _get_origin(cls):
        "Return the list of model names for the origin Reference"
        return ['sale.opportunity', 'sale.sale', 'crm.appointment']

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        get_name = IrModel.get_name
        return [(None, '')] + [(m, get_name(m)) for m in cls._get_origin()]

    def get_rec_name(self, name):
        return '%s @ %s' % (self.party.rec_name, self.date)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and 'reminder_state' not in values:
            if values.get('next_callback') or values.get('reminder_user'):
                values['reminder_state'] = 'open'
        return values

    @classmethod
    def create(cls, vlist):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # the origin is set by the One2Many of the order or opportunity
            refuse_given(cls, vlist, readonly_fields(cls) - {'origin'})
        return super().create(vlist)

    @classmethod
    def check_modification(cls, mode, followups, values=None, external=False):
        if external and mode in {'write', 'delete'}:
            # before any message naming them
            check_visible(cls, followups)
        super().check_modification(
            mode, followups, values=values, external=external)
        if mode == 'write' and external:
            for followup in followups:
                if followup.automatic:
                    # the system's log (PL-07) is not a user's to rewrite
                    raise ProtectedFieldError(gettext(
                            'telesales_pipeline.msg_followup_automatic',
                            followup=followup.rec_name))
                refuse_changes(followup, values, readonly_fields(cls))

    @classmethod
    def on_modification(cls, mode, followups, field_names=None):
        super().on_modification(mode, followups, field_names=field_names)
        if mode == 'create':
            cls._update_parties(followups)

    @classmethod
    def _update_parties(cls, followups):
        "Record the contact on the customers and close their older reminders"
        pool = Pool()
        Party = pool.get('party.party')
        contacts = [f for f in followups if f.is_contact]
        by_party = {}
        for followup in sorted(contacts, key=lambda f: f.date):
            by_party[followup.party] = followup
        if not by_party:
            return
        with without_check_access():
            cls.close_reminders(
                [p for p, f in by_party.items() if not f.automatic],
                exclude=followups)
            to_write = []
            for party, followup in by_party.items():
                to_write.extend(([party], followup._party_values()))
            Party.write(*to_write)

    @property
    def is_contact(self):
        "A system log is not a contact with the customer"
        return not (self.automatic and self.method.code == 'system')

    def _party_values(self):
        values = {'crm_last_contact': self.date}
        if not self.automatic:
            values['crm_next_callback'] = self.next_callback
        if self.party.crm_marker == 'uncontacted':
            values['crm_marker'] = 'contacted'
        return values

    @classmethod
    def close_reminders(cls, parties, exclude=None):
        if not parties:
            return
        exclude = [f.id for f in exclude or []]
        followups = cls.search([
                ('party', 'in', [p.id for p in parties]),
                ('reminder_state', '=', 'open'),
                ('id', 'not in', exclude),
                ])
        if followups:
            cls.write(followups, {'reminder_state': 'done'})

    @classmethod
    def copy(cls, followups, default=None):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # copy reads the originals past the record rules
            check_visible(cls, followups)
        default = default.copy() if default is not None else {}
        # a copy is the user's own follow-up, not the system's log
        default.setdefault('reminded', False)
        default.setdefault('automatic', False)
        default.setdefault('origin', None)
        default.setdefault('reminder_state', None)
        return super().copy(followups, default=default)

    @classmethod
    def send_reminders(cls, date=None):
        "Notify the users to remind of the open callbacks due (PL-11)"
        pool = Pool()
        Date = pool.get('ir.date')
        date = date or Date.today()
        followups = cls.search([
                ('reminder_state', '=', 'open'),
                ('reminded', '=', False),
                ('next_callback', '<=', date),
                ('reminder_user', '!=', None),
                ])
        followups = claim(cls, followups, 'reminded')
        for followup in followups:
            user = followup.reminder_user
            cls.notify_user([followup], 'tryton-notification',
                gettext('telesales_pipeline.msg_callback_reminder',
                    user_language(user), customer=followup.party.rec_name),
                description=followup.content or '',
                user=user.id)
        return followups

    @classmethod
    def log(cls, party, content, method='system', origin=None,
            employee=None, **extra):
        """Create and return an automatic follow-up of party (PL-07)

        method is the code of a crm.followup.method; origin a record of a
        model listed by _get_origin (or None).
        Called with a list of follow-ups, it is ModelStorage's modification
        log (ir.model.log), which Tryton calls as log(records, event, ...).
        """
        if isinstance(party, (list, tuple)):
            if 'target' not in extra:
                extra['target'] = method if method != 'system' else None
            return super().log(party, content, **extra)
        pool = Pool()
        Method = pool.get('crm.followup.method')
        method_record = Method.get_by_code(method)
        if method_record is None:
            method_record = Method.get_by_code('system')
        if employee is None:
            employee = Transaction().context.get('employee')
        followup = cls(
            party=party, content=content, method=method_record,
            origin=origin, employee=employee, automatic=True,
            date=datetime.datetime.now())
        with without_check_access():
            followup.save()
        return followup
