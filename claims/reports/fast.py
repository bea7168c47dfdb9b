"""Fast path of :func:`claims.reports.read_report` for CSV/Parquet machine exports (every department).

The general reader (:mod:`products.tabular` + :mod:`claims.reports.parse`) accepts every export habit
(GB18030, Excel number cells, ``="…"`` wrappers, 2025年3月4日 dates …) and explains every bad cell; it
runs at tens of thousands of rows per second, with ~50 ms of pandas overhead per file.  Province files
(医保 settlements, millions of rows a month) and most county files are machine exports in one canonical
form, so this module reads them with pyarrow's multithreaded CSV/Parquet readers and checks every cell
with the array kernels of :mod:`claims.reports.plain` (numpy on the Arrow byte buffers, columns in two
threads, no per-row Python).

A row is *plain* when every cell has the canonical form — resident ID ``^\\d{17}[\\dX]$`` with a correct
GB 11643 check digit and a real birth date; date ``YYYY-MM-DD``; amount ``^\\d{1,13}(\\.\\d\\d)?$`` (blank
where the column allows it); code ``^[0-9A-Za-z_-]+$``; text without surrounding white space; the exact
words of flags and accident kinds — and the department's derivation has nothing to say about it
(medical: both self-paid amounts ≥ 0, ``psn_part_amt`` within 1 fen of ``self_paid`` when given, its
``setl_id`` not repeated in the file; accident: a disability has a grade).  Plain rows are typed here;
every other row (usually none, a few in a real file) goes through the general reader's own checks
(:func:`claims.reports.reader.check_table`) on a table of just those rows, so its exception, reason,
detail and line are the general reader's; a fully blank row is skipped as the general reader does.

The file itself must be simple for the line numbers to be row index + 2: header on line 1 with distinct,
non-blank names, no ragged row, no line break inside a quoted cell, no bare carriage return, UTF-8,
Parquet columns all strings.  Otherwise — or when more than half the rows are not plain —
:func:`read_plain` returns ``None`` and the general reader reads the whole file.
tests/test_ingest_scale.py checks that both give identical frames (the bad-input catalog included).
"""

from __future__ import annotations

import csv
import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from products.tabular import TableError, _header_text, _unique, match_columns

from .columns import Spec
from .plain import (accident_kinds, buffers, codes, flags, grades, iso_dates, repeated, required_text,
                    resident_ids, school_years, trimmed_text, village_codes, yuan_fen)
from .reasons import EXCEPTION_COLUMNS, exceptions_frame

#: Departments the fast path reads; every other department goes to the general reader.
FAST_DEPARTMENTS = {"medical", "education", "disaster", "accident", "income"}
#: Threads parsing columns side by side (numpy/Arrow release the GIL).
THREADS = min(4, os.cpu_count() or 1)
#: Largest share of rows that may need the general reader before the whole file is given to it.
MAX_GENERAL_SHARE = 0.5


class NotSimple(Exception):
    """The file's layout is not simple: the general reader takes the whole file."""


# ---------------------------------------------------------------------------------------------------
# reading


def _file_bytes(path: str | Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped (no copy of a gigabyte file into Python; pyarrow parses from the
    map).  An empty file cannot be mapped: its (empty) bytes are returned."""
    with open(path, "rb") as handle:
        try:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:
            return b""


def _csv_table(data: bytes | mmap.mmap) -> tuple[list[str], pa.Table]:
    """Header names (line 1) and the body as a table of strings, or :class:`NotSimple`."""
    import pyarrow.csv as pacsv

    if data.find(b"\r") >= 0:
        whole = bytes(data)
        if whole.count(b"\r") != whole.count(b"\r\n"):
            raise NotSimple  # bare carriage returns: line numbers are the general reader's business
    end = data.find(b"\n")
    head = data[: end if end >= 0 else len(data)]
    try:
        first = head.decode("utf-8-sig", errors="strict").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise NotSimple from exc
    if not first.strip() or first.count('"') % 2 or end < 0:
        raise NotSimple
    sep = "\t" if ("\t" in first and "," not in first) else ","
    try:
        headers = next(csv.reader([first], delimiter=sep))
    except csv.Error as exc:
        raise NotSimple from exc
    quoted = data.find(b'"', end) >= 0  # quotes in the body (a quoted header line is common and harmless)
    names = [f"c{i}" for i in range(len(headers))]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data)),
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=quoted, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowException as exc:  # ragged or blank line, bad UTF-8 …
        raise NotSimple from exc
    if quoted:
        for col in table.columns:  # a line break inside a quoted cell shifts the line numbers
            cells = buffers(col)[0]
            if ((cells == 10) | (cells == 13)).any():
                raise NotSimple
    return headers, table


def _parquet_table(data: bytes | str | Path) -> tuple[list[str], pa.Table]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data) if isinstance(data, bytes) else data)
    except (pa.ArrowException, OSError) as exc:
        raise NotSimple from exc
    if not all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in table.schema.types):
        raise NotSimple  # number/date cells have their own rules (id_as_number …)
    headers = list(table.column_names)
    return headers, table.rename_columns([f"c{i}" for i in range(len(headers))])


# ---------------------------------------------------------------------------------------------------
# byte-level helpers


def _str_series(values: pa.ChunkedArray | pa.Array) -> pd.Series:
    """A pandas ``str`` column over one Arrow chunk, as the general reader gives."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pd.Series(pd.array(values, dtype="str"))


# ---------------------------------------------------------------------------------------------------


def read_plain(source: str | Path | bytes, department: str, spec: Spec, name: str):
    """The general reader's :class:`~claims.reports.reader.ReportRead` for a simple file (see the module
    docstring), else ``None``.  Raises nothing of its own: a file it cannot judge is left to the general
    reader, which words every whole-file error."""
    suffix = Path(name).suffix.lower()
    if department not in FAST_DEPARTMENTS or suffix not in (".csv", ".txt", ".parquet"):
        return None
    try:
        if suffix == ".parquet":
            headers, table = _parquet_table(source)
        else:
            headers, table = _csv_table(source if isinstance(source, bytes) else _file_bytes(source))
        cleaned = _header_text(headers)
        if any(not h for h in cleaned) or _unique(cleaned) != cleaned or table.num_rows == 0:
            return None
        try:
            mapping = match_columns(cleaned, spec.column_map, required=list(spec.required), file_name=name)
        except TableError:
            return None
        return _read(table, cleaned, mapping, department, spec, name, parquet=suffix == ".parquet")
    except (NotSimple, OSError):
        return None


def _read(table: pa.Table, headers: list[str], mapping: dict[str, str], department: str, spec: Spec,
          name: str, *, parquet: bool):
    """Plain rows typed here, the others checked by the general reader; merged in line order."""
    from products.resident_id import id_key

    from .reader import ID_KEY, ReportRead, check_table

    n = table.num_rows
    where = {canonical: f"c{headers.index(header)}" for header, canonical in mapping.items()}
    # each column once as one Arrow chunk (the byte-level checks read its buffers directly), nulls as blanks
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        cells = dict(zip(where, pool.map(
            lambda c: (pc.fill_null(table[where[c]], "") if table[where[c]].null_count else table[where[c]])
            .combine_chunks(), where)))
    out: dict[str, object] = {}
    plain = np.ones(n, dtype=bool)
    key = None

    def parse(col_name: str, kind: str) -> tuple[object, np.ndarray, np.ndarray | None]:
        """(typed values, plain mask, int64 key for an ID column) of one column."""
        c = cells[col_name]
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

    for col_name, col in spec.columns.items():
        if col_name in where:
            continue
        if col.kind in ("text", "village_code"):
            out[col_name] = pd.array(np.full(n, None, dtype=object), dtype="str")
        elif col.kind == "money_or_zero":
            out[col_name] = np.zeros(n, dtype=np.int64)
        elif col.kind == "money_or_null":
            out[col_name] = pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
        elif col.kind == "flag":
            out[col_name] = np.zeros(n, dtype=bool)
        elif col.kind == "grade":
            out[col_name] = pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
        else:
            raise NotSimple
    # columns in parallel: numpy and Arrow kernels release the GIL, so two threads use both cores
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        # the repeat check (a sort) first, beside the column parsers
        repeats = pool.submit(repeated, cells["setl_id"]) if "setl_id" in cells else None
        parsed = dict(zip(where, pool.map(lambda c: parse(c, spec.columns[c].kind), where)))
        if repeats is not None:
            cells["setl_id repeated"] = repeats.result()
    for col_name in spec.columns:
        if col_name in parsed:
            out[col_name], ok, column_key = parsed[col_name]
            plain &= ok
            key = column_key if column_key is not None else key
    out = {c: out[c] for c in spec.columns}
    plain &= DERIVE[department](out, cells)

    general = np.flatnonzero(~plain)
    if len(general) > MAX_GENERAL_SHARE * n:
        raise NotSimple
    lines = np.arange(2, n + 2, dtype=np.int64)
    keep = np.flatnonzero(plain)
    frame = pd.DataFrame({c: (_str_series(v.take(pa.array(keep)) if len(general) else v)
                              if isinstance(v, (pa.Array, pa.ChunkedArray)) else
                              (v[keep] if len(general) else v))
                          for c, v in out.items()}, copy=False)
    frame["source_file"] = _str_series(pa.repeat(pa.scalar(name, pa.string()), len(keep)))
    frame["source_line"] = lines[keep]
    frame = frame[spec.output]
    if key is not None:
        frame[ID_KEY] = key[keep] if len(general) else key
    rows_read = n
    empty = pd.Series([], dtype=object)
    exceptions = exceptions_frame(frame["source_file"].iloc[:0], frame["source_line"].iloc[:0], empty, empty,
                                  "error")[EXCEPTION_COLUMNS]
    if len(general):
        # the rows that are not plain: the general reader's checks on a table of just those rows, in the
        # shape read_table gives (CSV: str cells; Parquet: object cells, missing as NaN)
        sub = table.take(pa.array(general)).to_pandas()
        sub.columns = headers
        text = sub.astype(object).where(sub.notna(), "").astype(str)
        blank_row = np.column_stack([text[c].str.strip().eq("").to_numpy() for c in text.columns]).all(axis=1)
        sub = sub[~blank_row].reset_index(drop=True)  # fully blank rows are skipped, as read_table does
        rows_read -= int(blank_row.sum())
        if len(sub):
            sub = sub.astype(object) if parquet else sub.fillna("").astype("str")
            sub["source_file"] = pd.Series(name, index=sub.index, dtype="str")
            sub["source_line"] = pd.Series(lines[general[~blank_row]], index=sub.index, dtype="int64")
            sub["source_extra"] = pd.Series("", index=sub.index, dtype="str")
            rows, exceptions = check_table(spec, sub, mapping)
            if "setl_id" in rows and len(rows) and len(frame) and pc.any(pc.is_in(
                    pa.array(rows["setl_id"].array), value_set=pa.array(frame["setl_id"].array))).as_py():
                raise NotSimple  # a normalised code repeats a plain row's: the general reader decides
            if key is not None:
                rows[ID_KEY] = id_key(rows["id_no"])
            frame = pd.concat([frame, rows], ignore_index=True)
            frame = frame.iloc[np.argsort(frame["source_line"].to_numpy(), kind="stable")].reset_index(drop=True)
    return ReportRead(department=department, file=name, rows=frame, exceptions=exceptions, rows_read=rows_read)


def _medical_checks(out: dict[str, object], cells: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """``self_paid = medfee_sumamt − Σ funds`` and ``policy_self_paid = self_paid − fulamt_ownpay_amt −
    overlmt_selfpay`` (columns added to ``out``) → plain where both are ≥ 0, ``psn_part_amt`` (when
    given) is within 1 fen of ``self_paid`` and the ``setl_id`` is not repeated in the file."""
    self_paid = out["medfee_sumamt"] - out["hifp_pay"] - out["hifmi_pay"] - out["maf_pay"] - out["oth_pay"]
    policy = self_paid - out["fulamt_ownpay_amt"] - out["overlmt_selfpay"]
    psn = out["psn_part_amt"]
    given = ~psn.isna()
    ok = (self_paid >= 0) & (policy >= 0)
    ok &= ~given | (np.abs(psn.to_numpy(dtype=np.int64, na_value=0) - self_paid) <= 1)
    ok &= ~cells["setl_id repeated"]
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
          "income": lambda out, cells: np.ones(len(next(iter(cells.values()))), dtype=bool)}
