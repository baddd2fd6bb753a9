# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Every string of the module has its Simplified Chinese translation"
import pathlib
import re

import polib
import pytest

pytestmark = pytest.mark.fast

MODULE = pathlib.Path(__file__).resolve().parent.parent


def test_zh_cn_complete():
    po = polib.pofile(str(MODULE / 'locale' / 'zh_CN.po'))
    missing = [e.msgctxt for e in po if not e.msgstr or 'fuzzy' in e.flags]
    assert not missing


def test_every_message_translated():
    po = polib.pofile(str(MODULE / 'locale' / 'zh_CN.po'))
    contexts = {e.msgctxt for e in po}
    ids = re.findall(
        r'model="ir.message" id="(\w+)"', (MODULE / 'message.xml').read_text())
    assert ids
    assert not [i for i in ids
        if 'model:ir.message,text:%s' % i not in contexts]
