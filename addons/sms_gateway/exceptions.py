# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class TemplateError(ValidationError):
    pass


class NumberError(UserError):
    pass


class GatewayError(UserError):
    pass


class SendError(UserError):
    pass


class ProtectedFieldError(AccessError):
    pass


class HiddenPartyError(AccessError):
    pass
