"""Accuracy goal G3 (issue 5, acceptance 2): the FFT aggregate within 3 standard errors of a 10^6-year Monte Carlo.

Cases B and the county portfolio of benchmarks/aggregate.py (actuarial.md §2).  The simulation is
``actuarial.montecarlo.simulate_annual_payouts``: thinned at the trigger (only paid events are drawn:
N' ~ Poisson(λ·S(trigger)), for the negative binomial a gamma-mixed Poisson; X | X > trigger by the
inverse cdf), in chunks of 2·10^6 paid events, seeded.  For the mean, VaR and TVaR (Acerbi–Tasche) at
90/95/99/99.5% it prints the FFT value (default bucket), the Monte Carlo estimate, its standard error by
sectioning (100 sections of 10^4 years; ``monte_carlo_summary``) and, for VaR, the asymptotic SE
√(p(1 − p)/n)/f(q) with the density f(q) taken from the FFT cdf over q ± sd/20, then z = |FFT − MC| / SE
(sectioning), which must be ≤ 3.  Reference in the same run: the time of the FFT (ratio MC / FFT).

    python benchmarks/montecarlo.py                 # B and county, 10^6 years each (~1 min: run it alone)
    python benchmarks/montecarlo.py --years 100000 --case B
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time
from pathlib import Path

import numpy as np

from actuarial.aggregate import compound_distribution
from actuarial.montecarlo import monte_carlo_summary, simulate_annual_payouts

LEVELS = (0.90, 0.95, 0.99, 0.995)
LIMIT = 3.0  # |FFT − MC| / SE allowed (acceptance 2)


def _cases() -> dict[str, list]:
    """Case B and the county portfolio, from benchmarks/aggregate.py (loaded by path: the name ``aggregate``
    belongs to the PyPI package in the side-by-side venv)."""
    spec = importlib.util.spec_from_file_location("benchmarks_aggregate", Path(__file__).with_name("aggregate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"B": [module.ILLNESS], "county": module.PORTFOLIO}


def check(name: str, perils: list, years: int, seed: int) -> bool:
    compound_distribution(perils=perils)  # warm-up (imports, first-call caches)
    start = time.perf_counter()
    c = compound_distribution(perils=perils)
    t_fft = time.perf_counter() - start
    start = time.perf_counter()
    totals = simulate_annual_payouts(perils, years, seed=seed)
    t_mc = time.perf_counter() - start
    table = monte_carlo_summary(totals, LEVELS)
    fft = np.r_[c.mean, c.quantile(LEVELS), c.tvar(LEVELS)]
    h = c.exact_sd / 20
    cdf = np.cumsum(c.pmf)

    def density(q: float) -> float:
        lo, hi = (min(int(round(x / c.bucket)), cdf.size - 1) for x in (q - h, q + h))
        return float(cdf[hi] - cdf[lo]) / ((hi - lo) * c.bucket)

    asym = [math.nan] + [math.sqrt(p * (1 - p) / years) / density(q) for p, q in zip(LEVELS, fft[1:5])]
    asym += [math.nan] * len(LEVELS)
    z = np.abs(fft - table["estimate"].to_numpy()) / table["se"].to_numpy()
    print(f"case {name}: {years:,} years, seed {seed}: Monte Carlo {t_mc:.1f} s, FFT (b={c.bucket:g}) "
          f"{t_fft * 1000:.0f} ms, ratio {t_mc / t_fft:,.0f}×")
    print(f"  {'':<11}{'FFT':>13}{'MC':>13}{'SE sect.':>10}{'SE asym.':>10}{'SE/MC':>9}{'z':>7}")
    for label, f, est, se, sa, zz in zip(table.index, fft, table["estimate"], table["se"], asym, z):
        sa_txt = f"{sa:10,.0f}" if math.isfinite(sa) else f"{'':>10}"
        print(f"  {label:<11}{f:13,.0f}{est:13,.0f}{se:10,.0f}{sa_txt}{se / est:9.3%}{zz:7.2f}")
    ok = bool(np.all(z <= LIMIT))
    print(f"  max z = {z.max():.2f}  ({'within' if ok else 'NOT within'} {LIMIT:g} SE)")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--years", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--case", choices=("B", "county"), action="append", help="default: both")
    args = ap.parse_args()
    cases = _cases()
    results = [check(name, cases[name], args.years, args.seed) for name in (args.case or ["B", "county"])]
    raise SystemExit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
