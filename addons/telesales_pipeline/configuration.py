# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Telesales configuration: daily claim quotas per role (PL-03)"
from trytond.model import ModelSingleton, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool

DEFAULT_CLAIM_QUOTA = 20


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'crm.configuration'
    __string__ = "Telesales Configuration"
    claim_quota = fields.Integer(
        "Daily Claim Quota", required=True,
        domain=[('claim_quota', '>=', 0)],
        help="How many shared customers an employee may claim per day "
        "when none of the user's groups has its own quota.")
    role_quotas = fields.One2Many(
        'crm.configuration.claim_quota', 'configuration',
        "Daily Claim Quotas per Role")

    @classmethod
    def default_claim_quota(cls):
        return DEFAULT_CLAIM_QUOTA

    def get_claim_quota(self, groups):
        "Return the daily claim quota of a user in groups (ids)"
        quotas = [q.quota for q in self.role_quotas if q.group.id in groups]
        if quotas:
            return max(quotas)
        return self.claim_quota

    @classmethod
    def get_user_claim_quota(cls):
        User = Pool().get('res.user')
        return cls(1).get_claim_quota(set(User.get_groups()))


class ClaimQuota(ModelSQL, ModelView):
    __name__ = 'crm.configuration.claim_quota'
    __string__ = "Daily Claim Quota"
    configuration = fields.Many2One(
        'crm.configuration', "Configuration", required=True,
        ondelete='CASCADE')
    group = fields.Many2One(
        'res.group', "Role", required=True, ondelete='CASCADE')
    quota = fields.Integer(
        "Daily Quota", required=True, domain=[('quota', '>=', 0)])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('group_uniq', Unique(t, t.configuration, t.group),
                'telesales_pipeline.msg_claim_quota_group_unique'),
            ]

    @classmethod
    def default_configuration(cls):
        return 1

    @classmethod
    def default_quota(cls):
        return DEFAULT_CLAIM_QUOTA
