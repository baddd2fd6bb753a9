# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The listener's updates applied to ``pbx.call``: one batch of updates in
one transaction, the calls and parties it touches read at once."""
import datetime as dt

from sql import Literal

from crm_base.bulk import bulk_create
from crm_base.phone import normalize

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Model
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .ami.calls import device
from .call import to_datetime
from .party import PHONE_TYPES

CDR_DISPOSITIONS = {
    'ANSWERED': 'answered', 'BUSY': 'busy', 'NO ANSWER': 'no_answer',
    'FAILED': 'failed', 'CONGESTION': 'failed',
    }
ORIGINATE_PREFIX = 'crm-call-'



def _stored_values(record):
    "The values of the stored fields of a new record, for bulk_create"
    values = {}
    for name, field in record._fields.items():
        if (name in {'id', 'create_uid', 'create_date', 'write_uid',
                    'write_date'}
                or hasattr(field, 'set')
                or field._type in {'one2many', 'many2many'}):
            continue
        value = getattr(record, name, None)
        values[name] = value.id if isinstance(value, Model) else value
    return values

class CallBatch:
    """The server, records, parties and extensions shared by the updates of
    one batch; passed to each handler"""

    def __init__(self, server, cache=None):
        self.server = server
        # ids kept by the listener between batches (Call.listener_cache):
        # extension of each device, users of each employee, E.164 of the
        # raw numbers
        self.cache = {} if cache is None else cache
        self.numbers = self.cache.setdefault('numbers', {})
        self.by_id = {}
        self.by_linkedid = {}
        self.parties = {}
        self.dirty = {}
        self.pops = {}
        self.finished = {}
        self.users = {}
        self._browsed = {}

    def employee_users(self, call):
        "The users of the call's employee (as call.employee_users())"
        User = Pool().get('res.user')
        employee = call.employee.id
        if employee not in self.users:
            self.users[employee] = User.browse(self.cache_users(employee))
        return self.users[employee]

    def cache_users(self, employee):
        "The ids of the users of an employee id"
        User = Pool().get('res.user')
        key = ('users', employee)
        if key not in self.cache:
            self.cache[key] = [u.id for u in User.search(
                    [('employees', '=', employee)])]
        return self.cache[key]

    def add(self, record):
        "The one instance of a record in the batch"
        if record.id is not None and record.id >= 0:
            record = self.by_id.setdefault(record.id, record)
        if record.linkedid:
            self.by_linkedid[record.linkedid] = record
        return record

    def save(self, record):
        "Save the record with the others of the batch"
        self.add(record)
        self.dirty[id(record)] = record

    def finish(self, record):
        "Run on_finished for the record once the batch is saved"
        self.finished[id(record)] = record

    def pop(self, record):
        "Send the record's screen pop once the batch is saved"
        self.pops[id(record)] = record

    def browsed(self, name, id_):
        "One instance of each record of model ``name`` in the batch"
        instances = self._browsed.setdefault(name, {})
        if id_ not in instances:
            instances[id_], = Pool().get(name).browse([id_])
        return instances[id_]


class Call(metaclass=PoolMeta):
    __name__ = 'pbx.call'

    @classmethod
    def ami_update(cls, server, kind, call, timestamp, data):
        """Apply one update of the listener's call tracker.

        ``call`` is the tracker's snapshot (linkedid, direction, number,
        extension device, start/answer/end epoch seconds, disposition…)."""
        return cls.ami_updates(server, [(kind, call, timestamp, data)])[0]

    @classmethod
    def ami_updates(cls, server, updates, cache=None):
        """Apply the listener's updates ``(kind, call, timestamp, data)`` in
        order, in the current transaction; return the record of each.

        The calls they touch are read with one query and the parties of
        their numbers with another; each call is saved once, then the
        screen pops of the calls that started ringing a rep are sent and
        ``on_finished`` runs once for the calls that ended. ``cache`` (a
        dict the caller keeps between batches and clears when extensions
        or users may have changed) saves reading the extension of each
        device and the users of each employee. Applying an update twice
        changes nothing more: a call pops once."""
        batch = CallBatch(server, cache)
        cls._preload(batch, updates)
        handlers = cls._ami_handlers()
        records = []
        for kind, call, timestamp, data in updates:
            handler = handlers.get(kind)
            records.append(handler(batch, call, timestamp, data)
                if handler else None)
        saved = cls._save_batch(batch)
        if batch.pops:
            cls.screen_pops([saved.get(k, r) for k, r in batch.pops.items()],
                batch.employee_users)
        if batch.finished:
            cls.on_finished(
                [saved.get(k, r) for k, r in batch.finished.items()])
        return [saved.get(id(r), r) for r in records]

    @classmethod
    def _save_batch(cls, batch):
        """Save the calls of the batch: the new calls it pops are created
        with the suite's bulk writer (``crm_base.bulk``: their values are
        set by the handlers from the server's extensions and the callers'
        parties, so the record-by-record validation of ``create``, three
        quarters of a burst's transaction, is left out), the others through
        the ORM. Return {id(record): saved call} of the created ones."""
        inserted, others = [], []
        for key, record in batch.dirty.items():
            if record.id is None and key in batch.pops:
                inserted.append(record)
            else:
                others.append(record)
        if others:
            cls.save(others)
        ids = bulk_create(cls, [_stored_values(r) for r in inserted])
        # browsed together: the first field read reads them all at once
        return {id(r): c for r, c in zip(inserted, cls.browse(ids))}

    @classmethod
    def _ami_handlers(cls):
        "Hook: the method applying each kind of update"
        return {
            'started': cls._ami_started,
            'ringing': cls._ami_ringing,
            'answered': cls._ami_answered,
            'recording': cls._ami_recording,
            'finished': cls._ami_finished,
            'originate': cls._ami_originate,
            'cdr': cls._ami_cdr,
            }

    @classmethod
    def _preload(cls, batch, updates):
        "Read the calls and parties of a batch of updates at once"
        linkedids, ids, numbers = set(), set(), set()
        for kind, call, timestamp, data in updates:
            linkedids.add(call.get('linkedid'))
            ids.add(cls._crm_call_id(kind, call, data))
            if kind == 'cdr':
                linkedids.add(data.get('UniqueID'))
                numbers.update(data.get(k) for k in ['Source', 'Destination'])
            numbers.add(call.get('number'))
        linkedids.discard(None), linkedids.discard('')
        ids.discard(None)
        numbers = {cls._normalized(batch, n) for n in numbers if n}
        server, size = batch.server, backend.MAX_QUERY_PARAMS
        for sub_ids in grouped_slice(list(ids), size):
            for record in cls.search([
                        ('server', '=', server.id),
                        ('id', 'in', list(sub_ids)),
                        ]):
                batch.add(record)
        for sub_ids in grouped_slice(list(linkedids), size):
            for record in cls.search([
                        ('server', '=', server.id),
                        ('linkedid', 'in', list(sub_ids)),
                        ], order=[('id', 'DESC')]):
                if record.linkedid not in batch.by_linkedid:
                    batch.add(record)
        for id_ in ids:
            batch.by_id.setdefault(id_, None)
        for linkedid in linkedids:
            batch.by_linkedid.setdefault(linkedid, None)
        batch.parties.update(cls._find_parties(
                [n for n in numbers if n.startswith('+')]))

    @staticmethod
    def _crm_call_id(kind, call, data):
        "The id of the CRM's call an update names, or None"
        crm_call = str(call.get('crm_call') or '')
        if crm_call.isdigit():
            return int(crm_call)
        action_id = data.get('action_id') or ''
        if kind == 'originate' and action_id.startswith(ORIGINATE_PREFIX):
            action_id = action_id[len(ORIGINATE_PREFIX):]
            if action_id.isdigit():
                return int(action_id)
        return None

    @classmethod
    def _normalized(cls, batch, number):
        "The E.164 form of a raw number, normalised once a listener"
        key = (number, batch.server.region)
        if key not in batch.numbers:
            batch.numbers[key] = (
                normalize(number, batch.server.region) or number.strip())
        return batch.numbers[key]

    @classmethod
    def _by_id(cls, batch, id_):
        if id_ not in batch.by_id:
            records = cls.search([
                    ('server', '=', batch.server.id),
                    ('id', '=', id_),
                    ])
            batch.by_id[id_] = batch.add(records[0]) if records else None
        return batch.by_id[id_]

    @classmethod
    def _by_linkedid(cls, batch, linkedid):
        if linkedid not in batch.by_linkedid:
            records = cls.search([
                    ('server', '=', batch.server.id),
                    ('linkedid', '=', linkedid),
                    ], limit=1)
            batch.by_linkedid[linkedid] = (
                batch.add(records[0]) if records else None)
        return batch.by_linkedid[linkedid]

    @classmethod
    def _find(cls, batch, call):
        if str(call.get('crm_call') or '').isdigit():
            record = cls._by_id(batch, int(call['crm_call']))
            if record:
                return record
        if call.get('linkedid'):
            return cls._by_linkedid(batch, call['linkedid'])
        return None

    @classmethod
    def _find_party(cls, batch, number):
        if not number:
            return None
        if number not in batch.parties:
            batch.parties.update(cls._find_parties([number]))
        return batch.parties[number]

    @classmethod
    def _find_parties(cls, numbers):
        """The customer of each E.164 number: the active party with the
        latest active phone or mobile of that number, or None.

        One indexed query on the compact values (see party.py) instead of a
        search of the contact mechanisms per call."""
        pool = Pool()
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        mechanism = Mechanism.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        found = {}
        for sub_numbers in grouped_slice(list(numbers),
                backend.MAX_QUERY_PARAMS // 2):
            cursor.execute(*mechanism.join(party,
                    condition=mechanism.party == party.id
                    ).select(mechanism.value_compact, mechanism.party,
                    where=mechanism.value_compact.in_(list(sub_numbers))
                    & mechanism.type.in_(sorted(PHONE_TYPES))
                    & (mechanism.active == Literal(True))
                    & (party.active == Literal(True)),
                    order_by=[mechanism.id.asc]))
            # the latest mechanism of a number wins
            found.update(cursor)
        parties = dict(zip(found.values(), Party.browse(found.values())))
        return {n: parties.get(found.get(n)) for n in numbers}

    @classmethod
    def _extension_ids(cls, batch, device):
        "(extension id, employee id) of a device, (None, None) if unknown"
        Extension = Pool().get('pbx.extension')
        key = ('extension', batch.server.id, device)
        if key not in batch.cache:
            extension = Extension.by_device(batch.server, device)
            batch.cache[key] = ((extension.id, extension.employee.id)
                if extension else (None, None))
        return batch.cache[key]

    @classmethod
    def _extension(cls, batch, device):
        Extension = Pool().get('pbx.extension')
        id_, _ = cls._extension_ids(batch, device)
        return Extension(id_) if id_ is not None else None

    @classmethod
    def listener_cache(cls, server):
        """The ids the listener keeps between its transactions, read with
        two queries for all the server's extensions: the extension and
        employee of each device (as ``Extension.by_device``) and the users
        of each employee (as ``CallBatch.cache_users``)."""
        pool = Pool()
        Extension = pool.get('pbx.extension')
        User = pool.get('res.user')
        cache = {}
        employees = []
        # by_device's order: the first extension of a device wins
        for extension in Extension.search([('server', '=', server.id)]):
            key = ('extension', server.id, extension.device)
            if key not in cache:
                cache[key] = (extension.id, extension.employee.id)
                employees.append(extension.employee.id)
        for employee in employees:
            cache[('users', employee)] = []
        for sub in grouped_slice(sorted(set(employees)),
                backend.MAX_QUERY_PARAMS):
            sub = set(sub)
            # in User.search's order, as cache_users
            for user in User.search([('employees', 'in', list(sub))]):
                for employee in user.employees:
                    if employee.id in sub:
                        cache[('users', employee.id)].append(user.id)
        return cache

    @classmethod
    def _get_or_create(cls, batch, call, timestamp):
        server = batch.server
        record = cls._find(batch, call)
        if record is None:
            record = cls(server=server, company=server.company,
                direction=call['direction'], state='ringing',
                start=to_datetime(call['start'] or timestamp),
                linkedid=None, uniqueid=None, number=None, party=None,
                extension=None, employee=None, recording=None,
                screen_popped=False)
        if record.linkedid != call['linkedid']:
            record.linkedid = call['linkedid']
        if not record.uniqueid:
            record.uniqueid = call['linkedid']
        if call.get('number') and not (record.direction == 'outbound'
                and record.number):
            number = cls._normalized(batch, call['number'])
            if record.number != number:
                record.number = number
        if call.get('extension') and not record.extension:
            extension, employee = cls._extension_ids(batch, call['extension'])
            if extension is not None:
                record.extension = batch.browsed('pbx.extension', extension)
                record.employee = batch.browsed('company.employee', employee)
        if not record.party and record.number:
            party = cls._find_party(batch, record.number)
            if party:
                record.party = party
        return batch.add(record)

    @classmethod
    def _ami_started(cls, batch, call, timestamp, data):
        record = cls._get_or_create(batch, call, timestamp)
        if record.state == 'queued':
            record.state = 'ringing'
        batch.save(record)
        return record

    @classmethod
    def _ami_ringing(cls, batch, call, timestamp, data):
        record = cls._get_or_create(batch, call, timestamp)
        if record.state not in {'answered', 'ended'}:
            record.state = 'ringing'
        if (record.direction == 'inbound' and not record.screen_popped
                and record.employee and batch.employee_users(record)):
            # saved with the call, in the transaction of the pop
            record.screen_popped = True
            batch.pop(record)
        batch.save(record)
        return record

    @classmethod
    def _ami_answered(cls, batch, call, timestamp, data):
        record = cls._get_or_create(batch, call, timestamp)
        record.state = 'answered'
        record.answer = to_datetime(call['answer'])
        batch.save(record)
        return record

    @classmethod
    def _ami_recording(cls, batch, call, timestamp, data):
        record = cls._get_or_create(batch, call, timestamp)
        record.recording = call['recording']
        batch.save(record)
        return record

    @classmethod
    def _ami_finished(cls, batch, call, timestamp, data):
        record = cls._get_or_create(batch, call, timestamp)
        record.state = 'ended'
        record.end = to_datetime(call['end'])
        if call.get('answer'):
            record.answer = to_datetime(call['answer'])
            record.duration = round(call['end'] - call['answer'])
        else:
            record.duration = 0
        if call.get('ring') and call['start']:
            record.ring_duration = round(
                (call['answer'] or call['end']) - call['ring'])
        record.disposition = call['disposition']
        record.hangup_cause = call['cause'] or None
        record.hangup_cause_text = call['cause_text'] or None
        if call.get('recording'):
            record.recording = call['recording']
        batch.save(record)
        batch.finish(record)
        return record

    @classmethod
    def _ami_originate(cls, batch, call, timestamp, data):
        id_ = cls._crm_call_id('originate', {}, data)
        record = cls._by_id(batch, id_) if id_ is not None else None
        if not record:
            return
        if data.get('uniqueid') and not record.linkedid:
            record.linkedid = record.uniqueid = data['uniqueid']
        if data.get('response', '').lower() == 'failure':
            record.error = gettext('pbx_connector.msg_agent_unreachable',
                reason=data.get('reason', ''))
        batch.save(record)
        return record

    @classmethod
    def _ami_cdr(cls, batch, call, timestamp, data):
        """Reconcile from the CDR: fill what the channel events missed, or
        create the call when its events were lost."""
        linkedid = data.get('UniqueID')
        if not linkedid:
            return
        record = cls._by_linkedid(batch, linkedid)
        billable = int(data.get('BillableSeconds') or 0)
        disposition = CDR_DISPOSITIONS.get(
            (data.get('Disposition') or '').upper(), 'failed')
        if not record:
            record = cls._from_cdr(batch, data, timestamp, billable,
                disposition)
        elif record.state != 'ended':
            # the Hangup was lost: the CDR ends the call
            record.state = 'ended'
            record.duration = billable
            record.disposition = record.disposition or disposition
            record.end = record.end or to_datetime(timestamp)
            if billable and not record.answer and record.end:
                record.answer = record.end - dt.timedelta(seconds=billable)
        else:
            return record
        batch.save(record)
        batch.finish(record)
        return record

    @classmethod
    def _cdr_extension(cls, batch, data):
        """(direction, extension) of a CDR: outbound when its channel or
        its source is a rep's extension, else inbound to the extension of
        the channel the Dial reached"""
        Extension = Pool().get('pbx.extension')
        extension = None
        if data.get('Channel'):
            extension = cls._extension(batch, device(data['Channel']))
        if not extension and data.get('Source'):
            extension = next(iter(Extension.search([
                            ('server', '=', batch.server.id),
                            ('number', '=', data['Source']),
                            ], limit=1)), None)
        if extension:
            return 'outbound', extension
        if data.get('DestinationChannel'):
            extension = cls._extension(batch,
                device(data['DestinationChannel']))
        return 'inbound', extension

    @classmethod
    def _from_cdr(cls, batch, data, timestamp, billable, disposition):
        "A call whose channel events were missed, from its CDR alone"
        direction, extension = cls._cdr_extension(batch, data)
        number = (data.get('Destination') if direction == 'outbound'
            else data.get('Source')) or ''
        duration = int(data.get('Duration') or 0)
        end = to_datetime(timestamp)
        number = cls._normalized(batch, number) or None
        return cls(server=batch.server, company=batch.server.company,
            linkedid=data['UniqueID'],
            uniqueid=data['UniqueID'], state='ended', direction=direction,
            number=number, duration=billable, disposition=disposition,
            start=end - dt.timedelta(seconds=duration) if end else None,
            answer=end - dt.timedelta(seconds=billable)
            if end and billable else None,
            end=end, extension=extension,
            employee=extension.employee if extension else None,
            party=cls._find_party(batch, number), screen_popped=False)
