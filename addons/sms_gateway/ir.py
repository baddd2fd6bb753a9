# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import contextvars
from contextlib import contextmanager

from trytond import config
from trytond.pool import PoolMeta
from trytond.transaction import Transaction, without_check_access

# the tasks pushed inside Queue.pushed_together(), not yet created
_pending = contextvars.ContextVar('sms_gateway_queue_pending', default=None)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('sms.message|dispatch_due', "Send Due SMS"),
                ('sms.trigger|run', "Queue Event SMS"),
                ])


class Queue(metaclass=PoolMeta):
    __name__ = 'ir.queue'

    @classmethod
    @contextmanager
    def pushed_together(cls):
        """Create the tasks pushed inside the block with one ``create``.

        The host's ``__queue__`` still builds each task (context, user,
        batches of ``queue_batch``); only its one ``create`` per task is
        gathered: a bulk send of 100,000 messages pushes 2,000 tasks. The
        list yielded receives the ids of the tasks, in order, on exit."""
        pending, ids = [], []
        token = _pending.set(pending)
        try:
            yield ids
        finally:
            _pending.reset(token)
        ids.extend(cls._push_many(pending))

    @classmethod
    def push(cls, name, data, scheduled_at=None, expected_at=None):
        pending = _pending.get()
        if pending is None:
            return super().push(name, data, scheduled_at=scheduled_at,
                expected_at=expected_at)
        pending.append({
                'name': name,
                'data': data,
                'scheduled_at': scheduled_at,
                'expected_at': expected_at,
                })

    @classmethod
    def _push_many(cls, vlist):
        "What the host's push does, for many tasks at once"
        if not vlist:
            return []
        transaction = Transaction()
        database = transaction.database
        with without_check_access():
            records = cls.create(vlist)
        ids = [r.id for r in records]
        if database.has_channel():
            database.notify(transaction.connection, cls.__name__, '')
        if not config.getboolean('queue', 'worker', default=False):
            transaction.tasks.extend(ids)
        return ids
