"""The claims engine on Dask distributed (分布式计算): the same engine functions, partition by partition.

A province-year does not fit one machine's memory, but every claim depends only on the rows of one
household (户): person-basis lines sum a person's rows, household-basis lines and the household caps (a
line's, a cover's across its lines, the product's) sum a household's rows, and a person belongs to exactly
one household of the roster.  So the run is

1. **read** — every report file is cut into chunks of about ``chunk_rows`` rows (Parquet: small row
   groups together, a big one in slices; CSV: one chunk per file) and each chunk goes through the
   single-machine reader :func:`claims.reports.read_report` on a worker (``source_line`` shifted by the
   chunk's first row, so lines are the file's lines);
2. **route** — each usable row gets its partition ``p = siphash(household_no) mod P``
   (:func:`household_partition`); person-keyed rows (medical, education, accident) find their household
   through the roster, broadcast to every worker as two sorted int64/int32 arrays (the 17-digit body of
   a resident ID, which determines its check digit, → partition: 12 bytes a person, so a province's
   30 million people cost 360 MB per worker instead of the ~5 GB of an id → household text map);
3. **shuffle** — each department's rows as a Dask DataFrame are shuffled on the partition number
   (``set_index`` with divisions ``0, 1, …, P``: partition ``p`` holds exactly the rows routed to ``p``,
   spilled to disk by the P2P shuffle when they do not fit in memory);
4. **compute** — partition ``p`` gets its rows of every department (in the single-machine order: file,
   then line), the roster rows of its households (the roster is *partitioned* by the same hash, not
   broadcast: the engine needs every column of a household, and each row goes to one worker only) and the
   paid-before rows of its units, and runs :func:`claims.engine.compute.run_calculation` unchanged.  The roster
   pieces travel inside the task graph rather than being scattered ahead: a worker restarted for memory
   then loses nothing the scheduler cannot send again;
5. **collect** — the partitions' claims are concatenated and sorted as the engine sorts them
   (line order, household, unit).

What is global rather than per household, and how it is kept identical to the single-machine engine:

* **repeated settlement IDs (结算ID)** across chunks, files or households: re-sends, corrections and
  refunds (:mod:`claims.reports.identity`).  A cheap pre-pass reads only the settlement-ID column (through
  the reader's own key parser) and finds the IDs seen more than once anywhere; the rows of those IDs are
  collected whole while reading and :func:`resolve_duplicates` reconciles them globally, per file in the
  run's order, exactly as screening does on one machine.  The rows that do not count are dropped before
  the shuffle's consumers see them.  The other departments' records are a household's (a person's
  household, or the household itself): they meet in one partition, where screening reconciles them; they
  travel with every column, so their digests are the single machine's.  (A refund naming its original
  by ``orig_setl_id`` under another person's ID is refused only when the original shares its household:
  the single machine also checks it across households.)
* **paid amounts for a line the product does not have** — sent to partition 0 only, so the engine reports
  them once (``paid_unknown_line``).
* **units paid before but not on the roster** — the engine files them under the household
  “(不在名单 / not on roster)”; they are routed by that name, so they stay one group for the caps.
* **order** — claims: sorted by (line, household, unit) like the engine, a total order.  Exceptions:
  reader exceptions (chunk by chunk), settlement repeats, then each partition's screening exceptions;
  the same rows as the single-machine run, in a different order.

Pure core (routing, chunk reading, the per-partition function, duplicate resolution) and a thin shell
(:func:`run_calculation_dask`: the cluster, the graph, progress).
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import sys
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from products.model import Product
from products.roster import check_roster, load_households, load_persons

from claims.engine.compute import CLAIM_COLUMNS, CalcResult, run_calculation, summarise
from claims.reports.exceptions import exceptions_frame
from claims.engine.files import InputError, load_paid, parse_report_specs
from claims.reports import DEPARTMENTS, SPECS, ReportFileError, read_report
from claims.reports.identity import IDENTITY, reconcile
from claims.reports.reader import ID_KEY
from claims.reports.parse import PARSERS
from claims.engine.screening import EVENT_DATE, PERSON_KEYED

#: Rows per chunk read by one task (the reader needs a few hundred bytes a row while it parses).
CHUNK_ROWS = 1_000_000
#: Rows per partition after the shuffle, used to choose P when ``npartitions`` is not given.
PARTITION_ROWS = 500_000
#: The engine's household for paid units that are not on the roster (see ``claims.engine.compute._merge_paid``).
NOT_ON_ROSTER = "(不在名单 / not on roster)"
PART = "_part"
FILE = "_file"
ROW = "_row"


class DaskEngineError(InputError):
    """A problem with a distributed run as a whole, e.g. no scheduler at the address (bilingual message)."""


# ---------------------------------------------------------------------------------------------------
# Routing (pure)


def household_partition(household_no: Iterable[Any], nparts: int) -> np.ndarray:
    """p = siphash(household_no) mod P, int32.  ``pandas.util.hash_array`` uses a fixed key, so every
    process (client, each worker, any machine) sends a household to the same partition."""
    values = np.asarray(pd.Series(household_no, dtype=object).astype(str).to_numpy(), dtype=object)
    return (pd.util.hash_array(values) % np.uint64(nparts)).astype(np.int32)


def id_body(id_no: pd.Series | np.ndarray) -> np.ndarray:
    """The 17-digit body of an 18-character resident ID as int64 (≤ 10^17 − 1 < 2^63), as the reader's
    ``id_key`` (:func:`tabular.resident_id.id_key`); −1 where it is not digits.  The check digit is a
    function of the body (GB 11643), so the body identifies a valid ID.  A ``str`` column (the roster's) goes
    to ``id_key`` as its own Arrow array, not copied into Python strings first (4× faster on 10⁶ IDs)."""
    import pyarrow as pa

    from tabular.resident_id import id_key

    arrow = isinstance(id_no, pd.Series) and id_no.dtype == "str"
    try:
        return id_key(pa.array(id_no.array) if arrow else np.asarray(id_no, dtype=object))
    except (ValueError, TypeError):  # pyarrow.ArrowInvalid is a ValueError: some cell is not an ID
        text = pd.Series(id_no, dtype=object).astype(str).str.slice(0, 17)
        digits = text.str.fullmatch(r"\d{17}").fillna(False).to_numpy(dtype=bool)
        body = np.full(len(text), -1, dtype=np.int64)
        body[digits] = text[digits].astype(np.int64).to_numpy()  # exact: int64 parse, no float on the way
        return body


@dataclass(frozen=True)
class PersonRoutes:
    """The roster reduced to what routing needs: sorted ID bodies and each person's partition."""

    body: np.ndarray   # int64, sorted
    part: np.ndarray   # int32, partition of the person's household
    nparts: int


def person_routes(persons: pd.DataFrame, nparts: int) -> PersonRoutes:
    body = id_body(persons["id_no"])
    part = household_partition(persons["household_no"], nparts)
    order = np.argsort(body, kind="stable")
    return PersonRoutes(body=body[order], part=part[order], nparts=nparts)


def route_persons(id_no: pd.Series, routes: PersonRoutes,
                  body: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(partition, known) per resident ID: the household's partition for a person on the roster; a person
    not on the roster goes to the partition of their own ID (the engine reports them there).  ``body``:
    the IDs' :func:`id_body` when the reader has it already (its ``id_key`` column)."""
    body = id_body(id_no) if body is None else np.asarray(body, dtype=np.int64)
    part = np.zeros(len(body), dtype=np.int32)
    known = np.zeros(len(body), dtype=bool)
    if len(routes.body):
        pos = np.clip(np.searchsorted(routes.body, body), 0, len(routes.body) - 1)
        known = routes.body[pos] == body
        part[known] = routes.part[pos[known]]
    if not known.all():
        part[~known] = household_partition(pd.Series(id_no).to_numpy()[~known], routes.nparts)
    return part, known


def paid_households(product: Product, paid: pd.DataFrame, persons: pd.DataFrame) -> pd.Series:
    """The household a paid row belongs to, as the engine files it: person-basis line → the person's
    household (or “not on roster”); household-basis line → the unit itself; unknown line → '' (partition 0)."""
    basis = {line.id: line.basis for line in product.lines}
    kind = paid["line_id"].astype(str).map(basis)
    person_hh = persons.set_index("id_no")["household_no"]
    by_person = paid["unit_id"].astype(str).map(person_hh).fillna(NOT_ON_ROSTER)
    hh = np.where(kind == "person", by_person, np.where(kind == "household", paid["unit_id"].astype(str), ""))
    return pd.Series(hh, index=paid.index, dtype=object)


# ---------------------------------------------------------------------------------------------------
# Chunks of report files or frames (pure; run on the workers)


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


def _parquet_slice(chunk: Chunk, limit: int | None = None) -> io.BytesIO:
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


def keep_columns(product: Product, department: str, available: Iterable[str] | None = None) -> list[str]:
    """Canonical columns screening and the lines read from a department (others are not shuffled)."""
    cols = {"source_file", "source_line", EVENT_DATE[department], "id_no", "household_no", "setl_id", "kind",
            "grade", "disaster_type", "entry", "level", "per_capita_income"}
    cols |= {line.measure for line in product.lines if line.source == department and line.measure}
    cols |= set(IDENTITY[department]) | {"orig_setl_id"}  # a record's identity (a refund's flag, its original)
    if department != "medical":  # reconciled in the partition (module docstring): content too
        cols |= set(SPECS[department].columns)
    names = SPECS[department].output if available is None else list(available)
    return [c for c in names if c in cols]


def parquet_columns(pf: Any, department: str, label: str | None) -> dict[str, str]:
    """Canonical column → the Parquet file's own column name, the headers matched as the reader matches
    them (cleaned by :mod:`tabular.table`'s header rule, then :func:`~tabular.table.match_columns`).
    ``pf``: a ``pyarrow.parquet.ParquetFile``.  Raises :class:`~tabular.table.TableError`."""
    from tabular.table import _header_text, match_columns

    raw = pf.schema_arrow.names
    names = _header_text(raw)
    spec = SPECS[department]
    found = match_columns(names, spec.column_map, required=list(spec.required), file_name=label)
    return {canonical: raw[names.index(header)] for header, canonical in found.items()}


def setl_hashes(chunk: Chunk, frame: pd.DataFrame | None = None) -> np.ndarray:
    """Pre-pass: uint64 hashes of the chunk's settlement IDs as the reader's key parser reads them
    (every row, usable or not: a superset of the IDs the reader keeps)."""
    import pyarrow.parquet as pq

    from tabular.table import match_columns, read_table

    if frame is not None:
        keys = frame["setl_id"].dropna()
    else:
        if chunk.groups is None:
            spec = SPECS["medical"]
            table = read_table(chunk.path, file_name=chunk.label)
            found = match_columns([str(c) for c in table.columns], spec.column_map, required=list(spec.required),
                                  file_name=chunk.label)
            raw = table[{c: h for h, c in found.items()}["setl_id"]]
        else:
            pf = pq.ParquetFile(chunk.path)
            column = parquet_columns(pf, "medical", chunk.label)["setl_id"]
            col = pf.read_row_groups(list(chunk.groups), columns=[column]).column(0)
            if chunk.part is not None:
                col = col.slice(chunk.part[0], chunk.part[1] - chunk.part[0])
            raw = col.to_pandas()
        keys = _settlement_keys(raw)
    return pd.util.hash_array(keys.astype(object).to_numpy())


def _settlement_keys(raw: pd.Series) -> pd.Series:
    """Settlement IDs as the reader's key parser reads them; cells already in the canonical form
    (``^[0-9A-Za-z_-]+$``, as machine exports write them) are their own key, so only a column with some
    other cell goes through the parser (the regex test is pyarrow's, on the whole column at once)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if raw.dtype != object or pd.api.types.is_string_dtype(raw.dtype):
        try:
            arr = pa.array(raw, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is not None and arr.null_count == 0 and pc.all(
                pc.match_substring_regex(arr, r"^[0-9A-Za-z_-]+$")).as_py():
            return raw.astype(object)
    return PARSERS["key"](raw).values.dropna()


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
        source = chunk.path if chunk.groups is None or chunk.whole else _parquet_slice(chunk)
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
        hit = np.isin(pd.util.hash_array(rows["setl_id"].astype(object).to_numpy()), suspect_hashes)
        whole = [c for c in SPECS["medical"].output if c in rows.columns]
        suspects = rows.loc[hit, whole].assign(**{FILE: np.int32(chunk.order), ROW: position[hit].astype(np.int64)})
    return ChunkRead(out, exc, suspects, rows_read)


def resolve_duplicates(suspects: pd.DataFrame, file_of: Mapping[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The suspect rows (every row of a settlement ID seen more than once) reconciled globally by
    :func:`claims.reports.identity.reconcile`, one frame per file in the run's order (``file_of``: chunk
    order → the file it is part of), rows in (chunk, row) order: the single machine's frames, cut down to
    the rows whose ID repeats (a row whose ID does not repeat cannot share a key).

    Returns (the rows that do not count, as ``_file, _row, screened`` — screened: the single-machine
    engine counts them in ``rows_in`` —, the identity exception rows)."""
    none = pd.DataFrame({FILE: pd.Series(dtype="int64"), ROW: pd.Series(dtype="int64"),
                         "screened": pd.Series(dtype="bool")})
    if suspects is None or not len(suspects):
        return none, exceptions_frame([], [], [], [])
    s = suspects.sort_values([FILE, ROW], kind="stable").reset_index(drop=True)
    s["_at"] = np.arange(len(s))
    file_no = s[FILE].map(file_of).to_numpy()
    frames = [s[file_no == k] for k in pd.unique(file_no)]
    result = reconcile("medical", frames)
    gone = np.setdiff1d(s["_at"].to_numpy(), result.rows["_at"].to_numpy())
    drop = s.iloc[gone][[FILE, ROW]].astype("int64").assign(screened=True)
    return drop.reset_index(drop=True), result.exceptions


# ---------------------------------------------------------------------------------------------------
# One partition (pure; runs on a worker)


def _restore(frame: pd.DataFrame, dtypes: pd.Series, drop: pd.DataFrame) -> pd.DataFrame:
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
    frames = {dept: _restore(f, dtypes[dept], duplicates) for dept, f in reports.items()}
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


def sort_claims(product: Product, claims: pd.DataFrame) -> pd.DataFrame:
    """The engine's order: line (as the product lists them), household, unit."""
    pos = claims["line_id"].map({line.id: i for i, line in enumerate(product.lines)})
    order = pd.DataFrame({"p": pos.to_numpy(), "h": claims["household_no"].to_numpy(),
                          "u": claims["unit_id"].to_numpy()}).sort_values(["p", "h", "u"], kind="stable").index
    return claims.iloc[order.to_numpy()].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# Inputs


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


#: Rows (Parquet) or lines (CSV) read on the client to learn a department's dtypes.
META_ROWS = 200


def _text_head(path: str, lines: int = META_ROWS) -> bytes:
    """The first ``lines`` + 1 lines of a file as bytes (header and data; a line ends at ``\\n``, which no
    UTF-8 or GB18030 character contains, so the cut never splits a character)."""
    with open(path, "rb") as fh:
        return b"".join(itertools.islice(fh, lines + 1))


def _meta(chunk: Chunk, columns: list[str], frame_meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reader's dtypes for one department, from the first rows of its first file (the dtypes do not
    depend on the values) or the frame's meta.  A CSV/TXT file is cut after :data:`META_ROWS` lines; should
    the cut leave no data row or a malformed record (a quoted cell across the cut), the whole file is read."""
    from tabular.table import TEXT_EXTENSIONS

    if frame_meta is not None:
        rows = frame_meta
    elif chunk.groups is not None:
        rows = read_report(_parquet_slice(chunk, limit=META_ROWS), chunk.department, file_name=chunk.label).rows
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


def _check_headers(chunks: list[Chunk]) -> None:
    """Refuse a Parquet file without a required column before the run starts (as the reader would)."""
    import pyarrow.parquet as pq

    from tabular.table import TableError

    seen: set[str] = set()
    for c in chunks:
        if c.groups is None or c.path in seen:
            continue
        seen.add(str(c.path))
        try:
            parquet_columns(pq.ParquetFile(c.path), c.department, c.label)
        except TableError as exc:
            raise ReportFileError(exc.file, exc.message) from exc


# ---------------------------------------------------------------------------------------------------
# The shell: cluster, graph, progress


@contextmanager
def connect(client: Any = None, scheduler: str | None = None, memory_limit: str | int = "4GB",
            n_workers: int = 2) -> Iterator[Any]:
    """A ``distributed.Client``: the one given; else connected to ``scheduler``; else on a new
    ``LocalCluster`` of ``n_workers`` single-threaded worker processes with ``memory_limit`` each, closed
    on exit."""
    from distributed import Client, LocalCluster

    if client is not None:
        yield client
        return
    if scheduler:
        try:
            cl = Client(scheduler)
        except (OSError, TimeoutError) as exc:
            raise DaskEngineError(f"无法连接 Dask 调度器 {scheduler} / cannot connect to the Dask scheduler "
                                  f"{scheduler}: {exc}") from exc
        with cl:
            yield cl
        return
    # the P2P shuffle logs every shuffle's start and end at WARNING level: routine here, so kept quiet
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, memory_limit=memory_limit, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as cl:
        yield cl


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _rows_of(read: ChunkRead, dtypes: dict[str, Any]) -> pd.DataFrame:
    """The chunk's rows in the department's dtypes: every piece of a shuffle must have one schema."""
    return read.rows.astype(dtypes)


def _exceptions_of(read: ChunkRead) -> pd.DataFrame:
    return read.exceptions


def _count_of(read: ChunkRead, department: str) -> tuple[str, int]:
    return department, read.rows_read


def _suspects_of(read: ChunkRead) -> pd.DataFrame:
    return read.suspects


def _all_suspects(found: list[pd.DataFrame]) -> pd.DataFrame:
    found = [f for f in found if len(f)]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def files_of(chunks: Sequence[Chunk]) -> dict[int, int]:
    """Chunk order → the number of the file (or frame part) it reads, in the run's order: a file's later
    chunks (offset > 0) belong to the file of the chunk before them."""
    out: dict[int, int] = {}
    number = -1
    for chunk in sorted(chunks, key=lambda c: c.order):
        number += not (chunk.is_file and chunk.offset > 0)
        out[chunk.order] = number
    return out


def _split(frame: pd.DataFrame, part: np.ndarray, nparts: int) -> list[pd.DataFrame]:
    pieces = dict(tuple(frame.groupby(part, sort=True)))
    return [pieces.get(p, frame.iloc[:0]) for p in range(nparts)]


def run_calculation_dask(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                         reports: Mapping[str, Any] | Sequence[tuple[str, Path, str]],
                         paid: pd.DataFrame | None = None, *, client: Any = None, scheduler: str | None = None,
                         npartitions: int | None = None, progress: bool = True, details: bool = True,
                         memory_limit: str | int = "4GB", n_workers: int = 2,
                         chunk_rows: int = CHUNK_ROWS) -> CalcResult:
    """:func:`claims.engine.compute.run_calculation` on a Dask cluster (see the module docstring).

    ``reports``: see :func:`report_specs`; files must be readable by every worker at the same path (shared
    storage).  ``client``: an existing ``distributed.Client``; else ``scheduler`` (``tcp://host:8786``);
    else a ``LocalCluster`` (:func:`connect`), closed afterwards.  ``npartitions``: P, the number of
    household partitions (default: one per ~500,000 rows, at least one per worker).  ``progress``: a
    progress bar when stdout is a terminal.  ``details=False`` returns the claims and the exception
    counts only (no exception rows, no sources: at 50 million rows those are tens of millions of rows).
    """
    import dask
    import dask.dataframe as dd
    from distributed import progress as show_progress
    from distributed import wait

    specs, frames = report_specs(reports)
    chunks = plan_chunks(specs, chunk_rows)
    _check_headers(chunks)
    frame_parts: dict[int, Any] = {}
    frame_meta: dict[str, pd.DataFrame] = {}
    for dept, values in frames.items():
        for value in values:
            ddf = value if isinstance(value, dd.DataFrame) else dd.from_pandas(
                value, npartitions=max(1, math.ceil(len(value) / chunk_rows)), sort=False)
            frame_meta.setdefault(dept, ddf._meta)
            for part in ddf.to_delayed():
                chunk = Chunk(dept, None, None, len(chunks), None, 0, -1)
                frame_parts[chunk.order] = part
                chunks.append(chunk)
    known_rows = sum(c.rows for c in chunks if c.rows > 0) + sum(len(v) for vs in frames.values() for v in vs)
    nparts = npartitions or max(n_workers, math.ceil(max(known_rows, 1) / PARTITION_ROWS))
    routes = person_routes(persons, nparts)
    departments = [d for d in DEPARTMENTS if any(c.department == d for c in chunks)]
    first = {d: next(c for c in chunks if c.department == d) for d in departments}
    columns = {d: keep_columns(product, d, None if first[d].is_file else frame_meta[d].columns) for d in departments}
    metas = {d: _meta(first[d], columns[d], None if first[d].is_file else frame_meta[d]) for d in departments}
    dtypes = {d: m.drop(columns=[FILE, ROW, PART]).dtypes for d, m in metas.items()}

    with connect(client, scheduler, memory_limit, n_workers) as cl:
        # pre-pass: settlement IDs seen more than once anywhere (the ID column only)
        med = [c for c in chunks if c.department == "medical"]
        hashes = cl.gather(cl.compute([dask.delayed(setl_hashes)(c, frame_parts.get(c.order)) for c in med]))
        every = np.concatenate(hashes) if hashes else np.array([], dtype=np.uint64)
        uniq, counts = np.unique(every, return_counts=True)
        suspect_hashes = uniq[counts > 1]
        del every, uniq, counts, hashes

        # inputs enter the graph as data (not scattered): a worker restarted for memory loses nothing that
        # the scheduler cannot send again
        run = uuid.uuid4().hex  # names for data put in the graph (hashing a 30-million-row roster takes minutes)
        routes_f = dask.delayed(routes, name=f"person-routes-{run}")
        suspects_f = dask.delayed(suspect_hashes, name=f"repeated-settlement-hashes-{run}")
        read = {c.order: dask.delayed(read_chunk, pure=True)(c, columns[c.department], routes_f, suspects_f,
                                                              frame_parts.get(c.order)) for c in chunks}
        divisions = list(range(nparts + 1))
        shuffled = {}
        for d in departments:
            parts = [dask.delayed(_rows_of)(read[c.order], metas[d].dtypes.to_dict()) for c in chunks
                     if c.department == d]
            frame = dd.from_delayed(parts, meta=metas[d], verify_meta=False)
            shuffled[d] = frame.set_index(PART, divisions=divisions).to_delayed()
        reader_exc = [dask.delayed(_exceptions_of)(read[c.order]) for c in chunks]
        rows_read = [dask.delayed(_count_of)(read[c.order], c.department) for c in chunks]
        # each chunk's few suspect rows are taken out at once, so that a chunk's rows are freed when its
        # shuffle piece is sent (depending on the whole chunks would hold every chunk until the last is read)
        suspects = [dask.delayed(_suspects_of)(read[c.order]) for c in med]
        dups = dask.delayed(resolve_duplicates)(dask.delayed(_all_suspects)(suspects), files_of(med))

        # the roster and the paid rows: partitioned on the client by the same hash, one piece per task
        hh_f = [dask.delayed(x, name=f"households-{run}-{p}") for p, x in
                enumerate(_split(households, household_partition(households["household_no"], nparts), nparts))]
        ps_f = [dask.delayed(x, name=f"persons-{run}-{p}") for p, x in
                enumerate(_split(persons, household_partition(persons["household_no"], nparts), nparts))]
        paid_f: list[Any] = [None] * nparts
        if paid is not None and len(paid):
            owner = paid_households(product, paid, persons)
            where = np.where(owner.to_numpy() == "", 0, household_partition(owner, nparts))
            paid_f = [dask.delayed(x, name=f"paid-{run}-{p}") for p, x in enumerate(_split(paid, where, nparts))]

        drop = dask.delayed(_first)(dups)
        tasks = [dask.delayed(claims_of_partition, pure=True)(
            product, {d: shuffled[d][p] for d in departments}, dtypes, ps_f[p], hh_f[p], paid_f[p], drop, details)
            for p in range(nparts)]
        with warnings.catch_warnings():
            # the roster and paid pieces travel inside the graph on purpose (see above): not a mistake
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            futures = cl.compute([tasks, reader_exc, rows_read, dups])
        if progress and sys.stdout.isatty():
            show_progress(futures)
        wait(futures)
        parts_out, reader_frames, counts_read, (dropped, dup_exc) = cl.gather(futures)

    # a partition without claims has the engine's empty frame, whose dtypes differ: leave those out
    found = [p["claims"] for p in parts_out if len(p["claims"])] or [parts_out[0]["claims"]]
    claims = sort_claims(product, pd.concat(found, ignore_index=True))[CLAIM_COLUMNS]
    rows_in = sum(p["rows_in"] for p in parts_out) + int(dropped["screened"].sum())
    reader_ex = [e for e in reader_frames if len(e)]
    if details:
        exceptions = pd.concat([*reader_ex, dup_exc, *[p["exceptions"] for p in parts_out if len(p["exceptions"])]],
                               ignore_index=True)
        found = [p["sources"] for p in parts_out if len(p["sources"])]
        sources = pd.concat(found, ignore_index=True) if found else parts_out[0]["sources"]
        summary = summarise(claims, exceptions, rows_in)
    else:
        exceptions = exceptions_frame([], [], [], [])
        sources = pd.DataFrame(columns=["line_id", "unit_id", "source_file", "source_line", "amount"])
        summary = summarise(claims, exceptions, rows_in)
        counts = pd.concat([p["counts"] for p in parts_out] + [e.groupby("reason").size() for e in reader_ex]
                           + ([dup_exc.groupby("reason").size()] if len(dup_exc) else []))
        by_reason = counts.groupby(level=0).sum() if len(counts) else counts
        summary["exceptions"] = {str(k): int(v) for k, v in by_reason.items()}
    by_dept: dict[str, int] = {}
    for dept, n in counts_read:
        by_dept[dept] = by_dept.get(dept, 0) + int(n)
    summary["rows_read"] = by_dept
    summary["rows_read_total"] = int(sum(by_dept.values()))
    summary["engine"] = {"name": "dask", "partitions": nparts, "chunks": len(chunks)}
    return CalcResult(claims=claims, exceptions=exceptions, sources=sources, summary=summary)


def compute_claims_dask(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                        reports: Mapping[str, Any] | Sequence[tuple[str, Path, str]],
                        paid: pd.DataFrame | None = None, *, client: Any = None, scheduler: str | None = None,
                        npartitions: int | None = None, progress: bool = True, **options: Any) -> pd.DataFrame:
    """The claims of :func:`claims.engine.compute.compute_claims`, computed on a Dask cluster: same columns, same
    rows, same order, identical to the fen.  Options as :func:`run_calculation_dask`."""
    return run_calculation_dask(product, persons, households, reports, paid, client=client, scheduler=scheduler,
                                npartitions=npartitions, progress=progress, details=False, **options).claims


# ---------------------------------------------------------------------------------------------------
# ``relief calc --engine dask``


def calc_files_dask(product: Product, persons: str | Path, households: str | Path,
                    specs: Sequence[tuple[str, Path, str]], paid: str | Path | None = None, *,
                    scheduler: str | None = None, memory_limit: str | int = "4GB",
                    say: Any = None) -> tuple[CalcResult, list[str], float, float]:
    """The file run of ``relief calc`` on Dask: the roster and the paid file are read on the client
    (as :func:`claims.engine.files.load_inputs` reads them), the reports on the workers.  Returns (the result as
    :func:`claims.engine.files.calculate` gives it, the report labels, seconds reading the roster, seconds computing).

    ``scheduler``: ``tcp://host:8786`` of a running cluster (the report files must be at the same path on
    every worker); without it a local cluster of two workers with ``memory_limit`` each."""
    import time

    tell = say or (lambda _msg: None)
    start = time.perf_counter()
    tell("读取参保名单 / reading the roster")
    people = load_persons(persons)
    homes = load_households(households)
    check_roster(people, homes)
    paid_frame = load_paid(paid) if paid else None
    t_read = time.perf_counter() - start
    where = scheduler or f"本机集群 / local cluster (2 × {memory_limit})"
    tell(f"Dask 计算 / computing on Dask: {where}")
    start = time.perf_counter()
    result = run_calculation_dask(product, people, homes, specs, paid_frame, scheduler=scheduler,
                                  memory_limit=memory_limit, progress=True, details=True)
    return result, [label for _, _, label in specs], t_read, time.perf_counter() - start
