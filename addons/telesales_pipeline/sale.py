# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Orders of closed customers with their follow-ups (PL-19)"
from trytond.model import fields
from trytond.pool import PoolMeta


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'
    crm_followups = fields.One2Many(
        'crm.followup', 'origin', "Follow-ups",
        add_remove=None,
        help="Follow-ups of the order: payment, delivery, after-sales.")
    crm_next_callback = fields.Function(
        fields.Date("Next Callback"), 'get_crm_next_callback')

    def get_crm_next_callback(self, name):
        dates = [f.next_callback for f in self.crm_followups
            if f.next_callback and f.reminder_state == 'open']
        return min(dates) if dates else None
