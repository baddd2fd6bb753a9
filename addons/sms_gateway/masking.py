# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What a user without full numbers gets of the SMS records (X-06)

Every answer of a client call (read, search_read, export) masks the numbers
for the users who may not see them (``sms.message.may_see_full_numbers``);
server code (sending, the routes) reads them in full. Such a user searches a
number by the complete number only (``like '+86137%'`` would rebuild a
masked number digit by digit) and free texts that may hold numbers (the
reason of a refusal names the number) without digits.
"""
from trytond.i18n import gettext
from trytond.model.modelstorage import is_leaf
from trytond.pool import Pool
from trytond.transaction import Transaction, check_access, inactive_records

from .exceptions import (
    HiddenPartyError, MaskedSearchError, ProtectedFieldError)
from .phone import full_number, has_digit, mask_in_text

EXACT = {'=', '!='}
LISTS = {'in', 'not in'}
LIKES = {'like', 'ilike', 'not like', 'not ilike'}
# at most this many numbers in one "in" of a user without full numbers
MAX_LISTED = 10


class MaskedNumberMixin:
    "Mask ``_masked_numbers`` and the numbers in ``_masked_texts``"
    __slots__ = ()
    _masked_numbers = set()
    _masked_texts = set()

    @classmethod
    def _must_mask(cls):
        Message = Pool().get('sms.message')
        return (Transaction().check_access
            and not Message.may_see_full_numbers())

    @classmethod
    def _must_mask_search(cls):
        """Whether the user searches masked numbers: also without access
        check, as the domains of a search through a relation are converted
        (server code searches a number by the complete number)"""
        Message = Pool().get('sms.message')
        return (bool(Transaction().user)
            and not Message.may_see_full_numbers())

    @classmethod
    def _masked_fields(cls):
        names = cls._masked_numbers | cls._masked_texts
        if cls._rec_name in cls._masked_numbers:
            names = names | {'rec_name'}
        return names

    @classmethod
    def read(cls, ids, fields_names):
        rows = super().read(ids, fields_names)
        if rows and cls._must_mask():
            Message = Pool().get('sms.message')
            names = cls._masked_fields() & set(rows[0])
            for row in rows:
                for name in names:
                    if not row[name]:
                        continue
                    if name in cls._masked_texts:
                        row[name] = mask_in_text(row[name], Message.mask)
                    else:
                        row[name] = Message.mask(row[name])
        return rows

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        if Transaction().check_access:
            # the host checks the rules of exported records in Python,
            # which takes "where" and "child_of" for true
            cls.read([r.id for r in records], ['id'])
        data = super().export_data(records, fields_names, header=header)
        if cls._must_mask():
            Message = Pool().get('sms.message')
            start = 1 if header else 0
            data[start:] = [[
                    mask_in_text(v, Message.mask) if isinstance(v, str) else v
                    for v in row] for row in data[start:]]
        return data

    @classmethod
    def search(cls, domain, offset=0, limit=None, order=None, count=False,
            query=False):
        if order and cls._must_mask():
            # the order of the numbers would tell their hidden digits
            masked = cls._masked_fields()
            order = [o for o in order if o[0].split('.')[0] not in masked]
        return super().search(domain, offset=offset, limit=limit,
            order=order, count=count, query=query)

    @classmethod
    def search_domain(cls, domain, active_test=None, tables=None):
        if cls._must_mask_search():
            domain = cls._masked_domain(domain)
        return super().search_domain(
            domain, active_test=active_test, tables=tables)

    @classmethod
    def _masked_domain(cls, domain):
        if is_leaf(domain):
            name = domain[0].split('.')[0]
            if name in cls._masked_numbers:
                return cls._number_clause(domain)
            if name in cls._masked_texts:
                return cls._text_clause(domain)
            return domain
        if isinstance(domain, (list, tuple)):
            return [d if isinstance(d, str) else cls._masked_domain(d)
                for d in domain]
        return domain

    @classmethod
    def _number_clause(cls, clause):
        "The clause on a number field as a user without full numbers may ask"
        name, operator, value = clause[:3]
        if operator in EXACT:
            if value is None:
                return clause
            return (name, operator, full_number(value) or value)
        if (operator in LISTS and isinstance(value, (list, tuple))
                and len(value) <= MAX_LISTED):
            return (name, operator, [full_number(v) or v for v in value])
        if operator in LIKES and isinstance(value, str):
            number = full_number(value.strip('%'))
            if number and '%' not in value.strip('%') and '_' not in value:
                return (name, '!=' if operator.startswith('not') else '=',
                    number)
        raise MaskedSearchError(gettext('sms_gateway.msg_masked_search'))

    @classmethod
    def _text_clause(cls, clause):
        values = clause[2] if isinstance(clause[2], (list, tuple)) else [
            clause[2]]
        if any(v is not None and has_digit(v) for v in values):
            raise MaskedSearchError(
                gettext('sms_gateway.msg_masked_text_search'))
        return clause

    @classmethod
    def search_rec_name(cls, name, clause):
        """By the number or the customer's name; a user without full
        numbers by the complete number, or a name without digits (the
        customer's name search reaches his numbers)"""
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        number = (cls._rec_name,) + tuple(clause[1:])
        if not cls._must_mask_search():
            return [bool_op, number, ('party.rec_name',) + tuple(clause[1:])]
        try:
            return [cls._number_clause(number)]
        except MaskedSearchError:
            cls._text_clause(clause)
        return [('party.rec_name',) + tuple(clause[1:])]


def check_parties_visible(parties):
    """Refuse, naming nothing, ``parties`` the user may not see (called by
    server code that reads them without the user's rules)"""
    pool = Pool()
    Party = pool.get('party.party')
    transaction = Transaction()
    ids = {p.id for p in parties if p and p.id is not None and p.id >= 0}
    if not ids or not transaction.user:
        return
    with check_access(), inactive_records():
        visible = Party.search([('id', 'in', list(ids))])
    if len(visible) != len(ids):
        raise HiddenPartyError(gettext('sms_gateway.msg_party_hidden'))


def protected_error(Model, field):
    "The refusal of a field only the system or its buttons set"
    return ProtectedFieldError(gettext('sms_gateway.msg_field_protected',
            **Model.__names__(field)))
