"""Planning a distributed run (pure, no Dask; runs on the client before the cluster is asked): the report
files cut into chunks of rows, the columns each department ships through the shuffle, the reader's dtypes.

A Parquet file is cut into chunks of about :data:`CHUNK_ROWS` rows (small row groups together, a big one
in slices); a CSV or Excel file is one chunk, since its line numbers count newlines inside quoted cells,
which only a whole-file read knows.  Every row read then carries three columns through the shuffle —
:data:`FILE` and :data:`ROW`, its place in the single-machine order (chunk, then row), and :data:`PART`,
its partition.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from claims.engine.files import parse_report_specs
from claims.reports import SPECS, ReportFileError, read_report
from claims.reports.departments import EVENT_DATE
from claims.reports.identity import IDENTITY
from products.model import Product

#: Rows per chunk read by one task (the reader needs a few hundred bytes a row while it parses).
CHUNK_ROWS = 1_000_000
#: Rows (Parquet) or lines (CSV) read on the client to learn a department's dtypes.
META_ROWS = 200
#: Columns every row read carries through the shuffle: partition, chunk order, place in the chunk.
PART = "_part"
FILE = "_file"
ROW = "_row"


@dataclass(frozen=True)
class Chunk:
    """One reading task.  A file: rows ``[offset, offset + rows)`` of it — Parquet row groups ``groups``
    (None: the whole file, read as one) and, for a row group larger than a chunk, the rows ``part`` of
    it.  A frame (``path`` is None): one partition of a Dask DataFrame of canonical rows read already;
    ``rows`` is −1 when unknown.

    ``order`` is the chunk's place in the single-machine concatenation (files in the order given, then
    frames): rows are kept in (``order``, row) order everywhere."""

    department: str
    path: str | None
    label: str | None
    order: int
    groups: tuple[int, ...] | None
    offset: int
    rows: int
    part: tuple[int, int] | None = None

    whole: bool = False  # the chunk is the whole file (read by path, no copy)

    @property
    def is_file(self) -> bool:
        return self.path is not None


def report_specs(reports: Mapping[str, Any] | Sequence[tuple[str, Path, str]]
                 ) -> tuple[list[tuple[str, Path, str]], dict[str, list[Any]]]:
    """(department, file, label) triples and department → frames of canonical rows.

    ``reports``: triples as :func:`claims.engine.files.parse_report_specs` gives them, or a mapping department →
    a file, a directory (its table files in name order), a Dask or pandas DataFrame of canonical rows (as
    :func:`claims.reports.read_report` gives them), or a list of these."""
    if not isinstance(reports, Mapping):
        return [(d, Path(p), str(label)) for d, p, label in reports], {}
    paths: list[str] = []
    frames: dict[str, list[Any]] = {}
    for dept, values in reports.items():
        if dept not in SPECS:
            parse_report_specs([f"{dept}=-"])  # raises the bilingual InputError for an unknown department
        for value in values if isinstance(values, (list, tuple)) else [values]:
            if isinstance(value, (str, Path)):
                paths.append(f"{dept}={value}")
            else:
                frames.setdefault(dept, []).append(value)
    return parse_report_specs(paths), frames


def plan_chunks(specs: Sequence[tuple[str, Path, str]], chunk_rows: int = CHUNK_ROWS) -> list[Chunk]:
    """Cut each Parquet file into chunks of ≈ ``chunk_rows`` rows: small row groups together, a large one
    in slices; a CSV/Excel file is one chunk (its line numbers count newlines inside quoted cells, which
    only a whole-file read knows)."""
    import pyarrow.parquet as pq

    chunks: list[Chunk] = []

    def add(dept: str, path: Path, label: str, groups: list[int], offset: int, rows: int,
            part: tuple[int, int] | None = None) -> None:
        chunks.append(Chunk(dept, str(path), label, len(chunks), tuple(groups), offset, rows, part))

    for dept, path, label in specs:
        if Path(path).suffix.lower() != ".parquet":
            chunks.append(Chunk(dept, str(path), label, len(chunks), None, 0, -1))
            continue
        meta = pq.ParquetFile(path).metadata
        offset, groups, rows, first = 0, [], 0, len(chunks)
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if groups and rows + n > chunk_rows:
                add(dept, path, label, groups, offset, rows)
                offset, groups, rows = offset + rows, [], 0
            if n > chunk_rows:  # a big row group: slices of it (each task reads the group, keeps its slice)
                for lo in range(0, n, chunk_rows):
                    add(dept, path, label, [g], offset + lo, min(chunk_rows, n - lo), (lo, min(n, lo + chunk_rows)))
                offset += n
                continue
            groups.append(g)
            rows += n
        if groups or len(chunks) == first:
            add(dept, path, label, groups, offset, rows)
        if len(chunks) == first + 1:
            chunks[-1] = replace(chunks[-1], whole=True)
    return chunks


def files_of(chunks: Sequence[Chunk]) -> dict[int, int]:
    """Chunk order → the number of the file (or frame part) it reads, in the run's order: a file's later
    chunks (offset > 0) belong to the file of the chunk before them."""
    out: dict[int, int] = {}
    number = -1
    for chunk in sorted(chunks, key=lambda c: c.order):
        number += not (chunk.is_file and chunk.offset > 0)
        out[chunk.order] = number
    return out


def parquet_slice(chunk: Chunk, limit: int | None = None) -> io.BytesIO:
    """The chunk's rows as a Parquet file in memory, so the reader sees a file (first ``limit`` rows)."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(chunk.path).read_row_groups(list(chunk.groups or ()))
    if chunk.part is not None:
        table = table.slice(chunk.part[0], chunk.part[1] - chunk.part[0])
    if limit is not None:
        table = table.slice(0, limit)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    buf.seek(0)
    return buf


def parquet_columns(pf: Any, department: str, label: str | None) -> dict[str, str]:
    """Canonical column → the Parquet file's own column name, the headers matched as the reader matches
    them (cleaned by :mod:`tabular.headers`' header rule, then :func:`~tabular.headers.match_columns`).
    ``pf``: a ``pyarrow.parquet.ParquetFile``.  Raises :class:`~tabular.files.TableError`."""
    from tabular.headers import header_text, match_columns

    raw = pf.schema_arrow.names
    names = header_text(raw)
    spec = SPECS[department]
    found = match_columns(names, spec.column_map, required=list(spec.required), file_name=label)
    return {canonical: raw[names.index(header)] for header, canonical in found.items()}


def check_headers(chunks: list[Chunk]) -> None:
    """Refuse a Parquet file without a required column before the run starts (as the reader would)."""
    import pyarrow.parquet as pq

    from tabular.files import TableError

    seen: set[str] = set()
    for c in chunks:
        if c.groups is None or c.path in seen:
            continue
        seen.add(str(c.path))
        try:
            parquet_columns(pq.ParquetFile(c.path), c.department, c.label)
        except TableError as exc:
            raise ReportFileError(exc.file, exc.message) from exc


def keep_columns(product: Product, department: str, available: Iterable[str] | None = None) -> list[str]:
    """Canonical columns screening and the lines read from a department (others are not shuffled).  Medical
    settlement repeats are reconciled before the shuffle (:mod:`claims.scale.repeats`); the other
    departments' records in their partition, so they travel with every column."""
    cols = {"source_file", "source_line", EVENT_DATE[department], "id_no", "household_no", "setl_id", "kind",
            "grade", "disaster_type", "entry", "level", "per_capita_income"}
    cols |= {line.measure for line in product.lines if line.source == department and line.measure}
    cols |= {"med_type" for line in product.lines if line.source == department and line.inpatient_only}  # 住院?
    cols |= set(IDENTITY[department]) | {"orig_setl_id"}  # a record's identity (a refund's flag, its original)
    if department != "medical":
        cols |= set(SPECS[department].columns)
    names = SPECS[department].output if available is None else list(available)
    return [c for c in names if c in cols]


def _text_head(path: str, lines: int = META_ROWS) -> bytes:
    """The first ``lines`` + 1 lines of a file as bytes (header and data; a line ends at ``\\n``, which no
    UTF-8 or GB18030 character contains, so the cut never splits a character)."""
    with open(path, "rb") as fh:
        return b"".join(itertools.islice(fh, lines + 1))


def shuffle_meta(chunk: Chunk, columns: list[str], frame_meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """An empty frame of the rows one department ships (``columns`` + :data:`FILE`, :data:`ROW`,
    :data:`PART`) in the reader's dtypes, learnt from the first rows of its first file (the dtypes do not
    depend on the values) or the frame's meta.  A CSV/TXT file is cut after :data:`META_ROWS` lines; should
    the cut leave no data row or a malformed record (a quoted cell across the cut), the whole file is read."""
    from tabular.files import TEXT_EXTENSIONS

    if frame_meta is not None:
        rows = frame_meta
    elif chunk.groups is not None:
        rows = read_report(parquet_slice(chunk, limit=META_ROWS), chunk.department, file_name=chunk.label).rows
    else:
        rows = None
        if Path(chunk.label or chunk.path).suffix.lower() in TEXT_EXTENSIONS:
            with suppress(ReportFileError):
                rows = read_report(_text_head(chunk.path), chunk.department, file_name=chunk.label).rows
        if rows is None or not len(rows):
            rows = read_report(chunk.path, chunk.department, file_name=chunk.label).rows
    meta = rows[columns].iloc[:0].copy()
    meta[FILE] = pd.Series(dtype="int32")
    meta[ROW] = pd.Series(dtype="int64")
    meta[PART] = pd.Series(dtype="int32")
    return meta
