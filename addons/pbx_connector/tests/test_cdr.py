# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Reconciliation from the Cdr event (PBX-07): a call whose channel events
the listener never saw is created from its Cdr, and a call whose end was
lost is ended by it. The events are the scripted peer's, fed to the
listener's tracker; on both backends."""
import datetime as dt
import unittest

from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)

from ..ami import CallTracker
from ..ami.protocol import Message
from testing.ami_peer import ScriptedPeer

START = 1.8e9


class CdrTestCase(unittest.TestCase):
    "Calls reconciled from the Cdr event"

    @classmethod
    def setUpClass(cls):
        # on PostgreSQL the database a test before left may hold calls
        drop_db()
        activate_module('pbx_connector')

    @classmethod
    def tearDownClass(cls):
        drop_db()

    def _setup(self):
        pool = Pool()
        Party = pool.get('party.party')
        Server = pool.get('pbx.server')
        company = create_company()
        rep = create_employee(company, name='刘洋')
        customer, = Party.create([{'name': '张三', 'contact_mechanisms': [
                        ('create', [{'type': 'mobile',
                                    'value': '+8613798312311'}])]}])
        server, = Server.create([{'name': 'Asterisk', 'host': '127.0.0.1',
                    'port': 5038, 'username': 'crm', 'secret': 's3cret',
                    'company': company.id, 'extensions': [('create', [{
                                    'employee': rep.id, 'number': '8001',
                                    'device': 'PJSIP/8001'}])]}])
        return company, server, rep, customer

    @staticmethod
    def _events(play):
        "The events (pairs) the scripted peer plays for ``play(peer)``"
        peer = ScriptedPeer(talk_seconds=42)
        try:
            return play(peer)
        finally:
            peer.close()

    @staticmethod
    def _updates(events):
        "The listener tracker's updates of the events"
        tracker = CallTracker({'PJSIP/8001'})
        return [(u.kind, u.call, u.timestamp, u.data)
            for pairs in events for u in tracker.feed(Message(pairs))]

    @staticmethod
    def _cdr_only(events):
        cdr, = [e for e in events if ('Event', 'Cdr') in e]
        return [cdr]

    @staticmethod
    def _timestamp(event):
        return float(dict(event)['Timestamp'])

    @with_transaction()
    def test_inbound_from_cdr_only(self):
        "An inbound call seen only by its Cdr is logged with its rep"
        Call = Pool().get('pbx.call')
        company, server, rep, customer = self._setup()
        events = self._events(lambda peer: peer.inbound_events(
                '13798312311', 'PJSIP/8001', start=START))
        cdr, = self._cdr_only(events)
        with set_company(company):
            Call.ami_updates(server, self._updates([cdr]))
        call, = Call.search([])
        self.assertEqual(
            (call.direction, call.state, call.number, call.party,
                call.extension.device, call.employee),
            ('inbound', 'ended', '+8613798312311', customer, 'PJSIP/8001',
                rep))
        self.assertEqual((call.duration, call.disposition), (42, 'answered'))
        self.assertEqual(call.linkedid, dict(cdr)['UniqueID'])
        end = dt.datetime.fromtimestamp(self._timestamp(cdr),
            dt.timezone.utc).replace(tzinfo=None)
        self.assertEqual(call.end, end)
        # Duration counts the ringing, BillableSeconds the talk
        self.assertEqual(call.start, end - dt.timedelta(seconds=50))
        self.assertEqual(call.answer, end - dt.timedelta(seconds=42))

    @with_transaction()
    def test_outbound_from_cdr_only(self):
        "A click-to-dial seen only by its Cdr is an outbound call of the rep"
        Call = Pool().get('pbx.call')
        company, server, rep, customer = self._setup()
        action = {'channel': 'PJSIP/8001', 'exten': '13900001111',
            'context': 'crm-click-to-dial', 'actionid': 'other-crm-1'}

        def play(peer):
            peer.outcomes['13900001111'] = 'no_answer'
            return peer.originate_events(action, [], start=START)
        with set_company(company):
            Call.ami_updates(server,
                self._updates(self._cdr_only(self._events(play))))
        call, = Call.search([])
        self.assertEqual(
            (call.direction, call.state, call.number, call.party,
                call.extension.number, call.employee, call.duration,
                call.disposition, call.answer),
            ('outbound', 'ended', '+8613900001111', None, '8001', rep, 0,
                'no_answer', None))

    @with_transaction()
    def test_inbound_busy_unknown_from_cdr_only(self):
        "The CDR's disposition and the unknown caller"
        Call = Pool().get('pbx.call')
        company, server, rep, customer = self._setup()
        events = self._events(lambda peer: peer.inbound_events(
                '13900002222', 'PJSIP/8001', outcome='busy', start=START))
        with set_company(company):
            Call.ami_updates(server, self._updates(self._cdr_only(events)))
        call, = Call.search([])
        self.assertEqual(
            (call.direction, call.number, call.party, call.employee,
                call.duration, call.disposition, call.screen_popped),
            ('inbound', '+8613900002222', None, rep, 0, 'busy', False))

    @with_transaction()
    def test_cdr_ends_call_without_hangup(self):
        "The Cdr ends a call whose Hangup events were lost"
        Call = Pool().get('pbx.call')
        company, server, rep, customer = self._setup()
        events = self._events(lambda peer: peer.inbound_events(
                '13798312311', 'PJSIP/8001', start=START))
        lost = [e for e in events
            if ('Event', 'Hangup') not in e and ('Event', 'Cdr') not in e]
        cdr, = self._cdr_only(events)
        tracker = CallTracker({'PJSIP/8001'})
        with set_company(company):
            Call.ami_updates(server, [(u.kind, u.call, u.timestamp, u.data)
                    for e in lost for u in tracker.feed(Message(e))])
            call, = Call.search([])
            self.assertEqual((call.state, call.end, call.duration),
                ('answered', None, None))
            answer = call.answer
            Call.ami_updates(server, [(u.kind, u.call, u.timestamp, u.data)
                    for u in tracker.feed(Message(cdr))])
        call, = Call.search([])
        self.assertEqual(
            (call.state, call.disposition, call.duration, call.party,
                call.employee),
            ('ended', 'answered', 42, customer, rep))
        self.assertEqual(call.answer, answer)
        self.assertEqual(call.end, dt.datetime.fromtimestamp(
                self._timestamp(cdr), dt.timezone.utc).replace(tzinfo=None))

    @with_transaction()
    def test_cdr_after_hangup_changes_nothing(self):
        "The Cdr of a call already ended leaves it as the events made it"
        Call = Pool().get('pbx.call')
        company, server, rep, customer = self._setup()
        events = self._events(lambda peer: peer.inbound_events(
                '13798312311', 'PJSIP/8001', outcome='no_answer',
                start=START))
        with set_company(company):
            Call.ami_updates(server, self._updates(events))
        call, = Call.search([])
        self.assertEqual(
            (call.state, call.disposition, call.duration,
                call.hangup_cause),
            ('ended', 'no_answer', 0, 19))
