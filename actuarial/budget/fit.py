"""Fitting the budget's per-line models (actuarial.md §3 steps 1–5; the method in :mod:`actuarial.budget`).

A bracket line with at least ``MIN_SEVERITY_SAMPLE`` exact amounts above its truncation point gets a
:class:`LineModel`: a severity (:func:`actuarial.severity.fit_severity`) and a frequency per county
(:func:`actuarial.frequency.fit_frequency`) with their parameter draws.  Every other line with paid claims is
priced at its experience: an :class:`ExperienceModel` (claims per head × the historical paid amounts,
trended).  The models are shared by the current and the draft product (common random numbers).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from actuarial.budget.inputs import Assumptions, heads_by_county_year
from actuarial.coverage import PayoutFunction
from products.model import Line, Product

_CAP_TOLERANCE = 0.005  # yuan: paid within half a fen of the cap counts as "reached the cap"
#: Fewest exact (uncensored) amounts above the truncation point for a severity fit; below it the line is
#: priced at experience.  Two or three points "fit" any two-parameter family (the MLE exists, the AIC
#: ranking and the SEs mean nothing), so a county's two disaster claims must not set a tail.
MIN_SEVERITY_SAMPLE = 10


class EmpiricalAmounts:
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

    def on_grid(self, bucket: float) -> EmpiricalAmounts:
        """The same mean on the grid j·b: an atom at v = (j + w)·b is split into 1 − w at j·b and w at
        (j + 1)·b (so the FFT's rounding moves nothing; the variance grows by π·w(1 − w)·b² at most b²/4)."""
        j = np.floor(self.values / bucket)
        w = self.values / bucket - j
        out = EmpiricalAmounts(np.zeros(1))
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
class LineModel:
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
class ExperienceModel:
    """A line priced at its experience (step 2)."""

    line: Line
    events: float
    amounts: EmpiricalAmounts
    cv: float  # mixing cv of the plug-in count
    year_cv: float
    count_factors: np.ndarray


def stratified_gamma(rng: np.random.Generator, cv: float, size: int) -> np.ndarray:
    """``size`` draws of G ~ Gamma(mean 1, cv) by stratified sampling: G = F⁻¹((π_b + U_b)/size)."""
    if size == 0:
        return np.ones(0)
    u = (rng.permutation(size) + rng.random(size)) / size
    if not cv > 0.0:
        return np.ones(size)
    from scipy import stats

    return stats.gamma.ppf(u, a=1.0 / cv**2, scale=cv**2)


def antithetic_theta(fit: Any, rng: np.random.Generator, size: int) -> np.ndarray:
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



def line_amounts(rows: pd.DataFrame, g: PayoutFunction, d_mode: str, notes: list[str], line_id: str
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


def fit_line(line: Line, rows: pd.DataFrame, heads: pd.DataFrame, heads_next: pd.Series, year: int,
             a: Assumptions, rng: np.random.Generator, notes: list[str]) -> LineModel | None:
    """A bracket line's model from its claims ``rows``: the severity fitted above the truncation point d, the
    ground-up events per county next year λ_c = rate_c × E_c,next, and ``bootstrap`` parameter draws (θ in
    antithetic pairs, then the frequency factors G_b ~ Gamma(mean 1, cv_par)).  None without a severity fit."""
    g = PayoutFunction.from_line(line)
    data, d = line_amounts(rows, g, a.truncation, notes, line.id)
    sev = _fit_line_severity(line.id, data[data["in_sample"]], d, a, notes, g.trigger)
    if sev is None:
        return None
    freq, lam, par_cv = _line_frequency(line.id, data, d, sev.best, heads, heads_next, a, notes)
    year_cv = float(freq.year_cv)  # fit_frequency applies the floor (year_cv_floor above)
    b = int(a.bootstrap)
    return LineModel(line=line, severity=sev, frequency=freq, truncation=d, county_events=lam, year_cv=year_cv,
                     parameter_cv=par_cv, theta_draws=antithetic_theta(sev.best, rng, b),
                     count_factors=stratified_gamma(rng, par_cv, b))


def _trend_choice(a: Assumptions, years_seen: int) -> tuple[dict[str, Any], str]:
    """The trend argument of :func:`fit_severity` and its note: ``a.trend`` imposed (β = log(1 + i)) when
    given; else fitted with ≥ 3 years of data, or ``a.default_trend`` imposed with fewer (note "" = fitted)."""
    if a.trend is not None:
        return ({"trend_rate": float(a.trend)}, f"趋势按给定 {a.trend:.1%}/年 / trend {a.trend:.1%} a year as given")
    if years_seen < 3:
        return ({"trend_rate": float(a.default_trend)},
                f"趋势假设为 {a.default_trend:.0%}/年（仅 {years_seen} 年数据） / trend assumed "
                f"{a.default_trend:.0%} a year (only {years_seen} year(s) of data)")
    return {"trend": True}, ""


def _fit_line_severity(line_id: str, sample: pd.DataFrame, d: float, a: Assumptions, notes: list[str],
                       g_start: float = 0.0) -> Any:
    """The severity comparison (:func:`actuarial.severity.fit_severity`, truncated at d, censored at the cap,
    the latest year as base) of the amounts x > d in ``sample``, its family chosen on the paid layer above
    ``g_start`` (:func:`paid_layer_choice`); None with fewer than ``MIN_SEVERITY_SAMPLE`` exact amounts or when
    no family converged (noted)."""
    from actuarial.severity import fit_severity

    if int((~sample["censored"]).sum()) < MIN_SEVERITY_SAMPLE:
        return None
    years_seen = sorted(set(int(y) for y in sample["year"]))
    kwargs, trend_note = _trend_choice(a, len(years_seen))
    try:
        sev = fit_severity(sample["x"].to_numpy(float), years=sample["year"].to_numpy(float), truncation=d,
                           censored=sample["censored"].to_numpy(bool), base_year=float(max(years_seen)), **kwargs)
    except ValueError as exc:  # no family converged (tiny or degenerate samples)
        notes.append(f"{line_id}: 费用分布拟合失败 / severity fit failed: {exc}")
        return None
    sev = paid_layer_choice(sev, sample, max(d, g_start), line_id, notes)
    sev = imposed_family(sev, a.severity_family, line_id, notes)
    best = sev.best
    if not trend_note:
        trend_note = f"趋势拟合为 {best.params['trend']:.1%}/年 / trend fitted {best.params['trend']:.1%} a year"
    notes.append(f"{line_id}: 费用分布 {best.family}（AIC 最小，n = {best.n}），{trend_note.split(' / ')[0]} / "
                 f"severity {best.family} (smallest AIC, n = {best.n}), {trend_note.split(' / ')[1]}")
    return sev


def paid_layer_choice(sev: Any, sample: pd.DataFrame, s: float, line_id: str, notes: list[str]) -> Any:
    """The family chosen where the money is paid (赔付层): each converged fit (fitted over all amounts above d)
    is scored by the AIC of its conditional likelihood on the layer above s (the trigger, when it is above d),

        ℓ_s = Σ_{exact x > s} [log f_t(x) − log S_t(s)] + Σ_{censored} [log S_t(u) − log S_t(s)],  AIC_s = 2k − 2ℓ_s,

    and the smallest AIC_s wins (noted when it is not the whole-range AIC's choice).  With s ≤ d the layer is the
    whole sample and the comparison is unchanged."""
    if s <= float(sev.best.truncation) or len(sev.fits) < 2:
        return sev
    layer = sample[sample["x"].to_numpy(float) > s]
    if int((~layer["censored"]).sum()) < MIN_SEVERITY_SAMPLE:
        return sev
    x, cens, years = (layer["x"].to_numpy(float), layer["censored"].to_numpy(bool), layer["year"].to_numpy(float))
    scores: dict[str, float] = {}
    for family, fit in sev.fits.items():
        if not fit.converged:
            continue
        ll = 0.0
        for t in np.unique(years):
            dist, here = fit.frozen(float(t)), years == t
            ll += float(np.sum(dist.logpdf(x[here & ~cens])) + np.sum(dist.logsf(x[here & cens]))
                        - here.sum() * dist.logsf(s))
        scores[family] = 2.0 * fit.k - 2.0 * ll
    if not scores:
        return sev
    chosen = min(scores, key=lambda f: scores[f])
    if chosen != sev.best.family:
        notes.append(f"{line_id}: 按赔付层（费用 > {s:,.0f} 元）的 AIC 选择 {chosen}（全范围 AIC 选 {sev.best.family}） / "
                     f"family {chosen} chosen by the AIC on the paid layer x > {s:,.0f} (conditional likelihood of "
                     f"each fit); the whole-range AIC chose {sev.best.family}")
        return dataclasses.replace(sev, best=sev.fits[chosen])
    return sev


def imposed_family(sev: Any, family: str | None, line_id: str, notes: list[str]) -> Any:
    """``sev`` with ``family`` as its chosen fit (``Assumptions.severity_family``, e.g. the sensitivity's family
    rows); unchanged when ``family`` is None or did not converge on this line (noted)."""
    if family is None or family == sev.best.family:
        return sev
    fit = sev.fits.get(family)
    if fit is None or not fit.converged:
        notes.append(f"{line_id}: 指定的分布族 {family} 未收敛，仍用 {sev.best.family} / the imposed family {family} did not "
                     f"converge: {sev.best.family} kept")
        return sev
    notes.append(f"{line_id}: 分布族按指定用 {family}（原选 {sev.best.family}） / family {family} imposed (chosen: "
                 f"{sev.best.family})")
    return dataclasses.replace(sev, best=fit)


def _counted_claims(line_id: str, data: pd.DataFrame, d: float, heads: pd.DataFrame,
                    notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The claims counted as events above d (with d = 0 also those of unknown amount), and their counts N_ct as
    a counties × years table aligned on ``heads`` (claims of county-years without exposure left out, noted)."""
    counted = data[data["in_sample"]]
    if d == 0.0:  # events with an unknown amount are still events above 0
        counted = data[data["in_sample"] | ~np.isfinite(data["x"])]
    counts = counted.groupby(["county", "year"]).size().unstack("year")
    counts = counts.reindex(index=heads.index, columns=heads.columns).fillna(0.0)
    outside = set(zip(counted["county"], counted["year"])) - {
        (c, y) for c in heads.index for y in heads.columns if np.isfinite(heads.loc[c, y])}
    if outside:
        n_out = int(counted.set_index(["county", "year"]).index.isin(list(outside)).sum())
        notes.append(f"{line_id}: {n_out} 条赔案所在县/年度无承保人数，未计入频率 / {n_out} claims in county-years "
                     "without exposure were left out of the frequency")
    return counted, counts


def _line_frequency(line_id: str, data: pd.DataFrame, d: float, best: Any, heads: pd.DataFrame,
                    heads_next: pd.Series, a: Assumptions, notes: list[str]) -> tuple[Any, pd.Series, float]:
    """The frequency fit, next year's events per county λ_c and the parameter cv of their sum.

    Ground-up events Ñ_ct = N_ct × f_t / S_t(d) (f_t the development factor, S_t the fitted severity of year
    t); rates by :func:`actuarial.frequency.fit_frequency`; λ_c = rate_c × E_c,next.  cv_par² =
    (Σ_c λ_c·cv_par,c / Σ_c λ_c)² + 1/N_obs (with several counties and N_obs > 0) + cv_dev²."""
    from actuarial.frequency import fit_frequency

    counted, counts = _counted_claims(line_id, data, d, heads, notes)
    s_d = np.array([float(best.frozen(float(t)).sf(d)) if d > 0 else 1.0 for t in heads.columns])
    develop, dev_cv = development_factors(counted, line_id, notes, default=a.default_development,
                                          years=[int(y) for y in heads.columns])
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
    return freq, lam, math.sqrt(par_cv**2 + dev_cv**2)


def development_factors(counted: pd.DataFrame, line_id: str, notes: list[str], *, default: bool = False,
                        years: list[int] | None = None) -> tuple[pd.Series, float]:
    """Per origin year the chain-ladder factor ultimate/reported of the claim counts (1 without report lags),
    and the cv it adds to next year's rate: Mack SE / ultimate of the latest year (step 2 of actuarial.md §3).

    Used when the claims carry ``report_lag`` and span ≥ 3 origin years.  Without any report lag and with
    ``default``, the factors of the default pattern (:func:`actuarial.budget.lags.default_factors` over
    ``years``, the history years; no cv added); otherwise the history is taken as fully reported (noted when
    lags were given)."""
    lags = counted["report_lag"].to_numpy(float) if "report_lag" in counted.columns else np.empty(0)
    if not np.isfinite(lags).any():
        if not (default and years):
            return pd.Series(dtype=float), 0.0
        from actuarial.budget.lags import default_factors

        factors = default_factors(years)
        latest = int(factors.index.max())
        notes.append(f"{line_id}: 按默认报案进展模式调整，{latest} 年事件数 ×{factors[latest]:.4f} / developed by the "
                     f"default lag pattern: {latest}'s events ×{factors[latest]:.4f}")
        return factors, 0.0
    known = counted[np.isfinite(lags)]
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


def experience_line(line: Line, rows: pd.DataFrame, exposure: pd.DataFrame, heads_next: float, year: int,
                     a: Assumptions, rng: np.random.Generator, notes: list[str]) -> ExperienceModel | None:
    """A line priced at its experience (noted): events = (paid claims / Σ heads of the history) × next year's
    heads, each paying one of the historical paid amounts v·(1 + i)^(year − t) (i = ``a.trend`` or
    ``a.default_trend``); count mixing cv sqrt(year_cv² + 1/n), year_cv = ``a.year_cv_floor``, n the paid claims.
    None without a paid claim."""
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
    amt = EmpiricalAmounts(amounts)
    per_head = rate * amt.moment(1)
    notes.append(f"{line.id}（{line.name}）: 按经验赔付计价 {per_head:.2f} 元/人（{len(paid_rows)} 笔，"
                 f"{min(years)}–{max(years)} 年，金额按 {i:.0%}/年 趋势调整） / priced at experience "
                 f"{per_head:.2f} yuan per head ({len(paid_rows)} claims, {min(years)}–{max(years)}, amounts "
                 f"trended {i:.0%} a year)")
    year_cv = float(a.year_cv_floor)
    return ExperienceModel(line=line, events=events, amounts=amt, cv=math.sqrt(year_cv**2 + par_cv**2),
                            year_cv=year_cv, count_factors=stratified_gamma(rng, par_cv, int(a.bootstrap)))



def fit_lines(product: Product, draft: Product | None, history: pd.DataFrame, exposure: pd.DataFrame,
              heads_next: pd.Series, year: int, a: Assumptions, rng: np.random.Generator,
              notes: list[str]) -> tuple[dict[str, LineModel], dict[str, ExperienceModel]]:
    """The models of every line with history, by line id: bracket lines by :func:`fit_line`, the others (and a
    bracket line without a severity fit) by :func:`experience_line`.  Lines in product order, then the draft's
    new lines (a draft line unknown to the product is fitted too): the random draws are deterministic.  History
    lines in neither product are ignored (noted)."""
    lines: dict[str, Line] = {ln.id: ln for ln in product.lines}
    if draft is not None:
        for ln in draft.lines:
            lines.setdefault(ln.id, ln)
    unknown = sorted(set(history["peril"]) - set(lines))
    if unknown:
        notes.append(f"历史中的责任 {', '.join(unknown)} 不在产品中，已忽略 / history lines {', '.join(unknown)} "
                     "are not in the product and were ignored")
    heads = heads_by_county_year(exposure)
    models: dict[str, LineModel] = {}
    experience_models: dict[str, ExperienceModel] = {}
    for line_id, line in lines.items():
        rows = history[history["peril"] == line_id]
        if rows.empty:
            continue
        model = None
        if line.kind == "bracket":
            model = fit_line(line, rows, heads, heads_next, year, a, rng, notes)
            if model is None:
                notes.append(f"{line_id}: 无法拟合费用分布（确切金额少于 {MIN_SEVERITY_SAMPLE} 条或拟合失败），改按经验赔付计价 / "
                             f"no severity model (fewer than {MIN_SEVERITY_SAMPLE} exact amounts or the fit failed): "
                             "priced at experience")
        if model is not None:
            models[line_id] = model
        else:
            e = experience_line(line, rows, exposure, float(heads_next.sum()), year, a, rng, notes)
            if e is not None:
                experience_models[line_id] = e
    return models, experience_models
