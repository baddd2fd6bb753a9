# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What a rep sees all day is in Chinese (X-03), host screens included

Over JSON-RPC as the demo rep, in the rep's language: the menus, and every
label, page, button and selection value of the customer form, its address
and contact mechanism views, are Chinese, but for a short list of codes and
brand names. (The other roles' screens are not checked yet.)
"""
import re
from xml.etree import ElementTree

import pytest

from tests.demo_server import serve_demo
from tests.test_browser import ARTIFACTS, RPC

pytestmark = pytest.mark.sqlite

CJK = re.compile('[\u4e00-\u9fff]')
# codes and brand names, the same in Chinese
ALLOWED = {'VIP', 'SIP', 'Skype', 'IRC', 'Jabber', '%', 'ID'}
SCREENS = [
    ('party.party', 'form'), ('party.party', 'tree'),
    ('party.address', 'form'), ('party.address', 'tree'),
    ('party.contact_mechanism', 'form'), ('party.contact_mechanism', 'tree'),
    ]


@pytest.fixture(scope='module')
def rep():
    from demo.loader import password_of
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_demo(ARTIFACTS / 'trytond-zh-screens.log') as url:
        yield RPC(url, 'rep1', password_of('rep1'))


def english(text):
    return bool(text) and text not in ALLOWED and not CJK.search(text)


def untranslated(rpc, model, view_type):
    "The labels of the view that are not in Chinese"
    view = rpc.call(f'model.{model}.fields_view_get', [None, view_type,
            {**rpc.context, 'crm_customer': True}])
    found = set()
    for element in ElementTree.fromstring(view['arch']).iter():
        if english(element.get('string')):
            found.add(f'{element.tag} {element.get("string")!r}')
        field = view['fields'].get(element.get('name'))
        if element.tag != 'field' or not field:
            continue
        if not element.get('string') and english(field.get('string')):
            found.add(f'field {element.get("name")} {field["string"]!r}')
        selection = field.get('selection')
        for _, label in (selection if isinstance(selection, list) else []):
            if english(label):
                found.add(f'selection {element.get("name")} {label!r}')
    return found


def test_menus_in_chinese(rep):
    menus = rep.model('ir.ui.menu', 'search_read', [], 0, None, None,
        ['complete_name'])
    assert len(menus) > 20
    english_menus = [m['complete_name'] for m in menus
        if english(m['complete_name'])]
    assert not english_menus


@pytest.mark.parametrize('model, view_type', SCREENS)
def test_customer_screens_in_chinese(rep, model, view_type):
    assert not sorted(untranslated(rep, model, view_type))
