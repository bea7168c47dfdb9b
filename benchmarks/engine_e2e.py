"""``relief calc`` end to end against DuckDB doing the same work, sparse and dense side by side (issue 16).

    python benchmarks/engine.py --dense [--people 500000 --rows 1000000] [--dense-people 300000
                                         --dense-rows 1500000] [--traces kept] [--workdir DIR]

Two workloads, generated here (outside the project's engine), seeded and vectorised:

* **sparse**: :func:`engine.generate` (households of 1–7, a third of the rows on 3 % of the people, ~30 % of
  the rows ineligible) with ``benchmarks/engine-product.yaml`` (a person and a household illness line, the
  per-person and per-household caps): few claims per report row.
* **dense** (:func:`generate_dense`): ``--dense-people`` people in households of 3, ``--dense-rows`` medical
  rows spread evenly over the people (≈ 5 a person), self-paid amounts lognormal (median ≈ 2,900 yuan a row)
  so that most people cross the 5,000 line; ``benchmarks/engine-dense-product.yaml`` (one illness line,
  three brackets, a cap).  Nearly every person claims (≥ 250,000 claims at the default size).

For each workload, in the same run:

* **ours**: ``relief calc`` as a child process (the console script, cold start included), wall time from
  spawn to exit; its stages from ``summary.json`` (read, compute, write; start-up = wall − the three); its
  peak memory as the child's ``ru_maxrss`` (``os.wait4``).
* **DuckDB**: load the three CSV files, screen (roster join, period, category, income), per-unit sums, the
  bracket maths and caps in integer fen, then ``COPY`` the claims (yuan text, the same columns as
  ``claims.csv`` but the trace) **and** the per-claim source rows (line, unit, file, line, yuan) to CSV;
  peak memory from tracemalloc is meaningless for DuckDB's own allocator, so this process's ru_maxrss
  growth is shown instead.  The claims' amounts are checked equal to ours (count and total due).

The ratio is ours / DuckDB end to end.  Generated files live in a temporary directory (or ``--workdir``),
never in the repository.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import engine as sparse  # benchmarks/engine.py: the sparse generator and its SQL pieces
import numpy as np
import pandas as pd
import pyarrow as pa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DENSE_PRODUCT = HERE / "engine-dense-product.yaml"
SPARSE_PRODUCT = HERE / "engine-product.yaml"
ELIGIBLE = np.array(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "稳定脱贫户", "低保户"])
HOUSEHOLD_SIZE = 3


def generate_dense(people: int, rows: int, seed: int) -> dict[str, pa.Table]:
    """Households of :data:`HOUSEHOLD_SIZE`, eligible categories, incomes under the 6,000 line (1 % of the
    households above it), ``rows`` medical rows on uniformly drawn people (0.2 % not on the roster), dated
    through 2025, in date order; total cost lognormal (median 6,000 yuan), the fund pays 45–55 %, so the
    self-paid part is ≈ half of it."""
    rng = np.random.default_rng([seed, people, rows, HOUSEHOLD_SIZE])
    hh_of = np.arange(people) // HOUSEHOLD_SIZE
    n_hh = int(hh_of[-1]) + 1
    size = np.bincount(hh_of, minlength=n_hh)
    income = np.round(rng.uniform(2_500, 5_900, n_hh) * 100).astype(np.int64)  # fen
    income[rng.random(n_hh) < 0.01] = 800_000  # above the income line: not eligible
    hh_no = sparse._ascii_column(np.concatenate([np.full((n_hh, 1), ord("H"), np.uint8),
                                                 sparse._digits(np.arange(n_hh), 9)], axis=1))
    households = pa.table({
        "household_no": hh_no,
        "village_code": sparse._ascii_column(sparse._digits(130434_100_000 + np.arange(n_hh) // 400, 12)),
        "natural_village": pa.array(np.where(np.arange(n_hh) % 3 == 0, "东庄", "西营")),
        "category": pa.array(ELIGIBLE[rng.integers(0, len(ELIGIBLE), n_hh)]),
        "per_capita_income": sparse._yuan_column(income), "members": size,
    })
    persons = pa.table({
        "id_no": sparse.resident_ids(np.arange(people)),
        "name": pa.array(sparse.NAMES[np.arange(people) % len(sparse.NAMES)]),
        "household_no": hh_no.take(pa.array(hh_of)),
        "relation": pa.array(np.where(np.arange(people) % HOUSEHOLD_SIZE == 0, "户主", "子女")),
    })
    who = rng.integers(0, people, rows)
    unknown = rng.random(rows) < 0.002
    who = np.where(unknown, people + rng.integers(0, people, rows), who)  # valid IDs not on the roster
    day = np.sort(rng.integers(0, 365, rows))
    date = (np.datetime64(f"{sparse.YEAR}-01-01") + day.astype("timedelta64[D]")).astype(str)
    total = np.clip(np.round(rng.lognormal(np.log(6_000), 0.9, rows) * 100), 1_000, 200_000_000).astype(np.int64)
    hifp = (total * rng.uniform(0.45, 0.55, rows)).astype(np.int64)
    zero = np.zeros(rows, dtype=np.int64)
    full_own = (total * rng.uniform(0.02, 0.08, rows)).astype(np.int64)
    setl_id = sparse._ascii_column(np.concatenate([np.full((rows, 1), ord("S"), np.uint8),
                                                   sparse._digits(np.arange(rows), 12)], axis=1))
    medical = pa.table({
        "setl_id": setl_id, "id_no": sparse.resident_ids(who), "setl_date": pa.array(date),
        "medfee_sumamt": sparse._yuan_column(total), "hifp_pay": sparse._yuan_column(hifp),
        "hifmi_pay": sparse._yuan_column(zero), "maf_pay": sparse._yuan_column(zero),
        "oth_pay": sparse._yuan_column(zero), "fulamt_ownpay_amt": sparse._yuan_column(full_own),
        "overlmt_selfpay": sparse._yuan_column(zero),
    })
    return {"persons": persons, "households": households, "medical": medical}


# ---------------------------------------------------------------------------------------------------
# The two sides


def relief_calc(product: Path, paths: dict[str, Path], out: Path, traces: str | None) -> dict[str, Any]:
    """``relief calc`` in a child process: wall time, the child's peak RSS (``os.wait4``) and its stages
    (``summary.json``: read, compute, write; start-up = the rest)."""
    script = Path(sys.executable).with_name("relief")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from flask_app.cli import main; main()"]
    command += ["calc", "--product", str(product), "--persons", str(paths["persons"]),
                "--households", str(paths["households"]), "--report", f"medical={paths['medical']}",
                "--out", str(out), "--quiet", "--json"]
    if traces:
        command += ["--traces", traces]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"relief calc failed (status {status}): {' '.join(command)}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    seconds = summary["seconds"]
    stages = {k: float(seconds.get(k, 0.0)) for k in ("read", "compute", "write")}
    return {"wall": wall, **stages, "startup": wall - sum(stages.values()), "peak_mb": usage.ru_maxrss / 1024,
            "claims": summary["claims"], "total_due": summary["total_due"], "rows": summary["rows_read_total"],
            "sources": _lines(out / "claim_sources.csv") - 1}


def _lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def duckdb_side(product_path: Path, paths: dict[str, Path], out: Path) -> dict[str, Any]:
    """DuckDB doing the same work: load, screen, sum, brackets and caps, then COPY the claims (yuan text, the
    columns of ``claims.csv`` but the trace) and the per-claim source rows to CSV.  Times each step."""
    import duckdb

    from products import load_product

    product = load_product(product_path)
    out.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    steps: dict[str, float] = {}

    def step(name: str, sql: str) -> None:
        started = time.perf_counter()
        con.execute(sql)
        steps[name] = steps.get(name, 0.0) + time.perf_counter() - started

    start = time.perf_counter()
    con = duckdb.connect()
    started = time.perf_counter()
    sparse.duckdb_load(con, paths)
    con.execute(f"""CREATE TABLE villages AS SELECT household_no, village_code, natural_village
        FROM read_csv('{paths["households"]}', header=true, all_varchar=true)""")
    steps["load"] = time.perf_counter() - started
    step("screen", f"CREATE TABLE events AS {sparse.duckdb_events_sql(product)}")
    step("compute", f"CREATE TABLE claims AS {sparse.duckdb_claims_sql(product, events_table='events')}")
    head = {line.id: line for line in product.lines}
    yuan = "(({0})::DECIMAL(18,0) / 100)::DECIMAL(18,2)"
    labels = " ".join(f"WHEN '{k}' THEN '{v.name}'" for k, v in head.items())
    units = " ".join(f"WHEN '{k}' THEN '{v.basis}'" for k, v in head.items())
    step("write", f"""COPY (
        SELECT '{product.code}' AS product_code, c.line_id, CASE c.line_id {units} END AS unit_type, c.unit_id,
               c.household_no, v.village_code, {yuan.format('c.base')} AS base,
               {yuan.format('c.entitlement')} AS entitlement, 0.00 AS paid_before, {yuan.format('c.due')} AS due,
               '' AS trace, CASE c.line_id {labels} END AS line_name, 'illness' AS peril, v.natural_village,
               {yuan.format('c.uncapped')} AS uncapped, 0.00 AS overpaid, c.rows, c.first_event, c.last_event,
               '{product.digest}' AS product_digest
        FROM claims c JOIN villages v USING (household_no) ORDER BY c.line_pos, c.household_no, c.unit_id)
        TO '{out / "claims.csv"}' (HEADER)""")
    sources = " UNION ALL ".join(
        f"SELECT {pos} AS line_pos, '{line.id}' AS line_id, {'id_no' if line.basis == 'person' else 'household_no'} "
        f"AS unit_id, 'medical.csv' AS source_file, line AS source_line, self_paid FROM events"
        for pos, line in enumerate(product.lines))
    step("write", f"""COPY (SELECT line_id, unit_id, source_file, source_line, {yuan.format('self_paid')} AS amount
        FROM ({sources}) ORDER BY line_pos, source_line) TO '{out / "claim_sources.csv"}' (HEADER)""")
    claims, total_due = con.execute("SELECT COUNT(*), SUM(due) FROM claims").fetchone()
    wall = time.perf_counter() - start
    con.close()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return {"wall": wall, **steps, "claims": int(claims), "total_due": int(total_due), "peak_growth_mb": grown,
            "sources": _lines(out / "claim_sources.csv") - 1}


# ---------------------------------------------------------------------------------------------------
# The run


def inputs(kind: str, people: int, rows: int, seed: int, workdir: Path) -> dict[str, Path]:
    """The workload's CSV files, generated in a child process (this process's peak memory stays DuckDB's),
    reused when ``workdir`` already holds them for the same arguments."""
    stamp = workdir / "inputs.txt"
    wanted = f"{kind} people={people} rows={rows} seed={seed}\n"
    paths = {name: workdir / f"{name}.csv" for name in ("persons", "households", "medical")}
    if not (stamp.exists() and stamp.read_text() == wanted and all(p.exists() for p in paths.values())):
        subprocess.run([sys.executable, __file__, "--generate", kind, "--people", str(people), "--rows", str(rows),
                        "--seed", str(seed), "--workdir", str(workdir)], check=True)
        stamp.write_text(wanted)
    return paths


def run(kind: str, people: int, rows: int, seed: int, workdir: Path, traces: str | None) -> dict[str, Any]:
    """One workload: ours (child process) and DuckDB in this process, one after the other; checked equal."""
    paths = inputs(kind, people, rows, seed, workdir / kind)
    product = DENSE_PRODUCT if kind == "dense" else SPARSE_PRODUCT
    ours = relief_calc(product, paths, workdir / f"{kind}-ours", traces)
    duck = duckdb_side(product, paths, workdir / f"{kind}-duckdb")
    if (ours["claims"], ours["total_due"], ours["sources"]) != (duck["claims"], duck["total_due"], duck["sources"]):
        raise AssertionError(f"{kind}: ours {ours} differ from DuckDB's {duck}")
    return {"kind": kind, "people": people, "rows": rows, "ours": ours, "duckdb": duck,
            "ratio": ours["wall"] / duck["wall"]}


def report(results: list[dict[str, Any]]) -> None:
    """Side by side, one column per workload."""
    def row(label: str, cells: list[str]) -> None:
        print(f"| {label} | " + " | ".join(cells) + " |")

    row("workload", [f"{r['kind']}: {r['people']:,} people, {r['rows']:,} rows" for r in results])
    row("---", ["---:" for _ in results])
    row("claims / source rows (identical count, total due)",
        [f"{r['ours']['claims']:,} / {r['ours']['sources']:,} (¥{r['ours']['total_due'] / 100:,.2f})" for r in results])
    row("**relief calc, end to end (wall)**", [f"**{r['ours']['wall']:.2f} s**" for r in results])
    for stage in ("startup", "read", "compute", "write"):
        row(f"— {stage}", [f"{r['ours'][stage]:.2f} s" for r in results])
    row("peak RSS of relief calc", [f"{r['ours']['peak_mb']:,.0f} MB" for r in results])
    row("**DuckDB, same work (load, SQL, COPY claims + sources)**", [f"**{r['duckdb']['wall']:.2f} s**" for r in results])
    for stage in ("load", "screen", "compute", "write"):
        row(f"— {stage}", [f"{r['duckdb'][stage]:.2f} s" for r in results])
    row("DuckDB peak RSS growth (this process)", [f"{r['duckdb']['peak_growth_mb']:,.0f} MB" for r in results])
    row("**ratio ours / DuckDB**", [f"**{r['ratio']:.2f}**" for r in results])


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dense", action="store_true", help="(the flag that brought you here)")
    ap.add_argument("--people", type=int, default=500_000, help="sparse workload: people")
    ap.add_argument("--rows", type=int, default=1_000_000, help="sparse workload: medical rows")
    ap.add_argument("--dense-people", type=int, default=300_000)
    ap.add_argument("--dense-rows", type=int, default=1_500_000)
    ap.add_argument("--seed", type=int, default=20251202)
    ap.add_argument("--only", choices=["sparse", "dense"], default=None, help="run one workload")
    ap.add_argument("--traces", default=None, help="relief calc --traces (default: relief calc's own)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the inputs here (reused on the next run)")
    ap.add_argument("--generate", choices=["sparse", "dense"], default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate:
        make = generate_dense if args.generate == "dense" else sparse.generate
        sparse.write_inputs(make(args.people, args.rows, args.seed), args.workdir)
        return []
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory()
        args.workdir = Path(tmp.name)
    print(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()}; "
          f"cores {len(os.sched_getaffinity(0))}; python {sys.version.split()[0]}, pandas {pd.__version__}, "
          f"pyarrow {pa.__version__}")
    sizes = {"sparse": (args.people, args.rows), "dense": (args.dense_people, args.dense_rows)}
    results = [run(kind, *sizes[kind], args.seed, args.workdir, args.traces)
               for kind in ("sparse", "dense") if args.only in (None, kind)]
    report(results)
    print(f"load average after: {os.getloadavg()}")
    if tmp is not None:
        tmp.cleanup()
    return results


if __name__ == "__main__":
    main()
