"""County benchmark: ``relief synth --county N`` then ``relief calc`` on its output, end to end.

Prints the time of each stage and, as the same-run reference, the time pandas alone needs to read the
same CSV files (``pd.read_csv``, all columns as text): ``calc / read-only`` says what the engine's
validation, screening and claims maths cost on top of merely reading the inputs.

    python benchmarks/county.py --people 100000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--product", default="fangpinbao-weixian-2025")
    args = ap.parse_args()
    relief = [sys.executable, "-m", "flask_app.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        county, out = Path(tmp) / "county", Path(tmp) / "out"
        t_synth = run([*relief, "synth", "--county", str(args.people), "--out", str(county), "--seed", str(args.seed),
                       "--quiet"])
        reports = [f"--report={d}={county / d}" for d in ("medical", "education", "disaster", "accident", "income")
                   if (county / d).is_dir()]
        t_calc = run([*relief, "calc", "--product", args.product, "--persons", str(county / "persons.csv"),
                      "--households", str(county / "households.csv"), *reports, "--out", str(out), "--quiet"])
        files = sorted(county.rglob("*.csv"))
        start = time.perf_counter()
        rows = sum(len(pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")) for f in files)
        t_read = time.perf_counter() - start
        summary = pd.read_json(out / "summary.json", typ="series")
        claims = pd.read_csv(out / "claims.csv", dtype=str, encoding="utf-8-sig")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"people                     {args.people:,}")
    print(f"input rows (all files)     {rows:,}")
    print(f"claims rows                {len(claims):,}   due total ¥{summary['total_due'] / 100:,.2f}")
    print(f"relief synth               {t_synth:8.2f} s")
    print(f"relief calc (end to end)   {t_calc:8.2f} s   (process start, read+validate {summary['seconds']['read']:.2f} s, "
          f"compute {summary['seconds']['compute']:.2f} s)")
    print(f"reference: pandas read_csv {t_read:8.2f} s")
    print(f"ratio calc / read-only     {t_calc / t_read:8.2f}")
    print(f"peak RSS of a child        {peak_mb:8.0f} MB")


if __name__ == "__main__":
    main()
