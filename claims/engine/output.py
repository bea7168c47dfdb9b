"""Claims and exception lists as files people open: CSV in UTF-8 with BOM (Excel reads it), yuan with two decimals.

The column map is explicit: engine column → file column, and which columns are money (fen → yuan text).
Every text cell is written formula-safe (:mod:`tabular.safe_cells`, OWASP): a cell starting with ``= + - @``,
tab or CR gets a leading ``'``; money columns are numbers and are written as they are (``-12.00``).

Written by Arrow, column-wise, with no Python object per row: the cells are Arrow arrays (money through
:func:`tabular.money.fen_to_yuan_arrow`, the one fen → yuan rule) and ``pyarrow.csv.write_csv`` writes them.
The bytes are those of pandas' ``to_csv`` that wrote these files before (Python's ``csv``, ``QUOTE_MINIMAL``):
a cell holding a comma, a double quote or a line feed is enclosed in double quotes with its quotes doubled,
a missing value is empty, the one cell of a one-column row is ``""`` when empty.  pyarrow's own quoting
differs (``needed`` quotes every text cell; ``none`` refuses a cell holding a structural character, and
traces hold commas), so the quoted cells carry stand-in control bytes for their quotes, commas and line
feeds, and the written bytes are translated back in one numpy pass (:data:`STAND_INS`).  A frame with a
column of another kind (floats, booleans, mixed objects: the actuarial tables), or with a stand-in byte in a
cell, is written by pandas as before.  ``fmt="parquet"`` writes the same cells (as text) to a Parquet file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from claims.engine.screening import SCREEN_REASONS
from claims.reports import REASONS
from claims.reports.exceptions import EXCEPTION_COLUMNS
from tabular.money import fen_to_yuan_arrow
from tabular.safe_cells import formula_safe, formula_safe_frame

#: Every reason code the readers and the screening can give, with its "中文 / English" text.
ALL_REASONS: dict[str, str] = {**REASONS, **SCREEN_REASONS}

#: claims.csv: the issue's required columns first, then the helpful extras.
CLAIMS_CSV_COLUMNS = [
    "product_code", "line_id", "unit_type", "unit_id", "household_no", "village_code", "base", "entitlement",
    "paid_before", "due", "trace",
    "line_name", "peril", "natural_village", "uncapped", "overpaid", "rows", "first_event", "last_event",
    "product_digest",
]
MONEY = {"base", "uncapped", "entitlement", "paid_before", "due", "overpaid"}
DATES = {"first_event", "last_event"}
FORMATS = ("csv", "parquet")

BOM = "\ufeff".encode()
BATCH_ROWS = 1 << 18  # lines rendered and written at a time (bounds the text held in memory)
#: pyarrow's writer with quoting style none refuses cells holding its structural characters: the cells
#: hold these control bytes in their place, and the written bytes are translated back in one pass.
STAND_INS = {",": "\x1f", '"': "\x1e", "\n": "\x1d", "\r": "\x1c"}
_STAND_IN_BYTES = np.frombuffer("".join(STAND_INS.values()).encode("ascii"), dtype=np.uint8)
_STRUCTURAL = np.arange(256, dtype=np.uint8)
_STRUCTURAL[_STAND_IN_BYTES] = np.frombuffer("".join(STAND_INS).encode("ascii"), dtype=np.uint8)
_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none")
_TEXT = pa.large_string()
_FIRST_PRINTABLE = 0x20
_RENDERED = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_null)


def claims_columns(claims: pd.DataFrame) -> dict[str, pa.Array]:
    """Engine claims (fen) → the export's columns (yuan text, dates as YYYY-MM-DD, '' for none), in
    :data:`CLAIMS_CSV_COLUMNS` order, as Arrow arrays."""
    out: dict[str, pa.Array] = {}
    for col in CLAIMS_CSV_COLUMNS:
        values = claims[col]
        if col in MONEY:
            out[col] = fen_to_yuan_arrow(values.to_numpy(dtype=np.int64))
        elif col in DATES:
            days = pa.array(pd.to_datetime(values).to_numpy(dtype="datetime64[D]"), pa.date32(), from_pandas=True)
            out[col] = pc.fill_null(pc.cast(days, _TEXT), "")  # ISO 8601: YYYY-MM-DD (strftime: 20× slower)
        else:
            out[col] = arrow_column(values)
    return out


def arrow_column(values: pd.Series) -> pa.Array | None:
    """A frame column as an Arrow array of text or integers (missing → null); None for any other kind
    (floats, booleans, dates, mixed objects), which only pandas' writer renders as pandas does."""
    if values.dtype == object:
        try:
            arr = pa.array(values.to_numpy(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
    elif isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
        arr = pa.array(values.to_numpy())
    elif pd.api.types.is_string_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        arr = pa.array(values, from_pandas=True)
    else:
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if any(test(arr.type) for test in _RENDERED) else None


def write_csv(frame: pd.DataFrame, path: str | Path, numeric: Collection[str] = ()) -> Path:
    """UTF-8 with BOM so that Excel on a county office PC shows the Chinese text correctly.  Text columns
    are made formula-safe; ``numeric`` names the columns that hold numbers as text (yuan amounts), which are
    not (numeric dtypes never are)."""
    columns = {str(col): arrow_column(frame[col]) for col in frame.columns}
    if frame.columns.is_unique and all(arr is not None for arr in columns.values()):
        written = write_table(columns, path, numeric)
        if written is not None:
            return written
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    formula_safe_frame(frame, numeric).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def write_table(columns: Mapping[str, pa.Array], path: str | Path, numeric: Collection[str] = (),
                fmt: str = "csv") -> Path | None:
    """Arrow columns (text or integers, equal lengths) → a CSV file as the module docstring says, or with
    ``fmt="parquet"`` the same cells (formula-safe, as text) to Parquet.  None (nothing written) when a
    cell holds one of the stand-in bytes (:data:`STAND_INS`): :func:`write_csv` then writes with pandas."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = {name: (arr if name in numeric else formula_safe(arr)) for name, arr in columns.items()}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(pa.table({name: _as_text(arr) for name, arr in safe.items()}), path)
        return path
    cells = {name: _cells(arr, alone=len(safe) == 1) for name, arr in safe.items()}
    if any(arr is None for arr in cells.values()):
        return None
    table = pa.table(cells)
    with path.open("wb") as handle:
        handle.write(BOM + _header(list(safe)))
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            sink = pa.BufferOutputStream()
            pacsv.write_csv(batch, sink, _WRITE_OPTIONS)
            handle.write(_structural_back(sink.getvalue(), batch.num_rows))
    return path


def write_claims(claims: pd.DataFrame, path: str | Path, fmt: str = "csv") -> Path:
    return write_table(claims_columns(claims), path, numeric=MONEY, fmt=fmt)


def write_sources(sources: pd.DataFrame, path: str | Path, fmt: str = "csv") -> Path:
    """claim_sources.csv: which report rows (file, line) make up each claim's base, amounts in yuan."""
    columns = {col: arrow_column(sources[col]) for col in ("line_id", "unit_id", "source_file", "source_line")}
    columns["amount"] = fen_to_yuan_arrow(sources["amount"].to_numpy(dtype=np.int64))
    return write_table(columns, path, numeric={"amount"}, fmt=fmt)


def write_exceptions(exceptions: pd.DataFrame, path: str | Path, fmt: str = "csv") -> Path:
    """exceptions.csv: file, line, reason, detail, severity, reason_text (the code explained, bilingual; ''
    for a code without one)."""
    out = exceptions.reindex(columns=EXCEPTION_COLUMNS)
    columns = {col: arrow_column(out[col]) for col in EXCEPTION_COLUMNS}
    if all(arr is not None for arr in columns.values()):
        columns["reason_text"] = _reason_texts(columns["reason"])
        written = write_table(columns, path, fmt=fmt)
        if written is not None:
            return written
    out["reason_text"] = out["reason"].map(ALL_REASONS).fillna("")
    return write_csv(out, path) if fmt == "csv" else write_table(
        {col: arrow_column(out[col]) for col in out.columns}, path, fmt=fmt)


def _reason_texts(reasons: pa.Array) -> pa.Array:
    """Each reason code's :data:`ALL_REASONS` text, looked up by Arrow ('' for none)."""
    codes = pa.array(list(ALL_REASONS), _TEXT)
    found = pc.index_in(_as_text(reasons), value_set=codes)
    return pc.fill_null(pc.take(pa.array(list(ALL_REASONS.values()), _TEXT), found), "")


def _header(names: list[str]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(names)
    return text.getvalue().encode("utf-8")


def _as_text(arr: pa.Array) -> pa.Array:
    """Cells as text, missing → '' (what the CSV holds)."""
    return pc.fill_null(arr if arr.type == _TEXT else pc.cast(arr, _TEXT), "")


def _cells(arr: pa.Array, alone: bool) -> pa.Array | None:
    """One column's cells for pyarrow's writer (quoting style none): every structural character becomes its
    stand-in (:data:`STAND_INS`), and a cell Python's csv would quote — holding a comma, a double quote or a
    line feed; ``alone`` (the row's only cell) when empty too — is enclosed in stand-in quotes with its quotes
    doubled.  None when a cell holds a stand-in byte itself."""
    if pa.types.is_integer(arr.type):
        return arr
    text = _as_text(arr)
    offsets, data = _offsets_and_bytes(text)
    offsets = offsets - offsets[0]
    control = data < _FIRST_PRINTABLE
    if control.any() and np.isin(data[control], _STAND_IN_BYTES).any():
        return None
    quote = np.zeros(len(text), dtype=bool)
    found = {char: np.flatnonzero(data == ord(char)) for char in STAND_INS}
    for char in (",", '"', "\n"):  # Python 3.11's csv with "\n" line ends: a lone CR is not quoted
        if len(found[char]):
            quote[np.searchsorted(offsets, found[char], side="right") - 1] = True
    if alone:
        quote |= offsets[1:] == offsets[:-1]
    if not (quote.any() or any(len(at) for at in found.values())):
        return text
    mark = ord(STAND_INS['"'])
    data = data.copy()
    for char, at in found.items():
        data[at] = ord(STAND_INS[char])
    if len(found['"']):  # each quote doubled: one more stand-in before it
        added = np.bincount(np.searchsorted(offsets, found['"'], side="right") - 1, minlength=len(text))
        data = np.insert(data, found['"'], mark)
        offsets = offsets + np.concatenate([[0], np.cumsum(added)])
    text = pa.Array.from_buffers(_TEXT, len(text), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    if not quote.any():
        return text
    stand_in = pa.scalar(STAND_INS['"'], _TEXT)
    quoted = pc.binary_join_element_wise(stand_in, text, stand_in, pa.scalar("", _TEXT))
    return quoted if quote.all() else pc.if_else(pa.array(quote), quoted, text)


def _structural_back(written: pa.Buffer, lines: int) -> np.ndarray | pa.Buffer:
    """The writer's bytes with the stand-ins translated back.  They and the line feeds are the only bytes
    below 0x20 there (the cells hold none, :func:`_cells`): with as many as there are lines, there is none."""
    data = np.frombuffer(written, dtype=np.uint8)
    low = data < _FIRST_PRINTABLE
    if np.count_nonzero(low) == lines:
        return written
    data = data.copy()
    at = np.flatnonzero(low)
    data[at] = _STRUCTURAL[data[at]]
    return data


def _offsets_and_bytes(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A large_string array's offsets (n + 1) and the bytes of its cells, views of its buffers."""
    _, offsets_buffer, data = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=len(text) + 1, offset=text.offset * 8)
    chars = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return offsets, chars[offsets[0]:offsets[-1]]
