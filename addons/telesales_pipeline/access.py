# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What a caller may get from a customer record over RPC (PL-12, X-06)

The record rules guard ``search``, ``read``, ``write``, ``delete`` and the
buttons. The other ways out of a model are guarded here:

* the calls on an instance built from the client's values (``on_change``,
  ``on_change_with``, ``on_change_with_<field>``, ``on_change_notify``,
  ``autocomplete_<field>``, instance buttons): Tryton reads the fields the
  client did not send past the rules, so the record the values name (its
  ``id``) and the records its many-to-one values point to must be readable
  by the caller; for a user without full numbers the phone numbers of the
  fields the client did not send are masked in the answer;
* ``export_data`` from any customer model: Tryton exports the records the
  client names by id without checking the record rules on their own fields,
  so the caller must be able to read them; the paths reach the phone numbers
  of the customer (``party/mobile``), masked for a user without full
  numbers;
* ``write``, ``delete`` and ``copy``: the record rules are checked first,
  before any code of the method (the business checks of every module),
  whose refusals would name a record the caller may not see, its customer
  or its owner.

A model takes all three with :class:`CustomerDataMixin` (host models through a
``PoolMeta`` extension, as below). Besides, the searches of resources
(notes, attachments, logs) leave out what the user may not read
(:class:`ResourceScopeMixin`) and a chat follows its record's rules.
"""
import functools

from sql import Null
from sql.functions import Position, Substring

from crm_base.phone import mask_deep

from trytond.i18n import gettext
from trytond.model import ModelStorage, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.rpc import RPC
from trytond.tools import is_instance_method
from trytond.transaction import Transaction, check_access

from .phone import must_mask

_SENT = '_crm_rpc_sent'


def checking():
    "Whether the current call comes from a user over RPC"
    transaction = Transaction()
    return bool(transaction.user and transaction.check_access)


def check_rules(Model, records, mode='read'):
    """Refuse the records the caller may not reach in mode, naming none of
    them: call it before an error names them

    The message is the module's: Tryton's rule errors have no Chinese text
    and list the rules."""
    Rule = Pool().get('ir.rule')
    ids = [r.id for r in records
        if isinstance(r.id, int) and r.id >= 0]
    if not ids:
        return
    try:
        with check_access():
            Rule.check(Model.__name__, ids, mode)
    except AccessError:
        raise AccessError(gettext(
                'telesales_pipeline.msg_records_not_visible',
                model=Model.__names__()['model'])) from None


def check_record_access(record, sent=()):
    """Refuse the call when the caller may not read record or a record its
    sent many-to-one and reference values point to"""
    pool = Pool()
    Rule = pool.get('ir.rule')
    transaction = Transaction()
    if not transaction.user or not transaction.check_access:
        return
    Model = record.__class__
    if (issubclass(Model, ModelStorage)
            and isinstance(record.id, int) and record.id >= 0):
        # model access and record rules, as a read of the record
        Model.read([record.id], ['id'])
    for name in sent:
        field = Model._fields.get(name)
        if not isinstance(field, (fields.Many2One, fields.Reference)):
            continue
        target = getattr(record, name, None)
        if (isinstance(target, ModelStorage)
                and isinstance(target.id, int) and target.id >= 0):
            Rule.check(target.__name__, [target.id], mode='read')


class RecordRPC(RPC):
    "An RPC on an instance of the client's values, checked by the caller"
    __slots__ = ()

    @classmethod
    def wrap(cls, rpc):
        new = cls.__new__(cls)
        for name in RPC.__slots__:
            setattr(new, name, getattr(rpc, name))
        result = rpc.result

        @functools.wraps(result)
        def masked_result(value):
            return _mask_result(result(value))
        new.result = masked_result
        return new

    def convert(self, obj, *args, **kwargs):
        data = args[self.instantiate] if len(args) > self.instantiate else None
        args, kwargs, context, timestamp = super().convert(
            obj, *args, **kwargs)
        context[_SENT] = (
            sorted(data) if isinstance(data, dict) else None)
        return args, kwargs, context, timestamp

    def decorate(self, func):
        func = super().decorate(func)

        @functools.wraps(func)
        def wrapper(record, *args, **kwargs):
            check_record_access(
                record, Transaction().context.get(_SENT) or ())
            return func(record, *args, **kwargs)
        return wrapper


def _mask_result(value):
    """Mask the numbers of an instance call's answer for a user without full
    numbers, but in the fields whose value the client sent: the others may
    come from the stored record. Notifications are masked whole."""
    if not must_mask():
        return value
    sent = set(Transaction().context.get(_SENT) or ())
    if isinstance(value, dict):
        return {k: v if k in sent else mask_deep(v) for k, v in value.items()}
    return mask_deep(value)


class RulesFirstRPC(RPC):
    """create, write, delete or copy over RPC: the record rules before any
    code of the method

    Every module may extend write, delete, copy or check_modification with
    checks whose messages name the record, its customer or its owner, and
    the ORM checks the record rules of a write or a delete only after them.
    The records named by the many-to-one and reference values of a create
    or a write must be readable too: a record linked to a customer the
    caller may not see (an appointment of his on another team's customer)
    would show that customer."""
    __slots__ = ('mode',)

    @classmethod
    def wrap(cls, rpc, mode):
        new = cls.__new__(cls)
        for name in RPC.__slots__:
            setattr(new, name, getattr(rpc, name))
        new.mode = mode
        return new

    def decorate(self, func):
        func = super().decorate(func)
        Model = func.__self__
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if checking():
                check_rules(Model, [r for arg in args
                        if isinstance(arg, (list, tuple))
                        for r in arg if isinstance(r, ModelStorage)], mode)
                for values in _values_of(args, mode):
                    check_targets(Model, values)
            return func(*args, **kwargs)
        return wrapper


def _values_of(args, mode):
    "The dictionaries of values of a create's or a write's arguments"
    if mode == 'create':
        return [v for v in (args[0] if args else []) if isinstance(v, dict)]
    if mode == 'write':
        return [a for a in args if isinstance(a, dict)]
    return []


def check_targets(Model, values):
    """Refuse values naming, by a many-to-one or a reference, a record the
    caller may not read"""
    pool = Pool()
    for name, value in values.items():
        field = Model._fields.get(name)
        if isinstance(field, fields.Many2One) and isinstance(value, int):
            Target = pool.get(field.model_name)
            check_rules(Target, [Target(value)], 'read')
        elif isinstance(field, fields.Reference) and isinstance(value, str):
            target, _, id_ = value.partition(',')
            try:
                Target = pool.get(target)
            except KeyError:
                continue
            if id_.isdigit():
                check_rules(Target, [Target(int(id_))], 'read')


class CustomerDataMixin:
    "Guard the instance calls and the exports of a model of customer data"
    __slots__ = ()

    @classmethod
    def __post_setup__(cls):
        super().__post_setup__()
        for name, rpc in list(cls.__rpc__.items()):
            if (rpc.instantiate == 0 and not isinstance(rpc, RecordRPC)
                    and is_instance_method(cls, name)):
                cls.__rpc__[name] = RecordRPC.wrap(rpc)
        for name, mode in [('create', 'create'), ('write', 'write'),
                ('delete', 'delete'), ('copy', 'read')]:
            rpc = cls.__rpc__.get(name)
            if rpc is not None and not isinstance(rpc, RulesFirstRPC):
                cls.__rpc__[name] = RulesFirstRPC.wrap(rpc, mode)

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            # Tryton exports the records the client names by id and reads
            # their own fields past the record rules
            cls.read([r.id for r in records], ['id'])
        data = super().export_data(records, fields_names, header=header)
        if must_mask():
            start = 1 if header else 0
            data[start:] = [mask_deep(list(row)) for row in data[start:]]
        return data


class ChatChannel(metaclass=PoolMeta):
    __name__ = 'ir.chat.channel'

    @classmethod
    def check_access(cls, resource):
        "The record rules of the resource apply to its chat too"
        pool = Pool()
        Rule = pool.get('ir.rule')
        super().check_access(resource)
        if Transaction().user:
            model, id_ = str(resource).split(',')
            with check_access():
                Rule.check(model, [int(id_)], mode='read')


class ResourceScopeMixin:
    """Search the records of resources the user may read

    Tryton's ResourceAccessMixin refuses a whole search as soon as one
    record found belongs to a model the user may not read (a log of a
    commission plan for a representative); the records of those models are
    left out instead, the record rules of the others still apply."""
    __slots__ = ()

    @classmethod
    def search(cls, domain, offset=0, limit=None, order=None, count=False,
            query=False):
        transaction = Transaction()
        if transaction.user and transaction.check_access and not query:
            hidden = cls._unreadable_resource_models()
            if hidden:
                domain = [domain] + [
                    ('resource', 'not like',
                        m.replace('\\', '\\\\').replace('_', '\\_')
                        .replace('%', '\\%') + ',%')
                    for m in hidden]
        return super().search(domain, offset=offset, limit=limit,
            order=order, count=count, query=query)

    @classmethod
    def _unreadable_resource_models(cls):
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        model = Substring(table.resource, 1,
            Position(',', table.resource) - 1)
        cursor.execute(*table.select(model, distinct=True,
                where=table.resource != Null))
        models = {m for m, in cursor if m}
        known = []
        for name in models:
            try:
                pool.get(name)
            except KeyError:
                continue
            known.append(name)
        access = ModelAccess.get_access(known)
        return sorted(m for m in models
            if m not in access or not access[m]['read'])


class Note(CustomerDataMixin, ResourceScopeMixin, metaclass=PoolMeta):
    __name__ = 'ir.note'


class Attachment(CustomerDataMixin, ResourceScopeMixin, metaclass=PoolMeta):
    __name__ = 'ir.attachment'


class ModelLog(CustomerDataMixin, ResourceScopeMixin, metaclass=PoolMeta):
    __name__ = 'ir.model.log'


class Email(CustomerDataMixin, ResourceScopeMixin, metaclass=PoolMeta):
    __name__ = 'ir.email'


class Avatar(CustomerDataMixin, ResourceScopeMixin, metaclass=PoolMeta):
    __name__ = 'ir.avatar'


# The customer models of the module and the host models it extends

class Party(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'party.party'


class Address(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'party.address'


class ContactMechanism(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'


class Identifier(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'party.identifier'


class Followup(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.followup'


class OwnerHistory(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.party.owner.history'


class Appointment(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.appointment'


class Script(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.script'


class CallList(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.call.list'


class CallListLine(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.call.list.line'


class CallTask(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.call.task'


class CallTaskLine(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.call.task.line'


class PartyImport(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.party.import'


class Opportunity(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'sale.opportunity'


class OpportunityLine(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'sale.opportunity.line'


class Sale(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'sale.sale'


class SaleLine(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'sale.line'


class AnalysisFollowup(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.analysis.followup'


class AnalysisRep(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.analysis.rep'


class AnalysisConversion(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.analysis.conversion'


class AnalysisConversionEmployee(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'crm.analysis.conversion.employee'


class SaleReportingCustomer(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'sale.reporting.customer'


class SaleReportingCustomerTimeseries(CustomerDataMixin, metaclass=PoolMeta):
    __name__ = 'sale.reporting.customer.time_series'
