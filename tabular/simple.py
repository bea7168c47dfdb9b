"""A simple machine export (CSV/TXT or Parquet) read by pyarrow: the header names and the body as a table
of strings, or :class:`NotSimple` — then the general reader (:func:`tabular.sheets.read_table`) reads
the file and words every whole-file error.

Simple means that the line of row i is i + 2: header on line 1, no ragged row, no line break inside a
quoted cell, no bare carriage return, UTF-8; Parquet columns all strings (number cells have their own
rules, e.g. an ID stored as a number).  Used by the fast paths of :mod:`claims.reports.fast` and
:mod:`products.roster`.
"""

from __future__ import annotations

import csv
import mmap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from tabular.arrow_bytes import buffers
from tabular.headers import header_text, unique_headers

#: CSV parse blocks: 1/16 of the file, within these bounds (each block becomes one chunk of the table).
MIN_BLOCK_BYTES = 8 << 20
MAX_BLOCK_BYTES = 64 << 20


class NotSimple(Exception):
    """The file's layout is not simple: the general reader takes the whole file."""


def file_bytes(path: str | Path) -> bytes | mmap.mmap:
    """The file's bytes, memory-mapped (no copy of a gigabyte file into Python; pyarrow parses from the
    map).  An empty file cannot be mapped: its (empty) bytes are returned."""
    with open(path, "rb") as handle:
        try:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:
            return b""


def csv_table(data: bytes | mmap.mmap) -> tuple[list[str], pa.Table]:
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
            # blocks of 1/16 of a big file: the table's chunks then serve the fast reader's slices as they
            # are (claims.reports.fast._bounds), not copied into slices of their own
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names,
                                           block_size=min(MAX_BLOCK_BYTES, max(MIN_BLOCK_BYTES, len(data) // 16))),
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


def parquet_table(data: bytes | str | Path) -> tuple[list[str], pa.Table]:
    """Header names and the table (columns renamed c0, c1 …), or :class:`NotSimple`."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data) if isinstance(data, bytes) else data)
    except (pa.ArrowException, OSError) as exc:
        raise NotSimple from exc
    if not all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in table.schema.types):
        raise NotSimple  # number/date cells have their own rules (id_as_number …)
    headers = list(table.column_names)
    return headers, table.rename_columns([f"c{i}" for i in range(len(headers))])


def read_simple(source: str | Path | bytes, name: str) -> tuple[list[str], pa.Table]:
    """(cleaned header names, table of strings c0, c1 …) of a simple CSV/TXT/Parquet file with distinct,
    non-blank headers and at least one row; else :class:`NotSimple`."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".txt", ".parquet"):
        raise NotSimple
    try:
        if suffix == ".parquet":
            headers, table = parquet_table(source)
        else:
            headers, table = csv_table(source if isinstance(source, bytes) else file_bytes(source))
    except OSError as exc:
        raise NotSimple from exc
    cleaned = header_text(headers)
    if any(not h for h in cleaned) or unique_headers(cleaned) != cleaned or table.num_rows == 0:
        raise NotSimple
    return cleaned, table


def take_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """The rows ``rows`` (sorted positions) of a table, taken batch by batch: ``Table.take`` on a table of
    many chunks may first join each whole column, a gigabyte for a few thousand rows of a 10M-row file."""
    parts = []
    start = 0
    for batch in table.to_batches():
        stop = start + batch.num_rows
        lo, hi = np.searchsorted(rows, [start, stop])
        if hi > lo:
            parts.append(batch.take(pa.array(rows[lo:hi] - start)))
        start = stop
    return pa.Table.from_batches(parts, schema=table.schema)


def general_table(table: pa.Table, headers: list[str], rows: np.ndarray, name: str) -> tuple[pd.DataFrame, int]:
    """The rows ``rows`` (sorted positions) of a simple file in the shape
    :func:`~tabular.sheets.read_table` gives — the file's headers (CSV: ``str`` cells; Parquet: object
    cells, missing as NaN) + ``source_file``, ``source_line`` (row + 2), ``source_extra`` — for the
    general reader's checks; fully blank rows are skipped as ``read_table`` does.  → (table, rows skipped)."""
    sub = take_rows(table, rows).to_pandas()
    sub.columns = headers
    text = sub.astype(object).where(sub.notna(), "").astype(str)
    blank_row = np.column_stack([text[c].str.strip().eq("").to_numpy() for c in text.columns]).all(axis=1)
    sub = sub[~blank_row].reset_index(drop=True)
    sub = sub.astype(object) if Path(name).suffix.lower() == ".parquet" else sub.fillna("").astype("str")
    sub["source_file"] = pd.Series(name, index=sub.index, dtype="str")
    sub["source_line"] = pd.Series(rows[~blank_row] + 2, index=sub.index, dtype="int64")
    sub["source_extra"] = pd.Series("", index=sub.index, dtype="str")
    return sub, int(blank_row.sum())
