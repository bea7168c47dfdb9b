"""Ingest benchmark: a province's medical settlements (医保结算) read into the engine's frame.

Generates a province with :func:`claims.synth.synth_province` (CSV and Parquet), joins its medical chunks
into one big file per format, then times :func:`claims.reports.read_report` (the fast path: pyarrow
multithreaded reading, every cell checked on arrays, int64 resident-ID key) on it and, as the reference in
the same run, the floor: ``pyarrow.csv.read_csv`` / ``pyarrow.parquet.read_table`` of the same file with
nothing checked.  The general (cell-by-cell explaining) reader is timed on the first ``--general-rows``
rows and its rate printed for comparison.  Each measurement runs in its own process, so its peak RSS is
that reader's alone.

    python benchmarks/ingest.py --people 5000000 --rows 10000000          # the acceptance run
    python benchmarks/ingest.py --people 200000 --rows 1000000            # a quick look
    python benchmarks/ingest.py --county-people 100000                    # fixed cost per small file

Run big sizes under ``flock /tmp/bigrun.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def join_files(files: list[Path], out: Path, fmt: str) -> int:
    """One file from the chunk files (CSV: the first header, then every body; Parquet: row groups)."""
    if fmt == "csv":
        with open(out, "wb") as sink:
            for i, f in enumerate(files):
                with open(f, "rb") as src:
                    header = src.readline()
                    if i == 0:
                        sink.write(header)
                    while block := src.read(64 << 20):
                        sink.write(block)
        return 0
    import pyarrow.parquet as pq

    writer = None
    rows = 0
    for f in files:
        table = pq.read_table(f)
        rows += table.num_rows
        writer = writer or pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        del table
    if writer:
        writer.close()
    return rows


def measure(kind: str, path: str) -> dict:
    """One measurement in this process: seconds, rows, peak RSS (MB); imports are not timed."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from claims.reports import read_report

    start = time.perf_counter()
    if kind == "fast":
        read = read_report(path, "medical", key=True)
        rows = len(read.rows)
        assert read.rows_read == rows and not len(read.exceptions), "benchmark file should be clean"
        assert "id_key" in read.rows, "the fast path did not answer"
    elif kind == "general":
        read = read_report(path, "medical", fast=False)
        rows = read.rows_read
    elif kind == "floor-csv":
        rows = pacsv.read_csv(path).num_rows
    elif kind == "floor-parquet":
        rows = pq.read_table(path).num_rows
    else:
        raise ValueError(kind)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"kind": kind, "seconds": seconds, "rows": rows, "peak_mb": peak}


def child(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", kind, str(path)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def head_csv(path: Path, out: Path, rows: int) -> None:
    with open(path, "rb") as src, open(out, "wb") as sink:
        for _ in range(rows + 1):
            line = src.readline()
            if not line:
                break
            sink.write(line)


def per_file(root: Path, people: int, seed: int) -> None:
    """Fixed cost per file: every monthly file of a synthetic county through both readers, twice."""
    from claims.reports import read_report
    from claims.synth import synth_county

    if not (root / "manifest.json").exists():
        synth_county(root, people, seed=seed)
    files = [(d, f) for d in ("medical", "education", "disaster", "accident", "income")
             for f in sorted((root / d).glob("*.csv"))]
    for fast in (False, True, False, True):
        start = time.perf_counter()
        rows = sum(read_report(f, d, fast=fast, key=True).rows_read for d, f in files)
        seconds = time.perf_counter() - start
        print(f"{'fast path' if fast else 'general reader':15s} {len(files)} files, {rows:,} rows: {seconds:6.2f} s, "
              f"{1000 * seconds / len(files):5.1f} ms per file", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=5_000_000)
    ap.add_argument("--rows", type=int, default=10_000_000, help="medical settlement rows")
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--chunk-rows", type=int, default=1_000_000)
    ap.add_argument("--general-rows", type=int, default=200_000, help="rows timed with the general reader")
    ap.add_argument("--dir", default=None, help="work directory (kept; reused when it holds the same sizes)")
    ap.add_argument("--county-people", type=int, default=0,
                    help="instead: a synthetic county of this size, every monthly file read both ways")
    ap.add_argument("--measure", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return

    from claims.synth import synth_province

    tmp = None if args.dir else tempfile.TemporaryDirectory()
    work = Path(args.dir or tmp.name)
    if args.county_people:
        per_file(work / f"county-{args.county_people}", args.county_people, args.seed)
        return
    results = []
    for fmt in ("csv", "parquet"):
        root = work / f"province-{fmt}"
        big = work / f"medical-{args.rows}.{fmt}"
        key = {"people": args.people, "rows": args.rows, "seed": args.seed, "chunk_rows": args.chunk_rows}
        stamp = work / f"medical-{args.rows}.{fmt}.json"
        if not (big.exists() and stamp.exists() and json.loads(stamp.read_text()) == key):
            start = time.perf_counter()
            manifest = synth_province(root, args.people, args.rows, seed=args.seed, fmt=fmt,
                                      chunk_rows=args.chunk_rows, other_departments=False)
            t_synth = time.perf_counter() - start
            join_files([root / f for f in manifest["departments"]["medical"]["files"]], big, fmt)
            stamp.write_text(json.dumps(key))
            print(f"synth_province {fmt:8s} {args.people:,} people, {args.rows:,} rows: {t_synth:7.1f} s "
                  f"({args.rows / t_synth:,.0f} rows/s)", flush=True)
        size_mb = big.stat().st_size / 2**20
        floor = child(f"floor-{fmt}", big)
        fast = child("fast", big)
        results.append((fmt, size_mb, fast, floor))
        print(f"{fmt:8s} {size_mb:8.0f} MB  read_report {fast['seconds']:7.2f} s  "
              f"{fast['rows'] / fast['seconds']:>12,.0f} rows/s  peak {fast['peak_mb']:6.0f} MB   |  floor "
              f"{floor['seconds']:6.2f} s {floor['rows'] / floor['seconds']:>12,.0f} rows/s  peak "
              f"{floor['peak_mb']:6.0f} MB   |  read_report / floor {fast['seconds'] / floor['seconds']:5.2f}",
              flush=True)
        if fmt == "csv" and args.general_rows:
            head = work / f"medical-head-{args.general_rows}.csv"
            head_csv(big, head, args.general_rows)
            general = child("general", head)
            fast_head = child("fast", head)
            print(f"general reader on the first {general['rows']:,} rows: {general['seconds']:6.2f} s "
                  f"{general['rows'] / general['seconds']:>10,.0f} rows/s  (fast path on the same rows: "
                  f"{fast_head['seconds']:5.2f} s, {general['seconds'] / fast_head['seconds']:5.1f} × faster)",
                  flush=True)
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
