# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Call lists (name lists) sliced into call tasks that reps work in order.

pbx_connector's batch dialing and loan_brokerage's name-list library build on
``crm.call.list``, ``crm.call.task`` and ``crm.call.task.line``.
"""
import datetime

from sql.aggregate import Count

from crm_base.phone import carrier, normalize, region

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Workflow, fields, sequence_ordered)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import (
    Button, StateTransition, StateView, Wizard)

from .exceptions import CallListError
from .phone import MaskedPhoneMixin, display_phone

LINE_STATES = [
    ('pending', "Pending"),
    ('called', "Called"),
    ('answered', "Answered"),
    ('busy', "Busy"),
    ('no_answer', "No Answer"),
    ('wrong', "Wrong Number"),
    ('empty', "Number Not in Service"),
    ('done', "Done"),
    ]


class CallList(ModelSQL, ModelView):
    __string__ = "Call List"
    __name__ = 'crm.call.list'

    name = fields.Char("Name", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    lines = fields.One2Many('crm.call.list.line', 'list', "Numbers")
    tasks = fields.One2Many('crm.call.task', 'list', "Tasks", readonly=True)
    total = fields.Function(fields.Integer("Numbers"), 'get_counts')
    unassigned = fields.Function(
        fields.Integer("Unassigned",
            help="Numbers not yet given to a rep in a task."),
        'get_counts')
    filtered = fields.Function(
        fields.Integer("Already Called",
            help="Numbers left out of the tasks because they were "
            "already called."),
        'get_counts')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        cls._buttons.update({
                'assign': {
                    'readonly': ~Eval('unassigned', 0),
                    'depends': ['unassigned'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def get_counts(cls, lists, names):
        pool = Pool()
        Line = pool.get('crm.call.list.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: {l.id: 0 for l in lists} for n in names}
        key = {'total': None, 'unassigned': 'new', 'filtered': 'filtered'}
        cursor.execute(*line.select(line.list, line.state, Count(line.id),
                where=line.list.in_([l.id for l in lists]),
                group_by=[line.list, line.state]))
        for list_id, state, count in cursor:
            for name in names:
                if key[name] in {None, state}:
                    result[name][list_id] += count
        return result

    @classmethod
    @ModelView.button_action('telesales_pipeline.wizard_call_list_assign')
    def assign(cls, lists):
        pass

    def add_numbers(self, rows):
        """Append (party, name, phone) rows; return the rows left out

        Phones are normalised to E.164; invalid ones and numbers already in
        the list are left out.
        """
        pool = Pool()
        Line = pool.get('crm.call.list.line')
        seen = {l.phone for l in Line.search([('list', '=', self.id)])}
        sequence = len(seen)
        lines, rejected = [], []
        for party, name, raw in rows:
            phone = normalize(raw)
            if not phone or phone in seen:
                rejected.append((party, name, raw))
                continue
            seen.add(phone)
            sequence += 1
            lines.append(Line(list=self, sequence=sequence, party=party,
                    name=name, phone=phone))
        Line.save(lines)
        return rejected

    @classmethod
    def called_phones(cls, phones):
        "Return the subset of phones already called in any task"
        pool = Pool()
        TaskLine = pool.get('crm.call.task.line')
        line = TaskLine.__table__()
        cursor = Transaction().connection.cursor()
        called = set()
        phones = list(phones)
        for i in range(0, len(phones), 500):
            cursor.execute(*line.select(line.phone,
                    where=line.phone.in_(phones[i:i + 500])
                    & (line.state != 'pending')))
            called.update(p for p, in cursor)
        return called

    def create_tasks(self, employees, size, name=None):
        """Give each employee a task of up to size unassigned numbers

        Numbers already called in any task are marked as filtered and left
        out of the batch. Return the created tasks.
        """
        pool = Pool()
        Line = pool.get('crm.call.list.line')
        Task = pool.get('crm.call.task')
        TaskLine = pool.get('crm.call.task.line')
        lines = Line.search([
                ('list', '=', self.id), ('state', '=', 'new')],
            order=[('sequence', 'ASC'), ('id', 'ASC')])
        called = self.called_phones(l.phone for l in lines)
        filtered = [l for l in lines if l.phone in called]
        Line.write(filtered, {'state': 'filtered'})
        lines = [l for l in lines if l.phone not in called]
        tasks = []
        for employee in employees:
            chunk, lines = lines[:size], lines[size:]
            if not chunk:
                break
            task = Task(list=self, employee=employee,
                name=name or self.name, company=self.company)
            task.lines = [TaskLine(sequence=i, party=l.party, name=l.name,
                    phone=l.phone, list_line=l)
                for i, l in enumerate(chunk, 1)]
            tasks.append(task)
        Task.save(tasks)
        Line.write([tl.list_line for t in tasks for tl in t.lines],
            {'state': 'assigned'})
        return tasks


class _PhoneLineMixin(MaskedPhoneMixin):
    "A number of a call list or task: kept in E.164"
    __slots__ = ()
    _masked_phone_fields = {'phone'}
    _searched_phone_fields = {'phone'}
    _phone_compact_field = 'phone'

    @fields.depends('phone')
    def on_change_phone(self):
        self.phone = normalize(self.phone) or self.phone

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if 'phone' in field_names:
            for line in lines:
                if normalize(line.phone) != line.phone:
                    raise CallListError(gettext(
                            'telesales_pipeline.msg_call_line_phone_invalid',
                            phone=line.phone))


class CallListLine(
        _PhoneLineMixin, sequence_ordered(), ModelSQL, ModelView):
    __string__ = "Call List Number"
    __name__ = 'crm.call.list.line'

    list = fields.Many2One(
        'crm.call.list', "Call List", required=True, ondelete='CASCADE')
    party = fields.Many2One('party.party', "Party", ondelete='SET NULL')
    name = fields.Char("Name")
    phone = fields.Char("Phone", required=True, help="In E.164 format.")
    state = fields.Selection([
            ('new', "New"),
            ('assigned', "Assigned"),
            ('filtered', "Already Called"),
            ], "State", readonly=True, required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('list')

    @staticmethod
    def default_state():
        return 'new'


class CallTask(Workflow, ModelSQL, ModelView):
    __string__ = "Call Task"
    __name__ = 'crm.call.task'

    name = fields.Char("Name", required=True)
    company = fields.Many2One('company.company', "Company", required=True)
    list = fields.Many2One(
        'crm.call.list', "Call List", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))])
    employee = fields.Many2One(
        'company.employee', "Employee",
        domain=[('company', '=', Eval('company', -1))],
        states={'readonly': Eval('state') != 'open'})
    state = fields.Selection([
            ('open', "Open"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    lines = fields.One2Many('crm.call.task.line', 'task', "Numbers",
        states={'readonly': Eval('state') != 'open'})
    pending = fields.Function(fields.Integer("Pending"), 'get_counts')
    total = fields.Function(fields.Integer("Numbers"), 'get_counts')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('open', 'done'),
            ('open', 'cancelled'),
            ('done', 'open'),
            ('cancelled', 'open'),
            }
        cls._buttons.update({
                'work': {
                    'invisible': Eval('state') != 'open',
                    'readonly': ~Eval('pending', 0),
                    'depends': ['state', 'pending'],
                    },
                'do': {'invisible': Eval('state') != 'open',
                    'depends': ['state']},
                'cancel': {'invisible': Eval('state') != 'open',
                    'depends': ['state']},
                'reopen': {'invisible': Eval('state') == 'open',
                    'depends': ['state']},
                })

    @staticmethod
    def default_state():
        return 'open'

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_employee():
        return Transaction().context.get('employee')

    @classmethod
    def get_counts(cls, tasks, names):
        pool = Pool()
        Line = pool.get('crm.call.task.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: {t.id: 0 for t in tasks} for n in names}
        cursor.execute(*line.select(line.task, line.state, Count(line.id),
                where=line.task.in_([t.id for t in tasks]),
                group_by=[line.task, line.state]))
        for task_id, state, count in cursor:
            if 'total' in names:
                result['total'][task_id] += count
            if 'pending' in names and state == 'pending':
                result['pending'][task_id] += count
        return result

    def next_line(self):
        "Return the next pending line in order or None"
        pool = Pool()
        Line = pool.get('crm.call.task.line')
        lines = Line.search([
                ('task', '=', self.id),
                ('state', '=', 'pending'),
                ], order=[('sequence', 'ASC NULLS LAST'), ('id', 'ASC')],
            limit=1)
        return lines[0] if lines else None

    @classmethod
    @ModelView.button_action('telesales_pipeline.wizard_call_task_work')
    def work(cls, tasks):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, tasks):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, tasks):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def reopen(cls, tasks):
        pass


class CallTaskLine(
        _PhoneLineMixin, sequence_ordered(), ModelSQL, ModelView):
    __string__ = "Call Task Number"
    __name__ = 'crm.call.task.line'

    task = fields.Many2One(
        'crm.call.task', "Task", required=True, ondelete='CASCADE')
    party = fields.Many2One('party.party', "Party", ondelete='SET NULL')
    name = fields.Char("Name")
    phone = fields.Char("Phone", required=True, help="In E.164 format.")
    state = fields.Selection(
        LINE_STATES, "State", required=True, readonly=True, sort=False)
    called_at = fields.DateTime("Called at", readonly=True)
    note = fields.Char("Note")
    list_line = fields.Many2One(
        'crm.call.list.line', "Call List Number", readonly=True,
        ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('task')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.phone, Index.Equality())),
                })
        buttons = {}
        for state in ['answered', 'busy', 'no_answer', 'wrong', 'empty']:
            buttons['mark_' + state] = {
                'invisible': Eval('state') != 'pending',
                'depends': ['state'],
                }
        cls._buttons.update(buttons)

    @staticmethod
    def default_state():
        return 'pending'

    @classmethod
    def mark(cls, lines, state):
        "Record the outcome of calling the lines; close finished tasks"
        pool = Pool()
        Task = pool.get('crm.call.task')
        if state not in dict(LINE_STATES):
            raise ValueError(state)
        values = {'state': state}
        if state != 'pending':
            values['called_at'] = datetime.datetime.now()
        cls.write(list(lines), values)
        tasks = {l.task for l in lines if l.task.state == 'open'}
        finished = [t for t in Task.browse(list(tasks)) if not t.pending]
        if finished:
            Task.do(finished)

    @classmethod
    @ModelView.button
    def mark_answered(cls, lines):
        cls.mark(lines, 'answered')

    @classmethod
    @ModelView.button
    def mark_busy(cls, lines):
        cls.mark(lines, 'busy')

    @classmethod
    @ModelView.button
    def mark_no_answer(cls, lines):
        cls.mark(lines, 'no_answer')

    @classmethod
    @ModelView.button
    def mark_wrong(cls, lines):
        cls.mark(lines, 'wrong')

    @classmethod
    @ModelView.button
    def mark_empty(cls, lines):
        cls.mark(lines, 'empty')


class CallListAssignStart(ModelView):
    __string__ = "Assign Call List"
    __name__ = 'crm.call.list.assign.start'

    call_list = fields.Many2One('crm.call.list', "Call List", readonly=True)
    company = fields.Many2One('company.company', "Company", readonly=True)
    name = fields.Char("Task Name", required=True)
    employees = fields.Many2Many(
        'company.employee', None, None, "Employees", required=True,
        domain=[('company', '=', Eval('company', -1))])
    size = fields.Integer("Numbers per Employee", required=True,
        domain=[('size', '>', 0)])
    unassigned = fields.Integer("Unassigned", readonly=True)


class CallListAssign(Wizard):
    __string__ = "Assign Call List"
    __name__ = 'crm.call.list.assign'

    start = StateView('crm.call.list.assign.start',
        'telesales_pipeline.call_list_assign_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Assign", 'assign', 'tryton-ok', default=True),
            ])
    assign = StateTransition()

    def default_start(self, fields):
        count = self.record.unassigned or 0
        return {
            'call_list': self.record.id,
            'company': self.record.company.id,
            'name': self.record.name,
            'unassigned': count,
            'size': min(max(count, 1), 100),
            }

    def transition_assign(self):
        tasks = self.record.create_tasks(
            self.start.employees, self.start.size, name=self.start.name)
        if not tasks:
            raise CallListError(gettext(
                    'telesales_pipeline.msg_call_list_nothing_to_assign',
                    list=self.record.rec_name))
        return 'end'


class CallTaskWorkStart(ModelView):
    __string__ = "Work Call Task"
    __name__ = 'crm.call.task.work.start'

    task = fields.Many2One('crm.call.task', "Task", readonly=True)
    line = fields.Many2One('crm.call.task.line', "Number", readonly=True)
    party = fields.Many2One('party.party', "Party", readonly=True)
    name = fields.Char("Name", readonly=True)
    phone = fields.Char("Phone", readonly=True)
    region = fields.Char("Region", readonly=True)
    carrier = fields.Char("Carrier", readonly=True)
    pending = fields.Integer("Pending", readonly=True)
    note = fields.Char("Note")


class CallTaskWork(Wizard):
    __string__ = "Work Call Task"
    __name__ = 'crm.call.task.work'

    start = StateTransition()
    call = StateView('crm.call.task.work.start',
        'telesales_pipeline.call_task_work_start_view_form', [
            Button("Stop", 'end', 'tryton-cancel'),
            Button("Empty Number", 'empty', 'tryton-clear'),
            Button("Wrong Number", 'wrong', 'tryton-close'),
            Button("Busy", 'busy', 'tryton-forward'),
            Button("No Answer", 'no_answer', 'tryton-forward'),
            Button("Answered", 'answered', 'tryton-ok', default=True),
            ])
    answered = StateTransition()
    busy = StateTransition()
    no_answer = StateTransition()
    wrong = StateTransition()
    empty = StateTransition()

    def transition_start(self):
        return 'call' if self.record.next_line() else 'end'

    def default_call(self, fields):
        line = self.record.next_line()
        return {
            'task': self.record.id,
            'line': line.id,
            'party': line.party.id if line.party else None,
            'name': line.name or (line.party.rec_name if line.party else ''),
            'phone': display_phone(line.phone),
            'region': region(line.phone),
            'carrier': carrier(line.phone),
            'pending': self.record.pending,
            'note': None,
            }

    def _mark(self, state):
        pool = Pool()
        Line = pool.get('crm.call.task.line')
        line = self.call.line
        if self.call.note:
            Line.write([line], {'note': self.call.note})
        Line.mark([line], state)
        return 'start'

    def transition_answered(self):
        return self._mark('answered')

    def transition_busy(self):
        return self._mark('busy')

    def transition_no_answer(self):
        return self._mark('no_answer')

    def transition_wrong(self):
        return self._mark('wrong')

    def transition_empty(self):
        return self._mark('empty')

