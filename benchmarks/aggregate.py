"""Aggregate-loss speed and accuracy: one county, 100 counties batched, and side by side with ``aggregate``.

Cases (actuarial.md §2): **A** = a single 70% layer 95,000 xs 5,000; **B** = illness tiers 50/70/90% above
5,000 (cap 73,500); both on λ = 1,000 ground-up events a year (Poisson), lognormal severity mean 8,000,
CV 1.5.  **County** = B + disaster (negative binomial, 60 events, mixing CV 0.5, 0.6/0.8 tiers above
10,000, cap 52,000) + schooling (300 events, 0.8 of 8,000–20,000, cap 9,600), for 50,000 insured; the
disaster and schooling severities are assumed (lognormal mean 15,000 CV 1.2 and mean 9,000 CV 0.6), as in
tests/test_actuarial_aggregate.py.

Sections, each with a reference measured in the same run:

1. one county (one peril, three perils), FFT at the default bucket;
2. 100 counties of 20,000–120,000 insured (frequencies proportional to heads) with ``compound_batch``,
   against the loop of ``compound_distribution`` per county in the same run (same bucket; the largest
   difference between the two pmfs is printed too);
3. side by side with the ``aggregate`` package (BSD-3, pinned 0.30.1; *not* a project dependency):
   time, mean and sd relative error against the exact moments, VaR/TVaR 99.5% relative error against
   the fine-grid reference (our FFT at b = 2, n = 2^22).  aggregate runs A in its limit/layer form
   (``66500 xs 3500 sev lognorm 5600 cv 1.5`` on the conditional count λ·S(5000): 0.7·X is lognormal
   mean 5,600) and in its ``occurrence ceded to`` form, B and the county with ``ceded to`` tiers (the
   county as a ``port`` with ``approx_freq_ge=10**9``).  Skipped, with a line saying how to install it,
   when ``aggregate`` cannot be imported;
4. reference: a thinned Monte Carlo of case B with 10^5 years (``simulate_annual_payouts``); the 10^6-year
   check of accuracy goal G3 is benchmarks/montecarlo.py.

    python benchmarks/aggregate.py                       # sections 1, 2, 4
    python3 -m venv <venv> && <venv>/bin/pip install -e . 'aggregate==0.30.1'
    <venv>/bin/python benchmarks/aggregate.py            # all four sections
    <venv>/bin/python benchmarks/aggregate.py --skip-reference   # without the slow b = 2 reference
"""

from __future__ import annotations

import argparse
import importlib
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

from actuarial.aggregate import compound_batch, compound_distribution
from actuarial.montecarlo import simulate_annual_payouts
from products.model import Bracket, Line


def lognorm(mean: float, cv: float):  # noqa: ANN201
    s2 = np.log1p(cv * cv)
    return stats.lognorm(np.sqrt(s2), scale=mean * np.exp(-s2 / 2))


def line(line_id: str, tiers: list[tuple[int, int, float]], cap: int) -> Line:
    return Line(id=line_id, peril="illness", basis="person", name=line_id, kind="bracket", source="medical",
                start_line=tiers[0][0] * 100, trigger=tiers[0][0] * 100,
                brackets=tuple(Bracket(lo * 100, hi * 100, round(r * 10_000)) for lo, hi, r in tiers),
                cap_per_year=cap * 100)


SEVERITY = lognorm(8000.0, 1.5)
CASE_A = ({"dist": "poisson", "mean": 1000.0}, SEVERITY, line("A", [(5000, 100_000, 0.7)], 66_500))
ILLNESS = ({"dist": "poisson", "mean": 1000.0}, SEVERITY,
           line("B", [(5000, 20_000, 0.5), (20_000, 50_000, 0.7), (50_000, 100_000, 0.9)], 73_500))
PORTFOLIO = [
    ILLNESS,
    ({"dist": "negbin", "mean": 60.0, "cv": 0.5}, lognorm(15_000.0, 1.2),
     line("disaster", [(10_000, 30_000, 0.6), (30_000, 80_000, 0.8)], 52_000)),
    ({"dist": "poisson", "mean": 300.0}, lognorm(9000.0, 0.6), line("schooling", [(8000, 20_000, 0.8)], 9600)),
]
HEADS_OF_PORTFOLIO = 50_000

# the same cases in aggregate's DecL
TIERS_B = "0.5 so 15000 xs 5000 and 0.7 so 30000 xs 20000 and 0.9 so 50000 xs 50000"
DECL_A_LAYER = "agg CaseA {n!r} claims 66500 xs 3500 sev lognorm 5600 cv 1.5 poisson"
DECL_A_CEDED = "agg CaseAc 1000 claims sev lognorm 8000 cv 1.5 occurrence ceded to 0.7 so 95000 xs 5000 poisson"
DECL_B = f"agg CaseB 1000 claims sev lognorm 8000 cv 1.5 occurrence ceded to {TIERS_B} poisson"
TIERS_DISASTER = "0.6 so 20000 xs 10000 and 0.8 so 50000 xs 30000"
DECL_COUNTY = f"""port County
    agg Illness 1000 claims sev lognorm 8000 cv 1.5 occurrence ceded to {TIERS_B} poisson
    agg Disaster 60 claims sev lognorm 15000 cv 1.2 occurrence ceded to {TIERS_DISASTER} mixed gamma 0.5
    agg Schooling 300 claims sev lognorm 9000 cv 0.6 occurrence ceded to 0.8 so 12000 xs 8000 poisson
"""


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def county(heads: float) -> list:
    """The county portfolio with frequency means scaled to ``heads`` insured."""
    return [({**f, "mean": f["mean"] * heads / HEADS_OF_PORTFOLIO}, sev, ln) for f, sev, ln in PORTFOLIO]


def one_county() -> None:
    compound_distribution(*ILLNESS)  # warm-up (imports, FFT plans)
    t1, one = timed(lambda: compound_distribution(*ILLNESS), 7)
    t3, three = timed(lambda: compound_distribution(perils=PORTFOLIO), 7)
    print(f"one county, one peril (FFT, b={one.bucket:g}, n=2^{one.pmf.size.bit_length() - 1})"
          f"   {t1 * 1000:7.1f} ms   mean rel.err {one.mean / one.exact_mean - 1:+.1e}")
    print(f"one county, three perils (FFT, b={three.bucket:g})   {t3 * 1000:7.1f} ms   valid={three.valid}")


def hundred_counties() -> None:
    heads = np.random.default_rng(20261129).uniform(20_000, 120_000, 100).round(-2)
    portfolios = [county(h) for h in heads]
    compound_batch(portfolios[:3])  # warm-up
    t_batch, batch = timed(lambda: compound_batch(portfolios), 3)
    b = batch[0].bucket
    t_loop, loop = timed(lambda: [compound_distribution(perils=p, bucket=b) for p in portfolios], 3)
    diff = max(float(np.abs(x.pmf - y.pmf).max()) for x, y in zip(batch, loop))
    sizes = sorted({c.pmf.size for c in batch})
    print(f"100 counties × 3 perils, heads {heads.min():,.0f}–{heads.max():,.0f}, b={b:g},"
          f" n = {', '.join(f'2^{s.bit_length() - 1}' for s in sizes)}")
    print(f"  compound_batch                    {t_batch:7.2f} s   all valid={all(c.valid for c in batch)}")
    print(f"  reference: loop of compound_distribution {t_loop:7.2f} s   ratio loop / batch {t_loop / t_batch:5.2f}×"
          f"   max |pmf difference| {diff:.1e}")


def _row(label: str, seconds: float, mean: float, sd: float, var: float, tvar: float,
         exact: tuple[float, float], ref: tuple[float, float] | None) -> None:
    err = f"{mean / exact[0] - 1:+10.2e} {sd / exact[1] - 1:+10.2e}"
    if ref is not None:
        err += f" {var / ref[0] - 1:+9.3%} {tvar / ref[1] - 1:+9.3%}"
    print(f"  {label:<44} {seconds:8.3f} {err}   VaR {var:,.0f}  TVaR {tvar:,.0f}")


def _aggregate_package():  # noqa: ANN202
    """The PyPI ``aggregate`` package, not this script: ``python benchmarks/aggregate.py`` puts benchmarks/
    first on sys.path, where ``import aggregate`` would find this file."""
    here = Path(__file__).resolve().parent
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    mine = sys.modules.get("aggregate")
    if mine is not None and Path(getattr(mine, "__file__", "") or "").resolve() == Path(__file__).resolve():
        del sys.modules["aggregate"]
    try:
        return importlib.import_module("aggregate")
    finally:
        sys.path[:] = saved


def side_by_side(with_reference: bool) -> None:
    try:
        aggregate = _aggregate_package()
        build = aggregate.build
    except ImportError:
        print("aggregate: not installed; for the side-by-side section run this script from a separate venv:\n"
              "  python3 -m venv <venv> && <venv>/bin/pip install -e . 'aggregate==0.30.1'\n"
              "  <venv>/bin/python benchmarks/aggregate.py")
        return
    logging.getLogger("aggregate").setLevel(logging.ERROR)
    print(f"side by side with aggregate {aggregate.__version__} (time s, mean and sd rel.err vs exact,"
          " VaR/TVaR 99.5% rel.err vs our FFT at b=2, n=2^22)")
    n_layer = float(1000.0 * SEVERITY.sf(5000.0))
    build(DECL_B, bs=100, log2=16)  # warm-up (parser, first-call caches)
    cases = [
        ("A", [CASE_A], [("layer form, bs=100", DECL_A_LAYER.format(n=n_layer), 100, 16, {}),
                         ("layer form, bs=10", DECL_A_LAYER.format(n=n_layer), 10, 19, {}),
                         ("ceded to, bs=100", DECL_A_CEDED, 100, 16, {})]),
        ("B", [ILLNESS], [("ceded to tiers, bs=200", DECL_B, 200, 16, {}),
                          ("ceded to tiers, bs=100", DECL_B, 100, 16, {}),
                          ("ceded to tiers, bs=10", DECL_B, 10, 19, {})]),
        ("county", PORTFOLIO, [("port, ceded to tiers, bs=100", DECL_COUNTY, 100, 17, {"approx_freq_ge": 10**9}),
                               ("port, ceded to tiers, bs=10", DECL_COUNTY, 10, 20, {"approx_freq_ge": 10**9})]),
    ]
    for name, perils, agg_runs in cases:
        ref = None
        if with_reference:
            start = time.perf_counter()
            fine = compound_distribution(perils=perils, bucket=2.0, log2=22)
            ref = (float(fine.quantile(0.995)), float(fine.tvar(0.995)))
            print(f" case {name}: reference b=2, n=2^22 ({time.perf_counter() - start:.1f} s):"
                  f" VaR99.5 {ref[0]:,.0f}  TVaR99.5 {ref[1]:,.0f}")
            del fine
        for label, kw in (("ours, default bucket", {}), ("ours, b=10", {"bucket": 10.0})):
            t, c = timed(lambda kw=kw, perils=perils: compound_distribution(perils=perils, **kw), 3)
            exact = (c.exact_mean, c.exact_sd)
            _row(f"{label} (b={c.bucket:g})", t, c.mean, c.sd, c.quantile(0.995), c.tvar(0.995), exact, ref)
        for label, decl, bs, log2, kw in agg_runs:
            t, a = timed(lambda decl=decl, bs=bs, log2=log2, kw=kw: build(decl, bs=bs, log2=log2, **kw), 3)
            _row(f"aggregate {label}", t, a.est_m, a.est_sd, float(a.q(0.995)), float(a.tvar(0.995)), exact, ref)


def monte_carlo_reference() -> None:
    compound_distribution(*ILLNESS)
    t_fft, one = timed(lambda: compound_distribution(*ILLNESS), 5)
    t_mc, sims = timed(lambda: simulate_annual_payouts([ILLNESS], 100_000, seed=1), 1)
    se = float(sims.std(ddof=1) / np.sqrt(sims.size))
    print(f"reference: thinned Monte Carlo, case B, 10^5 years {t_mc:7.2f} s   mean {sims.mean():,.1f} ± {se:,.1f}"
          f" (1 SE), exact {one.exact_mean:,.1f}; ratio Monte Carlo / FFT {t_mc / t_fft:,.0f}×")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-reference", action="store_true", help="no b = 2, n = 2^22 reference quantiles")
    ap.add_argument("--only", choices=("county", "batch", "aggregate", "mc"), help="run one section only")
    args = ap.parse_args()
    sections = {"county": one_county, "batch": hundred_counties,
                "aggregate": lambda: side_by_side(not args.skip_reference), "mc": monte_carlo_reference}
    for key, fn in sections.items():
        if args.only in (None, key):
            fn()


if __name__ == "__main__":
    main()
