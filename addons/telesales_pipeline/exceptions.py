# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError, ValidationError


class ClaimError(UserError):
    pass


class ClaimQuotaError(ClaimError):
    pass


class ClaimTakenError(ClaimError):
    pass


class NoEmployeeError(UserError):
    pass


class StageError(ValidationError):
    pass


class StageLockedError(UserError):
    pass


class OwnershipError(ValidationError):
    pass


class MarkerError(ValidationError):
    pass


class ReleaseError(UserError):
    pass


class CustomerDeleteError(AccessError):
    pass


class VIPApprovalError(UserError):
    pass


class ScriptError(UserError):
    pass


class CallListError(ValidationError):
    pass


class DuplicateNameError(ValidationError):
    pass


class DuplicateWarning(UserWarning):
    pass


class ImportError_(UserError):
    pass


class ProtectedFieldError(AccessError):
    pass


class NulTextError(ValidationError):
    pass


class CollaboratorError(UserError):
    pass


class OwnerAssignError(UserError):
    pass
