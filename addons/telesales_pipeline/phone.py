# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Phone numbers: the project's one normaliser (X-04) and masking (X-06).

The pure helpers (``normalize``, ``mask_phone``, ``region``, ``carrier``) do
not need a database; the ``party.contact_mechanism`` extension uses them.
"""
import phonenumbers
import phonenumbers.carrier
import phonenumbers.geocoder
from phonenumbers import NumberParseException, PhoneNumberFormat

from trytond.model import fields
from trytond.pool import PoolMeta

DEFAULT_REGION = 'CN'
PHONE_TYPES = {'phone', 'mobile', 'fax'}
MASK = '****'


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


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    phone_region = fields.Function(
        fields.Char("Region", help="Where the number was allocated."),
        'get_phone_info')
    phone_carrier = fields.Function(
        fields.Char("Carrier", help="The carrier the number was allocated to "
            "(numbers ported since are not reflected)."),
        'get_phone_info')

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
