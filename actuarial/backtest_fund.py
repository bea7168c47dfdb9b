"""Backtest of the whole fund (issue 17, item 5): every line of the product simulated at once, optionally with a
common shock between lines (:func:`actuarial.simulation_lines.simulate_fund_history`), and the budget of the
fund — the sum over lines — scored as :mod:`actuarial.backtest` scores one line.

Per replication: fit :func:`actuarial.budget.budget` on years 0..T−2 of all lines (no expense loading, VaR at
``level``, the common shock NOT assumed: ``Assumptions.common_shock_cv`` = 0), score year T − 1:

* the all-county budget B (the budget's total over lines) against the all-county total S;
* per county c, the fund's predictive (:func:`county_fund_predictive`): draw b = 1..B of every bracket line l
  as in :func:`actuarial.backtest.county_predictive` (θ_lb shared by the counties, G_lcb ~ Gamma(mean 1,
  parameter cv_lc), NB(λ_lc·G_lcb, year_cv_l) events paying g_l(X), X ~ F_l(·; θ_lb)), the experience-priced
  lines (lump sums) as the budget prices them (:func:`actuarial.budget.fit.experience_line`: the pooled claims
  per head × E_c, NB(·G_b, year_cv) claims paying the historical amounts trended by the default trend),
  all lines of draw b on one grid (independent lines, transforms multiplied; bucket :data:`FUND_CAP_STEPS`), the
  predictive the equal-weight mixture over b; budget B_c = its q_level, coverage = share of county-years with S_c ≤ B_c, the randomised
  PIT and the pinball losses against the naive baselines, as in :class:`actuarial.backtest.BacktestResult`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from actuarial.aggregate import compound_batch
from actuarial.backtest import (
    BASELINE_LOADINGS,
    COUNTY_HEADROOM,
    COUNTY_LOG2,
    BacktestResult,
    naive_budget,
    score_replication,
)
from actuarial.compound import Compound, CompoundAccuracyWarning, Frequency, Peril, grid_span, mixture, nice_step
from actuarial.coverage import PayoutFunction
from actuarial.simulation import DEFAULT_PRODUCT, gamma_effect, resolve_product
from actuarial.simulation_lines import simulate_fund_history
from products.model import Product

__all__ = ["FUND_CAP_STEPS", "county_fund_predictive", "run_fund_backtest"]

#: The counties' common bucket is at most the smallest bracket-line cap / 120 (a nice step at or below it: 250 yuan
#: for the 30,000 caps of schooling and disaster), each county on as many 2^k points as cover its mean + 12 sd.  The rounding
#: discretisation's mean error grows as the bucket squared: on a county of the fund backtest (illness λ ≈ 900,
#: schooling and disaster fitted, 2023) −2.3e-3 (illness), −7.1e-3 (schooling) at bucket 1,000; −1.1e-4, −4.5e-4
#: at 250 (a county's fund mean off by about −1.5e-4, below the sampling noise of a coverage figure).
FUND_CAP_STEPS = 120


def _bracket_draws(pb: Any, payout: PayoutFunction, year: int, heads: pd.Series, rng: np.random.Generator,
                   draws: int, year_cv_floor: float) -> tuple[dict[str, list[Peril]], dict[str, tuple[float, float]]]:
    """Per county: the line's ``draws`` perils (θ_b shared by the counties, G_cb per county) and the plug-in
    exact mean and variance of its total (for the grid)."""
    sev, freq = pb.severity.best, pb.frequency
    units = list(freq.units)
    rate = pd.Series(np.asarray(freq.rate, dtype=float), index=units)
    pcv = pd.Series(np.asarray(freq.parameter_cv, dtype=float), index=units)
    year_cv = float(freq.year_cv) if math.isfinite(float(freq.year_cv)) else 0.0
    year_cv = max(year_cv, float(year_cv_floor))
    m1, m2 = (float(v) for v in payout.moments(sev.frozen(year), (1, 2)))
    thetas = sev.sample_theta(rng, draws) if draws > 0 else np.asarray([sev.theta])
    sevs = [sev.frozen(year, th) for th in thetas]
    perils: dict[str, list[Peril]] = {}
    moments: dict[str, tuple[float, float]] = {}
    for county, e in heads.items():
        lam = float(rate.get(county, freq.collective)) * float(e)
        cv_p = float(pcv.get(county, 0.0)) if draws > 0 else 0.0
        shocks = gamma_effect(rng, cv_p, len(sevs)) if draws > 0 else np.ones(1)
        perils[county] = [Peril(Frequency(lam * g_b, year_cv), s_b, payout, pb.line_id) for s_b, g_b in zip(sevs, shocks)]
        moments[county] = (lam * m1, lam * m2 + (year_cv**2 + cv_p**2) * (lam * m1) ** 2)
    return perils, moments


def county_fund_predictive(result: Any, product: Product, fit_claims: pd.DataFrame, fit_exposure: pd.DataFrame,
                           year: int, heads: pd.Series, *, rng: np.random.Generator, draws: int,
                           year_cv_floor: float = 0.0) -> dict[str, Compound]:
    """Each county's predictive of the fund's payout (all lines) next year from one :func:`budget` run
    ``result`` (module docstring); ``draws`` = 0 gives the plug-in."""
    from actuarial.budget.fit import experience_line
    from actuarial.budget.inputs import Assumptions

    per_line: list[tuple[dict[str, list[Peril]], dict[str, tuple[float, float]]]] = []
    caps: list[float] = []
    for pb in result.perils:
        g = PayoutFunction.from_line(product.line(pb.line_id))
        caps.append(float(g.max_payout))
        per_line.append(_bracket_draws(pb, g, year, heads, rng, draws, year_cv_floor))
    a: Assumptions = result.assumptions
    n = max(draws, 1)
    for line_id in result.experience_lines["line_id"] if len(result.experience_lines) else []:
        line = product.line(line_id)
        e = experience_line(line, fit_claims[fit_claims["peril"] == line_id], fit_exposure, 1.0, year, a, rng, [])
        if e is None:
            continue
        m1, m2 = e.amounts.moment(1), e.amounts.moment(2)
        factors = e.count_factors if draws > 0 else np.ones(1)
        cv = e.year_cv if draws > 0 else e.cv
        perils = {c: [Peril(Frequency(e.events * float(h) * float(factors[b]), cv), e.amounts, None, line_id)
                      for b in range(n)] for c, h in heads.items()}
        moments = {c: (e.events * float(h) * m1, e.events * float(h) * m2 + (e.cv * e.events * float(h) * m1) ** 2)
                   for c, h in heads.items()}
        per_line.append((perils, moments))
    spans = [grid_span(sum(mom[c][0] for _, mom in per_line), max(sum(mom[c][1] for _, mom in per_line), 0.0))
             for c in heads.index]
    bucket = nice_step(max(COUNTY_HEADROOM * max(spans) / 2**COUNTY_LOG2, 0.01), up=True)
    if caps:
        bucket = min(bucket, nice_step(min(caps) / FUND_CAP_STEPS))
    on_grid: dict[int, Any] = {}

    def gridded(amounts: Any) -> Any:  # an experience line's amounts split onto the grid once
        if id(amounts) not in on_grid:
            on_grid[id(amounts)] = amounts.on_grid(bucket)
        return on_grid[id(amounts)]

    parts: dict[str, list[Compound]] = {c: [] for c in heads.index}
    for b in range(n):  # one batch per draw: the counties share the draw's severities (discretised once)
        batch = [[Peril(p.frequency, gridded(p.severity), None, p.name) if p.payout is None else p
                  for p in (lines[c][b] for lines, _ in per_line)] for c in heads.index]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompoundAccuracyWarning)
            for c, comp in zip(heads.index, compound_batch(batch, bucket=bucket)):  # 2^k points ≥ mean + 12 sd
                parts[c].append(comp)
    return {c: mixture(parts[c]) for c in heads.index}


def run_fund_backtest(counties: int, years: int, replications: int, *, level: float = 0.95, seed: int = 20260101,
                      bootstrap: int = 20, year_cv_floor: float = 0.10,
                      progress: Callable[[int, int], None] | None = None, **simulate: Any) -> BacktestResult:
    """Simulate all lines (``simulate`` goes to :func:`simulate_fund_history`: ``shock_cv``, ``shock_lines``,
    ``lines``, ``county_cv``, ``year_cv`` …), fit on years 0..T−2, score year T − 1 per county and in total, the
    budget of the whole fund (module docstring), ``replications`` times.  The scores' ``actual`` is the
    county's payout summed over lines."""
    import time

    from actuarial.budget import budget
    from actuarial.budget.inputs import Assumptions

    started = time.perf_counter()
    product = resolve_product(simulate.pop("product", DEFAULT_PRODUCT))
    assumptions = Assumptions(expense_ratio=0.0, principle="var", level=level, bootstrap=bootstrap, seed=seed,
                              year_cv_floor=year_cv_floor, default_development=False)
    seeds = np.random.default_rng(seed).integers(0, 2**63 - 1, size=replications)
    rows, port = [], []
    for r in range(replications):
        rng = np.random.default_rng(int(seeds[r]))
        claims, exposure, _ = simulate_fund_history(counties, years, seed=int(rng.integers(2**63 - 1)),
                                                    product=product, **simulate)
        last = int(exposure["year"].max())
        fit_claims = claims[claims["year"] < last]
        fit_exposure = exposure[exposure["year"] < last]
        heads_next = exposure[exposure["year"] == last].set_index("county")["heads"]
        actual = (claims[claims["year"] == last].groupby("county")["paid"].sum()
                  .reindex(heads_next.index, fill_value=0.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompoundAccuracyWarning)
            result = budget(fit_claims, fit_exposure, product, last, heads=int(heads_next.sum()),
                            assumptions=assumptions)
        preds = county_fund_predictive(result, product, fit_claims, fit_exposure, last, heads_next, rng=rng,
                                       draws=bootstrap, year_cv_floor=year_cv_floor)
        naive = {x: naive_budget(fit_claims, fit_exposure, last, heads_next, x) for x in BASELINE_LOADINGS}
        whole, counted = score_replication(r, result, actual, preds, naive, heads_next, level, rng)
        port.append(whole)
        rows.extend(counted)
        if progress is not None:
            progress(r + 1, replications)
    return BacktestResult(level=level, counties=counties, years=years, replications=replications, bootstrap=bootstrap,
                          seed=seed, scores=pd.DataFrame(rows), portfolio=pd.DataFrame(port),
                          seconds=time.perf_counter() - started)
