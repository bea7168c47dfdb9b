"""Bracket boundaries of the 魏县 illness line, computed by hand.

Line: trigger 5,000; (5,000, 10,000] × 50%; (10,000, 20,000] × 60%; above 20,000 × 70%; cap 50,000.
Amounts in fen.
"""

import numpy as np
import pytest

from products import load_product
from products.schedule import bracket_entitlement

ILLNESS = load_product("fangpinbao-weixian-2025").line("illness")


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (0, 0),
        (499_999, 0),  # 4,999.99 < trigger
        (500_000, 0),  # exactly at the trigger: base must be > trigger
        (500_001, 1),  # 0.01 × 50% = 0.005 → round half up → 0.01
        (500_002, 1),  # 0.02 × 50% = 0.01
        (500_003, 2),  # 0.03 × 50% = 0.015 → 0.02
        (1_000_000, 250_000),  # 5,000 × 50% = 2,500.00 (exactly at upto_1)
        (1_000_001, 250_001),  # 2,500 + 0.01 × 60% = 2,500.006 → 2,500.01
        (2_000_000, 850_000),  # 2,500 + 10,000 × 60% = 8,500.00 (exactly at upto_2)
        (2_000_001, 850_001),  # 8,500 + 0.01 × 70% = 8,500.007 → 8,500.01
        (2_334_567, 1_084_197),  # 8,500 + 3,345.67 × 70% = 8,500 + 2,341.969 = 10,841.969 → 10,841.97
        (7_928_570, 4_999_999),  # 8,500 + 59,285.70 × 70% = 8,500 + 41,499.99 = 49,999.99 (just under the cap)
        (7_928_571, 5_000_000),  # 8,500 + 59,285.71 × 70% = 49,999.997 = 4,999,999.7 fen → half up → 50,000.00
        (7_928_572, 5_000_000),  # 8,500 + 59,285.72 × 70% = 50,000.004 → 50,000.00 (= the cap)
        (7_928_573, 5_000_000),  # 50,000.011 → 50,000.01 → capped at 50,000.00
        (10_000_000, 5_000_000),  # 8,500 + 80,000 × 70% = 64,500 → capped at 50,000
    ],
)
def test_illness_bracket_boundaries(base, expected):
    res = bracket_entitlement(np.array([base]), ILLNESS)
    assert int(res.entitlement[0]) == expected


def test_parts_per_bracket():
    # base 23,345.67: parts 5,000.00 / 10,000.00 / 3,345.67
    res = bracket_entitlement(np.array([2_334_567]), ILLNESS)
    assert res.parts.tolist() == [[500_000, 1_000_000, 334_567]]


def test_rounding_once_per_unit_not_per_bracket():
    # Two brackets of 50% each side of 0.01: base 0.02 → 0.01×0.5 + 0.01×0.5 = 0.01 exactly.
    # Rounding per bracket would give 0.005→0.01 twice = 0.02; the rule rounds once → 0.01.
    product = load_product({
        "schema": 1, "code": "T", "family": "fangpinbao", "name": "t", "county": "130434", "year": 2025,
        "period": {"start": "2025-01-01", "end": "2025-12-31"}, "premium": {"per_head": 50, "basis": "person"},
        "lines": [{"id": "illness", "peril": "illness", "basis": "person", "start_line": 0, "trigger": 0,
                   "brackets": [{"upto": "0.01", "rate": "0.5"}, {"upto": None, "rate": "0.5"}]}],
    })
    res = bracket_entitlement(np.array([2]), product.line("illness"))
    assert int(res.entitlement[0]) == 1


def test_trigger_above_start_line():
    # trigger 6,000, start 5,000, 50%: base 6,000.00 pays nothing; 6,000.01 pays (1,000.01 × 0.5) = 500.005 → 500.01
    product = load_product({
        "schema": 1, "code": "T", "family": "fangpinbao", "name": "t", "county": "130434", "year": 2025,
        "period": {"start": "2025-01-01", "end": "2025-12-31"}, "premium": {"per_head": 50, "basis": "person"},
        "lines": [{"id": "illness", "peril": "illness", "basis": "person", "start_line": 5000, "trigger": 6000,
                   "brackets": [{"upto": None, "rate": 0.5}]}],
    })
    res = bracket_entitlement(np.array([600_000, 600_001]), product.line("illness"))
    assert res.entitlement.tolist() == [0, 50_001]


def test_a_month_without_units_still_gives_integer_fen():
    """Money is int64 fen even for an empty batch of units (a month with no report rows for a line):
    an empty float array would turn every fen column it is concatenated with into floats."""
    from products.schedule import bracket_parts

    res = bracket_entitlement([], ILLNESS)
    assert [a.dtype for a in (res.parts, res.pays_e4, res.uncapped, res.entitlement)] == [np.dtype(np.int64)] * 4
    assert res.parts.shape == (0, 3)  # the 魏县 illness line has three brackets (50 % / 60 % / 70 %)
    assert bracket_parts([], ILLNESS).dtype == np.int64
