# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What the customers' model and its parts share: stages, ownerships,
markers, and the answer to a button pressed on customers that changed
meanwhile"""
from functools import wraps


from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import (
    CollaboratorError, ReleaseError, StageError, VIPApprovalError)
from .guard import visible_ids


def _crm_race(exception, message, check=None):
    """Answer a button pressed on customers that changed meanwhile

    ModelView.button first reads the records under the visibility rules and
    checks the button's states: a customer another user claimed, released or
    moved a moment ago would be refused with a generic access error or an
    untranslated "You can not call". Instead, ids the user cannot see (any
    more) are refused with message, which names neither the customer nor
    its owner (the ids may be anyone's, or no customer's at all); then
    check(cls, parties) is given the visible ones: it returns those to act
    on (an action already done is skipped) or raises the business refusal.
    """
    def decorator(func):
        @wraps(func)
        def wrapper(cls, parties, *args, **kwargs):
            transaction = Transaction()
            ids = {p.id for p in parties if p.id is not None and p.id >= 0}
            if transaction.user and transaction.check_access and ids:
                if visible_ids(cls, ids) != ids:
                    raise exception(gettext(message))
                if check:
                    # still through the button: its groups are checked
                    # even when nothing is left to do
                    parties = check(cls, cls.browse(sorted(ids)))
            return func(cls, parties, *args, **kwargs)
        return wrapper
    return decorator


def _claimable(cls, parties):
    for party in parties:
        if party.crm_ownership != 'shared' or not party.crm_stage:
            raise cls._crm_taken_error(party)
    return parties


def _owned(cls, parties):
    "Those not in the pool (released already)"
    return [p for p in parties if p.crm_ownership != 'shared']


def _movable(step):
    def check(cls, parties):
        for party in parties:
            cls._crm_check_stage_step(party, step)
        return parties
    return check


def _pending(cls, parties):
    for party in parties:
        if party.crm_vip_state != 'pending':
            raise VIPApprovalError(gettext(
                    'telesales_pipeline.msg_vip_not_pending',
                    customer=party.rec_name,
                    state=party.crm_vip_state_string or '-'))
    return parties


def _customers(cls, parties):
    for party in parties:
        if not party.crm_stage:
            raise StageError(gettext(
                    'telesales_pipeline.msg_not_customer',
                    customer=party.rec_name))
    return parties


def _not_shared(cls, parties):
    for party in parties:
        if party.crm_ownership not in {'personal', 'collaborative'}:
            raise CollaboratorError(gettext(
                    'telesales_pipeline.msg_collaborators_shared',
                    customer=party.rec_name))
    return parties


class CustomerWizardMixin:
    "A wizard on customers: those the user cannot see are named nowhere"
    __slots__ = ()

    @classmethod
    def check_access(cls):
        transaction = Transaction()
        context = transaction.context
        if transaction.user and context.get('active_model') == 'party.party':
            ids = set(context.get('active_ids') or [])
            if context.get('active_id') is not None:
                ids.add(context['active_id'])
            Party = Pool().get('party.party')
            ids = {i for i in ids if isinstance(i, int) and i >= 0}
            if ids and visible_ids(Party, ids) != ids:
                # Tryton's rule error has no Chinese text
                raise ReleaseError(gettext(
                        'telesales_pipeline.msg_customer_unavailable'))
        super().check_access()


STAGES = [
    ('reserve', "Reserve"),
    ('target', "Target"),
    ('potential', "Potential"),
    ('opportunity', "Opportunity"),
    ('closed', "Closed"),
    ]
STAGE_ORDER = [s for s, _ in STAGES]
OWNERSHIPS = [
    ('personal', "Personal"),
    ('collaborative', "Collaborative"),
    ('shared', "Shared"),
    ]
MARKERS = [
    ('uncontacted', "Not Contacted"),
    ('contacted', "Contacted"),
    ('tracking', "Tracking"),
    ('tracking_paused', "Tracking Paused"),
    ('selling', "Selling"),
    ('sale_paused', "Sale Paused"),
    ('sale_ended', "Sale Ended"),
    ('order_followup', "Order Follow-up"),
    ]
STAGE_MARKERS = {
    'reserve': ['uncontacted', 'contacted'],
    'target': ['uncontacted', 'contacted'],
    'potential': ['tracking', 'tracking_paused'],
    'opportunity': [
        'tracking', 'tracking_paused', 'selling', 'sale_paused',
        'sale_ended'],
    'closed': ['order_followup'],
    }
DEFAULT_MARKERS = {
    'reserve': 'uncontacted',
    'target': 'uncontacted',
    'potential': 'tracking',
    'opportunity': 'selling',
    'closed': 'order_followup',
    }
# From potential on, the contact data is the pipeline's record (PL-04)
LOCKED_STAGES = ['potential', 'opportunity', 'closed']
LOCKED_FIELDS = [
    'name', 'addresses', 'contact_mechanisms', 'crm_source', 'crm_industry']


def _group_id(xml_id):
    ModelData = Pool().get('ir.model.data')
    return ModelData.get_id('telesales_pipeline', xml_id)


def user_in_group(xml_id):
    "Whether the current user is in the group (or a group below it)"
    User = Pool().get('res.user')
    if Transaction().user == 0:
        return True
    return _group_id(xml_id) in User.get_groups()
