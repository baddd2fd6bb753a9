# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Export of customer lists to Excel and printable lists (PL-17, X-06)

Both are reports on ``party.party`` run on the selected records: the Excel
export writes the columns the user sees in the customer list (the optional
columns they hid are left out); the printable list renders ``customer_list.fodt``.
Only users allowed to export get the Excel export; phone numbers are masked
for users without the "see full numbers" right in both.
"""
from lxml import etree

from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction, check_access

from .phone import display_phone, may_export
from .spreadsheet import write_xlsx

LIST_VIEW = 'party_view_list'


def _action_report(report_name, data):
    pool = Pool()
    ActionReport = pool.get('ir.action.report')
    action_id = data.get('action_id')
    if action_id is None:
        # found as root: the report's own group check refuses other users
        with Transaction().set_user(0):
            action, = ActionReport.search([
                    ('report_name', '=', report_name),
                    ], limit=1)
        return ActionReport(action.id)
    return ActionReport(action_id)


def visible_columns(Model=None, view_xml_id=LIST_VIEW):
    """Return the field names of the customer list the user sees

    The list view as the client gets it: fields the user may not read are
    left out and optional columns the user hid (``ir.ui.view_tree_optional``)
    too.
    """
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    if Model is None:
        Model = pool.get('party.party')
    view_id = ModelData.get_id('telesales_pipeline', view_xml_id)
    view = Model.fields_view_get(view_id=view_id, view_type='tree')
    tree = etree.fromstring(view['arch'])
    names = []
    for element in tree.iter('field'):
        name = element.get('name')
        if (name not in view['fields']
                or element.get('optional') == '1'
                or element.get('tree_invisible') == '1'
                or name in names):
            continue
        names.append(name)
    return names, view['fields']


class PartyExportXlsx(Report):
    "Customer list as an Excel workbook (PL-17)"
    __name__ = 'telesales_pipeline.party.export_xlsx'

    @classmethod
    def execute(cls, ids, data):
        pool = Pool()
        Party = pool.get('party.party')
        action = _action_report(cls.__name__, data)
        ids = list(map(int, ids))
        cls.check_access(action, 'party.party', ids)
        if Transaction().user and not may_export():
            raise AccessError(gettext(
                    'telesales_pipeline.msg_export_not_allowed'))
        with check_access():
            names, definitions = visible_columns(Party)
            paths = []
            for name in names:
                if definitions[name]['type'] == 'selection':
                    paths.append(name + '.translated')
                else:
                    paths.append(name)
            records = Party.browse(ids)
            # export_data applies the record rules and masks the phones
            rows = Party.export_data(records, paths)
        header = [definitions[n]['string'] for n in names]
        title = action.name
        content = write_xlsx([(title, header, rows)])
        return 'xlsx', content, False, title


class CustomerList(Report):
    "Printable customer list (PL-17)"
    __name__ = 'telesales_pipeline.party.customer_list'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['display_phone'] = display_phone
        context['city'] = city
        return context


def city(party):
    "The city of the customer's first address"
    for address in party.addresses:
        if address.city:
            return address.city
    return ''
