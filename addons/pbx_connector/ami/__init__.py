# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Asterisk Manager Interface (AMI) client — plain Python, no trytond.

* :mod:`.protocol` — the wire format (packets of ``Key: Value`` lines).
* :mod:`.transport` — the byte-stream seam: a TCP transport and a fake one.
* :mod:`.client` — login, actions with ActionID, events, reconnect backoff.
* :mod:`.calls` — correlates channel events by Linkedid into calls.
"""
from .calls import CallTracker, CallUpdate  # noqa: F401
from .client import (  # noqa: F401
    AMIClient, AMIError, ActionFailed, AuthenticationFailed, ConnectionLost,
    Backoff, Timeout)
from .protocol import Message, Parser, encode  # noqa: F401
from .transport import FakeTransport, TCPTransport, Transport  # noqa: F401
