# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What each role sees is in Chinese (X-03), Tryton's own screens included

Over JSON-RPC as each demo role, in the role's language: every menu entry,
every label, page, button, link and selection value of the list, form and
graph views its menus open (a graph's axis shows labels, not selection
keys), and of the lists and forms of their one2many fields, and the names
of their models (the title of a record's tab), are Chinese, but for a short
list of codes, symbols and brand names. The texts the web client adds
itself (sao's toolbar, dialogs) are not checked here. Words our users would
not say fail too (WRONG: 参与者 for a customer, a call log titled 通话数).
"""
import re
from xml.etree import ElementTree

import pytest

from testing.demo_server import serve_demo
from tests.test_browser import ARTIFACTS, RPC

pytestmark = pytest.mark.sqlite

CJK = re.compile('[\u4e00-\u9fff]')
# codes, symbols and brand names, the same in Chinese
ALLOWED = {'VIP', 'SIP', 'Skype', 'IRC', 'Jabber', 'Twilio',
    'Kannel（HTTP/SMPP）', 'ID', '%', '#', '+', '-'}
# words the host's translation or ours got wrong for these users, with the
# right one: a call log is not a count, a customer is not a "participant"
WRONG = {'通话数': '通话记录', '参与者': '客户'}
ROLES = ['rep1', 'sup1', 'manager', 'accountant', 'channel', 'smsadmin',
    'pbxadmin']


@pytest.fixture(scope='module')
def served():
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_demo(ARTIFACTS / 'trytond-zh-screens.log') as url:
        yield url


def english(text):
    return bool(text) and text not in ALLOWED and not CJK.search(text)


def wrong(text, model=None):
    """The wrong word text holds: a column counting calls is 通话数, and
    the accounting's 参与者 (a customer or a supplier) is the accountant's"""
    return next((w for w in WRONG if w in (text or '')
            and not (model and w == '通话数')
            and not ((model or '').startswith('account.')
                and w == '参与者')), None)


def view_texts(rpc, model, view_type):
    """The English texts of the view, and the models of its one2many
    fields; None when the role may not open it"""
    try:
        view = rpc.model(model, 'fields_view_get', None, view_type)
    except RuntimeError:
        return None
    found, related = set(), set()
    arch = ElementTree.fromstring(view['arch'])
    for axis in arch.iterfind('x/field'):
        # a graph draws the key of a selection on its axis, not its label
        if view['fields'][axis.get('name')]['type'] == 'selection':
            found.add(f'graph axis {axis.get("name")} (selection keys)')
    for link in arch.iter('link'):
        # a button to the related records, titled with its action's name
        # and the counts of its tabs
        action, = rpc.model('ir.action.act_window', 'read',
            [int(link.get('id'))], ['name', 'act_window_domains'])
        tabs = rpc.model('ir.action.act_window.domain', 'read',
            action['act_window_domains'], ['name'])
        for text in [action['name']] + [t['name'] for t in tabs]:
            if english(text) or wrong(text, model):
                found.add(f'link {link.get("name")} {text!r}')
    for element in arch.iter():
        if english(element.get('string')):
            found.add(f'{element.tag} {element.get("string")!r}')
        if wrong(element.get('string'), model):
            found.add(f'{element.tag} {element.get("string")!r} (wrong word)')
        field = view['fields'].get(element.get('name'))
        if element.tag != 'field' or not field:
            continue
        if not element.get('string') and english(field.get('string')):
            found.add(f'field {element.get("name")} {field["string"]!r}')
        if not element.get('string') and wrong(field.get('string'), model):
            found.add(f'field {element.get("name")} {field["string"]!r} '
                '(wrong word)')
        selection = field.get('selection')
        for _, label in (selection if isinstance(selection, list) else []):
            if english(label):
                found.add(f'selection {element.get("name")} {label!r}')
        if field.get('type') == 'one2many':
            related.add(field['relation'])
    return found, related


@pytest.mark.parametrize('role', ROLES)
def test_screens_in_chinese(served, role):
    from demo.loader import password_of
    rpc = RPC(served, role, password_of(role))
    menus = rpc.model('ir.ui.menu', 'search_read', [], 0, None, None,
        ['name', 'complete_name', 'action'])
    assert menus
    # each entry's own name: its path holds its parents' Chinese
    untranslated = {f'menu {m["complete_name"]!r}' for m in menus
        if english(m['name']) or wrong(m['name'])}
    todo = set()
    for menu in menus:
        if (menu['action'] or '').startswith('ir.action.act_window,'):
            action_id = int(menu['action'].split(',')[1])
            action, = rpc.model('ir.action.act_window', 'read', [action_id],
                ['res_model', 'name', 'act_window_domains'])
            todo.add(action['res_model'])
            # the title of the tab the entry opens, and of its list's tabs
            tabs = rpc.model('ir.action.act_window.domain', 'read',
                action['act_window_domains'], ['name'])
            for text in [action['name']] + [t['name'] for t in tabs]:
                if english(text) or wrong(text):
                    untranslated.add(
                        f'action {action["name"]!r}: {text!r}')
    admin = RPC(served, 'admin', password_of('admin'))
    graphs = {v['model'] for v in admin.model('ir.ui.view', 'search_read',
            [('type', '=', 'graph')], 0, None, None, ['model'])}
    seen = set()
    while todo:
        model = todo.pop()
        seen.add(model)
        for view_type in ['tree', 'form'] + (
                ['graph'] if model in graphs else []):
            texts = view_texts(rpc, model, view_type)
            if texts is None:
                continue
            found, related = texts
            untranslated |= {f'{model} {view_type}: {t}' for t in found}
            todo |= related - seen
    assert seen
    # the tab of a record opened by a link is titled with its model's name
    names = rpc.model('ir.model', 'get_names')
    untranslated |= {f'model {m} {names[m]!r}' for m in seen
        if english(names.get(m)) or wrong(names.get(m))}
    assert not untranslated, (
        f'not in Chinese for {role}:\n' + '\n'.join(sorted(untranslated)))
