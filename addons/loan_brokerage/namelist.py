# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Name-list library (LN-01, LN-02) on telesales_pipeline's import and call
tasks.

Managers (*Loan Brokerage Administrator*) keep the call lists and assign
their numbers to reps as call tasks. A rep imports their own name list: the
customers are theirs and the list's numbers become a task of theirs at once.
Numbers already called in any task are filtered out of each new batch by
telesales_pipeline; with pbx_connector, a ready rep's tasks are dialled by
batch dialing.
"""
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .exceptions import NameListOwnerError

# groups that manage name lists for others
MANAGERS = [
    ('loan_brokerage', 'group_loan_admin'),
    ('telesales_pipeline', 'group_telesales_supervisor'),
    ('telesales_pipeline', 'group_telesales_admin'),
    ]


def own_lists_only():
    "Whether the user is a loan rep who imports for themselves only"
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    if Transaction().user == 0:
        return False
    groups = User.get_groups()
    if ModelData.get_id('loan_brokerage', 'group_loan') not in groups:
        return False
    return not any(ModelData.get_id(m, g) in groups for m, g in MANAGERS)


class PartyImport(metaclass=PoolMeta):
    __name__ = 'crm.party.import'

    @classmethod
    def validate(cls, imports):
        pool = Pool()
        User = pool.get('res.user')
        super().validate(imports)
        if not own_lists_only():
            return
        user = User(Transaction().user)
        for record in imports:
            if record.owner not in user.employees:
                raise NameListOwnerError(gettext(
                        'loan_brokerage.msg_name_list_own',
                        owner=record.owner.rec_name))

    def _make_call_list(self, parties, valid):
        "A rep's own list becomes a task of theirs"
        own = own_lists_only()
        # reps do not keep the library: the list is made on their behalf
        with without_check_access():
            call_list = super()._make_call_list(parties, valid)
            if own:
                call_list.create_tasks([self.owner],
                    size=len(call_list.lines) or 1,
                    name=self.call_list_name)
        return call_list
