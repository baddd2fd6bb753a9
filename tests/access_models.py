# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Which models carry customer data or money, found from the pool.

A stored model carries customer data when one of its fields points to
``party.party`` or, through a chain of many-to-one fields, to a model that
does; a model with a ``resource``/``origin`` reference field, or one of the
suite's own models with a monetary field, counts too. Company, employee and
user records are staff, not customers: chains do not pass through them.

The suite's own models that name an employee carry staff performance data
(calls, workload, commissions) and are listed too.
"""
from trytond.model import ModelSQL, ModelStorage, fields

from demo.suite import suite_modules

STAFF = {'company.company', 'company.employee', 'res.user'}
# records of the company's own premises: their addresses are not customers'
PREMISES = {'stock.location', 'sale.point', 'company.company.tax_identifier'}
PARTY = 'party.party'
# reference fields that may point at any record, customers included
ANY_RECORD = {'resource', 'origin', 'record', 'document'}
SUITE = set(suite_modules())


def _targets(Model):
    for name, field in Model._fields.items():
        if isinstance(field, fields.Function) and not field.searcher:
            field = field._field
        if isinstance(field, (fields.Many2One, fields.One2Many,
                    fields.Many2Many)):
            try:
                target = field.get_target()
            except Exception:
                continue
            yield name, field, target.__name__
        elif isinstance(field, fields.Reference):
            yield name, field, None


def customer_models(pool):
    "{model name: reason} of the stored models that carry customer data"
    IrModel = pool.get('ir.model')
    module_of = {m.name: m.module for m in IrModel.search([])}
    models = {name: Model for name, Model in pool.iterobject()
        if issubclass(Model, ModelStorage)
        and issubclass(Model, ModelSQL)}
    found = {PARTY: 'the customer'}
    changed = True
    while changed:
        changed = False
        for name, Model in models.items():
            if name in found or name in STAFF or name in PREMISES:
                continue
            for fname, field, target in _targets(Model):
                if isinstance(field, fields.Reference):
                    if fname in ANY_RECORD:
                        found[name] = f'{fname} may be any record'
                        changed = True
                        break
                    continue
                if isinstance(field, fields.Many2One) and target in found:
                    found[name] = f'{fname} -> {target}'
                    changed = True
                    break
    for name, Model in models.items():
        if name in found or module_of.get(name) not in SUITE:
            continue
        for fname, field, target in _targets(Model):
            if target == 'company.employee' and isinstance(
                    field, fields.Many2One):
                found[name] = f'{fname} -> {target}: staff data'
                break
        else:
            for fname, field in Model._fields.items():
                if isinstance(field, fields.Numeric):
                    found[name] = f'{fname}: money or quantity'
                    break
    return found
