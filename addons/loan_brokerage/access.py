# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Record rules on the paths Tryton does not check by itself.

``ir.rule`` filters ``search``, ``read``, ``write`` and ``delete``, but:

* ``on_change``/``on_change_with`` over RPC build the record from the values
  sent and read what is missing without any check, so ``{'id': N}`` loads
  any record N;
* ``export_data`` evaluates the rules in Python, where a ``where`` or
  ``child_of`` clause and any dotted path count as satisfied;
* ``check_modification`` runs before the rules of ``write``/``delete``, so
  an error raised there must not name a record the caller cannot see.
"""
from trytond.model import ModelStorage
from trytond.pool import Pool
from trytond.transaction import Transaction, check_access


def checking():
    "Whether the current call comes from a user over RPC"
    transaction = Transaction()
    return bool(transaction.user and transaction.check_access)


def check_rules(Model, records, mode='read'):
    """Refuse (with Tryton's anonymous rule error) the records the user
    cannot reach in mode; call it before an error names them"""
    Rule = Pool().get('ir.rule')
    ids = [r.id for r in records if r.id is not None and r.id >= 0]
    if ids:
        with check_access():
            Rule.check(Model.__name__, ids, mode)


class ScopeCheckMixin:
    "Apply the record rules to on_change, on_change_with and export_data"
    __slots__ = ()
    # Many2One fields whose record, when sent by the caller, must be
    # readable by them (the on_change methods read through it)
    _scope_fields = ()

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        if checking():
            cls.read([r.id for r in records], ['id'])
        return super().export_data(records, fields_names, header=header)

    def on_change(self, fieldnames):
        self.check_scope()
        return super().on_change(fieldnames)

    def on_change_with(self, fieldnames):
        self.check_scope()
        return super().on_change_with(fieldnames)

    def check_scope(self):
        "Refuse an on_change on a record or target the user cannot read"
        if not checking():
            return
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        Model = self.__class__
        ModelAccess.check(Model.__name__, 'read')
        if self.id is not None and self.id >= 0:
            Model.read([self.id], ['id'])
        for name in self._scope_fields:
            target = getattr(self, name, None)
            if (isinstance(target, ModelStorage)
                    and target.id is not None and target.id >= 0):
                ModelAccess.check(target.__name__, 'read')
                target.__class__.read([target.id], ['id'])
