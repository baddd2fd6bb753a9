# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Customers: ownership (PL-02), claim/release with daily quota (PL-03),
assignment, collaborators and the owner-change history (PL-08)"""

from sql import Null
from sql.conditionals import Case, Coalesce

from crm_base.bulk import bulk_create

from trytond.i18n import gettext
from trytond.model import ModelView
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .customer import (
    _claimable, _crm_race, _customers, _not_shared, _owned, user_in_group)
from .exceptions import (
    ClaimQuotaError, ClaimTakenError, CollaboratorError, NoEmployeeError,
    ReleaseError)
from .guard import is_administrator, lock_rows, visible_ids
from .spreadsheet import IN_MAX


class PartyOwnershipMixin:
    "Who owns a customer, and how that changes"
    __slots__ = ()

    # Owner-change history and automatic follow-ups (PL-07, PL-08)

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'create':
            cls._crm_record_created(
                [p.id for p in parties],
                Transaction().context.get('_crm_action', 'create'))

    @classmethod
    def on_write(cls, parties, values):
        callbacks = super().on_write(parties, values)
        if not ({'crm_stage', 'crm_ownership', 'crm_owner',
                    'crm_collaborators'} & values.keys()):
            return callbacks
        old = {p.id: (p.crm_stage, p.crm_ownership,
                p.crm_owner.id if p.crm_owner else None,
                frozenset(e.id for e in p.crm_collaborators))
            for p in parties}
        action = Transaction().context.get('_crm_action', 'edit')

        def record():
            cls._crm_record_changes(cls.browse(list(old)), old, action)
        callbacks.append(record)
        return callbacks

    @classmethod
    def _crm_record_created(cls, ids, action):
        "The owner history of new customers (as _crm_record_changes would)"
        History = Pool().get('crm.party.owner.history')
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        histories = []
        collaborative = []
        for sub_ids in grouped_slice(ids, IN_MAX):
            cursor.execute(*table.select(
                    table.id, table.crm_ownership, table.crm_owner,
                    where=table.id.in_(list(sub_ids))
                    & (table.crm_stage != Null)))
            for id_, ownership, owner in cursor:
                if (ownership, owner) == (None, None):
                    continue
                histories.append({
                        'party': id_, 'action': action,
                        'from_ownership': None, 'from_owner': None,
                        'to_ownership': ownership, 'to_owner': owner})
                if ownership == 'collaborative':
                    collaborative.append(histories[-1])
        # imports create no collaborative customers: read them one by one
        for history in collaborative:
            history['collaborators'] = cls(
                history['party'])._crm_collaborator_names()
        with without_check_access():
            bulk_create(History, histories)

    def _crm_collaborator_names(self):
        return ', '.join(sorted(e.rec_name for e in self.crm_collaborators))

    @classmethod
    def _crm_record_changes(cls, parties, old, action):
        pool = Pool()
        History = pool.get('crm.party.owner.history')
        Followup = pool.get('crm.followup')
        stages = dict(cls.fields_get(['crm_stage'])['crm_stage']['selection'])
        histories = []
        with without_check_access():
            for party in parties:
                stage, ownership, owner, collaborators = old[party.id]
                new_owner = party.crm_owner.id if party.crm_owner else None
                new_collaborators = frozenset(
                    e.id for e in party.crm_collaborators)
                if ((ownership, owner, collaborators)
                        != (party.crm_ownership, new_owner,
                            new_collaborators)):
                    histories.append({
                            'party': party.id, 'action': action,
                            'from_ownership': ownership, 'from_owner': owner,
                            'to_ownership': party.crm_ownership,
                            'to_owner': new_owner,
                            'collaborators': (
                                party._crm_collaborator_names() or None),
                            })
                    if ownership is not None:
                        Followup.log(party, party._crm_owner_message(
                                action, ownership, owner))
                if stage is not None and stage != party.crm_stage:
                    Followup.log(party, gettext(
                            'telesales_pipeline.msg_log_stage',
                            from_=stages.get(stage) or '',
                            to=stages.get(party.crm_stage) or ''))
            # rows made here from the party's checked values
            bulk_create(History, histories)

    def _crm_owner_message(self, action, old_ownership, old_owner):
        Employee = Pool().get('company.employee')
        old_name = Employee(old_owner).rec_name if old_owner else ''
        new_name = self.crm_owner.rec_name if self.crm_owner else ''
        if (old_owner and self.crm_owner and old_owner == self.crm_owner.id
                and old_ownership != 'shared'
                and self.crm_ownership != 'shared'):
            # the owner stays: the collaborators changed
            return gettext('telesales_pipeline.msg_log_collaborators',
                collaborators=self._crm_collaborator_names() or '-')
        if self.crm_ownership == 'shared':
            return gettext('telesales_pipeline.msg_log_released',
                owner=old_name)
        if action == 'claim':
            return gettext('telesales_pipeline.msg_log_claimed',
                owner=new_name)
        return gettext('telesales_pipeline.msg_log_owner',
            from_=old_name, to=new_name)

    # Claim and release (PL-03)

    @classmethod
    def _crm_employee(cls):
        Employee = Pool().get('company.employee')
        employee = Transaction().context.get('employee')
        if employee is None:
            raise NoEmployeeError(gettext(
                    'telesales_pipeline.msg_no_employee'))
        return Employee(employee)

    @classmethod
    def _crm_lock(cls, parties):
        """Wait for concurrent changes of parties; return them as committed

        A concurrent claim, release, reassign or stage change of the same
        customers that committed meanwhile starts the call again (see
        guard.lock_rows): the caller then answers from its result."""
        lock_rows(cls, parties)
        return cls.browse([p.id for p in parties])

    @classmethod
    @_crm_race(ClaimTakenError, 'telesales_pipeline.msg_claim_taken_hidden',
        _claimable)
    @ModelView.button
    def crm_claim(cls, parties):
        "Claim shared customers for the current employee within the quota"
        pool = Pool()
        Employee = pool.get('company.employee')
        Configuration = pool.get('crm.configuration')
        employee = cls._crm_employee()
        # Customers first, then the employee (whose row holds the day's
        # claims): every claim locks in this order, so none deadlocks
        parties = cls._crm_lock(parties)
        lock_rows(Employee, [employee])
        for party in parties:
            if party.crm_ownership != 'shared' or not party.crm_stage:
                raise cls._crm_taken_error(party)
        quota = Configuration.get_user_claim_quota()
        claimed = cls._crm_count_claims(employee, len(parties), quota)
        with Transaction().set_context(_crm_action='claim'):
            cls.write(parties, {
                    'crm_ownership': 'personal',
                    'crm_owner': employee.id,
                    })
        # the confirmation: the pool's row disappears from the user's list
        cls.notify_user(parties, 'tryton-ok', gettext(
                'telesales_pipeline.msg_claimed',
                customers=', '.join(p.rec_name for p in parties[:3])
                + ('…' if len(parties) > 3 else ''),
                count=len(parties), remaining=max(quota - claimed, 0)))

    @classmethod
    def _crm_taken_error(cls, party):
        """The refusal of a claim of party, which is not in the pool

        It names the customer and its owner only to a user who may see the
        customer (a supervisor sees the team's customers)."""
        if party.id not in visible_ids(cls, [party.id]):
            return ClaimTakenError(gettext(
                    'telesales_pipeline.msg_claim_taken_hidden'))
        with without_check_access():
            owner = party.crm_owner.rec_name if party.crm_owner else ''
        return ClaimTakenError(gettext(
                'telesales_pipeline.msg_claim_taken',
                customer=party.rec_name, owner=owner))

    @classmethod
    def _crm_count_claims(cls, employee, count, quota):
        """Add count to the employee's claims of the day or raise; return
        the day's claims"""
        pool = Pool()
        Employee = pool.get('company.employee')
        Date = pool.get('ir.date')
        today = Date.today()
        table = Employee.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                Case((table.crm_claim_date == today,
                        Coalesce(table.crm_claim_count, 0)),
                    else_=0),
                where=table.id == employee.id))
        claimed, = cursor.fetchone()
        if claimed + count > quota:
            raise ClaimQuotaError(gettext(
                    'telesales_pipeline.msg_claim_quota_exceeded',
                    quota=quota, claimed=claimed, count=count))
        cursor.execute(*table.update(
                [table.crm_claim_date, table.crm_claim_count],
                [today, claimed + count],
                where=table.id == employee.id))
        return claimed + count

    @classmethod
    def _crm_check_owner_or_supervisor(cls, party, message):
        "Refuse with message unless the user owns party or supervises"
        User = Pool().get('res.user')
        if (not Transaction().user
                or user_in_group('group_telesales_supervisor')
                or user_in_group('group_telesales_admin')):
            return
        if (not party.crm_owner
                or party.crm_owner.id not in User.get_employees()):
            raise ReleaseError(gettext(message, customer=party.rec_name))

    @classmethod
    @_crm_race(ReleaseError, 'telesales_pipeline.msg_customer_unavailable',
        _owned)
    @ModelView.button
    def crm_release(cls, parties):
        "Release customers to the shared pool"
        parties = cls._crm_lock(parties)
        to_release = [p for p in parties if p.crm_ownership != 'shared']
        for party in to_release:
            cls._crm_check_owner_or_supervisor(
                party, 'telesales_pipeline.msg_release_not_owner')
        if to_release:
            with Transaction().set_context(_crm_action='release'):
                cls.write(to_release, {
                        'crm_ownership': 'shared',
                        'crm_owner': None,
                        'crm_collaborators': [('remove', [
                                    e.id for p in to_release
                                    for e in p.crm_collaborators])],
                        })

    # Reassign (supervisors and above)

    @classmethod
    @_crm_race(ReleaseError, 'telesales_pipeline.msg_customer_unavailable',
        _customers)
    @ModelView.button_action('telesales_pipeline.wizard_customer_reassign')
    def crm_reassign(cls, parties):
        pass

    @classmethod
    def crm_assign(cls, parties, employee):
        """Give the customers to employee as personal owner

        The collaborators go: the new owner shares the customer again if he
        wishes."""
        if not (user_in_group('group_telesales_supervisor')
                or user_in_group('group_telesales_admin')
                or is_administrator()):
            raise ReleaseError(gettext(
                    'telesales_pipeline.msg_reassign_not_supervisor'))
        if not cls._crm_may_own(employee):
            raise ReleaseError(gettext(
                    'telesales_pipeline.msg_reassign_outside_team',
                    employee=employee.rec_name))
        parties = cls._crm_lock(parties)
        with Transaction().set_context(_crm_action='reassign'):
            cls.write(parties, {
                    'crm_ownership': 'personal',
                    'crm_owner': employee.id,
                    'crm_collaborators': [('remove', [
                                e.id for p in parties
                                for e in p.crm_collaborators])],
                    })

    @classmethod
    def _crm_may_own(cls, employee):
        """Whether the user may give customers to employee

        A representative only to himself, a supervisor within the team
        under him, telesales and system administrators to anyone."""
        pool = Pool()
        User = pool.get('res.user')
        Employee = pool.get('company.employee')
        if (not Transaction().user or is_administrator()
                or user_in_group('group_telesales_admin')):
            return True
        employees = list(User.get_employees())
        if employee.id in employees:
            return True
        if not user_in_group('group_telesales_supervisor'):
            return False
        with without_check_access():
            return bool(Employee.search([
                        ('id', '=', employee.id),
                        ('supervisor', 'child_of', employees),
                        ]))

    # Collaborators (PL-02)

    @classmethod
    @_crm_race(CollaboratorError,
        'telesales_pipeline.msg_customer_unavailable', _not_shared)
    @ModelView.button_action(
        'telesales_pipeline.wizard_customer_collaborators')
    def crm_collaborate(cls, parties):
        pass

    @classmethod
    def crm_set_collaborators(cls, parties, employees):
        """Share the customers with employees: collaborative ownership

        Without employees the customers are personal again. Only their
        owner, a supervisor or a telesales administrator may."""
        parties = cls._crm_lock(parties)
        new = {e.id for e in employees}
        to_write = []
        for party in parties:
            if party.crm_ownership not in {'personal', 'collaborative'}:
                raise CollaboratorError(gettext(
                        'telesales_pipeline.msg_collaborators_shared',
                        customer=party.rec_name))
            cls._crm_check_owner_or_supervisor(
                party, 'telesales_pipeline.msg_collaborators_not_owner')
            wanted = new - {party.crm_owner.id}
            current = {e.id for e in party.crm_collaborators}
            ownership = 'collaborative' if wanted else 'personal'
            if (wanted, ownership) == (current, party.crm_ownership):
                continue
            to_write.extend(([party], {
                        'crm_ownership': ownership,
                        'crm_collaborators': [
                            ('remove', list(current - wanted)),
                            ('add', list(wanted - current))],
                        }))
        if to_write:
            with Transaction().set_context(_crm_action='collaborate'):
                cls.write(*to_write)
