"""Next year's premium budget (保费预算) from the claims history: ``budget(claims, exposure, product, year)``.

Method (actuarial.md §3 steps 1, 3–7).  ``year`` is the policy year being budgeted; the history is every
claims/exposure row of an earlier year.  ``product`` is the version whose schedule will be in force.

1. **Bracket lines** (``kind == "bracket"``, g from :meth:`PayoutFunction.from_line`) are priced by the
   model below.  Per line, the claims rows with ``peril`` = the line id:

   * ground-up amount x = ``ground_up``; where it is NaN, x = g⁻¹(paid) when 0 < paid < cap, and a
     right-censored point at x_cap when paid = cap (rows with paid = 0 and no amount are dropped, noted).
     g is the schedule of ``product``: the inversion assumes the history was paid under the same schedule;
   * truncation d (报案门槛): ``"auto"`` = the line's trigger (预警线, yuan) when every row has paid > 0 or a
     ground-up amount above the trigger (a history of paid claims only), else 0; ``"trigger"`` = the trigger;
     ``"none"`` = 0.  Rows with x ≤ d are not in the data;
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
     rates are fitted, and the latest year's Mack cv (SE/ultimate) joins the parameter cv below; a history
     without any report lag is developed by the default lag pattern (:mod:`actuarial.budget.lags`: monthly
     lists a month late, the latest year × 12/11, no cv added) unless ``Assumptions.default_development`` is off;
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
   ratio)); P(S > B) under predictive; the P10–P90 band per head (payout quantiles, no expense loading); with
   ``by_county``, B split across the pooled counties by credibility (:mod:`actuarial.budget.counties`).

6. **What-if**: ``draft`` priced with the SAME fitted severities, frequencies and parameter draws (common
   random numbers); a draft line with no fitted model is skipped with a note.  :meth:`BudgetResult.comparison`.

Deterministic given ``Assumptions.seed``.

The code: :mod:`actuarial.budget.inputs` (assumptions, history and exposure), :mod:`actuarial.budget.fit`
(the per-line models, steps 1–2), :mod:`actuarial.budget.price` (steps 3–6: compounds, budget, per head);
this module runs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from actuarial.budget.check import HOLDOUT_MIN_YEARS, actual_vs_expected, holdout_summary, trend_table
from actuarial.budget.fit import ExperienceModel, LineModel, fit_lines, stratified_gamma
from actuarial.budget.inputs import (
    Assumptions,
    BudgetError,
    experience_table,
    exposure_before,
    heads_by_county_year,
    history_before,
    next_year_heads,
)
from actuarial.budget.price import BudgetResult, budget_result, price_lines
from products.model import Product

__all__ = ["STEPS", "budget"]

#: The steps of :func:`budget` in order, as its ``progress`` hears them.
STEPS = {"history": "读取历史与承保人数 / the history and the exposure", "fit": "拟合各责任的频率与损失分布 / fitting "
         "each line's frequency and severity", "price": "FFT 复合分布与参数抽样 / the compound by FFT and the parameter "
         "draws", "checks": "实际与预期、趋势检验 / actual vs expected, trends", "holdout": "留出年检验 / the hold-out "
         "year"}


def budget(claims: pd.DataFrame, exposure: pd.DataFrame | None, product: Product, year: int, *,
           heads: int | None = None, draft: Product | None = None,
           assumptions: Assumptions = Assumptions(),  # noqa: B008 (frozen: an immutable default)
           holdout: bool = False, by_county: bool = False,
           progress: Callable[[str], None] | None = None) -> BudgetResult:
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
    holdout : also refit without the latest history year and place its realised payout in that predictive
        (``result.holdout``, :func:`actuarial.budget.check.holdout_summary`); needs ≥ 3 history years.
    progress : called with each step's name ("中文 / English") as it starts (:data:`STEPS`).
    by_county : also split the budget across the pooled counties by their credibility-weighted loss cost per
        head (``result.county_budgets``, :func:`actuarial.budget.counties.county_budgets`).

    The result carries the actual-versus-expected table and the trend table of :mod:`actuarial.budget.check`.
    """
    a = assumptions
    say = progress or (lambda _step: None)
    notes: list[str] = []
    say(STEPS["history"])
    history = history_before(claims, year, notes)
    no_lags = "report_lag" not in history.columns or not np.isfinite(history["report_lag"].to_numpy(float)).any()
    if no_lags and a.default_development:
        notes.append("历史无报案滞后：按默认报案进展模式（各部门每月报送上月名单，报案滞后 1 个月）调整最近一年的事件数，见"
                     "“默认报案进展模式”表 / the history carries no report lags: the latest year's events are developed "
                     "by the default lag pattern (each department's list reports the month before: a 1-month lag), see "
                     "the table 'default lag pattern'")
    elif no_lags:
        notes.append("历史无报案滞后，未做进展调整：最近一年视为已全部报案 / the history carries no report lags: no "
                     "development applied, the latest year is taken as fully reported")
    ex = exposure_before(exposure, history, product, year, heads, notes)
    if history.empty:
        raise BudgetError(f"{year} 年以前没有赔案历史 / no claims history before {year}")
    heads_next = next_year_heads(ex, int(year), heads, notes)
    rng = np.random.default_rng(a.seed)
    say(STEPS["fit"])
    models, experience_models = fit_lines(product, draft, history, ex, heads_next, int(year), a, rng, notes)
    exp_table = experience_table(history, ex)
    shock = _common_shock(a, notes)
    say(STEPS["price"])
    priced = price_lines(product, models, experience_models, int(year), int(a.bootstrap), notes, shock)
    whatif = None
    if draft is not None:
        whatif = _draft_result(product, draft, models, experience_models, int(year), float(heads_next.sum()), a,
                               exp_table, notes, shock)
    result = budget_result(product, int(year), float(heads_next.sum()), a, priced, exp_table, notes, whatif)
    say(STEPS["checks"])
    checks = {"actual_vs_expected": actual_vs_expected(models, history, heads_by_county_year(ex)),
              "trends": trend_table(models, experience_models, a)}
    if no_lags and a.default_development and models:
        from actuarial.budget.lags import default_pattern

        checks["default_lags"] = default_pattern()
    if by_county:
        from actuarial.budget.counties import county_budgets

        county_notes: list[str] = []
        checks["county_budgets"] = county_budgets(history, ex, heads_next, float(result.budget_total), county_notes)
        checks["notes"] = (*result.notes, *county_notes)
    if holdout:
        say(STEPS["holdout"])
        checks["holdout"] = _holdout(claims, exposure, product, history, ex, heads, a)
    return dataclasses.replace(result, **checks)


def _holdout(claims: pd.DataFrame, exposure: pd.DataFrame | None, product: Product, history: pd.DataFrame,
             ex: pd.DataFrame, heads: int | None, a: Assumptions) -> dict:
    """The hold-out check: the budget for the latest history year L from the years before it (heads = those
    insured in L), and where L's realised payout falls in it; a dict with ``skipped`` when it cannot run."""
    years = sorted(int(y) for y in set(history["year"]))
    if len(years) < HOLDOUT_MIN_YEARS:
        return {"skipped": f"历史不足 {HOLDOUT_MIN_YEARS} 年，未做留出检验 / fewer than {HOLDOUT_MIN_YEARS} history "
                           "years: no hold-out check"}
    held = years[-1]
    held_heads = float(ex.loc[ex["year"] == held, "heads"].sum()) if exposure is not None else heads
    try:
        refit = budget(claims, exposure, product, held, heads=max(int(round(held_heads or 0)), 1),
                       assumptions=a)
    except (ValueError, KeyError) as exc:
        return {"skipped": f"留出检验无法拟合 / the hold-out refit failed: {exc.args[0] if exc.args else exc}"}
    return holdout_summary(refit, history, held)


def _common_shock(a: Assumptions, notes: list[str]) -> np.ndarray | None:
    """H_b ~ Gamma(mean 1, cv ``a.common_shock_cv``) per draw (stratified, seeded by (seed, 1)), or None."""
    if not a.common_shock_cv > 0:
        return None
    if int(a.bootstrap) == 0:
        notes.append("共同冲击需要参数抽样（bootstrap > 0），未计入 / the common shock needs bootstrap draws: ignored")
        return None
    notes.append(f"各责任共同冲击 cv {a.common_shock_cv:.0%}（每次抽样的事件数同乘一个因子） / a common shock between "
                 f"the lines, cv {a.common_shock_cv:.0%}: every line's claim count in a draw shares one factor")
    return stratified_gamma(np.random.default_rng([int(a.seed), 1]), float(a.common_shock_cv), int(a.bootstrap))


def _draft_result(product: Product, draft: Product, models: dict[str, LineModel],
                  experience_models: dict[str, ExperienceModel], year: int, heads_total: float, a: Assumptions,
                  exp_table: pd.DataFrame, notes: list[str], shock: np.ndarray | None = None) -> BudgetResult:
    """The what-if: ``draft`` priced with the same fitted models and draws, its notes those of the current run
    plus a note per experience line the draft changes (its change is not reflected)."""
    draft_notes = list(notes)
    current = {ln.id: ln for ln in product.lines}
    for ln in draft.lines:
        if ln.id in experience_models and current.get(ln.id) != ln:
            draft_notes.append(f"{ln.id}（{ln.name}）: 按现行经验计价，草案对该责任的修改未体现 / priced at the "
                               "current experience: the draft's change to this line is not reflected")
    draft_priced = price_lines(draft, models, experience_models, year, int(a.bootstrap), draft_notes, shock)
    return budget_result(draft, year, heads_total, a, draft_priced, exp_table, draft_notes, None)
