# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Customers: stage up/down (PL-04), follow-ups from the customer and VIP
approval (PL-23)"""

from trytond.i18n import gettext
from trytond.model import ModelView
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from .customer import STAGE_ORDER, _crm_race, _movable, _pending, user_in_group
from .exceptions import StageError, VIPApprovalError


class PartyStageMixin:
    "A customer's stage and VIP state, and how they change"
    __slots__ = ()

    # Stage up and down (PL-04)

    @classmethod
    @_crm_race(StageError, 'telesales_pipeline.msg_customer_unavailable',
        _movable(1))
    @ModelView.button
    def crm_stage_up(cls, parties):
        cls._crm_move_stage(parties, 1)

    @classmethod
    @_crm_race(StageError, 'telesales_pipeline.msg_customer_unavailable',
        _movable(-1))
    @ModelView.button
    def crm_stage_down(cls, parties):
        cls._crm_move_stage(parties, -1)

    @classmethod
    def _crm_check_stage_step(cls, party, step):
        "Return the stage step away from party's or raise"
        if not party.crm_stage:
            raise StageError(gettext(
                    'telesales_pipeline.msg_not_customer',
                    customer=party.rec_name))
        index = STAGE_ORDER.index(party.crm_stage) + step
        if not 0 <= index < len(STAGE_ORDER):
            raise StageError(gettext(
                    'telesales_pipeline.msg_stage_limit',
                    customer=party.rec_name,
                    stage=party.crm_stage_string))
        return STAGE_ORDER[index]

    @classmethod
    def _crm_move_stage(cls, parties, step):
        parties = cls._crm_lock(parties)
        to_write = []
        for party in parties:
            stage = cls._crm_check_stage_step(party, step)
            if stage == 'reserve' and party.crm_ownership != 'shared':
                # back to reserve is a release to the pool
                cls._crm_check_owner_or_supervisor(
                    party, 'telesales_pipeline.msg_stage_reserve_not_owner')
            to_write.extend(([party], cls._crm_stage_values(party, stage)))
        if to_write:
            with Transaction().set_context(_crm_action='stage'):
                cls.write(*to_write)

    @classmethod
    def _crm_stage_values(cls, party, stage):
        values = {'crm_stage': stage}
        if stage == 'reserve':
            # Downgraded to reserve, the customer goes back to the pool
            values.update({
                    'crm_ownership': 'shared',
                    'crm_owner': None,
                    'crm_collaborators': [('remove', [
                                e.id for e in party.crm_collaborators])],
                    })
        if stage in {'reserve', 'target'} and party.crm_last_contact:
            values['crm_marker'] = 'contacted'
        return values

    @classmethod
    def crm_set_stage(cls, parties, stage):
        "Raise the parties to at least stage (used by opportunities)"
        index = STAGE_ORDER.index(stage)
        parties = [p for p in parties if p.crm_stage
            and STAGE_ORDER.index(p.crm_stage) < index]
        if parties:
            with Transaction().set_context(_crm_action='stage'), \
                    without_check_access():
                cls.write(cls._crm_lock(parties), {'crm_stage': stage})

    @classmethod
    @ModelView.button_action('telesales_pipeline.act_followup_write')
    def crm_write_followup(cls, parties):
        "写跟进: the follow-up form of the customer, from its own form"
        pass

    # VIP approval (PL-23)

    @classmethod
    @_crm_race(VIPApprovalError,
        'telesales_pipeline.msg_customer_unavailable', _pending)
    @ModelView.button
    def crm_approve_vip(cls, parties):
        cls._crm_decide_vip(parties, 'approved')

    @classmethod
    @_crm_race(VIPApprovalError,
        'telesales_pipeline.msg_customer_unavailable', _pending)
    @ModelView.button
    def crm_reject_vip(cls, parties):
        cls._crm_decide_vip(parties, 'rejected')

    @classmethod
    def _crm_decide_vip(cls, parties, state):
        Followup = Pool().get('crm.followup')
        if not user_in_group('group_telesales_supervisor'):
            raise VIPApprovalError(gettext(
                    'telesales_pipeline.msg_vip_not_supervisor'))
        parties = [p for p in cls._crm_lock(parties)
            if p.crm_vip_state == 'pending']
        cls.write(parties, {'crm_vip_state': state})
        for party in parties:
            Followup.log(party, gettext(
                    'telesales_pipeline.msg_log_vip_%s' % state))
