# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What a user without full numbers gets of the calls (X-06)

Every answer of a client call (read, search_read, export) masks the callers'
numbers for the users who may not see them (``pbx.call``'s
``may_see_full_numbers`` and ``mask`` hooks); server code (click-to-dial,
the listener) reads them in full. Such a user searches a number by the
complete number only: ``like '+86137%'`` would rebuild a masked number digit
by digit.
"""
import re

from trytond.i18n import gettext
from trytond.model.modelstorage import is_leaf
from trytond.pool import Pool
from trytond.transaction import Transaction, check_access, inactive_records

from .exceptions import (
    HiddenPartyError, MaskedSearchError, ProtectedFieldError)

try:
    import phonenumbers
except ImportError:
    phonenumbers = None

EXACT = {'=', '!='}
LISTS = {'in', 'not in'}
LIKES = {'like', 'ilike', 'not like', 'not ilike'}
# at most this many numbers in one "in" of a user without full numbers
MAX_LISTED = 10
# a run of digits (with the separators people type) that may be a number
PHONE_IN_TEXT = re.compile(r'\+?\d[\d ()-]{5,}\d')


def full_number(raw, region='CN'):
    """The E.164 form of ``raw`` when it is a complete valid number (what a
    user who typed it knows), else None"""
    raw = str(raw or '').strip()
    if not raw or not phonenumbers:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164)


def mask_in_text(text, mask):
    "``text`` with every valid phone number in it masked by ``mask``"
    if not text:
        return text

    def replace(match):
        number = full_number(match.group(0))
        return mask(number) if number else match.group(0)
    return PHONE_IN_TEXT.sub(replace, text)


def _calls():
    return Pool().get('pbx.call')


def must_mask():
    "Whether the answers of this client call mask the numbers"
    return Transaction().check_access and not _calls().may_see_full_numbers()


def must_mask_search():
    """Whether the user searches masked numbers: also without access check,
    as the domains of a search through a relation are converted (server
    code searches a number by the complete number)"""
    return bool(Transaction().user) and not _calls().may_see_full_numbers()


class MaskedExportMixin:
    """Export only records the user sees, every phone number masked to users
    without full numbers"""
    __slots__ = ()

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        if Transaction().check_access:
            # the host checks the rules of exported records in Python,
            # which takes "where" and "child_of" for true
            cls.read([r.id for r in records], ['id'])
        data = super().export_data(records, fields_names, header=header)
        if must_mask():
            mask = _calls().mask
            start = 1 if header else 0
            data[start:] = [[
                    mask_in_text(v, mask) if isinstance(v, str) else v
                    for v in row] for row in data[start:]]
        return data


class MaskedNumberMixin(MaskedExportMixin):
    "Mask the number fields ``_masked_numbers`` in reads and searches"
    __slots__ = ()
    _masked_numbers = set()

    @classmethod
    def read(cls, ids, fields_names):
        rows = super().read(ids, fields_names)
        if rows and must_mask():
            mask = _calls().mask
            names = cls._masked_numbers & set(rows[0])
            for row in rows:
                for name in names:
                    if row[name]:
                        row[name] = mask(row[name])
        return rows

    @classmethod
    def search(cls, domain, offset=0, limit=None, order=None, count=False,
            query=False):
        if order and must_mask():
            # the order of the numbers would tell their hidden digits
            order = [o for o in order
                if o[0].split('.')[0] not in cls._masked_numbers]
        return super().search(domain, offset=offset, limit=limit,
            order=order, count=count, query=query)

    @classmethod
    def search_domain(cls, domain, active_test=None, tables=None):
        if must_mask_search():
            domain = cls._masked_domain(domain)
        return super().search_domain(
            domain, active_test=active_test, tables=tables)

    @classmethod
    def _masked_domain(cls, domain):
        if is_leaf(domain):
            if domain[0].split('.')[0] in cls._masked_numbers:
                return cls._number_clause(domain)
            return domain
        if isinstance(domain, (list, tuple)):
            return [d if isinstance(d, str) else cls._masked_domain(d)
                for d in domain]
        return domain

    @classmethod
    def _number_clause(cls, clause):
        "The clause on a number as a user without full numbers may ask it"
        name, operator, value = clause[:3]
        if operator in EXACT:
            if value is None:
                return clause
            return (name, operator, full_number(value) or value)
        if (operator in LISTS and isinstance(value, (list, tuple))
                and len(value) <= MAX_LISTED):
            return (name, operator, [full_number(v) or v for v in value])
        if operator in LIKES and isinstance(value, str):
            inner = value.strip('%')
            number = full_number(inner)
            if number and '%' not in inner and '_' not in inner:
                return (name, '!=' if operator.startswith('not') else '=',
                    number)
        raise MaskedSearchError(gettext('pbx_connector.msg_masked_search'))


def check_parties_visible(parties):
    """Refuse, naming nothing, ``parties`` the user may not see (called by
    server code that uses them without the user's rules)"""
    Party = Pool().get('party.party')
    ids = {p.id for p in parties if p and p.id is not None and p.id >= 0}
    if not ids or not Transaction().user:
        return
    with check_access(), inactive_records():
        visible = Party.search([('id', 'in', list(ids))])
    if len(visible) != len(ids):
        raise HiddenPartyError(gettext('pbx_connector.msg_party_hidden'))


def protected_error(Model, field):
    "The refusal of a field only the system or its buttons set"
    return ProtectedFieldError(gettext('pbx_connector.msg_field_protected',
            **Model.__names__(field)))
