# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class ApplicationError(UserError):
    pass


class SignError(ValidationError):
    pass


class DisburseError(UserError):
    pass


class DisburseBusyError(DisburseError):
    pass


class SignedChangeError(AccessError):
    pass


class SignedDeleteError(AccessError):
    pass


class RepaymentError(UserError):
    pass


class CommissionError(AccessError):
    pass


class ConfigurationError(UserError):
    pass


class LookupError_(UserError):
    pass


class NameListOwnerError(ValidationError):
    pass
