"""Money parsing: yuan cells → int64 fen, exact, with a reason code per bad cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabular.money import MONEY_REASONS, parse_fen, round_half_up_div, yuan_to_fen


def parse(values: list, **kwargs) -> tuple[list, list]:
    result = parse_fen(pd.Series(values, dtype=object), **kwargs)
    assert result.fen.dtype == np.int64
    return result.fen.tolist(), [None if pd.isna(r) else r for r in result.reason]


@pytest.mark.parametrize("value, fen", [
    ("1,234.50", 123_450),  # 1234.50 yuan = 123450 fen
    ("¥12", 1_200),
    ("￥12.3", 1_230),
    ("12元", 1_200),
    (" 3000 ", 300_000),
    ("0.01", 1),
    ("12.", 1_200),
    ("1，000", 100_000),  # full-width thousands comma
    (1234.5, 123_450),  # Excel float cell
    (0.1 + 0.2, 30),  # 0.30000000000000004 is within a ten-thousandth of 30 fen
    (2345.67, 234_567),  # 234566.99999999997 in float, still 234567 fen
    (3000, 300_000),  # Excel int cell
    (np.int64(7), 700),
])
def test_good_amounts(value, fen):
    assert parse([value]) == ([fen], [None])


@pytest.mark.parametrize("value, reason", [
    ("1.234", "amount_precision"),  # a tenth of a fen
    (1.234, "amount_precision"),
    ("-5", "amount_negative"),
    (-5, "amount_negative"),
    ("abc", "amount_not_numeric"),
    ("1.2.3", "amount_not_numeric"),
    ("1e3", "amount_not_numeric"),
    (True, "amount_not_numeric"),
    (float("inf"), "amount_not_numeric"),
    ("", "amount_missing"),
    ("  ", "amount_missing"),
    (None, "amount_missing"),
    (float("nan"), "amount_missing"),
    ("99999999999999999999", "amount_out_of_range"),  # would overflow int64 fen
    (1e30, "amount_out_of_range"),
])
def test_bad_amounts(value, reason):
    assert reason in MONEY_REASONS
    assert parse([value]) == ([0], [reason])


def test_blank_as_zero_and_negative_allowed():
    assert parse(["", None, "-5"], blank_as_zero=True, signed=True) == ([0, 0, -500], [None, None, None])


def test_one_bad_cell_does_not_disturb_the_others():
    fen, reasons = parse(["1,234.50", "abc", 1234.5, "-1", ""])
    assert fen == [123_450, 0, 123_450, 0, 0]
    assert reasons == [None, "amount_not_numeric", None, "amount_negative", "amount_missing"]


def test_scalar_helpers_round_half_up():
    assert yuan_to_fen("0.005") == 1  # half a fen rounds up
    assert yuan_to_fen(12.345) == 1235
    assert round_half_up_div(np.array([5, 4, 15]), 10).tolist() == [1, 0, 2]  # 0.5→1, 0.4→0, 1.5→2
