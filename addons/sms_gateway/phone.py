# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Mobile number check before sending and masking of numbers (pure Python,
no trytond import)"""
import re

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


# a run of digits (with the separators people type) that may be a number
PHONE_IN_TEXT = re.compile(r'\+?\d[\d ()-]{5,}\d')


def full_number(raw, region='CN'):
    """The E.164 form of ``raw`` when it is a complete valid number of any
    kind (what a user who typed it knows), else None"""
    raw = (raw or '').strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164)


def mask_number(number):
    "137****2311: a number with its middle hidden (X-06)"
    digits = number or ''
    if digits.startswith('+86'):
        digits = digits[3:]
    if len(digits) <= 4:
        return '*' * len(digits)
    keep = 3 if len(digits) > 7 else 1
    return digits[:keep] + '****' + digits[-4:]


def mask_in_text(text, mask=mask_number):
    "``text`` with every valid phone number in it masked by ``mask``"
    if not text:
        return text

    def replace(match):
        number = full_number(match.group(0))
        return mask(number) if number else match.group(0)
    return PHONE_IN_TEXT.sub(replace, text)


def has_digit(value):
    return any(c.isdigit() for c in str(value))
