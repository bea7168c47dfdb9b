"""The report's checks section (模型检验): actual versus expected per line and year, the severity trends (fitted
with its standard error, and judgmental), the fund's stop-loss premium at several retentions, and the hold-out
year — the tables of :mod:`actuarial.budget.check`
rendered for :mod:`actuarial.report` (its template takes :data:`CHECKS_TEMPLATE` before the validation section,
its context :func:`checks_context`), and ``actual_vs_expected.csv`` / ``trends.csv`` / ``stop_loss.csv`` beside
the report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from actuarial.budget.check import AE_TOLERANCE_SD
from actuarial.budget.lags import REPORT_DELAY_MONTHS

__all__ = ["CHECKS_TEMPLATE", "checks_context", "write_check_numbers"]


def _fmt(v: Any, decimals: int = 0) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    return "—" if not math.isfinite(f) else f"{f:,.{decimals}f}"


def _pct(v: Any, decimals: int = 1) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    return "—" if not math.isfinite(f) else f"{f * 100:.{decimals}f}%"


def checks_context(result: Any) -> dict[str, Any]:
    """``ae`` (rows of the A/E table), ``trends`` (rows), ``holdout`` (a dict of formatted figures or None) and
    ``ae_tolerance`` (the stated tolerance in sd)."""
    ae = getattr(result, "actual_vs_expected", pd.DataFrame())
    ae_rows = [{"flagged": bool(r["flag"]), "cells": [
        str(r["line_id"]), str(r["year"]), _fmt(r["events_actual"]), _fmt(r["events_expected"], 1),
        _fmt(r["events_ae"], 2), _fmt(r["per_event_actual"]), _fmt(r["per_event_expected"]), _fmt(r["per_event_ae"], 2),
        _fmt(r["total_actual"]), _fmt(r["total_expected"]), _fmt(r["total_ae"], 2), r["flag"] or "—"]}
        for _i, r in ae.iterrows()]
    trends = getattr(result, "trends", pd.DataFrame())
    trend_rows = [[str(r["line_id"]), str(r["family"]), _pct(r["fitted"]), _pct(r["fitted_se"]), _pct(r["judgmental"]),
                   str(r["used"]), _pct(r["rate_used"])] for _i, r in trends.iterrows()]
    h = getattr(result, "holdout", None)
    holdout = None
    if h is not None:
        holdout = {"skipped": h.get("skipped", "")}
        if not holdout["skipped"]:
            holdout.update({
                "year": h["year"], "fitted": f"{min(h['fitted_years'])}–{max(h['fitted_years'])}",
                "realised": _fmt(h["realised"]), "p10": _fmt(h["p10"]), "p50": _fmt(h["p50"]), "p90": _fmt(h["p90"]),
                "mean": _fmt(h["mean"]), "percentile": _pct(h["percentile"]), "inside": h["inside_p10_p90"],
                "why": h["why"]})
    stop = stop_loss_frame(result)
    stop_rows = [[_fmt(r["retention"]), f"{r['retention'] / float(result.predictive.mean):.2f}", _fmt(r["premium"]),
                  _fmt(r["per_head"], 2), _pct(r["prob_exceed"])] for _i, r in stop.iterrows()]
    sens = getattr(result, "sensitivity", pd.DataFrame())
    sens_rows = [[str(r["assumption"]), str(r["value"]), _fmt(r["budget_total"]), _fmt(r["per_head"], 2),
                  _pct(r["change"])] for _i, r in sens.iterrows()]
    lags = getattr(result, "default_lags", pd.DataFrame())
    lag_rows = [[str(int(r["lag"])), _pct(r["reported_share"]), _fmt(r["factor"], 4)] for _i, r in lags.iterrows()]
    counties = getattr(result, "county_budgets", pd.DataFrame())
    county_rows = [[str(r["county"]), _fmt(r["heads"]), _fmt(r["own_rate"], 2), _fmt(r["z"], 3),
                    _fmt(r["credible_rate"], 2), _fmt(r["heads_next"]), _fmt(r["budget_total"]),
                    _fmt(r["budget_per_head"], 2)] for _i, r in counties.iterrows()]
    structure = {k: _fmt(counties.attrs.get(k), d) for k, d in (("k", 0), ("pooled", 2))} if county_rows else {}
    return {"ae": ae_rows, "trends": trend_rows, "holdout": holdout, "ae_tolerance": f"{AE_TOLERANCE_SD:g}",
            "stop_loss": stop_rows, "sensitivity": sens_rows, "default_lags": lag_rows, "counties": county_rows,
            "county_structure": structure, "lag_delay": REPORT_DELAY_MONTHS}


#: Retentions of the stop-loss table, as multiples of the expected payout E[S]; the budget itself is added.
STOP_LOSS_MULTIPLES = (1.0, 1.1, 1.2, 1.5, 2.0)


def stop_loss_frame(result: Any) -> pd.DataFrame:
    """:func:`actuarial.premium.stop_loss_table` of the predictive at the budget and at E[S] × the multiples
    (empty for a result without a predictive distribution)."""
    from actuarial.premium import stop_loss_table

    if getattr(result, "predictive", None) is None:
        return pd.DataFrame()
    mean = float(result.predictive.mean)
    retentions = sorted({float(result.budget_total), *(mean * m for m in STOP_LOSS_MULTIPLES)})
    return stop_loss_table(result.predictive, retentions, max(int(result.heads), 1))


def write_check_numbers(result: Any, out: Path) -> dict[str, Path]:
    """actual_vs_expected.csv and trends.csv (UTF-8 with BOM, formula-safe text) when the result has them."""
    from claims.engine.output import write_csv

    paths: dict[str, Path] = {}
    for name in ("actual_vs_expected", "trends", "stop_loss", "sensitivity", "default_lags", "county_budgets"):
        frame = stop_loss_frame(result) if name == "stop_loss" else getattr(result, name, None)
        if frame is not None and not frame.empty:
            paths[f"{name}.csv"] = write_csv(frame, out / f"{name}.csv")
    return paths


#: The section (Jinja2, autoescaped by the report's environment).
CHECKS_TEMPLATE = """<section id="checks">
<h2>模型检验 <small>checks: actual vs expected, trend, hold-out year</small></h2>
{% if ae %}
<p>按责任、年度比较实际与拟合模型的预期（事件数、件均赔付、赔付总额）。容差：实际与预期之差超过 {{ ae_tolerance }} 倍\
标准差（约 95% 区间）时标出。
<br><small>Actual vs expected per line and year under the fitted model (events counted above the truncation\
 point, payout per event, total). Tolerance: flagged when |actual − expected| exceeds {{ ae_tolerance }} standard\
 deviations of the model (about a 95% band). The frequency has no trend: a rising claim rate shows as a run of\
 flags.</small></p>
<table>
<tr><th>责任 line</th><th>年度 year</th><th>事件 actual</th><th>事件 expected</th><th>A/E</th>\
<th>件均 actual</th><th>件均 expected</th><th>A/E</th><th>总额 actual</th><th>总额 expected</th><th>A/E</th>\
<th>超出容差 flagged</th></tr>
{% for row in ae %}<tr{% if row.flagged %} class="chosen"{% endif %}>{% for c in row.cells %}\
<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endif %}
{% if trends %}
<p>费用趋势：拟合值及其标准误，与判断值（给定或默认）。
<br><small>Severity trend per line: fitted (with its standard error) and judgmental, and the one used.</small></p>
<table>
<tr><th>责任 line</th><th>分布 family</th><th>拟合 fitted</th><th>标准误 SE</th><th>判断 judgmental</th>\
<th>采用 used</th><th>采用值 rate used</th></tr>
{% for row in trends %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endif %}
{% if sensitivity %}
<p>敏感性：每次只改变一项假设重新测算的预算。
<br><small>Sensitivity: the budget refitted with one assumption changed at a time.</small></p>
<table>
<tr><th>假设 assumption</th><th>取值 value</th><th>预算 budget</th><th>每人 per head</th><th>变化 change</th></tr>
{% for row in sensitivity %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endif %}
{% if counties %}
<p>分县预算：统筹预算按各县信度加权的人均赔付（Bühlmann–Straub）分摊，Z = P/(P + k)，k = s²/a = {{\
 county_structure.k }} 人，统筹费率 m = {{ county_structure.pooled }} 元/人；信度费率 = Z·本县费率 + (1 − Z)·m。
<br><small>Per-county budgets: the pool's budget split by each county's credible loss cost per head (Bühlmann–Straub):
 Z = P/(P + k) with P the county's insured heads over the history, k = s²/a = {{ county_structure.k }} heads, the
 pooled rate m = {{ county_structure.pooled }} yuan per head; credible rate = Z·own + (1 − Z)·m; budgets in
 proportion to credible rate × next year's heads (they add up to the pool's budget).</small></p>
<table>
<tr><th>县 county</th><th>历史人数 exposure</th><th>本县费率 own rate</th><th>Z</th><th>信度费率 credible rate</th>\
<th>明年人数 heads next</th><th>预算 budget</th><th>每人 per head</th></tr>
{% for row in counties %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endif %}
{% if default_lags %}
<p>默认报案进展模式：历史无报案滞后，假定各部门每月报送上月名单（滞后 {{ lag_delay }} 个月，事件在 12 个月内均匀分布），\
历史在最近一年年末评估，最近一年事件数乘以其进展因子（滞后 3 季度一行），更早年度视为已全部报案。
<br><small>Default lag pattern: the history carries no report lags, so each department's monthly list is taken to
 report the events of the month before (a {{ lag_delay }}-month lag, events spread evenly over the year, DESIGN.md
 §2); the history is valued at the end of its latest year, whose events are multiplied by the factor at lag 3;
 earlier years count as fully reported. Turn off with --no-default-lags.</small></p>
<table>
<tr><th>滞后季度 lag (quarters)</th><th>已报比例 reported</th><th>进展因子 factor to ultimate</th></tr>
{% for row in default_lags %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endif %}
{% if stop_loss %}
<p>统筹基金超额赔付（止损）保费：赔付总额 S 超过自留额 R 的部分的期望 E[(S − R)+]，与预算同一 FFT 分布。
<br><small>Stop-loss for the county fund: the pure premium E[(S − R)+] of the payout above a retention R, on the
 same predictive distribution as the budget.</small></p>
<table>
<tr><th>自留额 retention R</th><th>R / E[S]</th><th>止损保费 premium</th><th>每人 per head</th><th>P(S > R)</th></tr>
{% for row in stop_loss %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endif %}
{% if holdout %}
{% if holdout.skipped %}<p>{{ holdout.skipped }}</p>{% else %}
<p>留出检验：不用 {{ holdout.year }} 年重新拟合（{{ holdout.fitted }} 年），{{ holdout.year }} 年实际赔付 ¥{{\
 holdout.realised }} 位于预测分布的第 {{ holdout.percentile }} 分位（P10 ¥{{ holdout.p10 }}，P50 ¥{{ holdout.p50\
 }}，P90 ¥{{ holdout.p90 }}）：{% if holdout.inside %}在 P10–P90 区间内{% else %}在 P10–P90 区间外{% endif %}。
<br><small>Hold-out: refitted on {{ holdout.fitted }} without {{ holdout.year }}, the realised payout of {{\
 holdout.year }} falls at percentile {{ holdout.percentile }} of that predictive ({% if holdout.inside %}inside{%\
 else %}outside{% endif %} the P10–P90 band).</small></p>
{% if holdout.why %}<p>{{ holdout.why }}</p>{% endif %}
{% endif %}
{% endif %}
</section>

"""
