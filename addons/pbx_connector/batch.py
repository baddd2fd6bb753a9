# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Batch dialing over telesales_pipeline's call tasks (PBX-05)

A rep presses *Ready* on their extension: the next pending number of their
open call tasks is dialled (their phone rings, then the number). When the
call ends, its number is marked from the disposition (answered, busy, no
answer, number not in service…) and, while the rep stays ready, the next one
is dialled. A rep whose phone does not answer is set *not ready* and the
number goes back to pending.
"""
from trytond.model import fields
from trytond.pool import Pool, PoolMeta

# disposition of the call → state of the call task line
LINE_STATES = {
    'answered': 'answered',
    'busy': 'busy',
    'no_answer': 'no_answer',
    'cancelled': 'no_answer',
    'failed': 'no_answer',
    'empty': 'empty',
    'wrong': 'wrong',
    }
LIVE = ['queued', 'ringing', 'answered']


class Call(metaclass=PoolMeta):
    __name__ = 'pbx.call'
    task_line = fields.Many2One('crm.call.task.line', "Call Task Number",
        readonly=True, ondelete='SET NULL')

    @classmethod
    def dial_next(cls, extensions):
        """Dial the next pending number of the open tasks of each ready rep
        that has no call in progress"""
        pool = Pool()
        Task = pool.get('crm.call.task')
        Line = pool.get('crm.call.task.line')
        super().dial_next(extensions)
        for extension in extensions:
            if not extension.ready or not extension.employee:
                continue
            if cls.search([
                        ('extension', '=', extension.id),
                        ('state', 'in', LIVE),
                        ], limit=1):
                continue
            line = None
            for task in Task.search([
                        ('employee', '=', extension.employee.id),
                        ('state', '=', 'open'),
                        ], order=[('id', 'ASC')]):
                line = task.next_line()
                if line:
                    break
            if not line:
                continue
            Line.mark([line], 'called')
            cls.dial(line.phone, party=line.party,
                employee=extension.employee, task_line=line.id)

    @classmethod
    def on_finished(cls, calls):
        pool = Pool()
        Line = pool.get('crm.call.task.line')
        Extension = pool.get('pbx.extension')
        super().on_finished(calls)
        follow_on, away = [], []
        for call in calls:
            if not call.task_line:
                continue
            if call.disposition == 'agent_unreachable':
                # the rep is away: the number waits, dialing stops
                cls._give_back([call.task_line])
                if call.extension:
                    away.append(call.extension)
                continue
            Line.mark([call.task_line],
                LINE_STATES.get(call.disposition, 'no_answer'))
            if call.extension and call.extension.ready:
                follow_on.append(call.extension)
        if away:
            Extension.write(away, {'ready': False})
        if follow_on:
            cls.dial_next(follow_on)

    @classmethod
    def _give_back(cls, lines):
        "Numbers not called after all: pending again, their tasks open"
        pool = Pool()
        Line = pool.get('crm.call.task.line')
        Task = pool.get('crm.call.task')
        Line.mark(lines, 'pending')
        closed = list({l.task for l in lines if l.task.state == 'done'})
        if closed:
            Task.reopen(closed)

    @classmethod
    def on_failed(cls, calls):
        "The PBX could not be reached: numbers back to pending, rep paused"
        Extension = Pool().get('pbx.extension')
        super().on_failed(calls)
        batch = [c for c in calls if c.task_line]
        if batch:
            cls._give_back([c.task_line for c in batch])
            extensions = [c.extension for c in batch if c.extension]
            if extensions:
                Extension.write(extensions, {'ready': False})
