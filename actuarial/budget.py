"""Next year's premium budget (保费预算) from the claims history: ``budget(claims, exposure, product, year)``.

Method (actuarial.md §3 steps 1, 3–7).  ``year`` is the policy year being budgeted; the history is every
claims/exposure row of an earlier year.  ``product`` is the version whose schedule will be in force.

1. **Bracket lines** (``kind == "bracket"``, g from :meth:`PayoutFunction.from_line`) are priced by the
   model below.  Per line, the claims rows with ``peril`` = the line id:

   * ground-up amount x = ``ground_up``; where it is NaN, x = g⁻¹(paid) when 0 < paid < cap, and a
     right-censored point at x_cap when paid = cap (rows with paid = 0 and no amount are dropped, noted).
     g is the schedule of ``product``: the inversion assumes the history was paid under the same schedule;
   * truncation d (报案门槛): ``"auto"`` = the line's trigger (预警线, yuan) when every row has paid > 0 or a
     ground-up amount above the trigger (a history of paid claims only), else 0; ``"trigger"`` = the trigger; ``"none"`` = 0.  Rows with x ≤ d
     are not in the data;
   * **severity** (:func:`actuarial.severity.fit_severity`): lognormal / gamma / Lomax by MLE, left-truncated
     at d, right-censored at the cap, pooled across counties, years as the trend covariate, best by AIC.
     The trend: ``Assumptions.trend`` given → imposed (``trend_rate``: a known β = log(1 + i), the
     truncation is still exact year by year); None with ≥ 3 years → fitted; None with fewer →
     ``default_trend`` imposed, and noted.  Next year's ground-up X ~ ``best.frozen(year)``;
   * **frequency** (:func:`actuarial.frequency.fit_frequency`): per county c and year t, ground-up
     events Ñ_ct = N_ct / S_t(d) (N_ct claims above d, S_t the fitted severity of year t), rate per
     insured head by Bühlmann–Straub credibility (weights = heads), systemic year cv floored at
     ``year_cv_floor``.  Next year's events λ_c = rate_c × E_c,next; E_next: ``heads`` split across
     counties in proportion to the latest year's exposure, else the latest exposure × (1 + g)^(year −
     latest), g the log-linear growth of the total insured heads (flat with one year of exposure; noted);
   * **development** (报案进展, step 2): when the claims carry ``report_lag`` (quarters from the start of
     the policy year to the report) over ≥ 3 years, each year's count is multiplied by its chain-ladder
     factor ultimate/reported (:func:`actuarial.reserving.count_development`, quarterly ages) before the
     rates are fitted, and the latest year's Mack cv (SE/ultimate) joins the parameter cv below;
   * N ~ negative binomial with mean Σ_c λ_c and mixing cv sqrt(year_cv² + cv_par²), where
     cv_par² = (Σ_c λ_c·cv_par,c / Σ_c λ_c)² + 1/N_obs: the county parameter cvs of ``fit_frequency``
     combined by weight (fully correlated, the cautious choice, since every county's estimate leans on
     the same collective m̂), plus — with several counties — the Poisson cv of the collective level
     itself, 1/sqrt(N_obs) with N_obs the claims observed above d (the credibility cv sqrt((1 − z)â)/λ̂
     leaves it out and is 0 when â ≤ 0), plus the development cv² when development was applied.

2. **Other lines** (lump sums, death/disability tables, income drop) have no payout function: each is
   priced at its experience — claims per head (Σ claims / Σ heads over the history) × next year's heads
   events, each paying one of the historical paid amounts (empirical distribution) trended by
   (1 + i)^(year − t) with i = ``Assumptions.trend`` or ``default_trend`` — and listed in ``notes``.  A
   line without history is left out, with a note.  Claims of lines the product does not have are ignored
   (noted).  A bracket line whose severity cannot be fitted (fewer than ``MIN_SEVERITY_SAMPLE`` = 10 exact amounts, or no family
   converged) falls back to this experience pricing, noted.  On the FFT grid each historical amount
   v = (j + w)·b is split into 1 − w at j·b and w at (j + 1)·b (mean kept exactly).

3. **plug_in** = the compound (:func:`actuarial.aggregate.compound_distribution`) of all priced lines at
   the point estimates, independent lines, transforms multiplied; its bucket is refined (next smaller
   step) until the computed mean and sd agree with the exact ones within 1e-4 (at most 2^18 points).
   Exact payout moments E[g(X)^k] come from :meth:`PayoutFunction.moments`, with a closed form for the
   Lomax family too (:mod:`actuarial.coverage`).

4. **predictive** (parameter uncertainty, step 7) = the equal-weight mixture of ``bootstrap`` compounds
   on ONE common grid (the plug-in bucket; shorter draws padded with zeros), so its pmf is the average
   pmf.  Draw b of a bracket line uses severity θ_b from :meth:`SeverityFit.sample_theta` in antithetic pairs
   θ̂ ± (θ − θ̂) (the draws average exactly to θ̂), and a frequency mean λ·G_b, G_b ~ Gamma(mean 1, cv
   cv_par) by stratified sampling (u_b = (π_b + U_b)/B), with NB mixing cv = year_cv (the parameter part
   is now in the draws).  Exact moments of the mixture: E[S] = mean_b E_b[S], E[S²] = mean_b E_b[S²].

5. **Budget** B = ``premium_table(predictive, …).loc[principle, "total"]`` (risk premium / (1 − expense
   ratio)); P(S > B) under predictive; the P10–P90 band per head (payout quantiles, no expense loading).

6. **What-if**: ``draft`` priced with the SAME fitted severities, frequencies and parameter draws (common
   random numbers); a draft line with no fitted model is skipped with a note.  :meth:`BudgetResult.comparison`.

Deterministic given ``Assumptions.seed``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from products.model import Line, Product

from actuarial.aggregate import (Compound, Frequency, Peril, compound_batch, compound_distribution, default_bucket, grid_span,
                        mixture, nice_step, peril_moments)
from actuarial.coverage import PayoutFunction
from actuarial.premium import PRINCIPLES, band, premium_table

__all__ = ["Assumptions", "BudgetError", "BudgetResult", "PerilBudget", "budget"]

_TRUNCATIONS = ("auto", "none", "trigger")
_MAX_POINTS = 2**18  # largest plug-in grid the bucket refinement goes to
_CAP_TOLERANCE = 0.005  # yuan: paid within half a fen of the cap counts as "reached the cap"
#: Fewest exact (uncensored) amounts above the truncation point for a severity fit; below it the line is
#: priced at experience.  Two or three points "fit" any two-parameter family (the MLE exists, the AIC
#: ranking and the SEs mean nothing), so a county's two disaster claims must not set a tail.
MIN_SEVERITY_SAMPLE = 10


class BudgetError(ValueError):
    """The history cannot be priced (messages "中文 / English")."""


@dataclass(frozen=True)
class Assumptions:
    """Pricing assumptions (定价假设)."""

    expense_ratio: float = 0.15  # 费用率
    principle: str = "var"  # which principle sets THE budget (a key of PRINCIPLES)
    level: float = 0.95  # p of VaR/TVaR
    theta: float = 0.10
    kappa: float = 1.0
    coc_rate: float = 0.06
    coc_level: float = 0.995
    trend: float | None = None  # annual ground-up severity trend; None = fitted when ≥ 3 years, else default_trend
    default_trend: float = 0.05
    year_cv_floor: float = 0.10  # systemic cv floor (actuarial.md §3, G7 prototype)
    bootstrap: int = 40  # parameter draws (parametric bootstrap) mixed into the predictive distribution
    seed: int = 20260101
    truncation: str = "auto"  # "auto" | "none" | "trigger"

    def __post_init__(self) -> None:
        if self.principle not in PRINCIPLES:
            raise BudgetError(f"未知的保费原则 {self.principle!r}（可用：{', '.join(PRINCIPLES)}） / "
                              f"unknown premium principle {self.principle!r} (use one of {', '.join(PRINCIPLES)})")
        if self.truncation not in _TRUNCATIONS:
            raise BudgetError(f"truncation 须为 {'/'.join(_TRUNCATIONS)} / truncation must be one of "
                              f"{', '.join(_TRUNCATIONS)}, got {self.truncation!r}")
        if not 0.0 <= self.expense_ratio < 1.0:
            raise BudgetError(f"费用率须在 [0, 1) 内 / expense ratio must lie in [0, 1), got {self.expense_ratio!r}")
        if int(self.bootstrap) < 0:
            raise BudgetError(f"bootstrap 不能为负 / bootstrap must be >= 0, got {self.bootstrap!r}")
        for name in ("trend", "default_trend"):
            v = getattr(self, name)
            if v is not None and not v > -1.0:
                raise BudgetError(f"{name} 须大于 -1 / {name} must be > -1, got {v!r}")


@dataclass(frozen=True, eq=False)
class PerilBudget:
    """One bracket line priced by the model: fits, expected events and the plug-in moments of its payout."""

    line_id: str
    peril: str
    name: str
    severity: Any  # actuarial.severity.SeverityComparison
    frequency: Any  # actuarial.frequency.FrequencyFit
    events: float  # expected ground-up events next year (all counties)
    mean: float  # exact mean of this line's aggregate payout next year (plug-in)
    sd: float  # exact sd (plug-in)
    truncation: float = 0.0  # d used in the severity fit (yuan)
    mixing_cv: float = 0.0  # NB mixing cv of the plug-in count: sqrt(year_cv² + cv_par²)
    county_events: pd.Series | None = field(default=None, repr=False)  # λ_c by county


@dataclass(frozen=True, eq=False)
class BudgetResult:
    """The budget for ``year`` (see the module docstring); ``predictive`` is THE distribution."""

    product_code: str
    product_name: str
    year: int
    heads: int
    assumptions: Assumptions
    perils: tuple[PerilBudget, ...]
    predictive: Compound
    plug_in: Compound
    premiums: pd.DataFrame
    budget_total: float
    budget_per_head: float
    prob_exceed: float
    band: pd.DataFrame
    experience: pd.DataFrame
    validation: pd.DataFrame
    notes: tuple[str, ...]
    whatif: BudgetResult | None = None
    #: lines priced at their experience (step 2): line_id, name, kind, events, mean (yuan), per_head
    experience_lines: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def comparison(self) -> pd.DataFrame:
        """Current vs draft side by side: index = quantity; columns current, draft, change, ratio.

        Rows: mean and sd of S (predictive), budget total and per head, P(S > budget), and the per-head
        premium of every principle (``per_head:<principle>``).  Empty frame without a what-if.
        """
        if self.whatif is None:
            return pd.DataFrame(columns=["current", "draft", "change", "ratio"])

        def column(r: BudgetResult) -> pd.Series:
            values = {"mean": r.predictive.mean, "sd": r.predictive.sd, "budget_total": r.budget_total,
                      "budget_per_head": r.budget_per_head, "prob_exceed": r.prob_exceed}
            for key in PRINCIPLES:
                values[f"per_head:{key}"] = float(r.premiums.loc[key, "per_head"])
            return pd.Series(values, dtype="float64")

        out = pd.DataFrame({"current": column(self), "draft": column(self.whatif)})
        out["change"] = out["draft"] - out["current"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["ratio"] = out["draft"] / out["current"]
        out.index.name = "quantity"
        return out

    def to_dict(self) -> dict:
        """JSON-able summary (plain float/int/str, no numpy types; NaN → None)."""

        def dist(c: Compound) -> dict:
            return {"mean": c.mean, "sd": c.sd, "exact_mean": c.exact_mean, "exact_sd": c.exact_sd,
                    "bucket": c.bucket, "points": int(c.pmf.size), "valid": c.valid}

        perils = []
        for p in self.perils:
            best = p.severity.best
            perils.append({
                "line_id": p.line_id, "peril": p.peril, "name": p.name, "events": p.events, "mean": p.mean,
                "sd": p.sd, "truncation": p.truncation, "mixing_cv": p.mixing_cv,
                "severity": {"family": best.family, "params": dict(best.params), "aic": best.aic, "n": best.n,
                             "trend_fitted": bool(best.has_trend)},
                "frequency": {"collective": p.frequency.collective, "year_cv": p.frequency.year_cv},
            })
        out = {
            "product_code": self.product_code, "product_name": self.product_name, "year": self.year,
            "heads": self.heads, "assumptions": asdict(self.assumptions), "perils": perils,
            "predictive": dist(self.predictive), "plug_in": dist(self.plug_in),
            "premiums": _records(self.premiums, "principle"), "budget_total": self.budget_total,
            "budget_per_head": self.budget_per_head, "prob_exceed": self.prob_exceed,
            "band": _records(self.band, "p"), "experience": _records(self.experience),
            "experience_lines": _records(self.experience_lines),
            "validation": _records(self.validation.reset_index()), "notes": list(self.notes),
            "whatif": None if self.whatif is None else self.whatif.to_dict(),
            "comparison": None if self.whatif is None else _records(self.comparison(), "quantity"),
        }
        return _plain(out)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if v is None or isinstance(v, str):
        return v
    if v is pd.NA:
        return None
    return str(v)


def _records(frame: pd.DataFrame, index: str | None = None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    f = frame.reset_index() if index is not None else frame
    if index is not None and index not in f.columns:
        f = f.rename(columns={f.columns[0]: index})
    return [_plain(r) for r in f.to_dict(orient="records")]


# ------------------------------------------------------------------------------------- empirical amounts
class _EmpiricalAmounts:
    """Discrete distribution of the paid amount per claim of an experience-priced line (values v_k with
    probabilities π_k): the ``severity`` of a ground-up :class:`Peril` (payout None), with the three
    methods :mod:`actuarial.aggregate` reads — ``moment(k)`` = Σ π_k v_k^k, ``sf(y)`` = Σ_{v_k > y} π_k,
    ``support()``.  Hand-written because scipy.stats.rv_discrete needs integer support points."""

    def __init__(self, values: np.ndarray):
        v, counts = np.unique(np.asarray(values, dtype=float), return_counts=True)
        self.values = v
        self.probs = counts / counts.sum()

    def moment(self, k: int) -> float:
        return float(self.probs @ self.values**k)

    def sf(self, y: Any) -> np.ndarray:
        ya = np.asarray(y, dtype=float)
        tail = np.concatenate([np.cumsum(self.probs[::-1])[::-1], [0.0]])  # P(V ≥ v_k)
        return tail[np.searchsorted(self.values, ya, side="right")]

    def support(self) -> tuple[float, float]:
        return 0.0, float(self.values[-1])

    def on_grid(self, bucket: float) -> _EmpiricalAmounts:
        """The same mean on the grid j·b: an atom at v = (j + w)·b is split into 1 − w at j·b and w at
        (j + 1)·b (so the FFT's rounding moves nothing; the variance grows by π·w(1 − w)·b² at most b²/4)."""
        j = np.floor(self.values / bucket)
        w = self.values / bucket - j
        out = _EmpiricalAmounts(np.zeros(1))
        values = np.concatenate([j * bucket, (j + 1) * bucket])
        probs = np.concatenate([self.probs * (1 - w), self.probs * w])
        v, inv = np.unique(values, return_inverse=True)
        out.values = v
        out.probs = np.bincount(inv, weights=probs, minlength=v.size)
        keep = out.probs > 0
        out.values, out.probs = out.values[keep], out.probs[keep]
        return out


# ------------------------------------------------------------------------------------- fitted models
@dataclass(frozen=True, eq=False)
class _LineModel:
    """A bracket line's fitted model and its parameter draws (shared by the current and the draft run)."""

    line: Line
    severity: Any
    frequency: Any
    truncation: float
    county_events: pd.Series
    year_cv: float
    parameter_cv: float
    theta_draws: np.ndarray  # (B, k)
    count_factors: np.ndarray  # (B,), mean ≈ 1

    @property
    def events(self) -> float:
        return float(self.county_events.sum())


@dataclass(frozen=True, eq=False)
class _ExperienceModel:
    """A line priced at its experience (step 2)."""

    line: Line
    events: float
    amounts: _EmpiricalAmounts
    cv: float  # mixing cv of the plug-in count
    year_cv: float
    count_factors: np.ndarray


def _stratified_gamma(rng: np.random.Generator, cv: float, size: int) -> np.ndarray:
    """``size`` draws of G ~ Gamma(mean 1, cv) by stratified sampling: G = F⁻¹((π_b + U_b)/size)."""
    if size == 0:
        return np.ones(0)
    u = (rng.permutation(size) + rng.random(size)) / size
    if not cv > 0.0:
        return np.ones(size)
    from scipy import stats

    return stats.gamma.ppf(u, a=1.0 / cv**2, scale=cv**2)


def _antithetic_theta(fit: Any, rng: np.random.Generator, size: int) -> np.ndarray:
    """(size, k) parameter draws θ̂ ± (θ_j − θ̂), θ_j ~ N(θ̂, cov) (:meth:`SeverityFit.sample_theta`)."""
    theta = np.asarray(fit.theta, dtype=float)
    if size == 0:
        return np.empty((0, theta.size))
    if not np.all(np.isfinite(fit.cov)):
        return np.tile(theta, (size, 1))
    half = fit.sample_theta(rng, (size + 1) // 2) - theta
    pairs = np.empty((2 * half.shape[0], theta.size))
    pairs[0::2] = theta + half
    pairs[1::2] = theta - half
    return pairs[:size]


# ------------------------------------------------------------------------------------- inputs
def _clean_claims(claims: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("year", "county", "peril", "ground_up", "paid") if c not in claims.columns]
    if missing:
        raise BudgetError(f"出险历史缺少列 {', '.join(missing)} / the claims history lacks column(s) "
                          f"{', '.join(missing)}")
    out = pd.DataFrame({
        "year": pd.to_numeric(claims["year"]).astype("int64"),
        "county": claims["county"].astype("str").str.slice(0, 6),
        "peril": claims["peril"].astype("str"),
        "ground_up": pd.to_numeric(claims["ground_up"], errors="coerce").astype("float64"),
        "paid": pd.to_numeric(claims["paid"], errors="coerce").fillna(0.0).astype("float64"),
    })
    if "report_lag" in claims.columns:
        out["report_lag"] = pd.to_numeric(claims["report_lag"], errors="coerce").to_numpy(float)
    return out.reset_index(drop=True)


def _clean_exposure(exposure: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("year", "county", "heads") if c not in exposure.columns]
    if missing:
        raise BudgetError(f"承保人数缺少列 {', '.join(missing)} / the exposure lacks column(s) {', '.join(missing)}")
    out = pd.DataFrame({"year": pd.to_numeric(exposure["year"]).astype("int64"),
                        "county": exposure["county"].astype("str").str.slice(0, 6),
                        "heads": pd.to_numeric(exposure["heads"]).astype("float64")})
    return out.groupby(["year", "county"], as_index=False)["heads"].sum()


def _heads_matrix(exposure: pd.DataFrame) -> pd.DataFrame:
    """Heads as a counties × years table (NaN = no exposure)."""
    return exposure.pivot_table(index="county", columns="year", values="heads", aggfunc="sum").sort_index()


def _heads_next(exposure: pd.DataFrame, year: int, heads: int | None, notes: list[str]) -> pd.Series:
    """E_c,next per county (see the module docstring)."""
    latest_year = int(exposure["year"].max())
    latest = exposure[exposure["year"] == latest_year].set_index("county")["heads"].astype(float)
    total = latest.sum()
    if not total > 0:
        raise BudgetError(f"{latest_year} 年参保人数为 0 / no insured heads in {latest_year}")
    if heads is not None:
        if not heads > 0:
            raise BudgetError(f"参保人数必须大于 0 / heads must be > 0, got {heads!r}")
        notes.append(f"明年参保人数 {int(heads):,} 人（按 {latest_year} 年各县比例分配） / next year's heads "
                     f"{int(heads):,} as given, split across counties as in {latest_year}")
        return latest / total * float(heads)
    by_year = exposure.groupby("year")["heads"].sum()
    by_year = by_year[by_year > 0]
    if len(by_year) >= 2:
        slope = float(np.polyfit(by_year.index.to_numpy(float), np.log(by_year.to_numpy(float)), 1)[0])
        growth = math.expm1(slope)
        notes.append(f"明年参保人数按历史增长率 {growth:+.2%}/年 外推 / next year's heads extrapolated with the "
                     f"history's exposure growth {growth:+.2%} a year")
    else:
        growth = 0.0
        notes.append(f"只有一年承保数据，明年参保人数按 {latest_year} 年持平 / one year of exposure only: "
                     f"next year's heads kept flat at {latest_year}'s")
    return latest * (1.0 + growth) ** (year - latest_year)


def _line_amounts(rows: pd.DataFrame, g: PayoutFunction, d_mode: str, notes: list[str], line_id: str
                  ) -> tuple[pd.DataFrame, float]:
    """Rows with amount x, censored flag, in_sample (x > d); and the truncation d."""
    if d_mode == "auto":  # a history of paid claims only: no row shows an amount at or below the trigger
        shows_below = (rows["paid"] <= 0) & ~(rows["ground_up"] > g.trigger)
        d = g.trigger if (len(rows) and not bool(shows_below.any())) else 0.0
    elif d_mode == "trigger":
        d = g.trigger
    else:
        d = 0.0
    x = rows["ground_up"].to_numpy(float).copy()
    paid = rows["paid"].to_numpy(float)
    censored = np.zeros(len(rows), dtype=bool)
    unknown = np.isnan(x)
    at_cap = unknown & np.isfinite(g.cap) & (paid >= g.max_payout - _CAP_TOLERANCE) & (paid > 0)
    inner = unknown & ~at_cap & (paid > 0)
    if inner.any():
        x[inner] = np.asarray(g.inverse(paid[inner]), dtype=float)
    if at_cap.any():
        x[at_cap] = g.x_cap
        censored[at_cap] = True
    lost = unknown & ~inner & ~at_cap
    if lost.any():
        notes.append(f"{line_id}: {int(lost.sum())} 条赔案既无费用也无赔付，未用于拟合 / {int(lost.sum())} "
                     "rows with neither amount nor payout were not used")
    out = pd.DataFrame({"year": rows["year"].to_numpy(), "county": rows["county"].to_numpy(), "x": x,
                        "censored": censored})
    if "report_lag" in rows.columns:
        out["report_lag"] = rows["report_lag"].to_numpy(float)
    out["in_sample"] = np.isfinite(x) & (x > d)
    below = int((np.isfinite(x) & ~out["in_sample"]).sum())
    if below and d > 0:
        notes.append(f"{line_id}: {below} 条赔案金额不高于截断点 {d:,.0f} 元，未计入 / {below} rows at or below "
                     f"the truncation point {d:,.0f} yuan were left out")
    if inner.any() or at_cap.any():
        notes.append(f"{line_id}: {int(inner.sum())} 条由赔付反推费用，{int(at_cap.sum())} 条封顶按删失处理 / "
                     f"{int(inner.sum())} amounts inverted from the payout g⁻¹(paid), {int(at_cap.sum())} "
                     "capped payouts treated as right-censored at x_cap")
    return out, float(d)


def _fit_line(line: Line, rows: pd.DataFrame, heads: pd.DataFrame, heads_next: pd.Series, year: int,
              a: Assumptions, rng: np.random.Generator, notes: list[str]) -> _LineModel | None:
    from actuarial.frequency import fit_frequency
    from actuarial.severity import fit_severity

    g = PayoutFunction.from_line(line)
    data, d = _line_amounts(rows, g, a.truncation, notes, line.id)
    sample = data[data["in_sample"]]
    if int((~sample["censored"]).sum()) < MIN_SEVERITY_SAMPLE:
        return None
    years_seen = sorted(set(int(y) for y in sample["year"]))
    kwargs: dict[str, Any] = {}
    if a.trend is not None:
        kwargs["trend_rate"] = float(a.trend)
        trend_note = f"趋势按给定 {a.trend:.1%}/年 / trend {a.trend:.1%} a year as given"
    elif len(years_seen) < 3:
        kwargs["trend_rate"] = float(a.default_trend)
        trend_note = (f"趋势假设为 {a.default_trend:.0%}/年（仅 {len(years_seen)} 年数据） / trend assumed "
                      f"{a.default_trend:.0%} a year (only {len(years_seen)} year(s) of data)")
    else:
        kwargs["trend"] = True
        trend_note = ""
    try:
        sev = fit_severity(sample["x"].to_numpy(float), years=sample["year"].to_numpy(float), truncation=d,
                           censored=sample["censored"].to_numpy(bool), base_year=float(max(years_seen)), **kwargs)
    except ValueError as exc:  # no family converged (tiny or degenerate samples)
        notes.append(f"{line.id}: 费用分布拟合失败 / severity fit failed: {exc}")
        return None
    best = sev.best
    if not trend_note:
        trend_note = f"趋势拟合为 {best.params['trend']:.1%}/年 / trend fitted {best.params['trend']:.1%} a year"
    notes.append(f"{line.id}: 费用分布 {best.family}（AIC 最小，n = {best.n}），{trend_note.split(' / ')[0]} / "
                 f"severity {best.family} (smallest AIC, n = {best.n}), {trend_note.split(' / ')[1]}")

    # ground-up events per county-year: claims above d / S_t(d)
    counted = data[data["in_sample"]]
    if d == 0.0:  # events with an unknown amount are still events above 0
        counted = data[data["in_sample"] | ~np.isfinite(data["x"])]
    counts = counted.groupby(["county", "year"]).size().unstack("year")
    counts = counts.reindex(index=heads.index, columns=heads.columns).fillna(0.0)
    outside = set(zip(counted["county"], counted["year"])) - {
        (c, y) for c in heads.index for y in heads.columns if np.isfinite(heads.loc[c, y])}
    if outside:
        n_out = int(counted.set_index(["county", "year"]).index.isin(list(outside)).sum())
        notes.append(f"{line.id}: {n_out} 条赔案所在县/年度无承保人数，未计入频率 / {n_out} claims in county-years "
                     "without exposure were left out of the frequency")
    s_d = np.array([float(best.frozen(float(t)).sf(d)) if d > 0 else 1.0 for t in heads.columns])
    develop, dev_cv = _development(counted, line.id, notes)
    ground_up = counts.to_numpy(float) * develop.reindex(heads.columns).fillna(1.0).to_numpy()[None, :] / s_d[None, :]
    h = heads.to_numpy(float)
    ground_up[~np.isfinite(h)] = np.nan
    freq = fit_frequency(ground_up, h, units=list(heads.index), years=list(heads.columns),
                         year_cv_floor=a.year_cv_floor)
    units = [str(u) for u in freq.units]
    rate = pd.Series(np.asarray(freq.rate, dtype=float), index=units)
    lam = rate * heads_next.reindex(units).fillna(0.0)
    pcv = np.nan_to_num(np.asarray(freq.parameter_cv, dtype=float), nan=0.0, posinf=0.0)
    par_cv = float(np.sum(lam.to_numpy() * pcv) / lam.sum()) if lam.sum() > 0 else 0.0
    observed = float(counts.to_numpy(float)[np.isfinite(h)].sum())
    if len(units) > 1 and observed > 0:
        # the credibility cv sqrt((1 − z)â)/λ̂ leaves out the error of the collective level m̂ itself (it is 0
        # when â ≤ 0): add the Poisson cv of the pooled rate, 1/sqrt(claims observed above d)
        par_cv = math.sqrt(par_cv**2 + 1.0 / observed)
    par_cv = math.sqrt(par_cv**2 + dev_cv**2)
    year_cv = float(freq.year_cv)  # fit_frequency applies the floor (year_cv_floor above)
    b = int(a.bootstrap)
    return _LineModel(line=line, severity=sev, frequency=freq, truncation=d, county_events=lam, year_cv=year_cv,
                      parameter_cv=par_cv, theta_draws=_antithetic_theta(best, rng, b),
                      count_factors=_stratified_gamma(rng, par_cv, b))


def _development(counted: pd.DataFrame, line_id: str, notes: list[str]) -> tuple[pd.Series, float]:
    """Per origin year the chain-ladder factor ultimate/reported of the claim counts (1 without report lags),
    and the cv it adds to next year's rate: Mack SE / ultimate of the latest year (step 2 of actuarial.md §3).

    Used when the claims carry ``report_lag`` and span ≥ 3 origin years; otherwise the history is taken as
    fully reported (noted when lags were given)."""
    if "report_lag" not in counted.columns:
        return pd.Series(dtype=float), 0.0
    known = counted[np.isfinite(counted["report_lag"].to_numpy(float))]
    if known.empty:
        return pd.Series(dtype=float), 0.0
    if known["year"].nunique() < 3:
        notes.append(f"{line_id}: 报案滞后数据不足 3 个年度，未做进展调整 / fewer than 3 years with report lags: "
                     "no development applied")
        return pd.Series(dtype=float), 0.0
    from actuarial.reserving import count_development

    try:
        dev = count_development(known["year"].to_numpy(int), known["report_lag"].to_numpy(int))
    except (ValueError, FloatingPointError, ZeroDivisionError) as exc:
        notes.append(f"{line_id}: 进展因子无法估计，未做调整 / development could not be estimated: {exc}")
        return pd.Series(dtype=float), 0.0
    table = dev.table
    if not np.all(np.isfinite(table["factor"].to_numpy(float))):
        notes.append(f"{line_id}: 进展因子无法估计，未做调整 / development could not be estimated")
        return pd.Series(dtype=float), 0.0
    latest = table.index.max()
    row = table.loc[latest]
    cv = float(row["mack_se"] / row["ultimate"]) if row["ultimate"] > 0 and np.isfinite(row["mack_se"]) else 0.0
    vy, vq = dev.valuation
    notes.append(f"{line_id}: 链梯法进展（评估时点 {vy} 年第 {vq} 季度）：{latest} 年已报 {row['reported']:.0f} 件，"
                 f"最终 {row['ultimate']:.1f} 件（×{row['factor']:.3f}，Mack 标准误 {row['mack_se']:.1f}） / "
                 f"chain-ladder development (valued at {vy} Q{vq}): {latest} reported {row['reported']:.0f}, "
                 f"ultimate {row['ultimate']:.1f} (×{row['factor']:.3f}, Mack SE {row['mack_se']:.1f})")
    return table["factor"].astype(float), cv


def _experience_line(line: Line, rows: pd.DataFrame, exposure: pd.DataFrame, heads_next: float, year: int,
                     a: Assumptions, rng: np.random.Generator, notes: list[str]) -> _ExperienceModel | None:
    paid_rows = rows[rows["paid"] > 0]
    if paid_rows.empty:
        return None
    i = float(a.trend if a.trend is not None else a.default_trend)
    amounts = paid_rows["paid"].to_numpy(float) * (1.0 + i) ** (year - paid_rows["year"].to_numpy(float))
    years = sorted(set(paid_rows["year"]))
    total_heads = float(exposure["heads"].sum())
    rate = len(paid_rows) / total_heads
    events = rate * heads_next
    par_cv = 1.0 / math.sqrt(len(paid_rows))  # Poisson standard error of the pooled rate
    amt = _EmpiricalAmounts(amounts)
    per_head = rate * amt.moment(1)
    notes.append(f"{line.id}（{line.name}）: 按经验赔付计价 {per_head:.2f} 元/人（{len(paid_rows)} 笔，"
                 f"{min(years)}–{max(years)} 年，金额按 {i:.0%}/年 趋势调整） / priced at experience "
                 f"{per_head:.2f} yuan per head ({len(paid_rows)} claims, {min(years)}–{max(years)}, amounts "
                 f"trended {i:.0%} a year)")
    year_cv = float(a.year_cv_floor)
    return _ExperienceModel(line=line, events=events, amounts=amt, cv=math.sqrt(year_cv**2 + par_cv**2),
                            year_cv=year_cv, count_factors=_stratified_gamma(rng, par_cv, int(a.bootstrap)))


# ------------------------------------------------------------------------------------- pricing
def _on_grid(perils: list[Peril], bucket: float) -> list[Peril]:
    """Experience lines' amounts split onto the grid of step ``bucket``; other perils unchanged."""
    return [Peril(p.frequency, p.severity.on_grid(bucket), None, p.name) if isinstance(p.severity, _EmpiricalAmounts)
            else p for p in perils]


def _finer(bucket: float) -> float:
    """The next smaller step in {1, 2, 2.5, 5} × 10^k (the ladder of :mod:`actuarial.aggregate`)."""
    return nice_step(bucket * (1 - 1e-9))


@dataclass(frozen=True, eq=False)
class _Priced:
    plug_in: Compound
    predictive: Compound
    perils: tuple[PerilBudget, ...]
    experience_lines: pd.DataFrame


def _price(product: Product, models: dict[str, _LineModel], experience: dict[str, _ExperienceModel],
           year: int, bootstrap: int, notes: list[str]) -> _Priced:
    plug: list[Peril] = []
    draws: list[list[Peril]] = [[] for _ in range(bootstrap)]
    peril_budgets: list[PerilBudget] = []
    exp_rows = []
    means: list[float] = []
    variances: list[float] = []
    caps: list[float] = []  # maximum payouts of the bracket lines
    for line in product.lines:
        if line.kind == "bracket" and line.id in models:
            m = models[line.id]
            g = PayoutFunction.from_line(line)
            best = m.severity.best
            sev = best.frozen(float(year))
            freq = Frequency(m.events, math.sqrt(m.year_cv**2 + m.parameter_cv**2))
            plug.append(Peril(freq, sev, g, line.id))
            mean, var = peril_moments(plug[-1])
            sd = math.sqrt(max(var, 0.0))
            means.append(mean)
            variances.append(var)
            caps.append(g.max_payout)
            peril_budgets.append(PerilBudget(line_id=line.id, peril=line.peril, name=line.name, severity=m.severity,
                                             frequency=m.frequency, events=m.events, mean=mean, sd=sd,
                                             truncation=m.truncation, mixing_cv=freq.cv,
                                             county_events=m.county_events))
            for b in range(bootstrap):
                draws[b].append(Peril(Frequency(m.events * float(m.count_factors[b]), m.year_cv),
                                      best.frozen(float(year), theta=m.theta_draws[b]), g, line.id))
        elif line.id in experience:
            e = experience[line.id]
            freq = Frequency(e.events, e.cv)
            plug.append(Peril(freq, e.amounts, None, line.id))
            mean, var = peril_moments(plug[-1])
            sd = math.sqrt(max(var, 0.0))
            means.append(mean)
            variances.append(var)
            exp_rows.append({"line_id": line.id, "name": line.name, "kind": line.kind, "events": e.events,
                             "mean": mean, "sd": sd})
            for b in range(bootstrap):
                draws[b].append(Peril(Frequency(e.events * float(e.count_factors[b]), e.year_cv), e.amounts, None,
                                      line.id))
        else:
            notes.append(f"{line.id}（{line.name}）: 无可用历史，未计入预算 / no usable history, left out of the budget")
    if not plug:
        raise BudgetError("没有可计价的责任（历史中没有本产品责任的赔案） / nothing to price: the history has no "
                          "claims on this product's lines")
    for cover in product.covers:  # lines are priced one by one: a cover's shared caps never cut a simulated year
        notes.append(f"{cover.id}（{cover.name}）: 共用限额未用于模拟，{'、'.join(cover.lines)} 各自计价（上限估计） / "
                     f"the shared caps of cover {cover.id} are not applied in the simulation: "
                     f"{', '.join(cover.lines)} are priced line by line (an upper bound)")
    # the bucket: aggregate's default rule, with the bracket lines' caps only: the experience lines' amounts
    # are split onto the grid instead (_EmpiricalAmounts.on_grid)
    span = grid_span(sum(means), sum(variances))
    bucket = default_bucket(span, caps)
    plug_in = compound_distribution(perils=_on_grid(plug, bucket), bucket=bucket)
    while not plug_in.valid and span / _finer(bucket) <= _MAX_POINTS:  # refine until mean/sd agree (1e-4)
        bucket = _finer(bucket)
        plug_in = compound_distribution(perils=_on_grid(plug, bucket), bucket=bucket)
    if bootstrap == 0:
        predictive = plug_in
    else:
        # one common bucket; each draw's grid is the smallest power of two covering its mean + 12 sd, and
        # shorter pmfs are padded with zeros (no mass there) before averaging
        parts = compound_batch([_on_grid(d, bucket) for d in draws], bucket=bucket)
        predictive = mixture(parts)
    table = pd.DataFrame(exp_rows, columns=["line_id", "name", "kind", "events", "mean", "sd"])
    return _Priced(plug_in, predictive, tuple(peril_budgets), table)


def _experience_table(claims: pd.DataFrame, exposure: pd.DataFrame) -> pd.DataFrame:
    """Per year × peril: claims, paid, ground_up (sums, yuan), heads, paid_per_head."""
    g = claims.groupby(["year", "peril"])
    out = pd.DataFrame({"claims": g.size(), "paid": g["paid"].sum(),
                        "ground_up": g["ground_up"].sum(min_count=1)}).reset_index()
    heads = exposure.groupby("year")["heads"].sum()
    out["heads"] = out["year"].map(heads).astype("float64")
    out["paid_per_head"] = out["paid"] / out["heads"]
    return out


def _result(product: Product, year: int, heads_total: float, a: Assumptions, priced: _Priced,
            experience: pd.DataFrame, notes: list[str], whatif: BudgetResult | None) -> BudgetResult:
    heads_int = max(int(round(heads_total)), 1)
    prem = premium_table(priced.predictive, heads=heads_int, expense_ratio=a.expense_ratio, theta=a.theta,
                         kappa=a.kappa, level=a.level, coc_rate=a.coc_rate, coc_level=a.coc_level)
    total = float(prem.loc[a.principle, "total"])
    return BudgetResult(
        product_code=product.code, product_name=product.name, year=int(year), heads=heads_int, assumptions=a,
        perils=priced.perils, predictive=priced.predictive, plug_in=priced.plug_in, premiums=prem,
        budget_total=total, budget_per_head=total / heads_int,
        prob_exceed=float(priced.predictive.prob_exceed(total)), band=band(priced.predictive, heads_int),
        experience=experience, validation=priced.predictive.validation, notes=tuple(notes), whatif=whatif,
        experience_lines=priced.experience_lines,
    )


def budget(claims: pd.DataFrame, exposure: pd.DataFrame | None, product: Product, year: int, *,
           heads: int | None = None, draft: Product | None = None,
           assumptions: Assumptions = Assumptions()) -> BudgetResult:
    """Price ``product`` for policy year ``year`` from the claims history (see the module docstring).

    Parameters
    ----------
    claims : the claims history frame (:mod:`actuarial.history`): year, county, peril (line id),
        ground_up, paid (yuan).  Rows of ``year`` or later are ignored.
    exposure : year, county, heads.  None: every county-year in the claims is assumed to have had
        ``heads`` insured heads split equally across the counties (``heads`` is then required; noted).
    product : the product version whose schedule applies next year.
    heads : insured heads next year (all counties); default from the exposure trend.
    draft : a proposed product version priced with the same fitted models (``whatif``).
    assumptions : :class:`Assumptions`.
    """
    a = assumptions
    notes: list[str] = []
    cl = _clean_claims(claims)
    later = cl["year"] >= int(year)
    if later.any():
        notes.append(f"忽略 {int(later.sum())} 条 {year} 年及以后的赔案 / ignored {int(later.sum())} claims of "
                     f"{year} or later")
        cl = cl[~later]
    if exposure is None:
        if heads is None:
            raise BudgetError("没有承保人数数据时必须给出参保人数 / without exposure data, heads must be given")
        counties = sorted(set(cl["county"])) or [product.county]
        years = sorted(set(cl["year"])) or [int(year) - 1]
        ex = pd.DataFrame([(y, c, float(heads) / len(counties)) for y in years for c in counties],
                          columns=["year", "county", "heads"])
        notes.append(f"未提供承保人数：假定历史每年 {int(heads):,} 人 / no exposure given: {int(heads):,} heads "
                     "assumed in every history year")
    else:
        ex = _clean_exposure(exposure)
        ex = ex[(ex["year"] < int(year)) & (ex["heads"] > 0)]
    if ex.empty or not ex["heads"].sum() > 0:
        raise BudgetError(f"{year} 年以前没有承保人数 / no exposure before {year}")
    if cl.empty:
        raise BudgetError(f"{year} 年以前没有赔案历史 / no claims history before {year}")
    heads_next = _heads_next(ex, int(year), heads, notes)
    heads_matrix = _heads_matrix(ex)
    rng = np.random.default_rng(a.seed)

    lines: dict[str, Line] = {ln.id: ln for ln in product.lines}
    if draft is not None:  # a draft line unknown to the product is fitted too, when it has history
        for ln in draft.lines:
            lines.setdefault(ln.id, ln)
    unknown = sorted(set(cl["peril"]) - set(lines))
    if unknown:
        notes.append(f"历史中的责任 {', '.join(unknown)} 不在产品中，已忽略 / history lines {', '.join(unknown)} "
                     "are not in the product and were ignored")
    models: dict[str, _LineModel] = {}
    experience_models: dict[str, _ExperienceModel] = {}
    for line_id, line in lines.items():  # product order, then draft-only lines: deterministic draws
        rows = cl[cl["peril"] == line_id]
        if rows.empty:
            continue
        model = None
        if line.kind == "bracket":
            model = _fit_line(line, rows, heads_matrix, heads_next, int(year), a, rng, notes)
            if model is None:
                notes.append(f"{line_id}: 无法拟合费用分布（确切金额少于 {MIN_SEVERITY_SAMPLE} 条或拟合失败），改按经验赔付计价 / "
                             f"no severity model (fewer than {MIN_SEVERITY_SAMPLE} exact amounts or the fit failed): "
                             "priced at experience")
        if model is not None:
            models[line_id] = model
        else:
            e = _experience_line(line, rows, ex, float(heads_next.sum()), int(year), a, rng, notes)
            if e is not None:
                experience_models[line_id] = e

    exp_table = _experience_table(cl, ex)
    priced = _price(product, models, experience_models, int(year), int(a.bootstrap), notes)
    whatif = None
    if draft is not None:
        draft_notes = list(notes)
        current = {ln.id: ln for ln in product.lines}
        for ln in draft.lines:
            if ln.id in experience_models and current.get(ln.id) != ln:
                draft_notes.append(f"{ln.id}（{ln.name}）: 按现行经验计价，草案对该责任的修改未体现 / priced at the "
                                   "current experience: the draft's change to this line is not reflected")
        draft_priced = _price(draft, models, experience_models, int(year), int(a.bootstrap), draft_notes)
        whatif = _result(draft, int(year), float(heads_next.sum()), a, draft_priced, exp_table, draft_notes, None)
    return _result(product, int(year), float(heads_next.sum()), a, priced, exp_table, notes, whatif)
