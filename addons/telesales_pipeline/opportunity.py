# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Opportunities move their customer along the pipeline (PL-18)"
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .guard import (
    TextCheckMixin, check_visible, readonly_fields,
    refuse_changes, refuse_given)


class SaleOpportunity(
        TextCheckMixin, metaclass=PoolMeta):
    __name__ = 'sale.opportunity'
    crm_followups = fields.One2Many(
        'crm.followup', 'origin', "Follow-ups", readonly=True)

    @classmethod
    def create(cls, vlist):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # a lead, moved on by the buttons, which keep the customer's
            # stage in step (PL-18)
            refuse_given(cls, [
                    {k: v for k, v in values.items()
                        if not (k == 'state' and v == 'lead')}
                    for values in vlist], readonly_fields(cls))
        return super().create(vlist)

    @classmethod
    def check_modification(
            cls, mode, opportunities, values=None, external=False):
        if external and mode in {'write', 'delete'}:
            # before any message naming them
            check_visible(cls, opportunities)
        super().check_modification(
            mode, opportunities, values=values, external=external)
        if mode == 'write' and external:
            for opportunity in opportunities:
                refuse_changes(opportunity, values, readonly_fields(cls))

    @classmethod
    def copy(cls, opportunities, default=None):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # copy reads the originals past the record rules
            check_visible(cls, opportunities)
        default = default.copy() if default is not None else {}
        # a copy starts as a lead, like a new opportunity
        default.setdefault('state', 'lead')
        return super().copy(opportunities, default=default)

    @classmethod
    def opportunity(cls, opportunities):
        super().opportunity(opportunities)
        cls._crm_sync(opportunities, 'opportunity')

    @classmethod
    def won(cls, opportunities):
        super().won(opportunities)
        cls._crm_sync(opportunities, 'closed')

    @classmethod
    def lost(cls, opportunities):
        super().lost(opportunities)
        cls._crm_log(opportunities, 'lost')

    @classmethod
    def _crm_sync(cls, opportunities, stage):
        "Raise the customers to stage and log it on each"
        Party = Pool().get('party.party')
        parties = {o.party for o in opportunities if o.party}
        Party.crm_set_stage(list(parties), stage)
        cls._crm_log(opportunities, stage)

    @classmethod
    def _crm_log(cls, opportunities, state):
        pool = Pool()
        Followup = pool.get('crm.followup')
        states = dict(cls.fields_get(['state'])['state']['selection'])
        for opportunity in opportunities:
            if opportunity.party and opportunity.party.crm_stage:
                Followup.log(opportunity.party, gettext(
                        'telesales_pipeline.msg_log_opportunity',
                        opportunity=opportunity.rec_name,
                        state=states.get(opportunity.state, state)),
                    origin=opportunity, employee=opportunity.employee)
