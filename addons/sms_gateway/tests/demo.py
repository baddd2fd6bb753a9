# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Demo records of sms_gateway, loaded by demo/loader.py"

GROUPS = {
    'manager': ['sms_gateway.group_sms', 'sms_gateway.group_sms_admin'],
    'supervisor': ['sms_gateway.group_sms'],
    'rep': ['sms_gateway.group_sms'],
    }


def load(demo):
    "A development gateway (messages go to the log) and two templates"
    from proteus import Model
    Gateway = Model.get('sms.gateway', config=demo.config)
    Configuration = Model.get('sms.configuration', config=demo.config)
    Template = Model.get('sms.template', config=demo.config)
    if Gateway.find([('name', '=', '开发日志网关')]):
        return
    gateway = Gateway(name='开发日志网关', kind='log')
    gateway.save()
    config = Configuration(1)
    config.gateway = gateway
    config.timezone = 'Asia/Shanghai'
    config.save()
    Template(name='周末活动邀请', kind='marketing',
        content='${name}您好，${company}本周末举办体验活动，欢迎到店。'
        '退订回TD').save()
    Template(name='生日祝福', kind='notification',
        content='${name}，${company}祝您生日快乐！').save()
