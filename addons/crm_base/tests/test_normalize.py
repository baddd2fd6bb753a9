# This file is part of the CRM suite.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""normalize: China's mobile numbers skip phonenumbers' parsing (a burst
of callers) and must come out as phonenumbers gives them."""
import random

import phonenumbers
import pytest

from crm_base.phone import CN_MOBILE, normalize

pytestmark = pytest.mark.fast


def by_phonenumbers(number, region='CN'):
    raw = number.strip()
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def test_cn_mobile_pattern_from_metadata():
    assert CN_MOBILE is not None
    assert CN_MOBILE.fullmatch('13798312311')
    assert not CN_MOBILE.fullmatch('01012345678')


def test_every_prefix_as_phonenumbers():
    "Every 5-digit prefix 10000…19999, bare and with +86"
    rng = random.Random(2026)
    fast = 0
    for prefix in range(10000, 20000):
        number = f'{prefix}{rng.randrange(10 ** 6):06d}'
        fast += bool(CN_MOBILE.fullmatch(number))
        for raw in (number, '+86' + number, f' {number} '):
            assert normalize(raw) == by_phonenumbers(raw), raw
    # the fast path is taken for most of them
    assert fast > 4000


@pytest.mark.parametrize('raw', [
        '1379831231', '137983123111', '+8613798312311', '8613798312311',
        '008613798312311', '+86 137 9831 2311', '137-9831-2311',
        '１３７９８３１２３１１', '02161234567', '4008108888', '+14155550100',
        '', '  ', 'abc', '1740612345', '17406123456', '17407123456',
        ])
def test_other_forms_as_phonenumbers(raw):
    assert normalize(raw) == (by_phonenumbers(raw) if raw.strip()
        else None)


def test_other_region_as_phonenumbers():
    assert normalize('13798312311', 'US') == by_phonenumbers(
        '13798312311', 'US')
