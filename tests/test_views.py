# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Every view of the suite can be drawn by the installed web client

sao draws a field with the widget named by its ``widget`` attribute, else by
its type; a widget it does not know stops the whole tab with a JavaScript
error ("ColumnFactory is not a constructor"): a ``datetime`` column in a
list, for example. The widgets sao knows are read from the installed sao
itself, so the check follows the client's version.
"""
import re

from lxml import etree

from conftest import ROOT
from demo.suite import suite_modules

MODULES = list(suite_modules())
SAO = ROOT / 'var' / 'sao' / 'node_modules' / 'tryton-sao' / 'dist' / (
    'tryton-sao.js')


def sao_widgets(registry):
    "The keys of one of sao's WIDGETS tables"
    assert SAO.exists(), 'sao is not installed: run scripts/test'
    source = SAO.read_text()
    match = re.search(
        re.escape(registry) + r'\.WIDGETS = \{(.*?)\};', source, re.S)
    assert match, registry
    return set(re.findall(r"'([a-z0-9_]+)':", match.group(1)))


def views():
    "(model, view id, type) of every view the suite's modules define"
    from trytond.pool import Pool
    View = Pool().get('ir.ui.view')
    result = []
    for view in View.search([('module', 'in', MODULES)]):
        if view.inherit:
            # an extension: check the view it extends, as extended
            view = view.inherit
        if view.type in {'tree', 'form'} and view.model:
            result.append((view.model, view.id, view.type))
    return sorted(set(result))


def unknown_widgets(model, view_id, view_type, widgets):
    from trytond.pool import Pool
    Model = Pool().get(model)
    view = Model.fields_view_get(view_id, view_type)
    arch = etree.fromstring(view['arch'])
    editable = arch.get('editable')
    problems = []
    for element in arch.iter('field'):
        name = element.get('name')
        field = view['fields'].get(name)
        if not field:
            continue
        widget = element.get('widget') or field['type']
        kind = ('editable' if view_type == 'tree' and editable
            else view_type)
        if widget not in widgets[kind]:
            problems.append('%s view %s (%s): field %s widget %s' % (
                    model, view_id, kind, name, widget))
    return problems


def test_views_use_widgets_sao_knows():
    from trytond.tests.test_tryton import DB_NAME, activate_module, drop_db
    from trytond.transaction import Transaction
    widgets = {
        'tree': sao_widgets('Sao.View.TreeXMLViewParser'),
        'form': sao_widgets('Sao.View.FormXMLViewParser'),
        'editable': sao_widgets('Sao.View.EditableTree'),
        }
    drop_db()
    activate_module(MODULES)
    try:
        with Transaction().start(DB_NAME, 0, readonly=True):
            checked = views()
            problems = []
            for model, view_id, view_type in checked:
                problems += unknown_widgets(
                    model, view_id, view_type, widgets)
    finally:
        drop_db()
    assert len(checked) > 50
    assert not problems, '\n'.join(problems)
