# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Phone numbers: the project's one normaliser (X-04) and masking (X-06).

The pure helpers (``normalize``, ``mask_phone``, ``region``, ``carrier``) do
not need a database; the ``party.contact_mechanism`` extension uses them.
"""
import re

import phonenumbers
import phonenumbers.carrier
import phonenumbers.geocoder
from phonenumbers import NumberParseException, PhoneNumberFormat

from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

DEFAULT_REGION = 'CN'
PHONE_TYPES = {'phone', 'mobile', 'fax'}
MASK = '****'
PHONE_IN_TEXT = re.compile(r'\+?[0-9][0-9 ()-]{6,}[0-9]')
_DATE = re.compile(r'^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}')
_WHOLE_PHONE = re.compile(r'^\s*(?:tel:|fax:)?\+?[0-9][0-9 ()-]*[0-9]\s*$')


def parse(raw, region=DEFAULT_REGION):
    "Return the valid phonenumbers object for raw or None"
    if raw is None:
        return None
    raw = str(raw).strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return number


def normalize(raw, region=DEFAULT_REGION):
    "Return raw as E.164 (+8613798312311) or None when it is not valid"
    number = parse(raw, region)
    if number is None:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask_phone(e164):
    """Mask the middle of a number: +8613798312311 -> 137****2311

    Mainland numbers lose their +86 prefix (fixed lines keep their trunk 0);
    other numbers keep their international prefix.
    """
    if not e164:
        return e164
    number = parse(e164, DEFAULT_REGION)
    if number is None:
        digits = str(e164)
        prefix = ''
    elif number.country_code == 86:
        digits = phonenumbers.national_significant_number(number)
        if phonenumbers.number_type(number) == (
                phonenumbers.PhoneNumberType.FIXED_LINE):
            digits = '0' + digits
        prefix = ''
    else:
        digits = phonenumbers.national_significant_number(number)
        prefix = '+%s ' % number.country_code
    if len(digits) <= 7:
        return prefix + digits[:1] + MASK + digits[-2:]
    return prefix + digits[:3] + MASK + digits[-4:]


def region(e164, lang='zh'):
    "Where the number was allocated (号码归属地), e.g. 广东省深圳市"
    number = parse(e164)
    if number is None:
        return ''
    return phonenumbers.geocoder.description_for_number(number, lang)


def carrier(e164, lang='zh'):
    "The carrier the number was first allocated to, e.g. 中国移动"
    number = parse(e164)
    if number is None:
        return ''
    return phonenumbers.carrier.name_for_number(number, lang)


def _in_group(xml_id):
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    return ModelData.get_id('telesales_pipeline', xml_id) in User.get_groups()


def may_see_full_numbers():
    """Whether the user sees full phone numbers (X-06)

    Only with the "see full numbers" group: every other user, telesales or
    not (accountant, connector administrators, channel staff), sees them
    masked. Internal code running as root reads them in full.
    """
    if Transaction().user == 0:
        return True
    return _in_group('group_telesales_full_number')


def must_mask():
    "Whether the answers of this call hide full numbers"
    return Transaction().check_access and not may_see_full_numbers()


def may_export():
    "Whether the user may export customer data (PL-17, X-06)"
    if Transaction().user == 0:
        return True
    return (not _in_group('group_telesales')
        or _in_group('group_telesales_export'))


def display_phone(e164):
    "The number as the user may see it"
    if not e164 or may_see_full_numbers():
        return e164
    return mask_phone(e164)


def mask_text(value):
    "Mask value when it is a phone number; leave anything else untouched"
    # phonenumbers finds a number inside any text: only a value made of a
    # number is one
    if (isinstance(value, str) and _WHOLE_PHONE.match(value)
            and parse(value) is not None):
        return mask_phone(value)
    return value


def mask_in_text(value):
    "Mask the phone numbers found in value (a string); leave the rest"
    if not isinstance(value, str):
        return value

    def mask(match):
        text = match.group(0)
        if _DATE.match(text):
            return text
        return mask_text(text)
    return PHONE_IN_TEXT.sub(mask, value)


def mask_deep(value):
    "mask_in_text applied to the strings of nested lists, tuples and dicts"
    if isinstance(value, str):
        return mask_in_text(value)
    if isinstance(value, dict):
        return {k: mask_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask_deep(v) for v in value)
    return value


# characters of a phone number and of the wildcards that could stand for
# its digits
_PHONE_PATTERN = re.compile(r'^[0-9+()\- _]*[0-9_][0-9+()\- _]*$')


def phone_clause(clause, column):
    """The search clause a user without full numbers may run on a phone field

    A whole number is looked up (as ``column = E.164``, column holding the
    normalised number); any other pattern made of digits (a prefix, a
    range, wildcards standing for digits) matches nothing, so that a masked
    number cannot be rebuilt digit by digit. Exact comparisons and patterns
    that cannot match a phone number (an e-mail) are left as they are.
    """
    name, operator, value, *extra = clause
    negative = operator.startswith('not') or operator == '!='
    if operator in {'=', '!='}:
        number = normalize(value) if isinstance(value, str) else None
        return (column, operator, number) if number else clause
    if operator in {'in', 'not in'}:
        return clause
    if operator.endswith('like') and isinstance(value, str):
        pattern = value.replace('%', '')
        if not _PHONE_PATTERN.match(pattern):
            return clause
        number = normalize(pattern) if '_' not in pattern else None
        if number:
            return (column, '!=' if negative else '=', number)
    return ('id', 'in', [])


def mask_phone_domain(domain, fields, column):
    "domain with the clauses on fields replaced by phone_clause"
    if isinstance(domain, (list, tuple)) and domain and isinstance(
            domain[0], str) and domain[0] not in {'AND', 'OR'}:
        if domain[0] in fields:
            return phone_clause(domain, column)
        return domain
    return [mask_phone_domain(d, fields, column)
        if isinstance(d, (list, tuple)) else d for d in domain]


class MaskedPhoneMixin:
    """Mask phone fields read or exported by users without full numbers

    Only client calls (with access check) are masked: server code, such as
    dialing or sending SMS, always reads the full numbers.
    """
    __slots__ = ()
    _masked_phone_fields = set()

    # the stored fields holding numbers and the one holding them normalised
    _searched_phone_fields = set()
    _phone_compact_field = None

    @classmethod
    def _must_mask(cls):
        return must_mask()

    @classmethod
    def search_domain(cls, domain, active_test=None, tables=None):
        # Also reached by the searches of other models (party's
        # "contact_mechanisms.value", rule subqueries) which run without
        # access check: the user decides, not the check_access flag.
        if (cls._searched_phone_fields and Transaction().user
                and not may_see_full_numbers()):
            domain = mask_phone_domain(domain, cls._searched_phone_fields,
                cls._phone_compact_field)
        return super().search_domain(
            domain, active_test=active_test, tables=tables)

    @classmethod
    def read(cls, ids, fields_names):
        result = super().read(ids, fields_names)
        masked = cls._masked_phone_fields & set(fields_names or [])
        if masked and cls._must_mask():
            cls._mask_rows(result, masked)
        return result

    @classmethod
    def _mask_rows(cls, rows, names):
        for row in rows:
            for name in names:
                row[name] = mask_text(row.get(name))

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        if Transaction().check_access and not may_export():
            raise AccessError(gettext(
                    'telesales_pipeline.msg_export_not_allowed'))
        data = super().export_data(records, fields_names, header=header)
        if cls._must_mask():
            start = 1 if header else 0
            data[start:] = [[mask_in_text(v) for v in row]
                for row in data[start:]]
        return data


class Party(MaskedPhoneMixin, metaclass=PoolMeta):
    __name__ = 'party.party'
    _masked_phone_fields = {'phone', 'mobile', 'fax'}

    @classmethod
    def set_contact_mechanism(cls, parties, name, value):
        # a client showing the phone columns sends them back as it holds
        # them: empty for a new customer whose numbers are entered as
        # contact mechanisms in the same save, masked for a user without
        # full numbers; neither is a change (numbers change only through
        # the contact mechanisms, as in the host)
        def unchanged(party):
            current = getattr(party, name) or ''
            return not value or value in {current, mask_text(current)}
        parties = [p for p in parties if not unchanged(p)]
        if parties:
            super().set_contact_mechanism(parties, name, value)


class ContactMechanism(MaskedPhoneMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'
    # the host's function fields all return the value, whatever the type
    _masked_phone_fields = {
        'value', 'value_compact', 'other_value', 'url', 'rec_name',
        'email', 'website', 'skype', 'sip'}
    _searched_phone_fields = {'value', 'value_compact', 'rec_name'}
    _phone_compact_field = 'value_compact'

    phone_region = fields.Function(
        fields.Char("Region", help="Where the number was allocated."),
        'get_phone_info')
    phone_carrier = fields.Function(
        fields.Char("Carrier", help="The carrier the number was allocated to "
            "(numbers ported since are not reflected)."),
        'get_phone_info')

    @classmethod
    def _mask_rows(cls, rows, names):
        super()._mask_rows(rows, names - {'url', 'rec_name'})
        for row in rows:
            if (row.get('url') or '').startswith(('tel:', 'fax:')):
                row['url'] = None
            if row.get('rec_name'):
                row['rec_name'] = PHONE_IN_TEXT.sub(
                    lambda m: mask_text(m.group(0)), row['rec_name'])

    @classmethod
    def get_phone_info(cls, mechanisms, names):
        result = {n: {} for n in names}
        for mechanism in mechanisms:
            phone = (mechanism.value_compact
                if mechanism.type in PHONE_TYPES else None)
            if 'phone_region' in names:
                result['phone_region'][mechanism.id] = (
                    region(phone) if phone else None)
            if 'phone_carrier' in names:
                result['phone_carrier'][mechanism.id] = (
                    carrier(phone) if phone else None)
        return result
