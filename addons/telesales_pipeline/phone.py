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

    Telesales users see them with the "see full numbers" group only; other
    users and internal code are not concerned.
    """
    if Transaction().user == 0:
        return True
    return (not _in_group('group_telesales')
        or _in_group('group_telesales_full_number'))


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
    if isinstance(value, str) and parse(value) is not None:
        return mask_phone(value)
    return value


class MaskedPhoneMixin:
    """Mask phone fields read or exported by users without full numbers

    Only client calls (with access check) are masked: server code, such as
    dialing or sending SMS, always reads the full numbers.
    """
    __slots__ = ()
    _masked_phone_fields = set()

    @classmethod
    def _must_mask(cls):
        return (Transaction().check_access
            and not may_see_full_numbers())

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
            data[start:] = [[mask_text(v) for v in row]
                for row in data[start:]]
        return data


class Party(MaskedPhoneMixin, metaclass=PoolMeta):
    __name__ = 'party.party'
    _masked_phone_fields = {'phone', 'mobile', 'fax'}


class ContactMechanism(MaskedPhoneMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'
    _masked_phone_fields = {
        'value', 'value_compact', 'other_value', 'url', 'rec_name'}

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
