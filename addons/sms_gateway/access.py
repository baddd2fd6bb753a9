# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What a user may see and set of the SMS records (X-06)

The numbers are masked by crm_base's ``MaskedNumberMixin`` for users without
full numbers; server code (sending, the routes) reads them in full.
"""
from crm_base.exceptions import MaskedSearchError
from crm_base.masking import MaskedNumberMixin

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction, check_access, inactive_records

from .exceptions import HiddenPartyError, ProtectedFieldError


class MaskedRecordMixin(MaskedNumberMixin):
    "A record of a customer's number, found by the number or the customer"
    __slots__ = ()

    @classmethod
    def search_rec_name(cls, name, clause):
        """By the number or the customer's name; a user without full
        numbers by the complete number, or a name without digits (the
        customer's name search reaches his numbers)"""
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        number = (cls._rec_name,) + tuple(clause[1:])
        ContactMechanism = Pool().get('party.contact_mechanism')
        if not ContactMechanism.must_mask_search():
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
