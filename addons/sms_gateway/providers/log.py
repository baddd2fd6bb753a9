# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Development gateway: writes messages to the Python log, sends nothing"
import logging
import uuid

from .base import Client, SendResult, register

logger = logging.getLogger(__name__)


@register('log', "Log (development)")
class LogClient(Client):
    gateway_fields = ()

    def __init__(self, settings, transport=None):
        self.settings = settings
        self.transport = transport

    def send(self, outgoing):
        logger.info('SMS to %s: %s', outgoing.to, outgoing.text)
        return SendResult(provider_id='log-' + uuid.uuid4().hex[:16])
