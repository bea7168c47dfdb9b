"""Plain cells of report-only kinds (flags, accident kinds, grades, school years), checked and typed on
whole Arrow columns for :mod:`claims.reports.fast`; the kernels shared with the roster (IDs, dates,
amounts, codes, text) live in :mod:`tabular.plain` and are re-exported here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from claims.reports.parse import FALSE_WORDS, KIND_WORDS, TRUE_WORDS, VISIT_WORDS
from tabular.arrow_bytes import buffers, fixed_width
from tabular.plain import (
    codes,
    digits_number,
    iso_dates,
    repeated,
    required_text,
    resident_ids,
    str_series,
    trimmed_text,
    village_codes,
    vocabulary,
    yuan_fen,
)

__all__ = ["accident_kinds", "buffers", "codes", "fixed_width", "flags", "grades", "iso_dates", "repeated",
           "required_text", "resident_ids", "school_years", "str_series", "trimmed_text", "village_codes",
           "visit_kinds", "yuan_fen"]


def flags(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Yes/no: plain when the cell is exactly one of the general reader's words (lower case)."""
    words = {w: True for w in sorted(TRUE_WORDS)} | {w: False for w in sorted(FALSE_WORDS)}
    index, ok = vocabulary(col, words)
    return np.array(list(words.values()), dtype=bool)[index] & ok, ok


def accident_kinds(col: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Accident kind: plain when exactly one of :data:`KIND_WORDS` → death|disability|hospital."""
    index, ok = vocabulary(col, KIND_WORDS)
    kinds = np.array(list(KIND_WORDS.values()), dtype=object)[index]
    return pa.array(np.where(ok, kinds, None), pa.string()), ok


def visit_kinds(col: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """医疗类别: plain when blank (<NA>) or exactly one of :data:`VISIT_WORDS` → inpatient|outpatient."""
    blank = np.diff(buffers(col)[1]) == 0
    index, ok = vocabulary(col, VISIT_WORDS)
    kinds = np.array(list(VISIT_WORDS.values()), dtype=object)[index]
    return pa.array(np.where(ok & ~blank, kinds, None), pa.string()), ok | blank


def grades(col: pa.ChunkedArray) -> tuple[pd.arrays.IntegerArray, np.ndarray]:
    """Disability grade: plain when blank (<NA>) or 1–10 written as digits."""
    data, offsets = buffers(col)
    lengths = np.diff(offsets)
    blank = lengths == 0
    raw, two = fixed_width(col, 2)
    one, one_ok = fixed_width(col, 1)
    single = one_ok & ((one[:, 0] - np.uint8(49)) < 9)  # 1–9
    ten = two & (raw[:, 0] == 49) & (raw[:, 1] == 48)
    value = np.where(ten, 10, np.where(single, one[:, 0].astype(np.int64) - 48, 0))
    return pd.arrays.IntegerArray(value.astype(np.int64), blank.copy()), blank | single | ten


def school_years(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``YYYY`` or ``YYYY-YYYY`` (second = first + 1), 1950–2100 → (first year, plain)."""
    short, short_ok = fixed_width(col, 4)
    long, long_ok = fixed_width(col, 9)
    short_ok &= ((short - np.uint8(48)) < 10).all(axis=1)
    first_long = long[:, :4] - np.uint8(48)
    second_long = long[:, 5:] - np.uint8(48)
    long_ok &= (first_long < 10).all(axis=1) & (second_long < 10).all(axis=1) & (long[:, 4] == 45)
    first = np.where(long_ok, digits_number(np.where(long_ok[:, None], first_long, 0)),
                     digits_number(np.where(short_ok[:, None], short - np.uint8(48), 0)))
    second = digits_number(np.where(long_ok[:, None], second_long, 0))
    ok = (short_ok | (long_ok & (second == first + 1))) & (first >= 1950) & (first <= 2100)
    return np.where(ok, first, 0), ok
