"""Aggregate-loss speed: one county (one peril, three perils) and 100 counties, by FFT.

Reference in the same run: a plain Monte Carlo of the same county (one peril) with 10^5 simulated years —
what a spreadsheet-and-simulation approach does — and its standard error of the mean, next to the FFT's
exact-vs-computed error.  The cases are actuarial.md §2's case B (illness tiers 50/70/90% above 5,000,
cap 73,500; lognormal severity mean 8,000, CV 1.5; Poisson 1,000 events) plus two assumed perils.

    python benchmarks/aggregate.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from scipy import stats

from actuarial import PayoutFunction, compound_distribution
from products.model import Bracket, Line


def lognorm(mean: float, cv: float):  # noqa: ANN201
    s2 = np.log1p(cv * cv)
    return stats.lognorm(np.sqrt(s2), scale=mean * np.exp(-s2 / 2))


def line(line_id: str, tiers: list[tuple[int, int, float]], cap: int) -> Line:
    return Line(id=line_id, peril="illness", basis="person", name=line_id, kind="bracket", source="medical",
                start_line=tiers[0][0] * 100, trigger=tiers[0][0] * 100,
                brackets=tuple(Bracket(lo * 100, hi * 100, round(r * 10_000)) for lo, hi, r in tiers),
                cap_per_year=cap * 100)


ILLNESS = ({"dist": "poisson", "mean": 1000.0}, lognorm(8000.0, 1.5),
           line("B", [(5000, 20_000, 0.5), (20_000, 50_000, 0.7), (50_000, 100_000, 0.9)], 73_500))
PORTFOLIO = [
    ILLNESS,
    ({"dist": "negbin", "mean": 60.0, "cv": 0.5}, lognorm(15_000.0, 1.2),
     line("disaster", [(10_000, 30_000, 0.6), (30_000, 80_000, 0.8)], 52_000)),
    ({"dist": "poisson", "mean": 300.0}, lognorm(9000.0, 0.6), line("schooling", [(8000, 20_000, 0.8)], 9600)),
]


def timed(fn, repeat: int = 7) -> tuple[float, object]:  # noqa: ANN001
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def monte_carlo(years: int, seed: int = 1) -> np.ndarray:
    freq, sev, ln = ILLNESS
    g = PayoutFunction.from_line(ln)
    rng = np.random.default_rng(seed)
    counts = rng.poisson(freq["mean"], size=years)
    losses = g(sev.rvs(size=int(counts.sum()), random_state=rng))
    return np.add.reduceat(losses, np.r_[0, np.cumsum(counts)[:-1]]) if years else losses


def main() -> None:
    compound_distribution(*ILLNESS)  # warm-up (imports, FFT plans)
    t1, one = timed(lambda: compound_distribution(*ILLNESS))
    t3, three = timed(lambda: compound_distribution(perils=PORTFOLIO))
    t100, _ = timed(lambda: [compound_distribution(perils=PORTFOLIO) for _ in range(100)], repeat=1)
    t_mc, sims = timed(lambda: monte_carlo(100_000), repeat=1)
    mc_mean, mc_se = float(sims.mean()), float(sims.std(ddof=1) / np.sqrt(len(sims)))
    print(f"one county, one peril (FFT)        {t1 * 1000:8.1f} ms   mean {one.mean:,.1f}  exact {one.exact_mean:,.1f}"
          f"  rel.err {one.mean / one.exact_mean - 1:+.1e}")
    print(f"one county, three perils (FFT)     {t3 * 1000:8.1f} ms   valid={three.valid}")
    print(f"100 counties × three perils        {t100:8.2f} s")
    print(f"reference: Monte Carlo 10^5 years  {t_mc:8.2f} s   mean {mc_mean:,.1f} ± {mc_se:,.1f} (1 SE)")
    print(f"ratio Monte Carlo / FFT (one peril) {t_mc / t1:7.0f}×")


if __name__ == "__main__":
    main()
