# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""SMS provider clients: plain Python, no trytond import.

Each provider is one module of this package defining a client class
registered with :func:`register` (its kind, its label and the gateway
fields it uses); every module of the package is imported here, so adding a
provider is adding its file. The ``sms.gateway`` model only knows
:func:`get`, :func:`selection`, :func:`kinds`, :class:`Outgoing` and the
exceptions of :mod:`.base`.
"""
import importlib
import pkgutil

from .base import (  # noqa: F401
    FakeTransport, Outgoing, ProviderError, RejectedError, Request,
    RequestsTransport, Response, SendResult, TransientError, UncertainError,
    get, kinds, register, selection)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module('.' + _module.name, __name__)
del _module
