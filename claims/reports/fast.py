"""Fast path of :func:`claims.reports.read_report` for CSV/Parquet machine exports (every department).

The general reader (:mod:`tabular.sheets` + :mod:`claims.reports.parse`) accepts every export habit
(GB18030, Excel number cells, ``="…"`` wrappers, 2025年3月4日 dates …) and explains every bad cell; it
runs at tens of thousands of rows per second, with ~50 ms of pandas overhead per file.  Province files
(医保 settlements, millions of rows a month) and most county files are machine exports in one canonical
form, so this module reads them with pyarrow's multithreaded CSV/Parquet readers
(:mod:`tabular.simple`) and checks every cell with the array kernels of :mod:`tabular.plain`
and :mod:`claims.reports.plain` (numpy on the Arrow byte buffers, columns in two threads, a slice of
rows at a time, no per-row Python).

A row is *plain* when every cell has the canonical form — resident ID ``^\\d{17}[\\dX]$`` with a correct
GB 11643 check digit and a real birth date; date ``YYYY-MM-DD``; amount ``^\\d{1,13}(\\.\\d\\d)?$`` (blank
where the column allows it); code ``^[0-9A-Za-z_-]+$``; text without surrounding white space; the exact
words of flags and accident kinds — and the department's derivation has nothing to say about it
(the Spec's ``plain`` derivation, :mod:`claims.reports.departments`: medical, both self-paid amounts
≥ 0, ``psn_part_amt`` within 1 fen of ``self_paid`` when given, not a refund; accident, a disability has
a grade).  Plain rows are typed here;
every other row (usually none, a few in a real file) goes through the general reader's own checks
(:func:`claims.reports.check.check_table`) on a table of just those rows, so its exception, reason,
detail and line are the general reader's; a fully blank row is skipped as the general reader does.
Plain rows keep the values typed here and stay in place (no merge of the big frame); the general
reader's kept rows are spliced in by line.  A repeated ``setl_id`` is not the reader's concern: record
identity is judged over every file of a run (:mod:`claims.reports.identity`).

The file itself must be simple for the line numbers to be row index + 2: header on line 1 with distinct,
non-blank names, no ragged row, no line break inside a quoted cell, no bare carriage return, UTF-8,
Parquet columns all strings.  Otherwise — or when more than half the rows are not plain —
:func:`read_plain` returns ``None`` and the general reader reads the whole file.
tests/test_ingest_scale.py checks that both give identical frames (the bad-input catalog included).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims.reports.check import ID_KEY, ReportRead, check_table
from claims.reports.columns import Spec
from claims.reports.plain import (
    accident_kinds,
    codes,
    flags,
    grades,
    iso_dates,
    required_text,
    resident_ids,
    school_years,
    str_series,
    trimmed_text,
    village_codes,
    visit_kinds,
    yuan_fen,
)
from claims.reports.reasons import EXCEPTION_COLUMNS, exceptions_frame
from tabular.files import TableError
from tabular.headers import header_fen_per_unit, match_columns
from tabular.layout import layout_rows
from tabular.money import FEN_PER_YUAN
from tabular.resident_id import id_key
from tabular.simple import NotSimple, general_table, read_simple

#: Threads parsing columns side by side (numpy/Arrow release the GIL).
THREADS = min(4, os.cpu_count() or 1)
#: Largest share of rows that may need the general reader before the whole file is given to it.
MAX_GENERAL_SHARE = 0.5
#: Rows checked, typed and derived at a time (see ``bounds`` in :func:`_read`), unless the reader's own
#: chunks serve (:func:`_bounds`): those are used as they are when none but the last is under MIN_CHUNK_ROWS.
SLICE_ROWS = 1 << 20
MIN_CHUNK_ROWS = 1 << 16
#: Signed amount kinds read as their unsigned kind: a plain amount is never negative (a negative cell,
#: a refund, goes to the general reader, which keeps its sign).
PLAIN_KIND = {"signed_money_required": "money", "signed_money": "money_or_zero",
              "signed_money_or_null": "money_or_null"}


def read_plain(source: str | Path | bytes, department: str, spec: Spec, name: str, *,
               key: bool = True) -> ReportRead | None:
    """The general reader's :class:`~claims.reports.check.ReportRead` for a simple file (see the module
    docstring), else ``None``; ``key``: with the int64 ``id_key`` column (person departments).  Raises
    nothing of its own: a file it cannot judge is left to the general reader, which words every
    whole-file error.  A department without a fast derivation (``spec.plain`` None) is the general
    reader's."""
    if spec.plain is None:
        return None
    try:
        cleaned, table = read_simple(source, name)
        if any(header_fen_per_unit(h) != FEN_PER_YUAN for h in cleaned):
            return None  # a header in 万元: the general reader scales it
        try:
            mapping = match_columns(cleaned, spec.column_map, required=list(spec.required), file_name=name)
        except TableError:
            return None
        return _read(table, cleaned, mapping, department, spec, name, with_key=key)
    except NotSimple:
        return None


def _bounds(columns: list[pa.ChunkedArray], n: int) -> list[tuple[int, int]]:
    """The slices the rows are checked in: the columns' own chunks where they all share them and each is
    big enough (a chunk is taken as it is, no copy), else :data:`SLICE_ROWS` rows at a time."""
    if columns:
        lengths = [len(c) for c in columns[0].chunks]
        shared = all([len(c) for c in col.chunks] == lengths for col in columns[1:])
        big_enough = min(lengths[:-1] or [MIN_CHUNK_ROWS]) >= MIN_CHUNK_ROWS  # the last chunk may be short
        if shared and lengths and big_enough and max(lengths) <= 2 * SLICE_ROWS:
            edges = np.cumsum([0, *lengths])
            return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    return [(start, min(start + SLICE_ROWS, n)) for start in range(0, n, SLICE_ROWS)]


def _rows(column: pa.ChunkedArray, start: int, stop: int) -> pa.Array:
    """Rows ``start:stop`` of a column as one contiguous array: a whole chunk as it is (``combine_chunks``
    copies even a single chunk), anything else combined."""
    at = 0
    for chunk in column.chunks:
        if at == start and at + len(chunk) == stop:
            return chunk
        if at >= stop:
            break
        at += len(chunk)
    return column.slice(start, stop - start).combine_chunks()


def _parse_slice(c: pa.Array, kind: str) -> tuple[object, np.ndarray, np.ndarray | None]:
    """(typed values, plain mask, int64 keys for an ID column) of one slice of a column."""
    kind = PLAIN_KIND.get(kind, kind)
    if kind == "id":
        key, ok = resident_ids(c)
        return c, ok, key
    if kind == "key":
        return c, codes(c), None
    if kind == "text":
        return (*trimmed_text(c), None)
    if kind == "date":
        return (*iso_dates(c), None)
    if kind in ("money", "money_or_zero"):
        fen, _, ok = yuan_fen(c, kind == "money_or_zero")
        return fen, ok, None
    if kind == "money_or_null":
        fen, blank, ok = yuan_fen(c, True)
        return pd.arrays.IntegerArray(fen, blank), ok, None
    if kind in ("required_text", "level"):
        return (*required_text(c), None)
    if kind == "flag":
        return (*flags(c), None)
    if kind == "kind":
        return (*accident_kinds(c), None)
    if kind == "grade":
        return (*grades(c), None)
    if kind == "visit":
        return (*visit_kinds(c), None)
    if kind == "school_year":
        return (*school_years(c), None)
    if kind == "village_code":
        return (*village_codes(c), None)
    raise NotSimple


def _absent(kind: str, m: int) -> object:
    """The general reader's value of a column the file lacks, for ``m`` rows."""
    kind = PLAIN_KIND.get(kind, kind)
    if kind in ("text", "village_code", "term", "id", "visit"):  # an optional term, householder ID, 医疗类别
        return pa.nulls(m, pa.string())
    if kind == "money_or_zero":
        return np.zeros(m, dtype=np.int64)
    if kind in ("money_or_null", "grade"):
        return pd.arrays.IntegerArray(np.zeros(m, dtype=np.int64), np.ones(m, dtype=bool))
    if kind == "flag":
        return np.zeros(m, dtype=bool)
    raise NotSimple


def _parse_column(column: pa.ChunkedArray, kind: str, bounds: list[tuple[int, int]]
                  ) -> tuple[list[object], np.ndarray, list[np.ndarray] | None]:
    """(typed values per slice, plain mask, int64 keys per slice for an ID column) of one column."""
    parts = [_parse_slice(_rows(column, start, stop), kind) for start, stop in bounds]
    keys = None if parts[0][2] is None else [p[2] for p in parts]
    return [p[0] for p in parts], np.concatenate([p[1] for p in parts]), keys


def _typed(spec: Spec, cells: dict[str, pa.ChunkedArray], bounds: list[tuple[int, int]]
           ) -> tuple[list[dict[str, object]], np.ndarray, list[np.ndarray] | None]:
    """Every column typed a slice at a time and the department's derivation run on each slice →
    (canonical then derived columns per slice, plain mask, ID keys per slice or None).  A row is plain
    when each of its cells is and the derivation has nothing to say about it."""
    for col_name, col in spec.columns.items():
        if col_name not in cells:
            _absent(col.kind, 0)  # NotSimple before any work for a required kind
    # columns in parallel: numpy and Arrow kernels release the GIL, so two threads use both cores
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        parsed = dict(zip(cells, pool.map(lambda c: _parse_column(cells[c], spec.columns[c].kind, bounds), cells)))
    pieces: list[dict[str, object]] = [{} for _ in bounds]
    plain = np.ones(sum(stop - start for start, stop in bounds), dtype=bool)
    key_parts = None
    for col_name, col in spec.columns.items():
        if col_name in parsed:
            values, ok, keys = parsed[col_name]
            plain &= ok
            key_parts = keys if col_name == "id_no" else key_parts
        else:
            values = [_absent(col.kind, stop - start) for start, stop in bounds]
        for piece, value in zip(pieces, values):
            piece[col_name] = value
    plain &= np.concatenate([spec.plain(piece, cells) for piece in pieces])
    return pieces, plain, key_parts


def _general_rows(table: pa.Table, headers: list[str], general: np.ndarray, spec: Spec, mapping: dict[str, str],
                  name: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None, int]:
    """The rows that are not plain: the general reader's checks on a table of just those rows, in the
    shape read_table gives (CSV: str cells; Parquet: object cells, missing as NaN) → (its kept rows,
    its exceptions, how many fully blank rows it skipped)."""
    sub, blank_rows = general_table(table, headers, general, name)
    if layout_rows(sub).any():
        raise NotSimple  # a total, subtotal or footer row: the general reader takes the file's layout
    if not len(sub):
        return None, None, blank_rows
    spliced, exceptions = check_table(spec, sub, mapping)
    return spliced, exceptions, blank_rows


def _joined(spec: Spec, pieces: list[dict[str, object]], bounds: list[tuple[int, int]], keep: np.ndarray,
            file_columns: set[str]) -> dict[str, object]:
    """The kept rows' columns, each joined once from its slices (no copy for one slice, all kept); a
    column the file lacks is made whole, not joined."""
    every = bool(keep.all())
    count = len(keep) if every else int(keep.sum())

    def kept(parts: list[object]) -> object:
        if not every:
            parts = [p.filter(pa.array(keep[start:stop])) if isinstance(p, pa.Array) else p[keep[start:stop]]
                     for p, (start, stop) in zip(parts, bounds)]
        if isinstance(parts[0], pa.Array):
            return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
        if len(parts) == 1:
            return parts[0]
        if isinstance(parts[0], np.ndarray):
            return np.concatenate(parts)
        return type(parts[0])._concat_same_type(parts)  # pandas IntegerArray

    def column(c: str) -> object:
        if c in file_columns or c not in spec.columns:
            return kept([piece[c] for piece in pieces])
        return _absent(spec.columns[c].kind, count)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:  # the joins write fresh memory: both cores
        columns = dict(zip(pieces[0], pool.map(column, list(pieces[0]))))
    for c, value in columns.items():
        if isinstance(value, pa.Array):
            columns[c] = str_series(value)
    return columns


def _kept_keys(key_parts: list[np.ndarray], bounds: list[tuple[int, int]], keep: np.ndarray) -> np.ndarray:
    """The kept rows' int64 ID keys, joined from their slices."""
    if keep.all():
        return key_parts[0] if len(key_parts) == 1 else np.concatenate(key_parts)
    return np.concatenate([k[keep[start:stop]] for k, (start, stop) in zip(key_parts, bounds)])


def _read(table: pa.Table, headers: list[str], mapping: dict[str, str], department: str, spec: Spec,
          name: str, *, with_key: bool = True) -> ReportRead:
    """Plain rows typed here, the others checked by the general reader; merged in line order.

    The rows are taken in slices (the parser's chunks, or SLICE_ROWS rows): every column is checked,
    typed and derived a slice at a time, so the kernels' temporary arrays stay small enough for the
    allocator to reuse them (a fresh 80 MB array per step of a 10M-row column costs more in page faults
    than the step itself); each output column is joined once, from the kept rows of its slices."""
    n = table.num_rows
    where = {canonical: f"c{headers.index(header)}" for header, canonical in mapping.items()}
    # each column with nulls as blanks (still in the reader's chunks: the checks combine a slice at a time)
    cells = {c: pc.fill_null(table[where[c]], "") if table[where[c]].null_count else table[where[c]]
             for c in where}
    bounds = _bounds([cells[c] for c in where], n)
    pieces, keep, key_parts = _typed(spec, cells, bounds)
    general = np.flatnonzero(~keep)
    if len(general) > MAX_GENERAL_SHARE * n:
        raise NotSimple
    spliced, exceptions, blank_rows = (None, None, 0) if not len(general) else _general_rows(
        table, headers, general, spec, mapping, name)
    keep_rows = np.flatnonzero(keep)
    columns = _joined(spec, pieces, bounds, keep, set(where))
    count = len(keep_rows)
    columns["source_file"] = str_series(pa.repeat(pa.scalar(name, pa.string()), count))
    columns["source_line"] = np.arange(2, n + 2, dtype=np.int64) if keep.all() else keep_rows + 2
    if key_parts is not None and with_key:
        columns[ID_KEY] = _kept_keys(key_parts, bounds, keep)  # numpy: ready as it is
        if spliced is not None:
            spliced[ID_KEY] = id_key(spliced["id_no"])
    # one frame over the columns as they are (no column set one by one: each would be copied)
    frame = pd.DataFrame({c: columns[c] for c in [*spec.output, *([ID_KEY] if ID_KEY in columns else [])]},
                         copy=False)
    if exceptions is None:
        empty = pd.Series([], dtype=object)
        exceptions = exceptions_frame(frame["source_file"].iloc[:0], frame["source_line"].iloc[:0], empty, empty,
                                      "error")[EXCEPTION_COLUMNS]
    if spliced is not None:
        frame = pd.concat([frame, spliced], ignore_index=True)
        frame = frame.iloc[np.argsort(frame["source_line"].to_numpy(), kind="stable")].reset_index(drop=True)
    return ReportRead(department=department, file=name, rows=frame, exceptions=exceptions,
                      rows_read=n - blank_rows)
