"""Cells of a read table, parsed on whole columns: text, identifiers, village codes, head counts.

Shared by the roster (:mod:`products.roster`) and the department reports (:mod:`claims.reports.parse`).
Each parser takes a column of raw cells (``str`` from CSV, native Python types from Excel/Parquet) and
returns :class:`Cells`: the typed values and, where a cell is unusable, a reason code from
:data:`CELL_REASONS`.  Vectorised string operations on text columns; ``Series.map`` only where a column
mixes types (an Excel column of numbers and text).  Money cells are :func:`tabular.money.parse_fen`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tabular.money import is_number, normalise_arrow

#: Reason codes of the shared cell helpers, with their bilingual explanation.
CELL_REASONS: dict[str, str] = {
    "missing_value": "必填项为空 / required value is empty",
    "key_as_number": (
        "编号被存成了数字（超过 15 位、带小数或科学计数法），末位可能已丢失；请把该列设为文本后重新导出 / "
        "the code was stored as a number (over 15 digits, decimals or scientific notation), its last digits "
        "may be lost; re-export the column as text"
    ),
    "bad_village_code": "村代码应为 12 位数字（统计用区划代码） / village code must be 12 digits (NBS division code)",
    "bad_count": "应为正整数 / must be a positive whole number",
}

#: Text in scientific notation (``1.30434E+17``): a long code that went through a number.
SCIENTIFIC = r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$"


@dataclass(frozen=True)
class Cells:
    """A parsed column: ``values`` (typed; missing where invalid) and ``reason`` (code, <NA> where fine)."""

    values: pd.Series
    reason: pd.Series


def all_text(col: pd.Series) -> bool:
    """True when every non-missing cell is a str (a CSV column): the fast, vectorised paths apply."""
    return pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty")


def blank_cell(v: Any) -> bool:
    """True for one empty cell: None, NA, NaT, NaN or text of only whitespace."""
    return (v is None or v is pd.NA or v is pd.NaT or (isinstance(v, str) and not v.strip())
            or (isinstance(v, (float, np.floating)) and np.isnan(v)))


def is_blank(col: pd.Series) -> pd.Series:
    """True where a cell is empty: None/NaN/NA, or text of only whitespace."""
    if all_text(col):
        return (col.astype("str").str.strip().fillna("") == "").astype(bool)
    return col.map(blank_cell).astype(bool)


def text_only(col: pd.Series) -> pd.Series:
    """The text cells of a column as str ("" for blanks, numbers and dates)."""
    if all_text(col):
        return col.astype(object).fillna("").astype(str)
    return col.map(lambda v: v if isinstance(v, str) else "")


def number_mask(col: pd.Series) -> pd.Series:
    """True where the cell is a number (int/float, not bool) rather than text: Excel/Parquet cells."""
    if all_text(col):
        return pd.Series(False, index=col.index)
    return col.map(lambda v: is_number(v) and not blank_cell(v)).astype(bool)


def _as_text(v: Any) -> Any:
    """One cell as stripped text (None when blank; ``3.0`` → ``"3"``; dates in ISO form)."""
    if blank_cell(v):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (pd.Timestamp,)) or hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v).strip()


def cell_text(col: pd.Series) -> pd.Series:
    """Cells as stripped text (``str`` dtype; missing where blank).  Integral numbers lose their ``.0``."""
    text = (col.astype("str").str.strip() if all_text(col)
            else pd.Series(col.map(_as_text), index=col.index, dtype=object).astype("str"))
    return text.where(text != "")


def normalise_text(text: pd.Series) -> pd.Series:
    """Text cells NFKC-normalised, zero-width characters dropped (:func:`tabular.money.normalise_arrow`):
    full-width digits and letters become ASCII (``１３０４３４…Ｘ`` → ``130434…X``), NBSP a space.  For IDs,
    codes, numbers and dates only: names and other free text are kept as written."""
    if text.isna().all():
        return text
    arrow = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pd.Series(normalise_arrow(arrow).to_numpy(zero_copy_only=False), index=text.index,
                     dtype=object).astype("str")


def unwrap_text(text: pd.Series) -> pd.Series:
    """Undo the tricks exports use to keep Excel from turning codes into numbers: a leading apostrophe
    (``'130434…``) or a formula wrapper (``="130434…"``); also drops inner spaces.  The text is
    normalised first (:func:`normalise_text`)."""
    t = normalise_text(text).str.replace(r'^="(.*)"$', r"\1", regex=True).str.replace(r"^['`‘’]", "", regex=True)
    return t.str.replace(r"\s+", "", regex=True)


def parse_key(col: pd.Series) -> Cells:
    """A text identifier (household number, settlement ID): stripped text; blank → ``missing_value``;
    a number cell with more than 15 digits or a fraction, or text in scientific notation → ``key_as_number``
    (an integral number cell of at most 15 digits is exact and is accepted as its digits)."""
    is_num = number_mask(col)
    raw = col if all_text(col) else col.astype(object)
    text = unwrap_text(cell_text(raw))
    reason = pd.Series(pd.NA, index=col.index, dtype=object)
    if is_num.any():
        num = raw[is_num].astype("float64")
        lossy = ~np.isfinite(num) | (num != np.floor(num)) | (num.abs() >= 1e15)
        reason[lossy[lossy].index] = "key_as_number"
    reason[text.fillna("").str.match(SCIENTIFIC) & reason.isna()] = "key_as_number"
    reason[(text.isna() | (text == "")) & reason.isna()] = "missing_value"
    return Cells(values=text.where(reason.isna()).astype("str"), reason=reason)


def parse_village_code(col: pd.Series, *, required: bool = True) -> Cells:
    """12-digit NBS village code as text (a number cell of 12 digits is exact and accepted)."""
    key = parse_key(col)
    reason = key.reason.copy()
    blank = reason == "missing_value"
    if not required:
        reason[blank] = pd.NA
    bad = key.reason.isna() & ~key.values.fillna("").str.fullmatch(r"\d{12}")
    reason[bad] = "bad_village_code"
    reason[(key.reason == "key_as_number")] = "bad_village_code"
    values = key.values.where(reason.isna() & ~blank)
    return Cells(values=values.astype("str"), reason=reason)


def parse_count(col: pd.Series) -> Cells:
    """A positive whole number (``3``, ``3.0``, ``"3"``, ``"3人"``) as int64 (0 where invalid)."""
    text = cell_text(col).fillna("").str.replace(r"[人口个]$", "", regex=True)
    m = text.str.fullmatch(r"0*[1-9]\d{0,5}(?:\.0*)?")
    reason = pd.Series(pd.NA, index=col.index, dtype=object)
    reason[text == ""] = "missing_value"
    reason[~m & (text != "")] = "bad_count"
    digits = text.where(m, "0").str.replace(r"\..*$", "", regex=True)
    return Cells(values=digits.astype("int64"), reason=reason)
