# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Opportunities move their customer along the pipeline (PL-18)"
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta


class SaleOpportunity(metaclass=PoolMeta):
    __name__ = 'sale.opportunity'
    crm_followups = fields.One2Many(
        'crm.followup', 'origin', "Follow-ups", readonly=True)

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
