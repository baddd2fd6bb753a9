# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Phone numbers: the suite's one normaliser (X-04) and one masker (X-06)

Pure Python (no trytond import): the import checker, the SMS composer and
the PBX event applier call it for thousands of numbers at a time.
``party.contact_mechanism`` (``contact_mechanism.py``) parses with it, so
the host's ``format_value_compact`` gives the same E.164 form, and holds the
hook that decides who sees full numbers.
"""
import re

import phonenumbers
import phonenumbers.carrier
import phonenumbers.geocoder
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = 'CN'
PHONE_TYPES = {'phone', 'mobile', 'fax'}
MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
MASK = '****'
# a run of digits, with the separators people type, that may be a number
PHONE_IN_TEXT = re.compile(r'\+?[0-9][0-9 ()-]{5,}[0-9]')
_DATE = re.compile(r'^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}')
_WHOLE_PHONE = re.compile(r'^\s*(?:tel:|fax:)?\+?[0-9][0-9 ()-]*[0-9]\s*$')
# characters of a phone number and of the wildcards that could stand for
# its digits
_PHONE_PATTERN = re.compile(r'^[0-9+()\- _]*[0-9_][0-9+()\- _]*$')


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


def _national_mobile(region):
    "The pattern of the region's mobile numbers in phonenumbers' metadata"
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return re.compile(metadata.mobile.national_number_pattern)


# China's mobile numbers (11 digits, 1…), the callers of a burst: a number
# of this pattern is valid for phonenumbers and no prefix of it is a
# national or carrier prefix to strip (CN strips 0 and 1[12]xx, 179xx, none
# of which starts a mobile number), so its E.164 form is +86 and the
# digits; the tests check it against phonenumbers
CN_MOBILE = _national_mobile('CN')


def normalize(raw, region=DEFAULT_REGION):
    "Return raw as E.164 (+8613798312311) or None when it is not valid"
    if isinstance(raw, str) and region == 'CN':
        digits = raw.strip()
        if digits.startswith('+86'):
            digits = digits[3:]
        # parsing with phonenumbers costs 60 µs a number
        if (len(digits) == 11 and digits.isascii() and digits.isdigit()
                and CN_MOBILE.fullmatch(digits)):
            return '+86' + digits
    number = parse(raw, region)
    if number is None:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def formatted(raw, region=DEFAULT_REGION):
    """Return ``(international, e164)`` for raw as the contact mechanism
    stores a number (its value and compact value), or None when it is not
    valid"""
    number = parse(raw, region)
    if number is None:
        return None
    return (
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.E164))


def check_mobile(raw, region=DEFAULT_REGION):
    """Return ``(e164, None)`` for a valid mobile number, else
    ``(None, reason)`` with reason ``empty``, ``malformed``, ``invalid`` or
    ``not_mobile``"""
    raw = (raw or '').strip()
    if not raw:
        return None, 'empty'
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None, 'malformed'
    # what is_valid_number() tests: the number has a type; computed once
    type_ = phonenumbers.number_type(number)
    if type_ == phonenumbers.PhoneNumberType.UNKNOWN:
        return None, 'invalid'
    if type_ not in MOBILE_TYPES:
        return None, 'not_mobile'
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), None


def is_mobile(e164):
    "Whether the number is a mobile number"
    number = parse(e164)
    return bool(number) and phonenumbers.number_type(number) == (
        phonenumbers.PhoneNumberType.MOBILE)


def dial_digits(e164, region=DEFAULT_REGION):
    "What a PBX dials: the national digits, 00 and the number for abroad"
    number = parse(e164, region)
    if number is None:
        return (e164 or '').lstrip('+')
    if phonenumbers.region_code_for_number(number) == region:
        national = phonenumbers.format_number(
            number, PhoneNumberFormat.NATIONAL)
        return ''.join(c for c in national if c.isdigit())
    return '00' + e164.lstrip('+')


def split_numbers(text):
    "Split typed numbers on commas, semicolons, spaces and new lines"
    for sep in ',;，；、\t\r':
        text = text.replace(sep, '\n')
    return [n.strip() for n in text.split('\n') if n.strip()]


def variants(text, region=DEFAULT_REGION):
    """The forms a typed number may be stored in: as typed, its digits,
    E.164 and the national number"""
    text = (text or '').strip().strip('%')
    digits = ''.join(c for c in text if c.isdigit() or c == '+')
    result = {v for v in [text, digits] if v}
    if digits:
        try:
            number = phonenumbers.parse(digits, region)
        except NumberParseException:
            pass
        else:
            result.add(phonenumbers.format_number(
                    number, PhoneNumberFormat.E164))
            result.add(str(number.national_number))
    return sorted(result)


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


def mask_phone(e164):
    """Mask the middle of a number: +8613798312311 -> 137****2311

    Mainland numbers lose their +86 prefix (fixed lines keep their trunk 0);
    other numbers keep their international prefix. A value that is not a
    valid number keeps its first and last digits only.
    """
    if not e164:
        return e164
    number = parse(e164, DEFAULT_REGION)
    if number is None:
        digits = ''.join(c for c in str(e164) if c.isdigit())
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
    if len(digits) <= 4:
        return '*' * len(digits)
    if len(digits) <= 7:
        return prefix + digits[:1] + MASK + digits[-2:]
    return prefix + digits[:3] + MASK + digits[-4:]


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
    if not isinstance(value, str) or not value:
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


def has_digit(value):
    return any(c.isdigit() for c in str(value))


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
