# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Mobile number check before sending (pure Python, no trytond import)"
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def check_mobile(raw, region='CN'):
    """Return ``(e164, None)`` for a valid mobile number, else
    ``(None, reason)`` with reason ``empty``, ``malformed``, ``invalid`` or
    ``not_mobile``."""
    raw = (raw or '').strip()
    if not raw:
        return None, 'empty'
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None, 'malformed'
    # what is_valid_number() tests: the number has a type; computed once
    type_ = phonenumbers.number_type(number)
    if type_ == PhoneNumberType.UNKNOWN:
        return None, 'invalid'
    if type_ not in MOBILE_TYPES:
        return None, 'not_mobile'
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164), None


def split_numbers(text):
    "Split typed numbers on commas, semicolons, spaces and new lines"
    for sep in ',;，；、\t\r':
        text = text.replace(sep, '\n')
    return [n.strip() for n in text.split('\n') if n.strip()]
