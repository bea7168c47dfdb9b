"""What runs on a worker (pure): a chunk read and routed (:func:`read_chunk`), one partition's claims
(:func:`claims_of_partition`), and the small functions the task graph applies to a chunk's read.

A chunk goes through the single-machine reader :func:`claims.reports.read_report` (``source_line``
shifted by the chunk's first row, so lines are the file's lines) and each row gets its partition
(:mod:`claims.scale.routing`).  After the shuffle, partition ``p`` gets its rows of every department back
in the single-machine order (file, then line), without the settlement repeats that do not count, with the
roster and paid-before rows of its households, and runs :func:`claims.engine.compute.run_calculation`
unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from claims.engine.compute import run_calculation
from claims.reports import read_report
from claims.reports.check import ID_KEY
from claims.reports.departments import PERSON_KEYED
from claims.reports.exceptions import exceptions_frame
from claims.scale.chunks import FILE, PART, ROW, Chunk, parquet_slice
from claims.scale.repeats import suspect_rows
from claims.scale.routing import PersonRoutes, household_partition, route_persons
from products.model import Product


@dataclass
class ChunkRead:
    rows: pd.DataFrame          # kept columns + _file (chunk order) + _row (order in the chunk) + _part
    exceptions: pd.DataFrame    # the reader's exceptions, lines of the file
    suspects: pd.DataFrame      # medical rows whose settlement ID is seen more than once (pre-pass)
    rows_read: int


def read_chunk(chunk: Chunk, columns: list[str], routes: PersonRoutes, suspect_hashes: np.ndarray,
               frame: pd.DataFrame | None = None) -> ChunkRead:
    """One chunk through :func:`claims.reports.read_report` (a file; lines shifted to the file's) or as
    given (a frame of canonical rows), routed to partitions."""
    if frame is None:
        source = chunk.path if chunk.groups is None or chunk.whole else parquet_slice(chunk)
        read = read_report(source, chunk.department, file_name=chunk.label, key=True)
        rows, exc, rows_read = read.rows, read.exceptions, read.rows_read
        if chunk.offset:
            rows = rows.assign(source_line=rows["source_line"] + chunk.offset)
            exc = exc.assign(line=exc["line"] + chunk.offset)
        position = rows["source_line"].to_numpy()
    else:
        rows, exc, rows_read = frame.reset_index(drop=True), exceptions_frame([], [], [], []), len(frame)
        position = np.arange(len(rows), dtype=np.int64)
    if chunk.department in PERSON_KEYED:
        part, _ = route_persons(rows["id_no"], routes, rows[ID_KEY].to_numpy() if ID_KEY in rows else None)
    else:
        part = household_partition(rows["household_no"], routes.nparts)
    out = rows[columns].copy()
    out[FILE] = np.int32(chunk.order)
    out[ROW] = position.astype(np.int64)
    out[PART] = part
    suspects = pd.DataFrame()
    if chunk.department == "medical" and len(suspect_hashes):
        suspects = suspect_rows(rows, chunk.order, position, suspect_hashes)
    return ChunkRead(out, exc, suspects, rows_read)


# The task graph takes each part of a chunk's read by its own small task, so that a chunk's rows are freed
# once its shuffle piece is sent (depending on whole reads would hold every chunk until the last is read).


def rows_of(read: ChunkRead, dtypes: dict[str, Any]) -> pd.DataFrame:
    """The chunk's rows in the department's dtypes: every piece of a shuffle must have one schema."""
    return read.rows.astype(dtypes)


def exceptions_of(read: ChunkRead) -> pd.DataFrame:
    return read.exceptions


def count_of(read: ChunkRead, department: str) -> tuple[str, int]:
    return department, read.rows_read


def suspects_of(read: ChunkRead) -> pd.DataFrame:
    return read.suspects


def restore_reader_rows(frame: pd.DataFrame, dtypes: pd.Series, drop: pd.DataFrame) -> pd.DataFrame:
    """A shuffled partition back to the reader's frame: the single-machine row order (chunk, row), the
    reader's dtypes, no routing columns, the settlement repeats removed."""
    frame = frame.reset_index(drop=True)
    if len(drop) and "setl_id" in frame.columns:
        key = pd.MultiIndex.from_arrays([frame[FILE].astype("int64"), frame[ROW].astype("int64")])
        gone = pd.MultiIndex.from_arrays([drop[FILE].astype("int64"), drop[ROW].astype("int64")])
        frame = frame[~key.isin(gone)]
    frame = frame.sort_values([FILE, ROW], kind="stable")
    frame = frame.drop(columns=[c for c in (FILE, ROW, PART) if c in frame.columns]).reset_index(drop=True)
    return frame.astype(dtypes.to_dict())


def claims_of_partition(product: Product, reports: Mapping[str, pd.DataFrame], dtypes: Mapping[str, pd.Series],
                        persons: pd.DataFrame, households: pd.DataFrame, paid: pd.DataFrame | None,
                        duplicates: pd.DataFrame, details: bool) -> dict[str, Any]:
    """:func:`claims.engine.compute.run_calculation` on one partition's households.  Returns the claims, the
    exception counts by reason, the rows screened and (``details``) the exceptions and sources."""
    frames = {dept: restore_reader_rows(f, dtypes[dept], duplicates) for dept, f in reports.items()}
    result = run_calculation(product, persons.reset_index(drop=True), households.reset_index(drop=True), frames,
                             None if paid is None or not len(paid) else paid.reset_index(drop=True))
    exc = result.exceptions
    out: dict[str, Any] = {
        "claims": result.claims,
        "counts": exc.groupby("reason").size() if len(exc) else pd.Series(dtype="int64"),
        "rows_in": int(result.summary["rows_in"]),
    }
    if details:
        out["exceptions"] = exc
        out["sources"] = result.sources
    return out
