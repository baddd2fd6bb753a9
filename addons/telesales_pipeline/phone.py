# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Who sees customers' numbers and exports them (X-06, PL-17)

The numbers are normalised and masked by crm_base's phone service
(``crm_base.phone``); this module limits full numbers to the "see full
numbers" group through its hook on ``party.contact_mechanism``, and masks
the customers' contact data.
"""
from crm_base.phone import (
    PHONE_IN_TEXT, PHONE_TYPES, carrier, mask_in_text, mask_phone_domain,
    mask_text, region)

from trytond.i18n import gettext
from trytond.model import fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


def _in_group(xml_id):
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    return ModelData.get_id('telesales_pipeline', xml_id) in User.get_groups()


def may_see_full_numbers():
    "Whether the user sees full phone numbers (the suite's hook)"
    return Pool().get('party.contact_mechanism').may_see_full_numbers()


def must_mask():
    "Whether the answers of this call hide full numbers"
    return Pool().get('party.contact_mechanism').must_mask()


def may_export():
    "Whether the user may export customer data (PL-17, X-06)"
    if Transaction().user == 0:
        return True
    return (not _in_group('group_telesales')
        or _in_group('group_telesales_export'))


def display_phone(e164):
    "The number as the user may see it"
    return Pool().get('party.contact_mechanism').display_number(e164)


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

    @classmethod
    def may_see_full_numbers(cls):
        """Only the "see full numbers" group: every other user, telesales
        or not (accountant, connector administrators, channel staff), sees
        them masked. Internal code running as root reads them in full."""
        if Transaction().user == 0:
            return True
        return _in_group('group_telesales_full_number')

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
