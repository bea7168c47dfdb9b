"""Resident IDs (GB 11643-1999): check digit, 15 → 18 conversion, every reason code, properties."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabular.resident_id import ID_REASONS, check_digit, make_id, mask_id, validate_ids


def check(values: list) -> tuple[list, list]:
    result = validate_ids(pd.Series(values, dtype=object))
    return result.id_no.tolist(), result.reason.tolist()


def test_published_example_check_digit_is_x():
    # 1·7+1·9+0·10+1·5+0·8+5·4+1·2+9·1+4·6+9·3+1·7+2·9+3·10+1·5+0·8+0·4+2·2 = 167; 167 mod 11 = 2 → "X"
    assert check_digit("11010519491231002") == "X"
    ids, reasons = check(["11010519491231002X"])
    assert ids == ["11010519491231002X"] and pd.isna(reasons[0])


def test_lowercase_x_and_spaces_are_normalised():
    ids, reasons = check([" 11010519491231002x ", "110105 19491231 002X"])
    assert ids == ["11010519491231002X", "11010519491231002X"]
    assert all(pd.isna(r) for r in reasons)


def test_fifteen_digits_become_eighteen():
    # 110105 491231 002 → insert "19" before the year → 11010519491231002 + check digit "X"
    ids, reasons = check(["110105491231002"])
    assert ids == ["11010519491231002X"] and pd.isna(reasons[0])


@pytest.mark.parametrize("value, reason", [
    (None, "id_missing"),
    ("", "id_missing"),
    ("   ", "id_missing"),
    (130434198001010114, "id_as_number"),  # an int cell from Excel
    (1.30434198001010e17, "id_as_number"),  # a float cell from Excel
    ("1.30434E+17", "id_as_number"),  # CSV written by Excel in scientific notation
    ("13043419800101011", "id_format"),  # 17 digits
    ("1304341980010101140", "id_format"),  # 19 digits
    ("13043419800101011Y", "id_format"),
    ("130434198001010115", "id_check_digit"),  # make_id gives ...0114
    ("130434198013320056", "id_birth_date"),  # month 13, check digit itself correct
    ("130434209912310012", "id_birth_date"),  # born in the future (check digit correct, see below)
])
def test_each_reason_code(value, reason):
    assert reason in ID_REASONS
    if reason == "id_birth_date":
        assert value[-1] == check_digit(value[:17])
    ids, reasons = check([value])
    assert reasons == [reason] and pd.isna(ids[0])


def test_whole_column_mixed_and_index_kept():
    good = make_id("130434", "19800101", 11)
    result = validate_ids(pd.Series([good, "bad", None], index=[10, 20, 30], dtype=object))
    assert result.id_no.index.tolist() == [10, 20, 30]
    assert result.id_no[10] == good
    assert result.valid.tolist() == [True, False, False]
    assert result.reason[20] == "id_format" and result.reason[30] == "id_missing"


def test_mask_id():
    assert mask_id("11010519491231002X") == "110105********002X"


birth_dates = st.dates(min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2024-12-31").date())
areas = st.from_regex(r"[1-6][0-9]{5}", fullmatch=True)


@given(area=areas, birth=birth_dates, sequence=st.integers(0, 999))
def test_make_id_always_validates(area, birth, sequence):
    value = make_id(area, birth.strftime("%Y%m%d"), sequence)
    ids, reasons = check([value])
    assert ids == [value] and pd.isna(reasons[0])


@given(area=areas, birth=birth_dates, sequence=st.integers(0, 999), position=st.integers(0, 16),
       shift=st.integers(1, 9))
def test_changing_one_body_digit_is_caught(area, birth, sequence, position, shift):
    # The weights are all non-zero mod 11 and a digit change is 1..9, so the weighted sum changes mod 11
    # (11 is prime): the stated check digit no longer matches.
    value = make_id(area, birth.strftime("%Y%m%d"), sequence)
    digit = (int(value[position]) + shift) % 10
    changed = value[:position] + str(digit) + value[position + 1:]
    ids, reasons = check([changed])
    assert reasons == ["id_check_digit"] and pd.isna(ids[0])
