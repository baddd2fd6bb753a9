# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class NoExtensionError(UserError):
    pass


class NoNumberError(UserError):
    pass


class InvalidNumberError(UserError):
    pass


class PBXConnectionError(UserError):
    pass


class ExtensionDeviceError(ValidationError):
    pass


class ScoreError(ValidationError):
    pass


class NoTaskLineError(UserError):
    pass


class MaskedSearchError(UserError):
    pass


class ProtectedFieldError(AccessError):
    pass


class HiddenPartyError(AccessError):
    pass


class ExtensionNotOwnError(AccessError):
    pass
