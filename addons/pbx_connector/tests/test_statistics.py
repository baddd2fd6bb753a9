# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Call statistics (PBX-06): graphs of calls per rep, per day and per rep
per day, talk time and answer rate."""
import datetime as dt
import unittest

from lxml import etree

from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)


class StatisticsTestCase(unittest.TestCase):
    "Call statistics graphs"

    @classmethod
    def setUpClass(cls):
        # on PostgreSQL the database a test before left may hold calls
        drop_db()
        activate_module('pbx_connector')

    @classmethod
    def tearDownClass(cls):
        drop_db()

    @staticmethod
    def _action(xml_id):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Action = pool.get('ir.action.act_window')
        return Action(ModelData.get_id('pbx_connector', xml_id))

    @staticmethod
    def _graphs(action):
        "[(x field, [y fields])] of the graph views of an action"
        Statistics = Pool().get('pbx.call.statistics')
        graphs = []
        for view in action.act_window_views:
            if view.view.type != 'graph':
                continue
            arch = etree.fromstring(Statistics.fields_view_get(
                    view.view.id, 'graph')['arch'])
            graphs.append((arch.find('x/field').get('name'),
                    [f.get('name') for f in arch.findall('y/field')]))
        return graphs

    @with_transaction()
    def test_graphs(self):
        "Calls and talk time per rep and per day"
        graphs = self._graphs(self._action('act_call_statistics'))
        self.assertEqual(graphs, [
                ('employee', ['calls', 'answered']),
                ('employee', ['talk_minutes']),
                ('date', ['calls', 'answered']),
                ])

    @with_transaction()
    def test_graphs_per_rep_per_day(self):
        "A rep's calls, talk time and answer rate per day, from the rep"
        pool = Pool()
        Keyword = pool.get('ir.action.keyword')
        action = self._action('act_call_statistics_employee')
        self.assertEqual(self._graphs(action), [
                ('date', ['calls', 'answered']),
                ('date', ['talk_minutes']),
                ('date', ['answer_rate']),
                ])
        keyword, = Keyword.search([('action', '=', action.action.id)])
        self.assertEqual((keyword.keyword, keyword.model),
            ('form_relate', 'company.employee,-1'))
        self.assertEqual(
            PYSONDecoder({'active_id': 7}).decode(action.pyson_domain),
            [['employee', '=', 7]])

    @with_transaction()
    def test_rate_graphs_have_one_row_per_point(self):
        """sao adds up the y values of the rows of one x: an answer rate is
        drawn only against the date for one rep (one row per date)"""
        pool = Pool()
        Action = pool.get('ir.action.act_window')
        for action in Action.search([('res_model', '=', 'pbx.call.statistics')]):
            for x, ys in self._graphs(action):
                if 'answer_rate' in ys:
                    self.assertEqual(x, 'date')
                    self.assertEqual(
                        PYSONDecoder({'active_id': 7}).decode(
                            action.pyson_domain), [['employee', '=', 7]])

    @with_transaction()
    def test_rows_per_rep_per_day(self):
        "One row per rep and day with its calls, talk time and answer rate"
        pool = Pool()
        Call = pool.get('pbx.call')
        Server = pool.get('pbx.server')
        Statistics = pool.get('pbx.call.statistics')
        company = create_company()
        rep1 = create_employee(company, name='刘洋')
        rep2 = create_employee(company, name='陈静')
        with set_company(company):
            server, = Server.create([{'name': 'Asterisk',
                        'host': '127.0.0.1', 'port': 5038,
                        'username': 'crm', 'secret': 's3cret'}])
            day1, day2 = dt.datetime(2026, 11, 20, 2), dt.datetime(
                2026, 11, 21, 2)
            calls = [
                (rep1, day1, 'answered', 60), (rep1, day1, 'busy', 0),
                (rep1, day1, 'no_answer', 0), (rep1, day1, 'answered', 30),
                (rep1, day2, 'answered', 120),
                (rep2, day1, 'answered', 45),
                ]
            Call.create([{'server': server.id, 'direction': 'outbound',
                        'state': 'ended', 'employee': e.id, 'start': s,
                        'disposition': d, 'duration': t}
                    for e, s, d, t in calls])
            rows = Statistics.search([('employee', '=', rep1.id)],
                order=[('date', 'ASC')])
        self.assertEqual(
            [(r.date, r.calls, r.answered, r.talk_time, r.talk_minutes,
                    r.answer_rate) for r in rows],
            [(day1.date(), 4, 2, 90, 1.5, 50.0),
                (day2.date(), 1, 1, 120, 2.0, 100.0)])
