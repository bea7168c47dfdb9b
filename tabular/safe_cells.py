"""Exported text cells made safe against formula injection (CSV / spreadsheet injection).

The rule is OWASP's ("CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection): a spreadsheet
program (Excel, LibreOffice, WPS) reads a cell whose text begins with ``=``, ``+``, ``-`` or ``@`` as a
formula, and a leading tab (``\\t``) or carriage return (``\\r``) can hide such a start; so every text cell
of an exported file whose **first character** is one of

    =  +  -  @  TAB  CR

gets a leading apostrophe ``'`` and is then shown as the text it is (``=HYPERLINK("http://…","x")`` →
``'=HYPERLINK("http://…","x")``).  Every other cell is written exactly as before.

Only **text** columns go through it (names, IDs, villages, file names, reasons, details, accounts):
amounts stay numbers — numeric cells in XLSX, plain numbers in CSV, ``-12.00`` without an apostrophe —
so each writer names its amount columns (``numeric=``) and applies :func:`formula_safe_frame`, or
:func:`formula_safe` / :func:`formula_safe_text` to the text cells it writes one by one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, TypeVar, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: A text cell beginning with one of these is read as a formula by spreadsheet programs (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: What is put in front of such a cell.
TEXT_PREFIX = "'"

_TRIGGER_PATTERN = "^[=+\\-@\\t\\r]"
_TRIGGER_BYTES = np.frombuffer("".join(FORMULA_TRIGGERS).encode("ascii"), dtype=np.uint8)

T = TypeVar("T")


def formula_safe_text(value: T) -> T | str:
    """One cell: a ``str`` starting with a :data:`FORMULA_TRIGGERS` character gets a leading ``'``;
    anything else (other text, numbers, None, NaN) comes back unchanged."""
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return TEXT_PREFIX + value
    return value


@overload
def formula_safe(values: pd.Series) -> pd.Series: ...
@overload
def formula_safe(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray: ...
@overload
def formula_safe(values: Sequence[Any]) -> list[Any]: ...


def formula_safe(values: Any) -> Any:
    """The rule of :func:`formula_safe_text` over a whole column: a pandas Series (object or string dtype;
    a numeric Series is returned as it is), a pyarrow string array (other types unchanged) or a list of
    cells.  When no cell needs the prefix the input itself is returned (no copy)."""
    if isinstance(values, pd.Series):
        return _safe_series(values)
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return _safe_arrow(values)
    return [formula_safe_text(v) for v in values]


def _first_char(value: Any) -> str | None:
    return value[:1] if isinstance(value, str) else None


def _safe_series(values: pd.Series) -> pd.Series:
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return values
    first = values.map(_first_char) if values.dtype == object else values.str[:1]
    hit = first.isin(FORMULA_TRIGGERS).to_numpy(dtype=bool, na_value=False)
    if not hit.any():
        return values
    out = values.copy()
    out[hit] = [TEXT_PREFIX + v for v in values[hit]]
    return out


def _safe_arrow(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values
    if not _any_trigger(values):
        return values
    hit = pc.fill_null(pc.match_substring_regex(values, _TRIGGER_PATTERN), False)
    if not pc.any(hit).as_py():
        return values
    prefixed = pc.binary_join_element_wise(pa.scalar(TEXT_PREFIX, values.type), values, pa.scalar("", values.type))
    return pc.if_else(hit, prefixed, values)


def _any_trigger(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a cell may start with a trigger: the first byte of every non-empty cell, read from the
    buffers (the triggers are ASCII).  A null slot holding bytes may answer True: the caller then applies
    the exact rule."""
    width = 8 if pa.types.is_large_string(values.type) else 4
    for chunk in values.chunks if isinstance(values, pa.ChunkedArray) else [values]:
        _, offsets_buffer, data = chunk.buffers()
        if not len(chunk) or data is None:
            continue
        offsets = np.frombuffer(offsets_buffer, dtype=f"<i{width}", count=len(chunk) + 1, offset=chunk.offset * width)
        starts = offsets[:-1][offsets[1:] > offsets[:-1]]
        if np.isin(np.frombuffer(data, dtype=np.uint8)[starts], _TRIGGER_BYTES).any():
            return True
    return False


def formula_safe_frame(frame: pd.DataFrame, numeric: Collection[str] = ()) -> pd.DataFrame:
    """Every text column of ``frame`` through :func:`formula_safe`, except the ``numeric`` ones (amounts
    written as number text such as ``-12.00``, which must stay numbers).  Numeric dtypes are left alone
    anyway.  Returns ``frame`` itself when nothing changes, else a copy."""
    out = frame
    for col in frame.columns:
        if col in numeric:
            continue
        column = frame[col]
        safe = formula_safe(column)
        if safe is not column:
            if out is frame:
                out = frame.copy()
            out[col] = safe
    return out


__all__ = ["FORMULA_TRIGGERS", "TEXT_PREFIX", "formula_safe", "formula_safe_frame", "formula_safe_text"]
