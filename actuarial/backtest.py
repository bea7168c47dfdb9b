"""Backtest of budget adequacy (actuarial.md §3 G7): simulate counties × years from a known model, fit on
the early years with :func:`actuarial.budget.budget`, score the last year.

The known model (:func:`simulate_history`), for county c = 1..C and year t = 0..T−1:

* insured heads (参保人数) E_ct = round(E_c0 · (1 + g)^t), E_c0 drawn uniformly in ``heads`` (exposure growth g);
* ground-up events (one per person-year with a medical expense) N_ct ~ Poisson(r · u_c · v_t · E_ct), with
  the county effect u_c ~ Gamma(mean 1, cv ``county_cv``) and a year shock v_t ~ Gamma(mean 1, cv ``year_cv``)
  shared by every county (so the counties of one year are not independent);
* ground-up amount X ~ lognormal(μ + t·log(1 + i), σ) with the medical trend i (医疗费用增长率);
* paid = g(X), the product line's schedule (:class:`actuarial.coverage.PayoutFunction`, the same schedule every
  year: the thresholds are fixed, so the paid layer grows faster than the ground-up amount), rounded to the fen.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actuarial.aggregate import compound_distribution
from actuarial.compound import Compound, grid_span, mixture, nice_step
from actuarial.coverage import PayoutFunction
from products import load_product
from products.model import Product

#: Lognormal with mean 8,000 yuan and cv 1.5 (actuarial.md §2 benchmark B): σ² = log(1 + 1.5²), μ = log 8000 − σ²/2.
BENCH_SIGMA = math.sqrt(math.log(1.0 + 1.5**2))
BENCH_MU = math.log(8000.0) - BENCH_SIGMA**2 / 2.0
#: Ground-up illness events per insured head per year (1,000 per 50,000, actuarial.md §2).
BENCH_RATE = 0.02
DEFAULT_PRODUCT = "fangpinbao-weixian-2025"
#: Naive baselines of actuarial.md G7: 3-year average paid per head × loading.
BASELINE_LOADINGS = (1.1, 1.3)
BASELINE_YEARS = 3


def _gamma_effect(rng: np.random.Generator, cv: float, size: int) -> np.ndarray:
    """Gamma draws with mean 1 and coefficient of variation cv (shape 1/cv², scale cv²); ones when cv = 0."""
    if cv <= 0.0:
        return np.ones(size)
    return rng.gamma(1.0 / cv**2, cv**2, size)


def _resolve_product(product: Product | str) -> Product:
    return load_product(product) if isinstance(product, str) else product


@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """The known model behind a simulated history (what the fit should recover)."""

    counties: tuple[str, ...]
    years: tuple[int, ...]
    line_id: str
    claim_rate: float  # r: ground-up events per head per year before the effects
    mu: float  # lognormal μ in the first year
    sigma: float
    medical_trend: float  # i
    exposure_growth: float  # g
    county_cv: float
    year_cv: float
    county_effect: pd.Series = field(repr=False)  # u_c by county
    year_shock: pd.Series = field(repr=False)  # v_t by year
    payout: PayoutFunction = field(repr=False)

    def severity(self, year: int) -> Any:
        """Frozen scipy lognormal of X in ``year``: μ_t = μ + (year − first year)·log(1 + i)."""
        from scipy import stats

        mu_t = self.mu + (year - self.years[0]) * math.log1p(self.medical_trend)
        return stats.lognorm(self.sigma, scale=math.exp(mu_t))

    def mean_payout(self, year: int) -> float:
        """E[g(X_year)]: exact expected payout per ground-up event (coverage.PayoutFunction.mean)."""
        return self.payout.mean(self.severity(year))

    def expected_events(self, exposure: pd.DataFrame, *, with_year_shock: bool = False) -> pd.Series:
        """E[N_ct | u_c] = r·u_c·E_ct (× v_t when ``with_year_shock``), indexed by (year, county)."""
        e = exposure.set_index(["year", "county"])["heads"].astype(float)
        u = self.county_effect.reindex(e.index.get_level_values("county")).to_numpy()
        out = self.claim_rate * u * e
        if with_year_shock:
            out = out * self.year_shock.reindex(e.index.get_level_values("year")).to_numpy()
        return out


def simulate_history(counties: int, years: int, *, seed: int, heads: tuple[int, int] | int = (10_000, 50_000),
                     claim_rate: float = BENCH_RATE, medical_trend: float = 0.06, exposure_growth: float = 0.02,
                     county_cv: float = 0.25, year_cv: float = 0.10,
                     severity: tuple[float, float] = (BENCH_MU, BENCH_SIGMA),
                     product: Product | str = DEFAULT_PRODUCT, line_id: str = "illness",
                     first_year: int = 2020) -> tuple[pd.DataFrame, pd.DataFrame, SimulationTruth]:
    """Simulate a claims history (历史理赔) of ``counties`` × ``years`` from the known model of the module docstring.

    Returns ``(claims, exposure, truth)``: ``claims`` in the history format of :mod:`actuarial.history`
    (year, county, peril = the line id, ground_up and paid in yuan, one row per ground-up event, paid may be 0),
    ``exposure`` (year, county, heads) and the :class:`SimulationTruth`.  Vectorised: one Poisson draw per
    county-year and one lognormal draw per event.  Deterministic by ``seed``.
    """
    if counties < 1 or years < 1:
        raise ValueError("counties and years must be ≥ 1 / 县数和年数须 ≥ 1")
    prod = _resolve_product(product)
    g = PayoutFunction.from_line(prod.line(line_id))
    rng = np.random.default_rng(seed)
    codes = tuple(f"{130401 + i:06d}" for i in range(counties))  # 6-digit division-like codes
    year_list = tuple(range(first_year, first_year + years))
    if isinstance(heads, (int, np.integer)):
        base_heads = np.full(counties, int(heads), dtype=float)
    else:
        lo, hi = heads
        base_heads = rng.integers(int(lo), int(hi) + 1, counties).astype(float)
    u = _gamma_effect(rng, county_cv, counties)
    v = _gamma_effect(rng, year_cv, years)
    t = np.arange(years)
    exposure_ct = np.rint(base_heads[:, None] * (1.0 + exposure_growth) ** t[None, :]).astype(np.int64)  # C × T
    lam = claim_rate * u[:, None] * v[None, :] * exposure_ct
    counts = rng.poisson(lam)  # C × T
    ci, ti = np.nonzero(counts >= 0)  # every cell, row-major (county, year)
    reps = counts[ci, ti]
    ev_c = np.repeat(ci, reps)
    ev_t = np.repeat(ti, reps)
    mu, sigma = severity
    x = np.exp(mu + ev_t * math.log1p(medical_trend) + sigma * rng.standard_normal(ev_c.size))
    ground_up = np.round(x, 2)
    paid = np.floor(np.asarray(g(ground_up)) * 100.0 + 0.5) / 100.0  # half-up to the fen, as the engine rounds
    claims = pd.DataFrame({
        "year": np.asarray(year_list, dtype=np.int64)[ev_t],
        "county": np.asarray(codes, dtype=object)[ev_c],
        "peril": line_id,
        "ground_up": ground_up,
        "paid": paid,
    })
    exposure = pd.DataFrame({
        "year": np.asarray(year_list, dtype=np.int64)[ti],
        "county": np.asarray(codes, dtype=object)[ci],
        "heads": exposure_ct[ci, ti],
    })
    truth = SimulationTruth(
        counties=codes, years=year_list, line_id=line_id, claim_rate=claim_rate, mu=mu, sigma=sigma,
        medical_trend=medical_trend, exposure_growth=exposure_growth, county_cv=county_cv, year_cv=year_cv,
        county_effect=pd.Series(u, index=pd.Index(codes, name="county")),
        year_shock=pd.Series(v, index=pd.Index(year_list, name="year")), payout=g)
    return claims, exposure, truth


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
#: to keep the backtest fast; the rounding discretisation keeps the mean exact to ~1e-4 all the same).
COUNTY_LOG2 = 13
COUNTY_HEADROOM = 1.25
#: Largest grid tried when a parameter draw's mean + 12 sd does not fit.
COUNTY_MAX_LOG2 = 22


def county_predictive(peril: Any, payout: PayoutFunction, year: int, heads: pd.Series, *, rng: np.random.Generator,
                      draws: int, year_cv_floor: float = 0.0) -> dict[str, Compound]:
    """Each county's predictive payout distribution next year, from one fitted peril.

    ``peril`` is a :class:`actuarial.budget.price.PerilBudget` of a run on all counties (severity pooled, frequency
    by credibility).  County c, draw b = 1..B (B = ``draws``; the plug-in alone when 0):

        θ_b ~ N(θ̂, cov) (``sample_theta``, shared by the counties: the severity is pooled),
        m_cb = λ̂_c · E_c · G_cb,  G_cb ~ Gamma(mean 1, cv = parameter_cv_c),
        S_cb = compound of NB(mean m_cb, mixing cv = year_cv) events and payouts g(X), X ~ F(·; θ_b, year),

    (year_cv = the frequency fit's systemic cv, at least ``year_cv_floor``; λ̂_c the county's credibility rate,
    the collective rate for a county without history; E_c its heads next year),

    and the predictive is the equal-weight mixture (1/B) Σ_b pmf(S_cb) on one grid per county
    (:func:`actuarial.compound.mixture`) — the same recipe as :func:`actuarial.budget.budget` applies to the
    total, done per county here because the backtest scores counties.
    """
    sev = peril.severity.best
    freq = peril.frequency
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
        shocks = _gamma_effect(rng, cv_p, len(sevs)) if draws > 0 else np.ones(1)
        parts = []
        for s_b, g_b in zip(sevs, shocks):
            spec = ({"dist": "negbin", "mean": lam * g_b, "cv": year_cv} if year_cv > 0
                    else {"dist": "poisson", "mean": lam * g_b})
            log2 = COUNTY_LOG2
            while True:
                try:
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


def run_backtest(counties: int, years: int, replications: int, *, level: float = 0.95, seed: int = 20260101,
                 bootstrap: int = 20, year_cv_floor: float = 0.10, progress: Callable[[int, int], None] | None = None,
                 **simulate: Any) -> BacktestResult:
    """Simulate, fit on years 1..T−1, score year T, ``replications`` times (module docstring).

    Per replication: one :func:`actuarial.budget.budget` run on the history of ALL counties (pooled severity,
    credibility frequency; no expense loading, VaR at ``level``; next year's heads known, as enrolment closes
    before the policy year) — its total budget is scored against the all-county total — then each county's
    predictive from that run's fitted peril (:func:`county_predictive`, ``bootstrap`` draws; 20 by default to
    keep 40 counties × 30 replications within minutes).  ``simulate`` is passed to :func:`simulate_history`.
    """
    import time

    from actuarial.budget import budget
    from actuarial.budget.inputs import Assumptions

    started = time.perf_counter()
    product = _resolve_product(simulate.pop("product", DEFAULT_PRODUCT))
    line_id = simulate.pop("line_id", "illness")
    payout = PayoutFunction.from_line(product.line(line_id))
    assumptions = Assumptions(expense_ratio=0.0, principle="var", level=level, bootstrap=bootstrap,
                              seed=seed, year_cv_floor=year_cv_floor)
    master = np.random.default_rng(seed)
    seeds = master.integers(0, 2**63 - 1, size=replications)
    rows, port = [], []
    for r in range(replications):
        rng = np.random.default_rng(int(seeds[r]))
        claims, exposure, truth = simulate_history(counties, years, seed=int(rng.integers(2**63 - 1)), product=product,
                                                   line_id=line_id, **simulate)
        last = truth.years[-1]
        fit_claims = claims[claims["year"] < last]
        fit_exposure = exposure[exposure["year"] < last]
        heads_next = exposure[exposure["year"] == last].set_index("county")["heads"]
        actual = (claims[claims["year"] == last].groupby("county")["paid"].sum()
                  .reindex(heads_next.index, fill_value=0.0))
        result = budget(fit_claims, fit_exposure, product, last, heads=int(heads_next.sum()), assumptions=assumptions)
        port.append({"replication": r, "heads": int(heads_next.sum()), "actual": float(actual.sum()),
                     "budget": float(result.budget_total), "mean": float(result.predictive.mean),
                     "covered": bool(actual.sum() <= result.budget_total)})
        peril = next(p for p in result.perils if p.line_id == line_id)
        preds = county_predictive(peril, payout, last, heads_next, rng=rng, draws=bootstrap,
                                  year_cv_floor=year_cv_floor)
        naive = {x: naive_budget(fit_claims, fit_exposure, last, heads_next, x) for x in BASELINE_LOADINGS}
        v = rng.random(len(heads_next))
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
        if progress is not None:
            progress(r + 1, replications)
    return BacktestResult(level=level, counties=counties, years=years, replications=replications, bootstrap=bootstrap,
                          seed=seed, scores=pd.DataFrame(rows), portfolio=pd.DataFrame(port),
                          seconds=time.perf_counter() - started)
