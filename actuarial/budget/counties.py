"""Per-county budgets when several counties pool one fund (统筹): the pool's budget split by each county's
credibility-weighted loss cost per head (Bühlmann–Straub, :func:`actuarial.credibility.buhlmann_straub`).

County c's loss cost per head in history year t is r_ct = paid_ct / P_ct (P_ct its insured heads, the weight).
With P_c = Σ_t P_ct, P = Σ_c P_c, the own rate r̄_c = Σ_t paid_ct / P_c, r̄ = Σ paid / P and n_c the years with
heads (Bühlmann & Gisler 2005, ch. 4; Frees et al., *Loss Data Analytics*, §9.6 "Bühlmann–Straub model"):

* within variance (EPV)   s² = Σ_c Σ_t P_ct (r_ct − r̄_c)² / Σ_c (n_c − 1);
* between variance (VHM)  a = (Σ_c P_c (r̄_c − r̄)² − (C − 1)·s²) / (P − Σ_c P_c² / P), set to 0 when ≤ 0;
* credibility             Z_c = P_c / (P_c + k),  k = s²/a  (Z_c = 0 when a = 0);
* pooled rate             m = Σ_c Z_c r̄_c / Σ_c Z_c (r̄ when a = 0) — the complement that balances:
                          Σ_c P_c·rate_c = Σ paid, since P_c (1 − Z_c) = k·Z_c;
* credible rate           rate_c = Z_c·r̄_c + (1 − Z_c)·m;
* county budget           B_c = B · rate_c E_c / Σ_c' rate_c' E_c'  (E_c next year's heads, B the pool's budget),

so the counties' budgets add up to the pool's and each county carries the share of its credible expected
payout.  The rates are the history's paid per head, not trended or developed: the trend, the development and
the loading are the pool's, common to every county, and cancel in the shares.  A county with next year's heads
but no history gets the pooled rate (Z = 0); with one county, or when no county has two years (s² cannot be
estimated), every county gets its own rate (one county) or the pooled rate (noted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from actuarial.budget.inputs import heads_by_county_year

__all__ = ["county_budgets"]

COLUMNS = ["county", "heads", "years", "own_rate", "z", "credible_rate", "heads_next", "budget_total",
           "budget_per_head"]


def county_budgets(history: pd.DataFrame, exposure: pd.DataFrame, heads_next: pd.Series, budget_total: float,
                   notes: list[str]) -> pd.DataFrame:
    """The table of the module docstring: one row per county (``COLUMNS``); ``attrs`` holds the structure
    parameters ``within`` (s²), ``between`` (a), ``k`` and ``pooled`` (m).

    ``history``: claims (county, year, paid); ``exposure``: year, county, heads (history years);
    ``heads_next``: next year's heads per county; ``budget_total``: the pool's budget B."""
    heads = heads_by_county_year(exposure)
    paid = history.groupby(["county", "year"])["paid"].sum().unstack("year")
    paid = paid.reindex(index=heads.index, columns=heads.columns).fillna(0.0)
    w = heads.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(np.isfinite(w) & (w > 0), paid.to_numpy(float) / w, np.nan)
    counties = [str(c) for c in heads.index]
    own = pd.Series(np.nansum(paid.to_numpy(float) * np.isfinite(ratios), axis=1) / np.nansum(
        np.where(np.isfinite(ratios), w, 0.0), axis=1), index=counties)
    weight = pd.Series(np.nansum(np.where(np.isfinite(ratios), w, 0.0), axis=1), index=counties)
    years = pd.Series(np.isfinite(ratios).sum(axis=1), index=counties)
    pooled_mean = float(paid.to_numpy(float)[np.isfinite(ratios)].sum() / weight.sum())
    z, pooled, structure = _credibility(ratios, w, counties, own, pooled_mean, notes)
    all_counties = sorted(set(counties) | {str(c) for c in heads_next.index})
    e_next = heads_next.rename(index=str).reindex(all_counties).fillna(0.0).astype(float)
    z = z.reindex(all_counties).fillna(0.0)
    own = own.reindex(all_counties)
    rate = (z * own.fillna(0.0) + (1.0 - z) * pooled).astype(float)
    expected = rate * e_next
    total_expected = float(expected.sum())
    share = expected / total_expected if total_expected > 0 else e_next / max(float(e_next.sum()), 1.0)
    out = pd.DataFrame({
        "county": all_counties, "heads": weight.reindex(all_counties).fillna(0.0).to_numpy(),
        "years": years.reindex(all_counties).fillna(0).astype(int).to_numpy(), "own_rate": own.to_numpy(),
        "z": z.to_numpy(), "credible_rate": rate.to_numpy(), "heads_next": e_next.to_numpy(),
        "budget_total": (float(budget_total) * share).to_numpy(),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        out["budget_per_head"] = np.where(out["heads_next"] > 0, out["budget_total"] / out["heads_next"], np.nan)
    out.attrs.update(structure, pooled=float(pooled))
    return out


def _credibility(ratios: np.ndarray, w: np.ndarray, counties: list[str], own: pd.Series, pooled_mean: float,
                 notes: list[str]) -> tuple[pd.Series, float, dict]:
    """(Z_c, m, {within, between, k}) by :func:`actuarial.credibility.buhlmann_straub` on the counties with data,
    or the fallbacks of the module docstring (noted)."""
    from actuarial.credibility import buhlmann_straub

    nan = float("nan")
    if len(counties) == 1:
        notes.append("只有一个县，县级预算即统筹预算 / one county only: its budget is the pool's")
        return pd.Series(1.0, index=counties), float(own.iloc[0]), {"within": nan, "between": nan, "k": nan}
    try:
        bs = buhlmann_straub(ratios, np.where(np.isfinite(ratios), w, np.nan), units=counties)
    except ValueError as exc:
        notes.append(f"县级信度无法估计（{exc}），各县按统筹费率 / county credibility could not be estimated ({exc}): "
                     "every county at the pooled rate")
        return pd.Series(0.0, index=counties), pooled_mean, {"within": nan, "between": nan, "k": nan}
    notes.append(f"县级预算：Bühlmann–Straub 信度，s² = {bs.within_variance:.4g}，a = {bs.between_variance:.4g}，"
                 f"k = s²/a = {bs.k:.4g} 人，统筹费率 {bs.collective:.4f} 元/人 / county budgets by Bühlmann–Straub "
                 f"credibility on the loss cost per head: s² = {bs.within_variance:.4g}, a = {bs.between_variance:.4g}, "
                 f"k = {bs.k:.4g} heads, pooled rate {bs.collective:.4f} yuan per head")
    structure = {"within": float(bs.within_variance), "between": float(bs.between_variance), "k": float(bs.k)}
    return pd.Series(np.asarray(bs.z, dtype=float), index=counties), float(bs.collective), structure
