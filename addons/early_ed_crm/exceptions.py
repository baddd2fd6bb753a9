# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class CardError(UserError):
    pass


class CardNotActiveError(CardError):
    pass


class InsufficientBalanceError(CardError):
    pass


class CardBusyError(CardError):
    "Another operation kept the card locked longer than we wait"
    pass


class CardLedgerError(AccessError):
    pass


class CardConfigurationError(UserError):
    pass


class AllocationError(ValidationError):
    pass


class QuestionnaireError(ValidationError):
    pass


class ProtectedFieldError(AccessError):
    "A field that only buttons and wizards set, or read-only in this state"
    pass


class InputError(ValidationError):
    "An amount, a number of hours or a text the user typed is not valid"
    pass
