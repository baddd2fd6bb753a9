# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .notify import user_language


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.domain.help += (
            '\n- "employees" as list of ids of the current user\'s employees')

    @classmethod
    def _get_cache_key(cls, model_names):
        User = Pool().get('res.user')
        key = super()._get_cache_key(model_names)
        return (*key, User.get_employees())

    @classmethod
    def _get_context(cls, model_name):
        User = Pool().get('res.user')
        context = super()._get_context(model_name)
        context['employees'] = list(User.get_employees())
        return context


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('crm.followup|send_reminders', "Send Callback Reminders"),
                ('crm.appointment|send_reminders',
                    "Send Appointment Reminders"),
                ])


class Queue(metaclass=PoolMeta):
    __name__ = 'ir.queue'

    def run(self):
        """Run the task in the language of the user who queued it.

        The host drops the language from a task's context: the texts a
        task writes (an import's summary, result workbook and reasons) came
        out in the server's default language."""
        User = Pool().get('res.user')
        with Transaction().set_context(
                language=user_language(User(self.data['user']))):
            return super().run()
