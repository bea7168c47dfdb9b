"""The shell of a distributed run (the I/O side of :mod:`claims.scale`): the cluster, the task graph, the
progress bar, and the file run of ``relief calc --engine dask``.

:func:`run_calculation_dask` = :func:`plan_run` (chunks, P, dtypes; on the client) → the settlement-ID
pre-pass → :func:`build_graph` (read, route, shuffle, one engine run per partition) → compute on the
cluster → :func:`claims.scale.merge.merge_partitions`.
"""

from __future__ import annotations

import logging
import math
import sys
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from claims.engine.compute import CalcResult
from claims.engine.files import InputError, load_paid
from claims.reports import DEPARTMENTS
from claims.scale.chunks import (
    CHUNK_ROWS,
    FILE,
    PART,
    ROW,
    Chunk,
    check_headers,
    files_of,
    keep_columns,
    plan_chunks,
    report_specs,
    shuffle_meta,
)
from claims.scale.merge import merge_partitions
from claims.scale.repeats import (
    chunk_settlement_hashes,
    concat_suspects,
    dropped_rows,
    repeated_hashes,
    resolve_duplicates,
)
from claims.scale.routing import (
    PersonRoutes,
    household_partition,
    paid_partition,
    person_routes,
    split_by_partition,
)
from claims.scale.worker import (
    claims_of_partition,
    count_of,
    exceptions_of,
    read_chunk,
    rows_of,
    suspects_of,
)
from products.eligibility import check_roster_county
from products.model import Product
from products.roster import check_roster, load_households, load_persons

#: Rows per partition after the shuffle, used to choose P when ``npartitions`` is not given.
PARTITION_ROWS = 500_000


class DaskEngineError(InputError):
    """A problem with a distributed run as a whole, e.g. no scheduler at the address (bilingual message)."""


@dataclass(frozen=True)
class RunPlan:
    """What the client decides before the cluster is asked: the chunks (files, then frame parts), P, the
    roster's routes, and per department the columns shipped, the shuffle's meta and the reader's dtypes."""

    chunks: list[Chunk]
    frame_parts: dict[int, Any]          # chunk order → a delayed partition of a frame of canonical rows
    nparts: int
    routes: PersonRoutes
    departments: list[str]               # in the order of claims.reports.DEPARTMENTS
    columns: dict[str, list[str]]
    metas: dict[str, pd.DataFrame]
    dtypes: dict[str, pd.Series]

    def chunks_of(self, department: str) -> list[Chunk]:
        return [c for c in self.chunks if c.department == department]


def _frame_chunks(frames: Mapping[str, list[Any]], first_order: int, chunk_rows: int
                  ) -> tuple[list[Chunk], dict[int, Any], dict[str, pd.DataFrame]]:
    """Frames of canonical rows as chunks numbered from ``first_order`` (a pandas frame cut into Dask
    partitions of ``chunk_rows``): (the chunks, chunk order → delayed partition, department → meta)."""
    import dask.dataframe as dd

    chunks: list[Chunk] = []
    parts: dict[int, Any] = {}
    metas: dict[str, pd.DataFrame] = {}
    for dept, values in frames.items():
        for value in values:
            ddf = value if isinstance(value, dd.DataFrame) else dd.from_pandas(
                value, npartitions=max(1, math.ceil(len(value) / chunk_rows)), sort=False)
            metas.setdefault(dept, ddf._meta)
            for part in ddf.to_delayed():
                chunk = Chunk(dept, None, None, first_order + len(chunks), None, 0, -1)
                parts[chunk.order] = part
                chunks.append(chunk)
    return chunks, parts, metas


def plan_run(product: Product, persons: pd.DataFrame, reports: Mapping[str, Any] | Sequence[tuple[str, Path, str]],
             npartitions: int | None, n_workers: int, chunk_rows: int) -> RunPlan:
    """The run's plan.  P = ``npartitions`` or ⌈report rows known / :data:`PARTITION_ROWS`⌉, at least
    ``n_workers``.  Refuses a Parquet file without a required column before anything is computed."""
    specs, frames = report_specs(reports)
    file_chunks = plan_chunks(specs, chunk_rows)
    check_headers(file_chunks)
    extra, frame_parts, frame_meta = _frame_chunks(frames, len(file_chunks), chunk_rows)
    chunks = [*file_chunks, *extra]
    known_rows = sum(c.rows for c in chunks if c.rows > 0) + sum(len(v) for vs in frames.values() for v in vs)
    nparts = npartitions or max(n_workers, math.ceil(max(known_rows, 1) / PARTITION_ROWS))
    routes = person_routes(persons, nparts)
    departments = [d for d in DEPARTMENTS if any(c.department == d for c in chunks)]
    first = {d: next(c for c in chunks if c.department == d) for d in departments}
    columns = {d: keep_columns(product, d, None if first[d].is_file else frame_meta[d].columns) for d in departments}
    metas = {d: shuffle_meta(first[d], columns[d], None if first[d].is_file else frame_meta[d]) for d in departments}
    dtypes = {d: m.drop(columns=[FILE, ROW, PART]).dtypes for d, m in metas.items()}
    return RunPlan(chunks, frame_parts, nparts, routes, departments, columns, metas, dtypes)


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


def find_repeated_settlements(cl: Any, plan: RunPlan) -> np.ndarray:
    """The pre-pass on the cluster: hashes of the settlement IDs seen more than once in any medical chunk
    (the ID column only; :mod:`claims.scale.repeats`)."""
    import dask

    tasks = [dask.delayed(chunk_settlement_hashes)(c, plan.frame_parts.get(c.order)) for c in plan.chunks_of("medical")]
    return repeated_hashes(cl.gather(cl.compute(tasks)))


def _shuffled(plan: RunPlan, read: Mapping[int, Any]) -> dict[str, list[Any]]:
    """Department → its rows shuffled on the partition number, one delayed frame per partition
    (``set_index`` with divisions ``0, 1, …, P``: piece ``p`` holds exactly the rows routed to ``p``,
    spilled to disk by the P2P shuffle when they do not fit in memory)."""
    import dask
    import dask.dataframe as dd

    divisions = list(range(plan.nparts + 1))
    shuffled = {}
    for d in plan.departments:
        parts = [dask.delayed(rows_of)(read[c.order], plan.metas[d].dtypes.to_dict()) for c in plan.chunks_of(d)]
        frame = dd.from_delayed(parts, meta=plan.metas[d], verify_meta=False)
        shuffled[d] = frame.set_index(PART, divisions=divisions).to_delayed()
    return shuffled


def _household_pieces(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                      paid: pd.DataFrame | None, nparts: int, run: str) -> tuple[list[Any], list[Any], list[Any]]:
    """(persons, households, paid) of each partition, split on the client by the household hash.  They
    enter the graph as data named by the run (hashing a 30-million-row roster for a key takes minutes),
    not scattered: a worker restarted for memory loses nothing the scheduler cannot send again."""
    import dask

    def pieces(kind: str, frame: pd.DataFrame, part: np.ndarray) -> list[Any]:
        return [dask.delayed(x, name=f"{kind}-{run}-{p}") for p, x in enumerate(split_by_partition(frame, part, nparts))]

    households_f = pieces("households", households, household_partition(households["household_no"], nparts))
    persons_f = pieces("persons", persons, household_partition(persons["household_no"], nparts))
    paid_f: list[Any] = [None] * nparts
    if paid is not None and len(paid):
        paid_f = pieces("paid", paid, paid_partition(product, paid, persons, nparts))
    return persons_f, households_f, paid_f


def build_graph(product: Product, persons: pd.DataFrame, households: pd.DataFrame, paid: pd.DataFrame | None,
                plan: RunPlan, suspect_hashes: np.ndarray, details: bool) -> list[Any]:
    """The run's task graph: [each partition's result, each chunk's reader exceptions, each chunk's
    (department, rows read), the resolved settlement repeats]."""
    import dask

    run = uuid.uuid4().hex
    routes_f = dask.delayed(plan.routes, name=f"person-routes-{run}")
    suspects_f = dask.delayed(suspect_hashes, name=f"repeated-settlement-hashes-{run}")
    read = {c.order: dask.delayed(read_chunk, pure=True)(c, plan.columns[c.department], routes_f, suspects_f,
                                                          plan.frame_parts.get(c.order)) for c in plan.chunks}
    shuffled = _shuffled(plan, read)
    reader_exc = [dask.delayed(exceptions_of)(read[c.order]) for c in plan.chunks]
    rows_read = [dask.delayed(count_of)(read[c.order], c.department) for c in plan.chunks]
    medical = plan.chunks_of("medical")
    suspects = [dask.delayed(suspects_of)(read[c.order]) for c in medical]
    repeats = dask.delayed(resolve_duplicates)(dask.delayed(concat_suspects)(suspects), files_of(medical))
    persons_f, households_f, paid_f = _household_pieces(product, persons, households, paid, plan.nparts, run)
    drop = dask.delayed(dropped_rows)(repeats)
    tasks = [dask.delayed(claims_of_partition, pure=True)(
        product, {d: shuffled[d][p] for d in plan.departments}, plan.dtypes, persons_f[p], households_f[p],
        paid_f[p], drop, details) for p in range(plan.nparts)]
    return [tasks, reader_exc, rows_read, repeats]


def run_calculation_dask(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                         reports: Mapping[str, Any] | Sequence[tuple[str, Path, str]],
                         paid: pd.DataFrame | None = None, *, client: Any = None, scheduler: str | None = None,
                         npartitions: int | None = None, progress: bool = True, details: bool = True,
                         memory_limit: str | int = "4GB", n_workers: int = 2,
                         chunk_rows: int = CHUNK_ROWS) -> CalcResult:
    """:func:`claims.engine.compute.run_calculation` on a Dask cluster (see :mod:`claims.scale`).

    ``reports``: see :func:`claims.scale.chunks.report_specs`; files must be readable by every worker at
    the same path (shared storage).  ``client``: an existing ``distributed.Client``; else ``scheduler``
    (``tcp://host:8786``); else a ``LocalCluster`` (:func:`connect`), closed afterwards.  ``npartitions``:
    P, the number of household partitions (default: one per ~500,000 rows, at least one per worker).
    ``progress``: a progress bar when stdout is a terminal.  ``details=False`` returns the claims and the
    exception counts only (no exception rows, no sources: at 50 million rows those are tens of millions
    of rows).
    """
    from distributed import progress as show_progress
    from distributed import wait

    plan = plan_run(product, persons, reports, npartitions, n_workers, chunk_rows)
    with connect(client, scheduler, memory_limit, n_workers) as cl:
        suspect_hashes = find_repeated_settlements(cl, plan)
        graph = build_graph(product, persons, households, paid, plan, suspect_hashes, details)
        with warnings.catch_warnings():
            # the roster and paid pieces travel inside the graph on purpose (_household_pieces): not a mistake
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            futures = cl.compute(graph)
        if progress and sys.stdout.isatty():
            show_progress(futures)
        wait(futures)
        partitions, reader_exceptions, rows_read, repeats = cl.gather(futures)
    result = merge_partitions(product, partitions, reader_exceptions, rows_read, repeats, details)
    result.summary["engine"] = {"name": "dask", "partitions": plan.nparts, "chunks": len(plan.chunks)}
    return result


def compute_claims_dask(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                        reports: Mapping[str, Any] | Sequence[tuple[str, Path, str]],
                        paid: pd.DataFrame | None = None, *, client: Any = None, scheduler: str | None = None,
                        npartitions: int | None = None, progress: bool = True, **options: Any) -> pd.DataFrame:
    """The claims of :func:`claims.engine.compute.compute_claims`, computed on a Dask cluster: same columns, same
    rows, same order, identical to the fen.  Options as :func:`run_calculation_dask`."""
    return run_calculation_dask(product, persons, households, reports, paid, client=client, scheduler=scheduler,
                                npartitions=npartitions, progress=progress, details=False, **options).claims


def calc_files_dask(product: Product, persons: str | Path, households: str | Path,
                    specs: Sequence[tuple[str, Path, str]], paid: str | Path | None = None, *,
                    scheduler: str | None = None, memory_limit: str | int = "4GB",
                    say: Any = None) -> tuple[CalcResult, list[str], float, float]:
    """The file run of ``relief calc --engine dask``: the roster and the paid file are read on the client
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
    check_roster_county(product, homes)  # a product runs on its own county's roster only
    paid_frame = load_paid(paid) if paid else None
    t_read = time.perf_counter() - start
    where = scheduler or f"本机集群 / local cluster (2 × {memory_limit})"
    tell(f"Dask 计算 / computing on Dask: {where}")
    start = time.perf_counter()
    result = run_calculation_dask(product, people, homes, specs, paid_frame, scheduler=scheduler,
                                  memory_limit=memory_limit, details=True,
                                  progress=bool(getattr(say, "enabled", False)))  # --quiet / --no-progress win
    return result, [label for _, _, label in specs], t_read, time.perf_counter() - start
