# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What a user may choose and set on the calls

The callers' numbers are masked by crm_base's ``MaskedNumberMixin`` for
users without full numbers; server code (click-to-dial, the listener) reads
them in full."""
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction, check_access, inactive_records

from .exceptions import HiddenPartyError, ProtectedFieldError


def check_parties_visible(parties):
    """Refuse, naming nothing, ``parties`` the user may not see (called by
    server code that uses them without the user's rules)"""
    Party = Pool().get('party.party')
    ids = {p.id for p in parties if p and p.id is not None and p.id >= 0}
    if not ids or not Transaction().user:
        return
    with check_access(), inactive_records():
        visible = Party.search([('id', 'in', list(ids))])
    if len(visible) != len(ids):
        raise HiddenPartyError(gettext('pbx_connector.msg_party_hidden'))


def protected_error(Model, field):
    "The refusal of a field only the system or its buttons set"
    return ProtectedFieldError(gettext('pbx_connector.msg_field_protected',
            **Model.__names__(field)))
