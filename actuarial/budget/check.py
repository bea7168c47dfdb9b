"""Checks of the fitted budget against the history (issue 17, acceptance 3): actual versus expected per line and
year, the trend table, and the hold-out year.

**Actual versus expected (A/E)**, per bracket line with a fitted model and per history year t (实际/预期):

* events: actual N_t = the claims counted above the truncation point d (as the frequency fit counts them);
  expected E[N_t] = Σ_c rate_c · E_ct · S_t(d) (the credibility rate of county c, its heads E_ct in year t,
  S_t the fitted severity of year t), sd √(E[N_t] + (c_y·E[N_t])²) with c_y the systemic year cv;
* payout per event: actual = mean of g(x) over those claims (g the product's schedule; a claim without an
  amount counts its paid); expected e₁ = E[g(X_t)] / S_t(d), sd of the mean √((e₂ − e₁²)/N_t), e₂ = E[g(X_t)²]/S_t(d);
* total: actual Σ g(x); expected E[N_t]·e₁, sd √(E[N_t]·e₂ + c_y²·(E[N_t]·e₁)²);
* a row "all" per line pools the years (years independent: the variances add; the per-event sd is
  √(Σ_t E[N_t](e₂ − e₁²) / Σ_t E[N_t] / N)), so a bias too small to flag in one year shows there.

Tolerance (stated in the report): a measure is flagged when |actual − expected| > 2 sd (about a 95% band under
the fitted model).  The frequency has no trend, so a rising or falling claim rate shows as a run of flags.

**Hold-out** (留出年检验): the budget refitted without the latest history year L (every assumption the same,
heads = the heads insured in L), and the realised payout of L (Σ paid over the product's lines) placed in
that predictive: its percentile P(S ≤ realised), and whether it lies in the P10–P90 band; outside the band, the
line furthest from its expected mean is named.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from actuarial.budget.inputs import Assumptions
from actuarial.coverage import PayoutFunction

__all__ = ["AE_TOLERANCE_SD", "actual_vs_expected", "holdout_summary", "trend_table"]

#: A measure of the A/E table is flagged beyond this many standard deviations of the fitted model.
AE_TOLERANCE_SD = 2.0
#: Fewest history years for a hold-out (the refit keeps at least two).
HOLDOUT_MIN_YEARS = 3


def _counted(rows: pd.DataFrame, g: PayoutFunction, d: float) -> pd.DataFrame:
    """The line's claims counted above d, with their payout y = g(x) (paid where x is unknown).  x: the ground-up
    amount, else g⁻¹(paid) below the cap, else the cap's x (as :func:`actuarial.budget.fit.line_amounts`)."""
    x = rows["ground_up"].to_numpy(float).copy()
    paid = rows["paid"].to_numpy(float)
    unknown = np.isnan(x) & (paid > 0)
    inner = unknown & (paid < g.max_payout - 0.005)
    x[inner] = np.asarray(g.inverse(paid[inner]), dtype=float)
    x[unknown & ~inner] = g.x_cap if math.isfinite(g.x_cap) else np.nan
    keep = (np.isfinite(x) & (x > d)) | ((d == 0.0) & unknown)
    y = np.where(np.isfinite(x), np.asarray(g(np.nan_to_num(x)), dtype=float), paid)
    return pd.DataFrame({"year": rows["year"].to_numpy()[keep], "y": y[keep]})


def _line_rows(model: Any, rows: pd.DataFrame, heads: pd.DataFrame) -> list[dict]:
    g = PayoutFunction.from_line(model.line)
    d = float(model.truncation)
    counted = _counted(rows, g, d)
    best = model.severity.best
    rate = pd.Series(np.asarray(model.frequency.rate, dtype=float), index=[str(u) for u in model.frequency.units])
    cy = float(model.year_cv)
    out = []
    pooled = np.zeros(6)  # Σ n, Σ y, Σ E[N], Σ E[N]·e1, Σ E[N]·(e2 − e1²), Σ E[N]²
    for t in sorted(set(int(y) for y in heads.columns)):
        sev = best.frozen(float(t))
        s_d = float(sev.sf(d)) if d > 0 else 1.0
        m1, m2 = (float(v) for v in g.moments(sev, (1, 2)))
        e1, e2 = m1 / s_d, m2 / s_d
        e_ct = heads[t].dropna() if t in heads.columns else pd.Series(dtype=float)
        e_n = float((rate.reindex(e_ct.index.astype(str)).fillna(0.0).to_numpy() * e_ct.to_numpy()).sum()) * s_d
        ys = counted.loc[counted["year"] == t, "y"].to_numpy(float)
        n = ys.size
        sd_n = math.sqrt(e_n + (cy * e_n) ** 2)
        sd_mean = math.sqrt(max(e2 - e1**2, 0.0) / n) if n else float("nan")
        sd_total = math.sqrt(e_n * e2 + cy**2 * (e_n * e1) ** 2)
        pooled += (n, ys.sum(), e_n, e_n * e1, e_n * max(e2 - e1**2, 0.0), e_n**2)
        row = {"line_id": model.line.id, "year": str(t), "events_actual": float(n), "events_expected": e_n,
               "per_event_actual": float(ys.mean()) if n else float("nan"), "per_event_expected": e1,
               "total_actual": float(ys.sum()), "total_expected": e_n * e1}
        out.append(_flagged(row, sd_n, sd_mean, sd_total))
    n, y_sum, e_n, e_tot, e_var, e_sq = pooled
    if len(out) > 1 and e_n > 0:  # all years together: a bias too small for one year shows here
        e1 = e_tot / e_n
        row = {"line_id": model.line.id, "year": "all 合计", "events_actual": n, "events_expected": e_n,
               "per_event_actual": y_sum / n if n else float("nan"), "per_event_expected": e1,
               "total_actual": y_sum, "total_expected": e_tot}
        sd_n = math.sqrt(e_n + cy**2 * e_sq)  # independent years: Σ_t (E_t + c_y²E_t²)
        sd_mean = math.sqrt(e_var / e_n / n) if n else float("nan")
        sd_total = math.sqrt(sum(float(r["total_sd"]) ** 2 for r in out))
        out.append(_flagged(row, sd_n, sd_mean, sd_total))
    return out


def _flagged(row: dict, sd_n: float, sd_mean: float, sd_total: float) -> dict:
    """``row`` with its A/E ratios and the flag naming the measures beyond ``AE_TOLERANCE_SD`` sd."""
    flags = []
    for key, sd, word in (("events", sd_n, "事件数 events"), ("per_event", sd_mean, "件均 per event"),
                          ("total", sd_total, "总额 total")):
        a_, e_ = row[f"{key}_actual"], row[f"{key}_expected"]
        row[f"{key}_ae"] = a_ / e_ if e_ > 0 else float("nan")
        if math.isfinite(a_) and sd > 0 and abs(a_ - e_) > AE_TOLERANCE_SD * sd:
            flags.append(word)
    row["flag"] = "、".join(flags)
    row["total_sd"] = sd_total
    return row


def actual_vs_expected(models: dict[str, Any], history: pd.DataFrame, heads: pd.DataFrame) -> pd.DataFrame:
    """The A/E table (module docstring): one row per bracket line with a model × history year; ``heads`` the
    counties × years table of insured heads."""
    rows: list[dict] = []
    for line_id, model in models.items():
        rows.extend(_line_rows(model, history[history["peril"] == line_id], heads))
    columns = ["line_id", "year", "events_actual", "events_expected", "events_ae", "per_event_actual",
               "per_event_expected", "per_event_ae", "total_actual", "total_expected", "total_ae", "total_sd", "flag"]
    return pd.DataFrame(rows, columns=columns)


def trend_table(models: dict[str, Any], experience_models: dict[str, Any], a: Assumptions) -> pd.DataFrame:
    """Per line the severity trend used, fitted or judgmental (判断): the fitted annual rate e^β − 1 with its
    standard error e^β·se(β) (delta method) when the trend was fitted, and the judgmental rate (``a.trend`` if
    given, else ``a.default_trend``) the experience lines and short histories use."""
    judgmental = float(a.trend if a.trend is not None else a.default_trend)
    rows = []
    for line_id, m in models.items():
        best = m.severity.best
        fitted = se = float("nan")
        if best.has_trend:
            beta, se_beta = float(best.theta[2]), float(best.se[2])
            fitted, se = math.expm1(beta), math.exp(beta) * se_beta
        used = "fitted 拟合" if best.has_trend else ("given 给定" if a.trend is not None else "judgmental 判断")
        rows.append({"line_id": line_id, "family": best.family, "fitted": fitted, "fitted_se": se,
                     "judgmental": judgmental, "used": used, "rate_used": math.expm1(best.beta)})
    for line_id in experience_models:
        rows.append({"line_id": line_id, "family": "experience 经验", "fitted": float("nan"),
                     "fitted_se": float("nan"), "judgmental": judgmental,
                     "used": "given 给定" if a.trend is not None else "judgmental 判断", "rate_used": judgmental})
    return pd.DataFrame(rows, columns=["line_id", "family", "fitted", "fitted_se", "judgmental", "used",
                                       "rate_used"])


def holdout_summary(refit: Any, history: pd.DataFrame, held_year: int) -> dict:
    """Where the realised payout of ``held_year`` falls in the predictive of ``refit`` (the budget fitted
    without it): percentile, P10/P50/P90, inside the band or not, and why not (the furthest line)."""
    lines = [p.line_id for p in refit.perils] + list(refit.experience_lines.get("line_id", []))
    held = history[(history["year"] == held_year) & history["peril"].isin(lines)]
    realised = float(held["paid"].sum())
    c = refit.predictive
    p10, p50, p90 = (float(v) for v in c.quantile([0.1, 0.5, 0.9]))
    percentile = float(c.pmf[c.grid <= realised].sum())
    expected = {p.line_id: float(p.mean) for p in refit.perils}
    for _, r in refit.experience_lines.iterrows():
        expected[str(r["line_id"])] = float(r["mean"])
    by_line = held.groupby("peril")["paid"].sum()
    per_line = [{"line_id": k, "realised": float(by_line.get(k, 0.0)), "expected": v} for k, v in expected.items()]
    inside = p10 <= realised <= p90
    why = ""
    if not inside and per_line:
        worst = max(per_line, key=lambda r: abs(r["realised"] - r["expected"]))
        side = "低于 P10 / below P10" if realised < p10 else "高于 P90 / above P90"
        ratio = worst["realised"] / worst["expected"] if worst["expected"] > 0 else float("nan")
        why = (f"{side}: 偏差最大的责任 {worst['line_id']} 实际 {worst['realised']:,.0f} 元，预期 "
               f"{worst['expected']:,.0f} 元 / the line furthest from its expectation is {worst['line_id']}: "
               f"realised {worst['realised']:,.0f} against {worst['expected']:,.0f} expected (A/E {ratio:.2f})")
    return {"year": int(held_year), "fitted_years": sorted(int(y) for y in set(history["year"]) if y < held_year),
            "realised": realised, "percentile": percentile, "p10": p10, "p50": p50, "p90": p90,
            "mean": float(c.mean), "inside_p10_p90": bool(inside), "why": why, "lines": per_line}
