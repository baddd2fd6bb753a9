# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The screen pop of an unknown caller opens the new-customer form
prefilled from the call (res.notification's ``action``, as sao opens it),
and the customer created from it is linked to the call."""

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import drop_db, with_transaction
from trytond.transaction import Transaction

from . import test_screen_pop
from .test_screen_pop import _masked


class PopActionTestCase(test_screen_pop.ScreenPopTestCase):
    "What the pop of an unknown caller opens"

    @classmethod
    def setUpClass(cls):
        # on PostgreSQL the database a test before left may hold calls
        drop_db()
        super().setUpClass()

    # the screen pop tests run once, in their own module
    test_ringing_ahead_then_in_order = test_in_order_then_ringing_ahead = None
    test_pop_masks_number = test_listener_cache = None
    test_more_pops_than_a_message_shows = None

    def _pops(self, *callers, masked=False):
        "Pop calls from callers to the rep; the rep's notifications"
        pool = Pool()
        Call = pool.get('pbx.call')
        Notification = pool.get('res.notification')
        company, server, user, customer = self._setup()
        with set_company(company):
            Call.ami_updates(server, self._ringing(self._updates(*callers)))
        with Transaction().set_user(user.id), \
                Transaction().set_context(_check_access=True):
            if masked:
                with _masked(Pool().get('party.contact_mechanism')):
                    pops = Notification.get()
            else:
                pops = Notification.get()
        return company, user, customer, pops

    @staticmethod
    def _context(action):
        return PYSONDecoder({}).decode(action['pyson_context'])

    @with_transaction()
    def test_unknown_caller_opens_new_customer_form(self):
        "The unknown caller's pop opens the prefilled customer form"
        pool = Pool()
        Call = pool.get('pbx.call')
        Party = pool.get('party.party')
        View = pool.get('ir.ui.view')
        ModelData = pool.get('ir.model.data')
        company, user, customer, pops = self._pops(
            '13798312311', '13900001111')
        unknown, known = pops  # the latest first
        call, = Call.search([('party', '=', None)])
        self.assertEqual(unknown['label'],
            'Incoming call from a new number +8613900001111')
        self.assertEqual((unknown['model'], unknown['records']),
            (None, None))
        action = unknown['action']
        self.assertEqual((action['type'], action['res_model']),
            ('ir.action.act_window', 'party.party'))
        # sao opens the first view and, without res_id, a new record
        self.assertEqual(list(action['views'][0]), [ModelData.get_id(
                    'party', 'party_view_form'), 'form'])
        self.assertEqual(View(action['views'][0][0]).type, 'form')
        self.assertNotIn('res_id', action)
        context = self._context(action)
        self.assertEqual(context, {
                'pbx_call': call.id,
                'pbx_party_name': 'Customer +8613900001111',
                'default_contact_mechanisms': [
                    {'type': 'mobile', 'value': '+8613900001111'}],
                })
        # the known caller's pop still opens the customer
        self.assertEqual(
            (known['model'], known['records'], known['action']),
            ('party.party', [customer.id], None))

        # the form is prefilled as sao asks it: default_get in that context
        with Transaction().set_user(user.id), \
                Transaction().set_context(context, _check_access=True):
            defaults = Party.default_get(['name', 'contact_mechanisms'],
                with_rec_name=False)
        self.assertEqual(defaults['name'], 'Customer +8613900001111')
        self.assertEqual(defaults['contact_mechanisms'],
            [{'type': 'mobile', 'value': '+8613900001111'}])
        # not in the customer's phone lines added in the form
        with Transaction().set_user(user.id), \
                Transaction().set_context(context, _check_access=True):
            self.assertIsNone(pool.get('party.contact_mechanism').default_get(
                    ['name'], with_rec_name=False).get('name'))

        # saving the form creates the customer of the call
        with Transaction().set_user(user.id), \
                Transaction().set_context(context, _check_access=True):
            party, = Party.create([{'name': '李四', 'contact_mechanisms': [
                            ('create', defaults['contact_mechanisms'])]}])
        call = Call(call.id)
        self.assertEqual(call.party, party)
        self.assertEqual(
            [(m.type, m.value_compact) for m in party.contact_mechanisms],
            [('mobile', '+8613900001111')])
        # the pop now opens the call, which shows its customer
        with Transaction().set_user(user.id), \
                Transaction().set_context(_check_access=True):
            pop = pool.get('res.notification').get()[0]
        self.assertEqual((pop['model'], pop['records'], pop['action']),
            ('pbx.call', [call.id], None))

    @with_transaction()
    def test_masked_number_not_sent(self):
        "A rep who may not see full numbers gets no number in the form"
        pool = Pool()
        Call = pool.get('pbx.call')
        Party = pool.get('party.party')
        company, user, customer, pops = self._pops('13900001111',
            masked=True)
        pop, = pops
        context = self._context(pop['action'])
        self.assertEqual(context['pbx_party_name'], 'Customer 139****1111')
        self.assertNotIn('default_contact_mechanisms', context)
        self.assertNotIn('13900001111', pop['action']['pyson_context'])
        # the number comes from the call when the customer is created
        with Transaction().set_user(user.id), \
                Transaction().set_context(context, _check_access=True):
            party, = Party.create([{'name': '李四'}])
        call, = Call.search([])
        self.assertEqual(call.party, party)
        self.assertEqual(
            [(m.type, m.value_compact) for m in party.contact_mechanisms],
            [('mobile', '+8613900001111')])

    @with_transaction()
    def test_other_user_cannot_link(self):
        "Only a user who got the pop links a new customer to the call"
        pool = Pool()
        Call = pool.get('pbx.call')
        Party = pool.get('party.party')
        User = pool.get('res.user')
        company, user, customer, pops = self._pops('13900001111')
        other, = User.create([{'login': 'other', 'name': 'Other'}])
        call, = Call.search([])
        with Transaction().set_user(other.id), \
                Transaction().set_context(pbx_call=call.id):
            party, = Party.create([{'name': '王五'}])
        self.assertEqual(Call(call.id).party, None)
        self.assertEqual(list(party.contact_mechanisms), [])
