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
(medical: both self-paid amounts ≥ 0, ``psn_part_amt`` within 1 fen of ``self_paid`` when given, not a
refund; accident: a disability has a grade).  Plain rows are typed here;
every other row (usually none, a few in a real file) goes through the general reader's own checks
(:func:`claims.reports.reader.check_table`) on a table of just those rows, so its exception, reason,
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
    yuan_fen,
)
from claims.reports.reasons import EXCEPTION_COLUMNS, exceptions_frame
from tabular.files import TableError
from tabular.headers import header_fen_per_unit, match_columns
from tabular.layout import layout_rows
from tabular.money import FEN_PER_YUAN
from tabular.simple import NotSimple, general_table, read_simple

#: Departments the fast path reads; every other department goes to the general reader.
FAST_DEPARTMENTS = {"medical", "education", "disaster", "accident", "income"}
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


def read_plain(source: str | Path | bytes, department: str, spec: Spec, name: str, *, key: bool = True):
    """The general reader's :class:`~claims.reports.reader.ReportRead` for a simple file (see the module
    docstring), else ``None``; ``key``: with the int64 ``id_key`` column (person departments).  Raises
    nothing of its own: a file it cannot judge is left to the general reader, which words every
    whole-file error."""
    if department not in FAST_DEPARTMENTS:
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


def _read(table: pa.Table, headers: list[str], mapping: dict[str, str], department: str, spec: Spec,
          name: str, *, with_key: bool = True):
    """Plain rows typed here, the others checked by the general reader; merged in line order."""
    from claims.reports.reader import ID_KEY, ReportRead, check_table
    from tabular.resident_id import id_key

    n = table.num_rows
    where = {canonical: f"c{headers.index(header)}" for header, canonical in mapping.items()}
    # each column with nulls as blanks (still in the reader's chunks: the checks combine a slice at a time)
    cells = {c: pc.fill_null(table[where[c]], "") if table[where[c]].null_count else table[where[c]]
             for c in where}
    plain = np.ones(n, dtype=bool)
    # the rows in slices (the parser's chunks, or SLICE_ROWS rows): every column is checked, typed and
    # derived a slice at a time, so the kernels' temporary arrays stay small enough for the allocator to
    # reuse them (a fresh 80 MB array per step of a 10M-row column costs more in page faults than the step
    # itself); each output column is joined once, from the kept rows of its slices
    bounds = _bounds([cells[c] for c in where], n)

    def parse(col_name: str, kind: str) -> tuple[list[object], np.ndarray, list[np.ndarray] | None]:
        """(typed values per slice, plain mask, int64 keys per slice for an ID column) of one column."""
        column = cells[col_name]
        parts = [parse_slice(_rows(column, start, stop), kind) for start, stop in bounds]
        keys = None if parts[0][2] is None else [p[2] for p in parts]
        return [p[0] for p in parts], np.concatenate([p[1] for p in parts]), keys

    def parse_slice(c: pa.Array, kind: str) -> tuple[object, np.ndarray, np.ndarray | None]:
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
        if kind == "school_year":
            return (*school_years(c), None)
        if kind == "village_code":
            return (*village_codes(c), None)
        raise NotSimple

    def absent(kind: str, m: int) -> object:
        """The general reader's value of a column the file lacks, for ``m`` rows."""
        kind = PLAIN_KIND.get(kind, kind)
        if kind in ("text", "village_code", "term", "id"):  # an optional term or householder ID
            return pa.nulls(m, pa.string())
        if kind == "money_or_zero":
            return np.zeros(m, dtype=np.int64)
        if kind in ("money_or_null", "grade"):
            return pd.arrays.IntegerArray(np.zeros(m, dtype=np.int64), np.ones(m, dtype=bool))
        if kind == "flag":
            return np.zeros(m, dtype=bool)
        raise NotSimple

    for col_name, col in spec.columns.items():
        if col_name not in where:
            absent(col.kind, 0)  # NotSimple before any work for a required kind
    # columns in parallel: numpy and Arrow kernels release the GIL, so two threads use both cores
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        parsed = dict(zip(where, pool.map(lambda c: parse(c, spec.columns[c].kind), where)))
    pieces: list[dict[str, object]] = [{} for _ in bounds]  # canonical columns (then derived ones) per slice
    key_parts = None
    for col_name, col in spec.columns.items():
        if col_name in parsed:
            values, ok, keys = parsed[col_name]
            plain &= ok
            key_parts = keys if col_name == "id_no" else key_parts
        else:
            values = [absent(col.kind, stop - start) for start, stop in bounds]
        for piece, value in zip(pieces, values):
            piece[col_name] = value
    plain &= np.concatenate([DERIVE[department](piece, cells) for piece in pieces])
    # plain: every cell plain and nothing for the derivation to say
    general = np.flatnonzero(~plain)
    if len(general) > MAX_GENERAL_SHARE * n:
        raise NotSimple
    lines = np.arange(2, n + 2, dtype=np.int64)
    rows_read = n
    exceptions = None
    spliced = None  # the rows the general reader keeps (none of them plain): its values are used
    keep = plain
    if len(general):
        # the rows that are not plain: the general reader's checks on a table of just those rows, in the
        # shape read_table gives (CSV: str cells; Parquet: object cells, missing as NaN)
        sub, blank_rows = general_table(table, headers, general, name)
        if layout_rows(sub).any():
            raise NotSimple  # a total, subtotal or footer row: the general reader takes the file's layout
        rows_read -= blank_rows
        if len(sub):
            spliced, exceptions = check_table(spec, sub, mapping)
            if key_parts is not None and with_key:
                spliced[ID_KEY] = id_key(spliced["id_no"])
    every = bool(keep.all())
    keep_rows = None if every else np.flatnonzero(keep)

    def kept(parts: list[object]) -> object:
        """One column of the kept rows, joined from its slices (no copy for one slice, all kept)."""
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

    count = n if every else len(keep_rows)

    def column(c: str) -> object:
        if c in where or c not in spec.columns:
            return kept([piece[c] for piece in pieces])
        return absent(spec.columns[c].kind, count)  # a column the file lacks: made whole, not joined

    with ThreadPoolExecutor(max_workers=THREADS) as pool:  # the joins write fresh memory: both cores
        columns = dict(zip(pieces[0], pool.map(column, list(pieces[0]))))
    for c, value in columns.items():
        if isinstance(value, pa.Array):
            columns[c] = str_series(value)
    columns["source_file"] = str_series(pa.repeat(pa.scalar(name, pa.string()), count))
    columns["source_line"] = lines if every else keep_rows + 2
    if key_parts is not None and with_key:
        columns[ID_KEY] = kept(key_parts)  # numpy: ready as it is
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
    return ReportRead(department=department, file=name, rows=frame, exceptions=exceptions, rows_read=rows_read)


def _medical_checks(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """``self_paid = medfee_sumamt − Σ funds`` and ``policy_self_paid = self_paid − fulamt_ownpay_amt −
    overlmt_selfpay`` (columns added to ``out``) → plain where both are ≥ 0, ``psn_part_amt`` (when
    given) is within 1 fen of ``self_paid`` and the row is not a refund (flagged, or naming an original
    settlement: the general reader signs its amounts; a negative amount is not plain already)."""
    self_paid = out["medfee_sumamt"] - out["hifp_pay"] - out["hifmi_pay"] - out["maf_pay"] - out["oth_pay"]
    policy = self_paid - out["fulamt_ownpay_amt"] - out["overlmt_selfpay"]
    psn = out["psn_part_amt"]
    given = ~psn.isna()
    ok = (self_paid >= 0) & (policy >= 0)
    ok &= ~given | (np.abs(psn.to_numpy(dtype=np.int64, na_value=0) - self_paid) <= 1)
    ok &= ~np.asarray(out["refund"], dtype=bool)
    ok &= ~pc.is_valid(out["orig_setl_id"]).to_numpy(zero_copy_only=False)
    out["self_paid"] = self_paid
    out["policy_self_paid"] = policy
    return ok


def _education(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """``event_date`` = 1 September of the first school year; ``net_cost = max(0, tuition +
    accommodation + textbooks − other_aid)`` (the general reader's derivation; nothing refuses a row)."""
    first = np.asarray(out["school_year"], dtype=np.int64)
    september = (np.maximum(first, 1950) - 1970) * 12 + 8
    out["event_date"] = september.astype("datetime64[M]").astype("datetime64[ns]")
    cost = out["tuition"] + out["accommodation"] + out["textbooks"] - out["other_aid"]
    out["net_cost"] = np.maximum(cost, 0)
    return np.ones(len(first), dtype=bool)


def _disaster(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """``net_loss = max(0, assessed_loss − other_compensation)``."""
    out["net_loss"] = np.maximum(out["assessed_loss"] - out["other_compensation"], 0)
    return np.ones(len(out["net_loss"]), dtype=bool)


def _accident(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """A disability needs a grade: plain unless kind = disability with a blank grade."""
    disability = pc.equal(out["kind"], "disability").to_numpy(zero_copy_only=False)
    return ~(np.asarray(disability, dtype=bool) & out["grade"].isna())


DERIVE = {"medical": _medical_checks, "education": _education, "disaster": _disaster, "accident": _accident,
          "income": lambda out, cells: np.ones(len(next(iter(out.values()))), dtype=bool)}
