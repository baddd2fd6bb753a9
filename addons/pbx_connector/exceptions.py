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
    """The PBX could not be reached or answered wrongly

    ``message_id`` and ``variables`` let a text for another user (the
    notification of a failed call) be written in that user's language."""

    def __init__(self, message_id, **variables):
        from trytond.i18n import gettext
        super().__init__(gettext(message_id, **variables))
        self.message_id = message_id
        self.variables = variables

    def message_in(self, language):
        from trytond.i18n import gettext
        return gettext(self.message_id, language, **self.variables)


class ExtensionDeviceError(ValidationError):
    pass


class ScoreError(ValidationError):
    pass


class NoTaskLineError(UserError):
    pass


class ProtectedFieldError(AccessError):
    pass


class HiddenPartyError(AccessError):
    pass


class ExtensionNotOwnError(AccessError):
    pass
