# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What a user without full numbers gets of records that hold numbers (X-06)

Every answer of a client call (read, search_read, export) masks the numbers
for the users who may not see them (``party.contact_mechanism``'s
``may_see_full_numbers`` hook); server code (sending, dialing, the routes)
reads them in full. Such a user searches a number by the complete number
only (``like '+86137%'`` would rebuild a masked number digit by digit) and
free texts that may hold numbers (the reason of a refusal names the number)
without digits.
"""
from trytond.i18n import gettext
from trytond.model.modelstorage import is_leaf
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import MaskedSearchError
from .phone import has_digit, mask_in_text, mask_phone, normalize

EXACT = {'=', '!='}
LISTS = {'in', 'not in'}
LIKES = {'like', 'ilike', 'not like', 'not ilike'}
# at most this many numbers in one "in" of a user without full numbers
MAX_LISTED = 10


def _phones():
    return Pool().get('party.contact_mechanism')


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
        if _phones().must_mask():
            start = 1 if header else 0
            data[start:] = [[
                    mask_in_text(v) if isinstance(v, str) else v
                    for v in row] for row in data[start:]]
        return data


class MaskedNumberMixin(MaskedExportMixin):
    "Mask ``_masked_numbers`` and the numbers in ``_masked_texts``"
    __slots__ = ()
    _masked_numbers = set()
    _masked_texts = set()

    @classmethod
    def _masked_fields(cls):
        names = cls._masked_numbers | cls._masked_texts
        if cls._rec_name in cls._masked_numbers:
            names = names | {'rec_name'}
        return names

    @classmethod
    def read(cls, ids, fields_names):
        rows = super().read(ids, fields_names)
        if rows and _phones().must_mask():
            names = cls._masked_fields() & set(rows[0])
            for row in rows:
                for name in names:
                    if not row[name]:
                        continue
                    if name in cls._masked_texts:
                        row[name] = mask_in_text(row[name])
                    else:
                        row[name] = mask_phone(row[name])
        return rows

    @classmethod
    def search(cls, domain, offset=0, limit=None, order=None, count=False,
            query=False):
        if order and _phones().must_mask():
            # the order of the numbers would tell their hidden digits
            masked = cls._masked_fields()
            order = [o for o in order if o[0].split('.')[0] not in masked]
        return super().search(domain, offset=offset, limit=limit,
            order=order, count=count, query=query)

    @classmethod
    def search_domain(cls, domain, active_test=None, tables=None):
        if _phones().must_mask_search():
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
            return (name, operator, normalize(value) or value)
        if (operator in LISTS and isinstance(value, (list, tuple))
                and len(value) <= MAX_LISTED):
            return (name, operator, [normalize(v) or v for v in value])
        if operator in LIKES and isinstance(value, str):
            inner = value.strip('%')
            number = normalize(inner)
            if number and '%' not in inner and '_' not in inner:
                return (name, '!=' if operator.startswith('not') else '=',
                    number)
        raise MaskedSearchError(gettext('crm_base.msg_masked_search'))

    @classmethod
    def _text_clause(cls, clause):
        values = clause[2] if isinstance(clause[2], (list, tuple)) else [
            clause[2]]
        if any(v is not None and has_digit(v) for v in values):
            raise MaskedSearchError(
                gettext('crm_base.msg_masked_text_search'))
        return clause
