# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""SMS provider clients: plain Python, no trytond import.

Each provider is one module defining a client class registered with
:func:`register`; the ``sms.gateway`` model only knows :func:`get`,
:class:`Outgoing` and the exceptions of :mod:`.base`.
"""
from .base import (  # noqa: F401
    FakeTransport, Outgoing, ProviderError, RejectedError, Request,
    RequestsTransport, Response, SendResult, TransientError, UncertainError,
    get, kinds, register)
from . import aliyun, kannel, log, tencent, twilio  # noqa: F401,E402
