# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Duplicate checks of customers (PL-09)

Equal normalised names are refused; the same phone or keyword is flagged with
the customer already holding it, its owner and whether it is in the shared
pool or protected by a colleague.
"""
import re
import unicodedata

from crm_base.phone import PHONE_TYPES, mask_phone, normalize


from trytond.i18n import gettext
from trytond.model import Index, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateView, Wizard

from .exceptions import DuplicateNameError, DuplicateWarning
from .spreadsheet import IN_MAX, chunks

_SPACES = re.compile(r'\s+')


def normalize_name(name):
    """Key two names are equal by: trimmed, inner spaces collapsed,
    full-width folded to half-width (NFKC) and case-folded"""
    if not name:
        return None
    name = unicodedata.normalize('NFKC', str(name))
    return _SPACES.sub(' ', name).strip().casefold() or None


def user_checks():
    """Context flagging calls made by a user (not by server code)

    Validation runs without access check, so the flag is taken when the
    user's create or write comes in.
    """
    transaction = Transaction()
    return transaction.set_context(_crm_user_call=bool(
            transaction.check_access
            or transaction.context.get('_crm_user_call')))


def is_user_call():
    return Transaction().context.get('_crm_user_call', False)


class UserCallMixin:
    __slots__ = ()

    @classmethod
    def create(cls, vlist):
        with user_checks():
            return super().create(vlist)

    @classmethod
    def write(cls, *args):
        with user_checks():
            return super().write(*args)


def pool_state(party, employee_id=None):
    "Where an existing customer stands for the employee: shared/own/protected"
    if party.crm_ownership == 'shared':
        return 'shared'
    employees = {party.crm_owner.id} if party.crm_owner else set()
    employees |= {e.id for e in party.crm_collaborators}
    if employee_id and employee_id in employees:
        return 'own'
    return 'protected' if employees else 'none'


def describe(party, employee_id=None):
    "Translated one-line description of an existing customer"
    state = pool_state(party, employee_id)
    return gettext('telesales_pipeline.msg_duplicate_party_%s' % state,
        party=party.rec_name,
        owner=party.crm_owner.rec_name if party.crm_owner else '')


class Party(UserCallMixin, metaclass=PoolMeta):
    __name__ = 'party.party'

    crm_name_key = fields.Char("Normalised Name", readonly=True)
    crm_keyword = fields.Char("Keyword",
        help="A short word the customer is known by, checked for duplicates "
        "(for example the brand in the company name).")
    crm_keyword_key = fields.Char("Normalised Keyword", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.crm_name_key, Index.Equality()),
                    where=t.crm_stage != None),  # noqa: E711
                Index(t, (t.crm_keyword_key, Index.Equality()),
                    where=t.crm_keyword_key != None),  # noqa: E711
                })
        cls._buttons.update({
                'crm_check_duplicates': {
                    'invisible': ~Eval('crm_stage'),
                    'depends': ['crm_stage'],
                    },
                })

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'name' in values:
            values['crm_name_key'] = normalize_name(values['name'])
        if 'crm_keyword' in values:
            values['crm_keyword_key'] = normalize_name(values['crm_keyword'])
        return values

    @classmethod
    def copy(cls, parties, default=None):
        with Transaction().set_context(crm_allow_duplicate_name=True):
            return super().copy(parties, default=default)

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        if field_names is None or field_names & {'name', 'crm_stage'}:
            cls.check_duplicate_names(parties)
        if field_names is None or 'crm_keyword' in field_names:
            cls.check_duplicate_keywords(parties)

    @classmethod
    def duplicate_name_ids(cls, keys, exclude=()):
        "Return {name key: party id} of customers having one of keys"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        if not isinstance(exclude, (set, frozenset)):
            exclude = set(exclude)
        for sub_keys in chunks(
                set(filter(None, keys)), IN_MAX):
            cursor.execute(*table.select(table.crm_name_key, table.id,
                    where=table.crm_name_key.in_(list(sub_keys))
                    & (table.crm_stage != None)))  # noqa: E711
            for key, id_ in cursor:
                if id_ not in exclude:
                    result.setdefault(key, id_)
        return result

    @classmethod
    def check_duplicate_names(cls, parties):
        if Transaction().context.get('crm_allow_duplicate_name'):
            return
        customers = [p for p in parties if p.crm_stage and p.crm_name_key]
        seen = {}
        for party in customers:
            if party.crm_name_key in seen:
                cls._raise_duplicate_name(party, seen[party.crm_name_key])
            seen[party.crm_name_key] = party
        existing = cls.duplicate_name_ids(seen, exclude=map(int, customers))
        for key, id_ in existing.items():
            cls._raise_duplicate_name(seen[key], cls(id_))

    @classmethod
    def _raise_duplicate_name(cls, party, other):
        employee = Transaction().context.get('employee')
        raise DuplicateNameError(gettext(
                'telesales_pipeline.msg_duplicate_name',
                name=party.name, existing=describe(other, employee)))

    @classmethod
    def check_duplicate_keywords(cls, parties):
        "Warn the user when a keyword is already used by another customer"
        if not is_user_call():
            return
        for party in parties:
            if not party.crm_keyword_key:
                continue
            others = cls.search([
                    ('crm_keyword_key', '=', party.crm_keyword_key),
                    ('id', '!=', party.id),
                    ], limit=3)
            if others:
                _warn('crm_duplicate_keyword', party, others, gettext(
                        'telesales_pipeline.msg_duplicate_keyword',
                        keyword=party.crm_keyword,
                        existing=_describe_all(others)))

    @classmethod
    @ModelView.button_action(
        'telesales_pipeline.wizard_party_duplicate_check')
    def crm_check_duplicates(cls, parties):
        pass

    def find_duplicates(self):
        "Return [(match, value, party)] of other customers resembling self"
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        matches = []
        if self.crm_name_key:
            for party in self.search([
                        ('crm_name_key', '=', self.crm_name_key),
                        ('id', '!=', self.id)]):
                matches.append(('name', self.name, party))
        if self.crm_keyword_key:
            for party in self.search([
                        ('crm_keyword_key', '=', self.crm_keyword_key),
                        ('id', '!=', self.id)]):
                matches.append(('keyword', self.crm_keyword, party))
        phones = {m.value_compact for m in self.contact_mechanisms
            if m.type in PHONE_TYPES and m.value_compact}
        if phones:
            for mechanism in Mechanism.search([
                        ('value_compact', 'in', list(phones)),
                        ('type', 'in', list(PHONE_TYPES)),
                        ('party', '!=', self.id)]):
                matches.append(
                    ('phone', mechanism.value_compact, mechanism.party))
        return matches


def _describe_all(parties):
    employee = Transaction().context.get('employee')
    return '; '.join(describe(p, employee) for p in parties)


def _warn(name, record, others, message):
    pool = Pool()
    Warning = pool.get('res.user.warning')
    key = Warning.format(name, [record] + list(others))
    if Warning.check(key):
        raise DuplicateWarning(key, message)


class ContactMechanism(UserCallMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.value_compact, Index.Equality()),
                where=t.type.in_(list(PHONE_TYPES))))

    @classmethod
    def validate_fields(cls, mechanisms, field_names):
        super().validate_fields(mechanisms, field_names)
        if field_names is None or field_names & {'value', 'type'}:
            cls.check_duplicate_phones(mechanisms)

    @classmethod
    def check_duplicate_phones(cls, mechanisms):
        "Warn the user when a phone is already a customer's"
        if not is_user_call():
            return
        for mechanism in mechanisms:
            if mechanism.type not in PHONE_TYPES:
                continue
            phone = normalize(mechanism.value)
            if not phone:
                continue
            others = cls.search([
                    ('value_compact', '=', phone),
                    ('type', 'in', list(PHONE_TYPES)),
                    ('party', '!=', mechanism.party.id),
                    ], limit=3)
            if others:
                _warn('crm_duplicate_phone', mechanism, others, gettext(
                        'telesales_pipeline.msg_duplicate_phone',
                        phone=mask_phone(phone),
                        existing=_describe_all([o.party for o in others])))


class DuplicateCheckLine(ModelView):
    __name__ = 'party.party.crm_duplicate.line'
    __string__ = "Duplicate"

    match = fields.Selection([
            ('name', "Name"),
            ('phone', "Phone"),
            ('keyword', "Keyword"),
            ], "Match", readonly=True)
    value = fields.Char("Value", readonly=True)
    party = fields.Many2One('party.party', "Customer", readonly=True)
    owner = fields.Many2One('company.employee', "Owner", readonly=True)
    pool_state = fields.Selection([
            ('shared', "Shared Pool"),
            ('own', "Mine"),
            ('protected', "Protected by a Colleague"),
            ('none', "No Owner"),
            ], "Availability", readonly=True)


class DuplicateCheckStart(ModelView):
    __name__ = 'party.party.crm_duplicate.start'
    __string__ = "Check Duplicates"

    party = fields.Many2One('party.party', "Customer", readonly=True)
    found = fields.Boolean("Duplicates Found", readonly=True)
    lines = fields.One2Many(
        'party.party.crm_duplicate.line', None, "Duplicates", readonly=True)


class DuplicateCheck(Wizard):
    __name__ = 'party.party.crm_duplicate'

    start = StateView('party.party.crm_duplicate.start',
        'telesales_pipeline.party_duplicate_start_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        employee = Transaction().context.get('employee')
        lines = []
        for match, value, party in self.record.find_duplicates():
            if match == 'phone':
                value = mask_phone(value)
            lines.append({
                    'match': match,
                    'value': value,
                    'party': party.id,
                    'owner': party.crm_owner.id if party.crm_owner else None,
                    'pool_state': pool_state(party, employee),
                    })
        return {
            'party': self.record.id,
            'found': bool(lines),
            'lines': lines,
            }
