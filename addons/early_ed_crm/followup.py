# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.pool import PoolMeta


class Followup(metaclass=PoolMeta):
    __name__ = 'crm.followup'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['member.card', 'member.checkin']
