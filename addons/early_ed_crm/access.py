# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Server-side trust: what the views and the rules promise holds on RPC.

The web client hides buttons and shows fields read-only; a JSON-RPC caller
sees none of that.  Here:

* :func:`check_scope` refuses, naming nothing but the ids the caller gave,
  the records outside the caller's record rules; call it before any check
  whose message names a record;
* :func:`check_write_values` / :func:`check_create_values` refuse a plain
  ``write``/``create`` from outside of a field the views show read-only:
  statically (set only by buttons and wizards) or by its ``readonly``
  state evaluated on the record;
* :class:`ServerGuardMixin` applies both to every field of a model and
  refuses texts with a NUL byte with a message instead of a database error;
* :class:`OnChangeScopeMixin` (included in the former) makes
  ``on_change``/``on_change_with`` refuse a record, or a record one of
  their dependencies points to, that the caller cannot read (they would
  load it past the rules).

Internal code (buttons, wizards, workflow transitions) runs without access
checks and is not concerned.
"""
from trytond.i18n import gettext
from trytond.model import Model as BaseModel, fields
from trytond.model.modelstorage import EvalEnvironment
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder, PYSONEncoder
from trytond.transaction import Transaction, check_access

from telesales_pipeline.access import CustomerDataMixin

from .exceptions import InputError, ProtectedFieldError

_encoder = PYSONEncoder()
_X2MANY = {'one2many', 'many2many'}


def _ids(records):
    return sorted({int(r) for r in records
            if getattr(r, 'id', r) is not None and int(r) >= 0})


def check_scope(Model, records, mode='read'):
    "Refuse the records outside the caller's record rules for mode"
    Rule = Pool().get('ir.rule')
    ids = _ids(records)
    if ids:
        with check_access():
            Rule.check(Model.__name__, ids, mode=mode)


def check_readable(Model, records):
    "Refuse unless the caller may read the model and these records"
    ModelAccess = Pool().get('ir.model.access')
    with check_access():
        ModelAccess.check(Model.__name__, 'read')
    check_scope(Model, records)


def _static_readonly(field):
    "The field is read-only whatever the record (and stored)"
    if isinstance(field, fields.Function) and not field.setter:
        return False
    return field.readonly


def _empty(value):
    return value is None or value == [] or value == () or value == ''


def _current(record, name):
    value = getattr(record, name)
    if isinstance(value, BaseModel):
        return str(value) if record._fields[name]._type == 'reference' \
            else value.id
    return value


def check_create_values(Model, values, names=None):
    "Refuse values of fields only buttons and wizards set"
    for name, value in values.items():
        field = Model._fields.get(name)
        if (field is None or (names is not None and name not in names)
                or not _static_readonly(field)):
            continue
        if field._type in _X2MANY:
            if _empty(value):
                continue
        else:
            default = Model.default_get([name], with_rec_name=False).get(
                name)
            if value == default or (_empty(value) and _empty(default)):
                continue
        raise ProtectedFieldError(gettext(
                'early_ed_crm.msg_field_set_by_buttons',
                **Model.__names__(name)))


class _ValuesEnvironment(EvalEnvironment):
    "The record as it would be after the write: given values first"
    __slots__ = ('_given',)

    def __init__(self, record, Model, values):
        super().__init__(record, Model)
        self._given = {k: v for k, v in values.items()
            if k in Model._fields
            and Model._fields[k]._type not in _X2MANY}

    def __getitem__(self, item):
        if item in self._given:
            return self._given[item]
        return super().__getitem__(item)


def _readonly_now(record, values, encoded):
    User = Pool().get('res.user')
    env = _ValuesEnvironment(record, record.__class__, values)
    # the groups from the server, not from the caller's context
    context = dict(Transaction().context)
    context['groups'] = User.get_groups()
    env['context'] = context
    env['active_model'] = record.__class__.__name__
    env['active_id'] = record.id
    return PYSONDecoder(env).decode(encoded)


def check_write_values(Model, records, values, names=None):
    """Refuse values of fields only buttons and wizards set, and of fields
    read-only in the state of a record (after the other values given)"""
    for name, value in values.items():
        field = Model._fields.get(name)
        if field is None or (names is not None and name not in names):
            continue
        if isinstance(field, fields.Function) and not field.setter:
            continue
        if field._type in _X2MANY:
            if _empty(value):
                continue
        elif all(_current(r, name) == value for r in records):
            continue
        if _static_readonly(field):
            raise ProtectedFieldError(gettext(
                    'early_ed_crm.msg_field_set_by_buttons',
                    **Model.__names__(name)))
        readonly = field.states.get('readonly')
        # a constant True marks a value computed by on_change that the
        # client sends itself (e.g. the prices of a point-of-sale line)
        if readonly is None or isinstance(readonly, bool):
            continue
        encoded = _encoder.encode(readonly)
        for record in records:
            if _readonly_now(record, values, encoded):
                raise ProtectedFieldError(gettext(
                        'early_ed_crm.msg_field_readonly_state',
                        **Model.__names__(name)))


def check_text(Model, values):
    "Refuse texts with a NUL byte: the database cannot store them"
    for name, value in values.items():
        if isinstance(value, str) and '\x00' in value:
            raise InputError(gettext(
                    'early_ed_crm.msg_text_nul', **Model.__names__(name)))


def _has_nul(domain):
    if isinstance(domain, str):
        return '\x00' in domain
    if isinstance(domain, (list, tuple)):
        return any(_has_nul(d) for d in domain)
    return False


class OnChangeScopeMixin(CustomerDataMixin):
    """``on_change``, ``on_change_with`` and ``on_change_notify`` refuse a
    record the caller cannot read, and the records their dependencies
    point to outside the caller's rules: they would load them past the
    rules (the instance reads missing values without access checks)."""
    __slots__ = ()

    def _check_on_change_access(self, fieldnames, attribute):
        "Refuse the record and the records its dependencies point to"
        if not Transaction().check_access:
            return
        cls = self.__class__
        if self.id is not None and self.id >= 0:
            check_readable(cls, [self])
        names = set()
        for fieldname in fieldnames:
            field = cls._fields.get(fieldname)
            if field is not None and attribute:
                names |= getattr(field, attribute, set())
        names = {n[len('_parent_'):] if n.startswith('_parent_') else n
            for n in names}
        for name in sorted({n.split('.')[0] for n in names}):
            field = cls._fields.get(name)
            if field is None or field._type not in {
                    'many2one', 'one2many', 'many2many'}:
                continue
            try:
                value = getattr(self, name)
            except AttributeError:
                continue
            records = [value] if isinstance(value, BaseModel) else value or []
            check_scope(field.get_target(), records)

    def on_change(self, fieldnames):
        self._check_on_change_access(fieldnames, 'on_change')
        return super().on_change(fieldnames)

    def on_change_with(self, fieldnames):
        self._check_on_change_access(fieldnames, 'on_change_with')
        return super().on_change_with(fieldnames)

    def on_change_notify(self):
        self._check_on_change_access([], None)
        return super().on_change_notify()


class ServerGuardMixin(OnChangeScopeMixin):
    """What the views show read-only is read-only over RPC too.

    ``_guarded_fields``: the fields whose read-only state is enforced,
    ``None`` for all of them."""
    __slots__ = ()
    _guarded_fields = None

    @classmethod
    def create(cls, vlist):
        if Transaction().check_access:
            # a caller who may not create at all is told that first
            Pool().get('ir.model.access').check(cls.__name__, 'create')
            for values in vlist:
                check_create_values(cls, values, cls._guarded_fields)
        return super().create(vlist)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        if external and mode in {'write', 'delete'}:
            check_scope(cls, records, mode)
        super().check_modification(
            mode, records, values=values, external=external)
        if external and mode == 'write':
            check_write_values(cls, records, values, cls._guarded_fields)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        check_text(cls, values)
        return values

    @classmethod
    def search(cls, domain, *args, **kwargs):
        if _has_nul(domain):
            raise InputError(gettext('early_ed_crm.msg_search_nul'))
        return super().search(domain, *args, **kwargs)
