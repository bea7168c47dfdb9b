"""Dask engine benchmark: a synthetic province (≥ 50 million report rows, Parquet) through
:func:`claims.scale.run.run_calculation_dask` on a ``LocalCluster`` of two single-threaded workers with a
memory limit each (4 GB by default), checked against the single-machine engine on a sample of households.

1. ``claims.synth.synth_province`` writes the province under ``--workdir`` (reused when its manifest
   matches ``--people``/``--medical-rows``/``--seed``);
2. the roster is read on the client (``products.roster``), the Dask engine runs over every report file;
   the scheduler's per-worker memory metric is sampled every second while it runs;
3. reference in the same run: ``--sample-households`` households are drawn (seeded), their rows are
   picked out of every report file with pyarrow (keeping each row's file line), read by the same reader
   and computed by the single-machine engine :func:`claims.engine.compute.run_calculation`; the Dask engine's
   claims of those households must be identical to the fen (every column, same units).

Prints rows, times, peak memory per worker (scheduler metric, and each worker process's own ``ru_maxrss``),
the client's ``ru_maxrss`` and the sample check.  Needs several GB of disk for the Parquet files.

    python benchmarks/dask_engine.py --people 6000000 --medical-rows 48000000 --workdir WORKDIR
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _worker_maxrss() -> int:
    """Peak RSS of this process in bytes (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class MemoryPoller:
    """Samples the scheduler's view of each worker's process memory (``metrics.memory``) every second."""

    def __init__(self, client, every: float = 1.0):
        self.client, self.every = client, every
        self.peak: dict[str, int] = {}
        self.spilled: dict[str, int] = {}
        self.workers_seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                info = self.client.scheduler_info(n_workers=-1)["workers"]
            except TypeError:  # older distributed: no n_workers argument
                info = self.client.scheduler_info()["workers"]
            except Exception:  # the scheduler is busy or closing: try again next tick
                info = {}
            for addr, w in info.items():
                self.workers_seen.add(addr)
                name = str(w.get("name", addr))
                metrics = w.get("metrics", {})
                self.peak[name] = max(self.peak.get(name, 0), int(metrics.get("memory", 0)))
                disk = metrics.get("spilled_bytes", {}).get("disk", 0) if isinstance(metrics.get("spilled_bytes"),
                                                                                     dict) else 0
                self.spilled[name] = max(self.spilled.get(name, 0), int(disk))
            self._stop.wait(self.every)

    def __enter__(self) -> MemoryPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def province(root: Path, people: int, medical_rows: int, seed: int) -> tuple[dict, float]:
    from claims.synth import synth_province

    manifest = root / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text(encoding="utf-8"))
        if (m.get("people"), m["departments"]["medical"]["rows"], m.get("seed")) == (people, medical_rows, seed):
            return m, 0.0
    start = time.perf_counter()
    m = synth_province(root, people, medical_rows, seed=seed, fmt="parquet")
    return m, time.perf_counter() - start


def sample_reports(specs, persons: pd.DataFrame, households: pd.DataFrame) -> dict[str, list[pd.DataFrame]]:
    """The rows of the sampled people/households in every report file, read by the same reader, with the
    line each row has in its whole file (pyarrow filter, then ``read_report`` on the picked rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from claims.reports import SPECS, read_report
    from claims.reports.departments import PERSON_KEYED
    from tabular.headers import match_columns

    ids = pa.array(persons["id_no"].astype(str).tolist())
    homes = pa.array(households["household_no"].astype(str).tolist())
    out: dict[str, list[pd.DataFrame]] = {}
    for dept, path, label in specs:
        spec = SPECS[dept]
        table = pq.read_table(path)
        names = [str(n).replace("\ufeff", "").strip() for n in table.column_names]
        header = {c: h for h, c in match_columns(names, spec.column_map, required=list(spec.required),
                                                 file_name=label).items()}
        key = "id_no" if dept in PERSON_KEYED else "household_no"
        column = table.column(names.index(header[key]))
        mask = pc.is_in(pc.utf8_trim_whitespace(column.cast(pa.string())), value_set=ids if key == "id_no" else homes)
        picked = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
        if not len(picked):
            continue
        buf = io.BytesIO()
        pq.write_table(table.take(pa.array(picked)), buf)
        buf.seek(0)
        rows = read_report(buf, dept, file_name=label).rows
        lines = picked + 2  # header = line 1
        rows["source_line"] = lines[rows["source_line"].to_numpy() - 2]
        out.setdefault(dept, []).append(rows)
        del table
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=6_000_000)
    ap.add_argument("--medical-rows", type=int, default=48_000_000)
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--product", default="fangpinbao-weixian-2025")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "relief-dask-bench",
                    help="where the province's Parquet files go (kept for the next run)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GB", help="per worker")
    ap.add_argument("--npartitions", type=int, default=None)
    ap.add_argument("--sample-households", type=int, default=10_000)
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    from claims.engine.compute import run_calculation
    from claims.engine.files import parse_report_specs
    from claims.scale.merge import sort_claims
    from claims.scale.run import run_calculation_dask
    from products import load_product
    from products.roster import load_households, load_persons

    product = load_product(args.product)
    root = args.workdir / f"province-{args.people}-{args.medical_rows}-{args.seed}"
    manifest, t_synth = province(root, args.people, args.medical_rows, args.seed)
    rows_by_dept = {d: v["rows"] for d, v in manifest["departments"].items()}
    total_rows = sum(rows_by_dept.values())
    specs = parse_report_specs([f"{d}={root / d}" for d in manifest["departments"]])

    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    # the cluster starts before the roster is read: a spawned process inherits its parent's ru_maxrss
    # (Linux keeps it across execve), so workers started later would report the client's peak as theirs
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, memory_limit=args.memory_limit,
                      processes=True, dashboard_address=":0") as cluster, Client(cluster) as client:
        start = time.perf_counter()
        persons = load_persons(root / "persons.parquet")
        households = load_households(root / "households.parquet")
        t_roster = time.perf_counter() - start
        with MemoryPoller(client) as poller:
            start = time.perf_counter()
            result = run_calculation_dask(product, persons, households, specs, client=client, details=False,
                                          npartitions=args.npartitions, progress=sys.stdout.isatty())
            t_dask = time.perf_counter() - start
        worker_rss = client.run(_worker_maxrss)
        workers_seen = len(poller.workers_seen)

    # reference in the same run: the single-machine engine on a sample of households
    rng = np.random.default_rng(args.seed)
    take = rng.choice(len(households), size=min(args.sample_households, len(households)), replace=False)
    s_households = households.iloc[np.sort(take)].reset_index(drop=True)
    s_persons = persons[persons["household_no"].isin(s_households["household_no"])].reset_index(drop=True)
    start = time.perf_counter()
    s_reports = sample_reports(specs, s_persons, s_households)
    t_pick = time.perf_counter() - start
    start = time.perf_counter()
    single = run_calculation(product, s_persons, s_households, s_reports).claims
    t_single = time.perf_counter() - start
    mine = result.claims[result.claims["household_no"].isin(s_households["household_no"])]
    mine = sort_claims(product, mine)
    pd.testing.assert_frame_equal(mine, sort_claims(product, single))

    gb = 1024 ** 3
    print(f"date                        {time.strftime('%Y-%m-%d')}")
    print(f"people / households         {len(persons):,} / {len(households):,}")
    files = sum(len(v.get("files", [])) for v in manifest["departments"].values())
    print("report rows                 " + f"{total_rows:,}  ("
          + ", ".join(f"{d} {n:,}" for d, n in rows_by_dept.items()) + f"; {files} files)")
    print(f"rows read by the engine     {result.summary['rows_read_total']:,}")
    print(f"claims                      {len(result.claims):,}   due ¥{result.summary['total_due'] / 100:,.2f}")
    engine = result.summary["engine"]
    print(f"partitions / chunks         {engine['partitions']} / {engine['chunks']}")
    if t_synth:
        print(f"synth_province              {t_synth:8.1f} s")
    print(f"roster read (client)        {t_roster:8.1f} s")
    print(f"dask engine, end to end     {t_dask:8.1f} s   ({total_rows / t_dask / 1e6:.2f} M rows/s; "
          f"{args.workers} workers × 1 thread, memory limit {args.memory_limit} each)")
    for name in sorted(poller.peak):
        print(f"  worker {name}: peak memory (scheduler metric) {poller.peak[name] / gb:5.2f} GB, "
              f"spilled to disk at most {poller.spilled.get(name, 0) / gb:5.2f} GB")
    for addr, rss in sorted(worker_rss.items()):
        print(f"  worker {addr}: ru_maxrss {rss / gb:5.2f} GB")
    print(f"  worker processes seen     {workers_seen}" + ("  (a worker was restarted)" if workers_seen > args.workers
                                                        else "  (no restart)"))
    print(f"client ru_maxrss            {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:5.2f} GB")
    print(f"reference: {len(s_households):,} households, {len(single):,} claims by the single-machine engine "
          f"({t_pick:.1f} s to pick their rows, {t_single:.2f} s to compute): identical to the fen")


if __name__ == "__main__":
    main()
