# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Customers: what a user may change, create, copy and delete (PL-04,
PL-21)"""

from trytond.i18n import gettext
from trytond.model import ModelSQL
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from .customer import LOCKED_FIELDS, LOCKED_STAGES, user_in_group
from .exceptions import (
    CustomerDeleteError, OwnerAssignError, ProtectedFieldError,
    StageLockedError)
from .guard import (
    check_visible, field_labels, is_administrator, readonly_fields,
    refuse_changes)


class PartyProtectionMixin:
    "The rules on changing, creating, copying and deleting customers"
    __slots__ = ()

    # Read-only fields by stage (PL-04)

    @classmethod
    def crm_check_locked(cls, parties, field_names):
        """Refuse a change of field_names of customers in a locked stage

        The form makes them read-only; this holds for every other client.
        Supervisors and telesales administrators may still correct them.
        """
        if (user_in_group('group_telesales_supervisor')
                or user_in_group('group_telesales_admin')):
            return
        for party in parties:
            if party.crm_stage in LOCKED_STAGES:
                names = cls.fields_get(sorted(field_names))
                raise StageLockedError(gettext(
                        'telesales_pipeline.msg_customer_stage_locked',
                        customer=party.rec_name,
                        stage=party.crm_stage_string,
                        fields=', '.join(
                            names[n]['string'] for n in sorted(names))))

    @classmethod
    def create(cls, vlist):
        # the contact data and collaborators given with the customer are
        # checked with it
        with Transaction().set_context(
                _crm_locked_checked=True, _crm_collaborators_checked=True):
            return super().create(vlist)

    @classmethod
    def write(cls, *args):
        with Transaction().set_context(
                _crm_locked_checked=True, _crm_collaborators_checked=True):
            super().write(*args)

    def _crm_locked_changes(self, values):
        "The locked fields values would change"
        changed = set()
        for name in LOCKED_FIELDS:
            if name not in values:
                continue
            value = getattr(self, name)
            if isinstance(value, ModelSQL):
                value = value.id
            if name in {'addresses', 'contact_mechanisms'} or (
                    value != values[name]):
                changed.add(name)
        return changed

    # Fields set by buttons and wizards only

    @classmethod
    def _crm_protected_fields(cls):
        """The fields a user's plain write may not change

        Stage: stage up and down (and the opportunities); ownership, owner
        and collaborators: claim, release, reassign and collaborators; and
        every stored field the views show read-only (VIP state: approve and
        reject; last contact: the follow-ups; the normalised keys…).
        """
        return (readonly_fields(cls)
            | {'crm_stage', 'crm_ownership', 'crm_owner', 'crm_collaborators'})

    @classmethod
    def _crm_corrected_fields(cls):
        "The protected fields a system administrator may still correct"
        # logged like the buttons' changes: owner history and follow-ups
        return {'crm_stage', 'crm_ownership', 'crm_owner', 'crm_collaborators'}

    @classmethod
    def _crm_check_created(cls, parties):
        """Refuse a user's new customers with what only buttons may set

        The stage, the ownership and the collaborators of a new customer are
        the user's choice, its owner within the user's reach (himself for a
        representative, the team for a supervisor); a VIP waits for its
        approval (PL-23) and the follow-ups set the last contact."""
        for party in parties:
            wrong = set()
            if party.crm_vip_state != cls._crm_vip_state(party.crm_vip):
                wrong.add('crm_vip_state')
            if party.crm_last_contact:
                wrong.add('crm_last_contact')
            if wrong:
                raise ProtectedFieldError(gettext(
                        'telesales_pipeline.msg_field_protected_create',
                        model=cls.__names__()['model'],
                        fields=field_labels(cls, wrong)))
            if (party.crm_stage and party.crm_owner
                    and not cls._crm_may_own(party.crm_owner)):
                raise OwnerAssignError(gettext(
                        'telesales_pipeline.msg_customer_owner_not_allowed',
                        customer=party.rec_name,
                        employee=party.crm_owner.rec_name))

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        if external and mode in {'write', 'delete'}:
            # before any message naming them
            check_visible(cls, parties)
        super().check_modification(
            mode, parties, values=values, external=external)
        if mode == 'write' and external:
            protected = cls._crm_protected_fields()
            if is_administrator():
                protected -= cls._crm_corrected_fields()
            if values.keys() & protected:
                for party in parties:
                    refuse_changes(party, values, protected)
        if mode == 'create' and external:
            cls._crm_check_created(parties)
        if mode == 'write' and external and values.keys() & set(
                LOCKED_FIELDS):
            for party in parties:
                changed = party._crm_locked_changes(values)
                if changed:
                    cls.crm_check_locked([party], changed)
        if mode == 'delete':
            for party in parties:
                reason = party.crm_delete_blocker()
                if reason:
                    raise CustomerDeleteError(gettext(
                            'telesales_pipeline.msg_customer_delete_refused',
                            customer=party.rec_name, reason=reason))

    def crm_delete_blocker(self):
        """Return why the party may not be deleted, or None

        Extend it for contracts, cards, signings… (PL-21, LN-05).
        """
        pool = Pool()
        Sale = pool.get('sale.sale')
        with without_check_access():
            if Sale.search([
                        ('party', '=', self.id),
                        ('state', 'in', ['confirmed', 'processing', 'done']),
                        ], limit=1, order=[]):
                return gettext('telesales_pipeline.msg_reason_sale')
            try:
                Line = pool.get('account.move.line')
            except KeyError:
                Line = None
            try:
                Invoice = pool.get('account.invoice')
            except KeyError:
                Invoice = None
            if Invoice and Invoice.search([
                        ('party', '=', self.id),
                        ('state', 'in', ['validated', 'posted', 'paid']),
                        ], limit=1, order=[]):
                return gettext('telesales_pipeline.msg_reason_invoice')
            # the moves of a posted invoice are named above as the invoice
            if Line and Line.search(
                    [('party', '=', self.id)], limit=1, order=[]):
                return gettext('telesales_pipeline.msg_reason_money')

    @classmethod
    def delete(cls, parties):
        pool = Pool()
        Opportunity = pool.get('sale.opportunity')
        Sale = pool.get('sale.sale')
        transaction = Transaction()
        # Checked first, so nothing is removed when one party is refused
        cls.check_modification('delete', parties,
            external=bool(transaction.user and transaction.check_access))
        with without_check_access():
            opportunities = Opportunity.search([
                    ('party', 'in', [p.id for p in parties])])
            open_ = [o for o in opportunities
                if o.state in {'lead', 'opportunity'}]
            Opportunity.cancel(open_)
            Opportunity.write(opportunities, {'state': 'cancelled'})
            Opportunity.delete(opportunities)
            sales = Sale.search([('party', 'in', [p.id for p in parties])])
            Sale.cancel([s for s in sales if s.state != 'cancelled'])
            Sale.delete(sales)
        super().delete(parties)

    @classmethod
    def _crm_check_copy(cls, parties):
        """Refuse a user's copy of customers

        A copy of a pool customer, with its phones, would be the user's
        without a claim (PL-03); administrators may still copy."""
        if is_administrator() or user_in_group('group_telesales_admin'):
            return
        for party in parties:
            if party.crm_stage:
                raise ProtectedFieldError(gettext(
                        'telesales_pipeline.msg_customer_copy',
                        customer=party.rec_name))

    @classmethod
    def copy(cls, parties, default=None):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # copy reads the originals past the record rules
            check_visible(cls, parties)
            cls._crm_check_copy(parties)
        default = default.copy() if default is not None else {}
        for name in ['crm_followups', 'crm_last_contact', 'crm_owner_history',
                'crm_vip_state']:
            default.setdefault(name, None)
        return super().copy(parties, default=default)
