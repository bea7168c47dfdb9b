"""Backtest of budget adequacy (actuarial.md §3 G7): simulate counties × years from a known model, fit on
the early years with :func:`actuarial.budget.budget`, score the last year.

The known model is simulated by :func:`actuarial.simulation.simulate_history` (one line); the whole fund, every
line at once with a common shock between lines, is scored by :mod:`actuarial.backtest_fund`.

Scoring (:func:`run_backtest`) of year T − 1, fitted on years 0..T−2, per county c:

* budget B_c = q_p of the county's predictive payout distribution next year (VaR at ``level``, no expense
  loading, so it is the quantile itself); coverage = share of county-years with S_c ≤ B_c, with the binomial
  95% interval of ``level`` for n = replications × counties.  Because the counties of one replication share
  the year shock, the coverage is also reported per replication (its spread is wider than binomial);
* PIT u_c = F̂_c(S_c−) + V·P̂_c(S = S_c), V ~ U(0, 1) (randomised PIT of a discrete forecast, Czado, Gneiting
  & Held 2009), and the Kolmogorov–Smirnov distance of the PITs from U(0, 1);
* pinball (quantile) loss at p, per head: L_p(B, S) = p·(S − B) if S ≥ B else (1 − p)·(B − S), for our
  budget and two naive baselines, the 3-year average paid per head × heads × 1.1 and × 1.3 (the prototype
  of actuarial.md G7); the mean budget in yuan per head of each.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actuarial.aggregate import compound_distribution
from actuarial.compound import Compound, CompoundAccuracyWarning, grid_span, mixture, nice_step
from actuarial.coverage import PayoutFunction
from actuarial.simulation import DEFAULT_PRODUCT, gamma_effect, resolve_product, simulate_history

#: Naive baselines of actuarial.md G7: 3-year average paid per head × loading.
BASELINE_LOADINGS = (1.1, 1.3)
BASELINE_YEARS = 3


# ---------------------------------------------------------------------------------------------- scores
def pinball_loss(budget: Any, actual: Any, level: float) -> np.ndarray:
    """Pinball (quantile) loss L_p(B, S) = p·(S − B) if S ≥ B else (1 − p)·(B − S), elementwise.

    Its expectation is minimised by the true p-quantile of S, so a lower mean loss means a better p-budget.
    """
    b = np.asarray(budget, dtype=float)
    s = np.asarray(actual, dtype=float)
    diff = s - b
    return np.where(diff >= 0.0, level * diff, (level - 1.0) * diff)


def randomized_pit(pmf: np.ndarray, bucket: float, actual: float, v: float) -> float:
    """Randomised PIT of a discrete forecast on the grid j·b: F(k−1) + v·p_k with k = round(S/b).

    For a continuous forecast this is F(S); for a discrete one with v ~ U(0, 1) it is exactly U(0, 1)
    when the forecast is right (Czado, Gneiting & Held, Biometrics 2009).  Values beyond the grid give 1.
    """
    k = int(math.floor(actual / bucket + 0.5))
    if k >= pmf.size:
        return 1.0
    below = float(pmf[:k].sum()) if k > 0 else 0.0
    return min(1.0, below + v * float(pmf[k]))


def naive_budget(claims: pd.DataFrame, exposure: pd.DataFrame, year: int, heads_next: pd.Series,
                 loading: float, n_years: int = BASELINE_YEARS) -> pd.Series:
    """Naive baseline per county: (Σ paid / Σ heads over the last ``n_years`` before ``year``) × heads × loading."""
    yrs = list(range(year - n_years, year))
    paid = claims[claims["year"].isin(yrs)].groupby("county")["paid"].sum()
    heads = exposure[exposure["year"].isin(yrs)].groupby("county")["heads"].sum()
    per_head = paid.reindex(heads.index, fill_value=0.0) / heads
    return (per_head.reindex(heads_next.index, fill_value=0.0) * heads_next * loading).rename(f"naive_x{loading:g}")


# ---------------------------------------------------------------------------------------------- run
#: Grid of each county's predictive distribution: 2^13 cells spanning 1.25 × (mean + 12 sd) of the plug-in with
#: parameter uncertainty, i.e. a bucket near 1/2,000 of the 95% quantile (coarser than the report's default grid,
#: to keep the backtest fast; the rounding discretisation keeps the mean within a few 1e-4 of the exact one, far
#: below the sampling noise of a coverage figure, so :class:`CompoundAccuracyWarning` is silenced for these grids).
COUNTY_LOG2 = 13
COUNTY_HEADROOM = 1.25
#: Largest grid tried when a parameter draw's mean + 12 sd does not fit.
COUNTY_MAX_LOG2 = 22


def county_predictive(line_budget: Any, payout: PayoutFunction, year: int, heads: pd.Series, *, rng: np.random.Generator,
                      draws: int, year_cv_floor: float = 0.0) -> dict[str, Compound]:
    """Each county's predictive payout distribution next year, from one fitted line.

    ``line_budget`` is a :class:`actuarial.budget.price.PerilBudget` of a run on all counties (severity pooled,
    frequency by credibility).  County c, draw b = 1..B (B = ``draws``; the plug-in alone when 0):

        θ_b ~ N(θ̂, cov) (``sample_theta``, shared by the counties: the severity is pooled),
        m_cb = λ̂_c · E_c · G_cb,  G_cb ~ Gamma(mean 1, cv = parameter_cv_c),
        S_cb = compound of NB(mean m_cb, mixing cv = year_cv) events and payouts g(X), X ~ F(·; θ_b, year),

    (year_cv = the frequency fit's systemic cv, at least ``year_cv_floor``; λ̂_c the county's credibility rate,
    the collective rate for a county without history; E_c its heads next year),

    and the predictive is the equal-weight mixture (1/B) Σ_b pmf(S_cb) on one grid per county
    (:func:`actuarial.compound.mixture`) — the same recipe as :func:`actuarial.budget.budget` applies to the
    total, done per county here because the backtest scores counties.
    """
    sev = line_budget.severity.best
    freq = line_budget.frequency
    units = list(freq.units)
    rate = pd.Series(np.asarray(freq.rate, dtype=float), index=units)
    pcv = pd.Series(np.asarray(freq.parameter_cv, dtype=float), index=units)
    year_cv = float(freq.year_cv) if math.isfinite(float(freq.year_cv)) else 0.0
    year_cv = max(year_cv, float(year_cv_floor))
    plug_sev = sev.frozen(year)
    m1, m2 = (float(v) for v in payout.moments(plug_sev, (1, 2)))
    thetas = sev.sample_theta(rng, draws) if draws > 0 else np.asarray([sev.theta])
    sevs = [sev.frozen(year, th) for th in thetas]
    out: dict[str, Compound] = {}
    for county, e in heads.items():
        lam = float(rate.get(county, freq.collective)) * float(e)
        cv_p = float(pcv.get(county, 0.0)) if draws > 0 else 0.0
        total_cv2 = year_cv**2 + (cv_p**2 if draws > 0 else 0.0)
        var = lam * m2 + total_cv2 * (lam * m1) ** 2
        span = grid_span(lam * m1, max(var, 0.0))
        bucket = nice_step(max(COUNTY_HEADROOM * span / 2**COUNTY_LOG2, 0.01), up=True)
        shocks = gamma_effect(rng, cv_p, len(sevs)) if draws > 0 else np.ones(1)
        parts = []
        for s_b, g_b in zip(sevs, shocks):
            spec = ({"dist": "negbin", "mean": lam * g_b, "cv": year_cv} if year_cv > 0
                    else {"dist": "poisson", "mean": lam * g_b})
            log2 = COUNTY_LOG2
            while True:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", CompoundAccuracyWarning)
                        comp = compound_distribution(spec, s_b, payout, bucket=bucket, log2=log2)
                    break
                except ValueError:  # this draw's mean + 12 sd is beyond the grid: widen it
                    if log2 >= COUNTY_MAX_LOG2:
                        raise
                    log2 += 1
            parts.append(comp)
        out[county] = mixture(parts)
    return out


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Scores of a backtest (see the module docstring).  ``scores``: one row per replication × county."""

    level: float
    counties: int
    years: int
    replications: int
    bootstrap: int
    seed: int
    scores: pd.DataFrame = field(repr=False)
    portfolio: pd.DataFrame = field(repr=False)  # per replication: the all-county budget of budget() vs actual
    seconds: float = 0.0

    @property
    def n(self) -> int:
        return int(len(self.scores))

    @property
    def coverage(self) -> float:
        """Share of county-years with S ≤ B."""
        return float(self.scores["covered"].mean())

    @property
    def coverage_interval(self) -> tuple[float, float]:
        """Central 95% binomial interval of the coverage if it were exactly ``level`` with n independent trials:
        scipy.stats.binom.interval(0.95, n, level) / n."""
        from scipy import stats

        lo, hi = stats.binom.interval(0.95, self.n, self.level)
        return float(lo / self.n), float(hi / self.n)

    @property
    def coverage_by_replication(self) -> pd.Series:
        return self.scores.groupby("replication")["covered"].mean()

    @property
    def pit_ks(self) -> tuple[float, float]:
        """Kolmogorov–Smirnov distance of the PITs from U(0, 1) and its p-value (which assumes independent PITs;
        the counties of one replication share the year shock, so read it as a distance, not a test)."""
        from scipy import stats

        res = stats.kstest(self.scores["pit"].to_numpy(), "uniform")
        return float(res.statistic), float(res.pvalue)

    @property
    def pit_by_replication(self) -> dict[str, float]:
        """Cluster-aware check of the PIT: the mean PIT of each replication (independent across replications,
        unlike the counties inside one), their mean and sd, and the two-sided one-sample t-test p-value of
        E[mean PIT] = 0.5 (scipy.stats.ttest_1samp; nan with one replication)."""
        from scipy import stats

        m = self.scores.groupby("replication")["pit"].mean()
        p = float(stats.ttest_1samp(m, 0.5).pvalue) if len(m) > 1 else float("nan")
        return {"mean": float(m.mean()), "sd": float(m.std(ddof=1)) if len(m) > 1 else 0.0, "t_pvalue": p}

    def methods(self) -> list[str]:
        return ["model"] + [f"naive_x{x:g}" for x in BASELINE_LOADINGS]

    @property
    def summary(self) -> pd.DataFrame:
        """Per method: coverage, mean pinball loss per head (yuan), mean budget per head (yuan)."""
        s = self.scores
        rows = []
        for m in self.methods():
            b = s[f"budget_{m}"].to_numpy()
            rows.append({
                "method": m,
                "coverage": float((s["actual"].to_numpy() <= b).mean()),
                "pinball_per_head": float((pinball_loss(b, s["actual"], self.level) / s["heads"]).mean()),
                "budget_per_head": float((b / s["heads"]).mean()),
            })
        return pd.DataFrame(rows).set_index("method")

    @property
    def passed(self) -> bool:
        """Coverage inside the binomial interval and a lower pinball loss than every naive baseline."""
        lo, hi = self.coverage_interval
        summ = self.summary
        beats = all(summ.loc["model", "pinball_per_head"] < summ.loc[m, "pinball_per_head"] for m in self.methods()[1:])
        return bool(lo <= self.coverage <= hi and beats)

    def to_dict(self) -> dict[str, Any]:
        by_rep = self.coverage_by_replication
        ks, ks_p = self.pit_ks
        lo, hi = self.coverage_interval
        return {
            "level": self.level, "counties": self.counties, "years": self.years, "replications": self.replications,
            "bootstrap": self.bootstrap, "seed": self.seed, "county_years": self.n,
            "coverage": self.coverage, "coverage_interval": [lo, hi],
            "coverage_by_replication": {"mean": float(by_rep.mean()),
                                        "sd": float(by_rep.std(ddof=1)) if len(by_rep) > 1 else 0.0,
                                        "min": float(by_rep.min()), "max": float(by_rep.max()),
                                        "binomial_sd": math.sqrt(self.level * (1 - self.level) / self.counties)},
            "pit": {"ks": ks, "ks_pvalue": ks_p, "mean": float(self.scores["pit"].mean()),
                    "by_replication": self.pit_by_replication,
                    "deciles": np.histogram(self.scores["pit"], bins=10, range=(0, 1))[0].tolist()},
            "methods": {m: {k: float(v) for k, v in row.items()} for m, row in self.summary.iterrows()},
            "portfolio_coverage": float(self.portfolio["covered"].mean()) if len(self.portfolio) else None,
            "passed": self.passed, "seconds": self.seconds,
        }

    def format_lines(self) -> list[str]:
        d = self.to_dict()
        lo, hi = d["coverage_interval"]
        rep = d["coverage_by_replication"]
        lines = [
            f"回测 / backtest: {self.counties} 县 counties × {self.years} 年 years × {self.replications} 次 replications, "
            f"预算分位 / budget at q{self.level:g}, 参数抽样 / bootstrap {self.bootstrap}",
            f"覆盖率 / coverage S ≤ B: {d['coverage']:.3f}  (二项 95% 区间 / binomial 95% interval of {self.level:g} "
            f"for n = {self.n}: [{lo:.3f}, {hi:.3f}])",
            f"各次覆盖率 / coverage per replication: mean {rep['mean']:.3f}, sd {rep['sd']:.3f} "
            f"(binomial sd {rep['binomial_sd']:.3f}), min {rep['min']:.3f}, max {rep['max']:.3f}",
            f"PIT: KS {d['pit']['ks']:.3f} (p {d['pit']['ks_pvalue']:.3f}), mean {d['pit']['mean']:.3f}, "
            f"deciles {d['pit']['deciles']}",
            f"  各次平均 PIT / mean PIT per replication: mean {d['pit']['by_replication']['mean']:.3f}, "
            f"sd {d['pit']['by_replication']['sd']:.3f}, "
            f"t-test of 0.5 p = {d['pit']['by_replication']['t_pvalue']:.2f} "
            "(KS p 假定独立 / the KS p-value assumes independent counties, which share the year shock)",
            "方法 method        覆盖率 coverage   pinball 每人 per head   预算每人 budget per head",
        ]
        for m, row in self.summary.iterrows():
            lines.append(f"  {m:<16} {row['coverage']:>8.3f}   {row['pinball_per_head']:>12.4f}   "
                         f"{row['budget_per_head']:>12.2f}")
        if d["portfolio_coverage"] is not None:
            lines.append(f"全部县合计预算覆盖率 / all-county budget coverage: {d['portfolio_coverage']:.3f} "
                         f"(n = {len(self.portfolio)})")
        lines.append(f"结论 / verdict: {'通过 / passed' if self.passed else '未通过 / not passed'}")
        return lines

    def write(self, out_dir: str | Path) -> Path:
        """backtest.json, counties.csv (scores) and portfolio.csv under ``out_dir``; returns backtest.json."""
        import json

        from claims.engine.output import write_csv

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(self.scores, out / "counties.csv")
        write_csv(self.portfolio, out / "portfolio.csv")
        path = out / "backtest.json"
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path


def score_replication(r: int, result: Any, actual: pd.Series, preds: dict, naive: dict, heads_next: pd.Series,
                      level: float, rng: np.random.Generator) -> tuple[dict, list[dict]]:
    """One replication's scores: the all-county row (``result``'s budget against the counties' total) and one
    row per county (its predictive's ``level`` quantile as the budget, covered = S ≤ budget, the randomized PIT
    with one uniform per county drawn from ``rng`` in county order, and the naive baselines' budgets)."""
    whole = {"replication": r, "heads": int(heads_next.sum()), "actual": float(actual.sum()),
             "budget": float(result.budget_total), "mean": float(result.predictive.mean),
             "covered": bool(actual.sum() <= result.budget_total)}
    v = rng.random(len(heads_next))
    rows = []
    for i, (county, e) in enumerate(heads_next.items()):
        pred = preds[county]
        s = float(actual[county])
        bud = pred.quantile(level)
        row = {"replication": r, "county": county, "heads": int(e), "actual": s, "mean": pred.mean,
               "budget_model": bud, "covered": s <= bud,
               "pit": randomized_pit(pred.pmf, pred.bucket, s, float(v[i]))}
        for x in BASELINE_LOADINGS:
            row[f"budget_naive_x{x:g}"] = float(naive[x][county])
        rows.append(row)
    return whole, rows


def run_backtest(counties: int, years: int, replications: int, *, level: float = 0.95, seed: int = 20260101,
                 bootstrap: int = 20, year_cv_floor: float = 0.10, progress: Callable[[int, int], None] | None = None,
                 **simulate: Any) -> BacktestResult:
    """Simulate, fit on years 1..T−1, score year T, ``replications`` times (module docstring).

    Per replication: one :func:`actuarial.budget.budget` run on the history of ALL counties (pooled severity,
    credibility frequency; no expense loading, VaR at ``level``; next year's heads known, as enrolment closes
    before the policy year) — its total budget is scored against the all-county total — then each county's
    predictive from that run's fitted line (:func:`county_predictive`, ``bootstrap`` draws; 20 by default to
    keep 40 counties × 30 replications within minutes).  ``simulate`` is passed to :func:`simulate_history`.
    """
    import time

    from actuarial.budget import budget
    from actuarial.budget.inputs import Assumptions

    started = time.perf_counter()
    product = resolve_product(simulate.pop("product", DEFAULT_PRODUCT))
    line_id = simulate.pop("line_id", "illness")
    payout = PayoutFunction.from_line(product.line(line_id))
    # the simulated history is complete when it has no report lags: no default lag pattern
    assumptions = Assumptions(expense_ratio=0.0, principle="var", level=level, bootstrap=bootstrap,
                              seed=seed, year_cv_floor=year_cv_floor, default_development=False)
    master = np.random.default_rng(seed)
    seeds = master.integers(0, 2**63 - 1, size=replications)
    rows, port = [], []
    for r in range(replications):
        rng = np.random.default_rng(int(seeds[r]))
        claims, exposure, truth = simulate_history(counties, years, seed=int(rng.integers(2**63 - 1)), product=product,
                                                   line_id=line_id, **simulate)
        last = truth.years[-1]
        fit_claims = claims[claims["year"] < last]
        if "report_lag" in fit_claims.columns:  # valued at the end of the last fitted year: later reports unknown
            fit_claims = fit_claims[4 * (fit_claims["year"] - truth.years[0]) + fit_claims["report_lag"]
                                    < 4 * (last - truth.years[0])]
        fit_exposure = exposure[exposure["year"] < last]
        heads_next = exposure[exposure["year"] == last].set_index("county")["heads"]
        actual = (claims[claims["year"] == last].groupby("county")["paid"].sum()
                  .reindex(heads_next.index, fill_value=0.0))
        result = budget(fit_claims, fit_exposure, product, last, heads=int(heads_next.sum()), assumptions=assumptions)
        line_budget = next(p for p in result.perils if p.line_id == line_id)
        preds = county_predictive(line_budget, payout, last, heads_next, rng=rng, draws=bootstrap,
                                  year_cv_floor=year_cv_floor)
        naive = {x: naive_budget(fit_claims, fit_exposure, last, heads_next, x) for x in BASELINE_LOADINGS}
        whole, counted = score_replication(r, result, actual, preds, naive, heads_next, level, rng)
        port.append(whole)
        rows.extend(counted)
        if progress is not None:
            progress(r + 1, replications)
    return BacktestResult(level=level, counties=counties, years=years, replications=replications, bootstrap=bootstrap,
                          seed=seed, scores=pd.DataFrame(rows), portfolio=pd.DataFrame(port),
                          seconds=time.perf_counter() - started)
