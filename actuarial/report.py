"""The budget report (保费预算测算报告): a Chinese HTML page with matplotlib charts, and the numbers as CSV/JSON.

:func:`write_report` takes a :class:`actuarial.budget.price.BudgetResult` and writes under ``out_dir``::

    report.html                  Chinese (English in small type), self-contained except the PNGs below
    charts/loss_distribution.png density of next year's payout S, budget marked, P10–P90 shaded
    charts/experience.png        paid per head by year and line, next year's mean and budget per head
    charts/whatif.png            current vs draft per principle, per head (only with a what-if)
    budget.json                  result.to_dict()
    premiums.csv band.csv experience.csv severity.csv [whatif.csv]   UTF-8 with BOM (Excel), like claims/engine/output.py
                                 (its write_csv: text cells formula-safe, tabular.safe_cells; numbers as numbers)

The charts are drawn by :mod:`actuarial.report_charts` (Chinese labels when a CJK font is installed, else
English).  The HTML is rendered by Jinja2 (Flask's template engine) with autoescaping.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actuarial.report_charts import experience_frame, flat_frame, write_charts
from actuarial.report_checks import CHECKS_TEMPLATE, checks_context, write_check_numbers
from actuarial.report_premium import HISTORY_TEMPLATE, PREMIUM_TEMPLATE, premium_context, premium_numbers

__all__ = ["FAMILY_NAMES", "render_html", "severity_frame", "write_numbers", "write_report"]

#: Severity families in words.
FAMILY_NAMES = {"lognormal": "对数正态 lognormal", "gamma": "伽马 gamma", "lomax": "Lomax（帕累托 II 型）Pareto II",
                "pareto": "帕累托 Pareto", "weibull": "威布尔 Weibull"}


# ------------------------------------------------------------------------------------------ formatting
def _yuan(x: Any, decimals: int = 0) -> str:
    """Money for people: thousands separators, ``decimals`` places (per-head figures use 2)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "" if x is None else str(x)
    if not math.isfinite(v):
        return "—"
    return f"{v:,.{decimals}f}"


def _pct(x: Any, decimals: int = 1) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return "—" if not math.isfinite(v) else f"{v * 100:.{decimals}f}%"


def _num(x: Any, decimals: int = 2) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "是 yes" if x else "否 no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if not math.isfinite(v):
            return "—"
        if v != 0 and abs(v) < 1e-3:
            return f"{v:.2e}"
        return f"{v:,.{decimals}f}"
    return "" if x is None else str(x)


def _sci(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "—" if not math.isfinite(v) else f"{v:+.2e}"


#: A formatted number (money, count, percentage, ratio or "—"): right-aligned in the tables.
_NUMERIC = re.compile(r"[-+]?¥?[\d,]+(\.\d+)?(%|e[-+]\d+)?|—|P\d+")


def _table(frame: pd.DataFrame, columns: Iterable[tuple[str, str, Callable[[Any], str]]]) -> dict[str, Any]:
    """Rows of formatted cells: ``columns`` = (column, header, formatter); missing columns are skipped."""
    cols = [(c, h, f) for c, h, f in columns if c in frame.columns]
    return {"headers": [h for _c, h, _f in cols],
            "rows": [[f(row[c]) for c, _h, f in cols] for _i, row in frame.iterrows()]}


_QUANTITIES = {"mean": ("期望赔付 expected payout", 0), "sd": ("标准差 sd", 0),
               "budget_total": ("建议预算 budget", 0), "budget_per_head": ("每人预算 budget per head", 2),
               "prob_exceed": ("超支概率 P(S > B)", -1)}


def _comparison_table(frame: pd.DataFrame) -> dict[str, Any]:
    """Current vs draft (``BudgetResult.comparison()``) with the quantities in words."""
    from actuarial.premium import PRINCIPLES

    flat = flat_frame(frame)
    key = flat.columns[0]
    rows = []
    for _i, r in flat.iterrows():
        q = str(r[key])
        label, decimals = _QUANTITIES.get(q, (q, 2))
        if q.startswith("per_head:"):
            label, decimals = f"每人保费 per head · {PRINCIPLES.get(q.split(':', 1)[1], q)}", 2
        fmt = (lambda v: _pct(v)) if decimals < 0 else (lambda v, d=decimals: _yuan(v, d))
        change = _pct(r["change"]) if decimals < 0 else _yuan(r["change"], max(decimals, 0))
        if change and change[0].isdigit():
            change = "+" + change
        rows.append([label, fmt(r["current"]), fmt(r["draft"]), change,
                     "—" if not math.isfinite(float(r["ratio"])) else f"{float(r['ratio']):.3f}"])
    return {"headers": ["项目 quantity", "现行 current", "草案 draft", "变化 change", "比值 ratio"], "rows": rows}


# ------------------------------------------------------------------------------------------ numbers
def severity_frame(result: Any) -> pd.DataFrame:
    """One row per modelled line × fitted family: the AIC comparison, with the chosen family flagged."""
    frames = []
    for p in result.perils:
        t = flat_frame(p.severity.table)
        if "family" not in t.columns:
            t = t.rename(columns={t.columns[0]: "family"}) if len(t.columns) else t
        t.insert(0, "line_id", p.line_id)
        t.insert(1, "line_name", p.name)
        t["chosen"] = t["family"] == p.severity.best.family
        frames.append(t)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_numbers(result: Any, out_dir: str | Path, *, current_premium: Any = None,
                  history: dict | None = None) -> dict[str, Path]:
    """budget.json (with the comparison with the current premium and the history's verdict,
    :func:`actuarial.report_premium.premium_numbers`, under ``"against_premium"``) and the CSV files (UTF-8 with
    BOM) under ``out_dir``."""
    from claims.engine.output import write_csv  # here, not at import: ``import actuarial`` need not load the engine

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"budget.json": out / "budget.json"}
    doc = {**result.to_dict(), "against_premium": premium_numbers(result, current_premium, history)}
    paths["budget.json"].write_text(json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n",
                                    encoding="utf-8")
    paths["premiums.csv"] = write_csv(flat_frame(result.premiums), out / "premiums.csv")
    paths["band.csv"] = write_csv(flat_frame(result.band), out / "band.csv")
    paths["experience.csv"] = write_csv(flat_frame(result.experience), out / "experience.csv")
    paths["severity.csv"] = write_csv(severity_frame(result), out / "severity.csv")
    paths.update(write_check_numbers(result, out))
    if getattr(result, "whatif", None) is not None:
        paths["whatif.csv"] = write_csv(flat_frame(result.comparison()), out / "whatif.csv")
    return paths


# ------------------------------------------------------------------------------------------ HTML
def _trend(fit: Any) -> float:
    try:
        return float(fit.params.get("trend", 0.0))
    except AttributeError:
        return float("nan")


def _context(result: Any, charts: dict[str, Path], out_dir: Path) -> dict[str, Any]:
    from actuarial.premium import PRINCIPLES

    a = result.assumptions
    heads = int(result.heads)
    premiums = flat_frame(result.premiums)
    if "principle" not in premiums.columns:
        premiums = premiums.rename(columns={"index": "principle"})
    premiums_rows = []
    for _i, row in premiums.iterrows():
        key = row.get("principle", "")
        premiums_rows.append({
            "chosen": key == a.principle,
            "cells": [row.get("label", PRINCIPLES.get(key, key)), _yuan(row["risk_premium"]), _yuan(row["total"]),
                      _yuan(row["per_head"], 2), _pct(row["prob_exceed"])],
        })
    band = flat_frame(result.band)
    band_rows = [[f"P{round(float(r['p']) * 100):d}", _yuan(r["total"]), _yuan(r["per_head"], 2)]
                 for _i, r in band.iterrows()]
    line_rows = []  # the template's "perils": one per modelled line
    for p in result.perils:
        best = p.severity.best
        aic = flat_frame(p.severity.table)
        if "family" not in aic.columns and len(aic.columns):
            aic = aic.rename(columns={aic.columns[0]: "family"})
        line_rows.append({
            "name": p.name, "line_id": p.line_id,
            "cells": [f"{p.name}（{p.line_id}）", FAMILY_NAMES.get(best.family, best.family), _pct(_trend(best)),
                      _num(float(p.events), 1), f"{float(p.events) / heads * 1000:,.2f}", _yuan(p.mean), _yuan(p.sd),
                      _yuan(float(p.mean) / heads, 2)],
            "aic": _table(aic, [
                ("family", "分布 family", lambda v: FAMILY_NAMES.get(v, v)),
                ("loglik", "对数似然 log-lik", lambda v: _num(v, 1)),
                ("k", "参数个数 k", _num),
                ("aic", "AIC", lambda v: _num(v, 1)),
                ("delta_aic", "ΔAIC", lambda v: _num(v, 1)),
                ("converged", "收敛 converged", _num),
                ("params", "参数 parameters", str),
            ]),
            "chosen": best.family,
            "n": getattr(best, "n", None),
            "truncation": getattr(best, "truncation", 0.0),
        })
    exp = _table(experience_frame(result), [
        ("year", "年度 year", lambda v: str(int(v))),
        ("county", "区划 county", str),
        ("peril", "责任 line", str),
        ("claims", "件数 claims", _num),
        ("heads", "参保人数 heads", lambda v: _yuan(v, 0)),
        ("ground_up", "费用合计 ground-up（元）", _yuan),
        ("paid", "赔付合计 paid（元）", _yuan),
        ("paid_per_head", "每人赔付 per head（元）", lambda v: _yuan(v, 2)),
    ])
    val = _table(flat_frame(result.validation), [
        ("what", "项目 what", str), ("stat", "统计量 stat", str),
        ("exact", "精确值 exact", lambda v: _num(v, 2)), ("computed", "计算值 computed", lambda v: _num(v, 2)),
        ("rel_error", "相对误差 rel. error", _sci),
    ])
    whatif = None
    if getattr(result, "whatif", None) is not None:
        d = result.whatif
        whatif = {"name": d.product_name, "code": d.product_code, "budget_total": _yuan(d.budget_total),
                  "budget_per_head": _yuan(d.budget_per_head, 2), "table": _comparison_table(result.comparison()),
                  "change": _pct(float(d.budget_total) / float(result.budget_total) - 1.0)
                  if float(result.budget_total) > 0 else "—"}
    imgs = {k: p.relative_to(out_dir).as_posix() for k, p in charts.items()}
    level_text = f"{a.level:.1%}".replace(".0%", "%")
    return {
        "r": result, "a": a, "heads": f"{heads:,}",
        "principle_label": PRINCIPLES.get(a.principle, a.principle),
        "level_text": level_text,
        "uses_level": a.principle in ("var", "tvar"),
        "budget_total": _yuan(result.budget_total), "budget_per_head": _yuan(result.budget_per_head, 2),
        "prob_exceed": _pct(result.prob_exceed), "mean_total": _yuan(result.predictive.mean),
        "mean_per_head": _yuan(float(result.predictive.mean) / heads, 2), "sd_total": _yuan(result.predictive.sd),
        "expense": _pct(a.expense_ratio, 0), "premiums": premiums_rows, "band": band_rows, "perils": line_rows,
        "experience": exp, "validation": val, "notes": list(result.notes), "whatif": whatif, "imgs": imgs,
        "bootstrap": a.bootstrap, "seed": a.seed, "year_cv_floor": _pct(a.year_cv_floor, 0),
        **checks_context(result),
    }


#: The page (Jinja2).  A backslash at the end of a line continues it: the text has no line break there.
TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ r.product_name }} {{ r.year }}年度保费预算测算报告</title>
<style>
body { font-family: "PingFang SC", "Microsoft YaHei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif;
       margin: 2em auto; max-width: 1000px; padding: 0 1em; color: #222; line-height: 1.6; }
h1 { font-size: 1.6em; border-bottom: 3px solid #1f4e79; padding-bottom: .3em; }
h2 { font-size: 1.25em; margin-top: 2em; color: #1f4e79; }
small, .en { color: #666; font-size: .8em; font-weight: normal; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; }
th { background: #eef3f8; text-align: left; }
td.num { text-align: right; white-space: nowrap; }
tr.chosen td { background: #fff2cc; font-weight: bold; }
.headline { display: flex; flex-wrap: wrap; gap: 1em; margin: 1em 0; }
.card { border: 1px solid #9dc3e6; border-radius: 6px; padding: .6em 1em; min-width: 12em; background: #f7fbff; }
.card .value { font-size: 1.5em; font-weight: bold; color: #1f4e79; }
img.chart { max-width: 100%; border: 1px solid #ddd; }
ul.notes li { margin: .2em 0; }
</style>
</head>
<body>
<h1>{{ r.product_name }} {{ r.year }}年度保费预算测算报告
  <br><small>Premium budget report, {{ r.product_code }}, policy year {{ r.year }}</small></h1>

<section id="headline">
<h2>测算结论 <small>headline</small></h2>
<div class="headline">
  <div class="card"><div>建议预算 <span class="en">budget</span></div>
    <div class="value" id="budget-total">¥{{ budget_total }}</div></div>
  <div class="card"><div>每人保费 <span class="en">per head</span></div>
    <div class="value" id="budget-per-head">¥{{ budget_per_head }}</div></div>
  <div class="card"><div>赔付超过预算的概率 P(S &gt; 预算) <span class="en">probability payouts exceed the\
 budget</span></div>
    <div class="value" id="prob-exceed">{{ prob_exceed }}</div></div>
  <div class="card"><div>参保人数 <span class="en">insured heads</span></div>
    <div class="value" id="heads">{{ heads }}</div></div>
</div>
<p>预算 ¥{{ budget_total }} = 风险保费 ¥{{ confidence.risk_premium }} ÷ (1 − 费用率 {{ expense }})。风险保费按\
 <b>{{ principle_label }}</b> 确定{% if uses_level %}，取明年赔付总额的 {{ level_text }} 分位数{% endif %}：赔付超过风险保费的概率为\
 {{ confidence.prob_risk }}。预算在风险保费之上再加费用附加 ¥{{ confidence.loading }}，因此赔付超过预算的概率为\
 <b>{{ confidence.prob_budget }}</b>（即上方卡片与下表所示的同一概率）。明年赔付总额期望 ¥{{ mean_total }}（每人 ¥{{\
 mean_per_head }}），标准差 ¥{{ sd_total }}。
<br><small>Budget = risk premium ÷ (1 − the {{ expense }} expense ratio). The risk premium follows the {{\
 principle_label.split(' / ')[-1] }} principle{% if uses_level %}: the {{ level_text }} quantile of next year's\
 total payout{% endif %}; payouts exceed it with probability {{ confidence.prob_risk }}. The expense loading of ¥{{\
 confidence.loading }} lifts the budget above it, so payouts exceed the budget with probability {{\
 confidence.prob_budget }} — the one probability the card and the table state. Expected payout ¥{{ mean_total }} (¥{{\
 mean_per_head }} per head).</small></p>
</section>

<section id="distribution">
<h2>明年赔付总额分布 <small>distribution of next year's total payout</small></h2>
<img class="chart" src="{{ imgs.loss_distribution }}" alt="明年赔付总额的概率分布，红线为建议预算，浅蓝为\
 P10–P90 区间 / density of next year's total payout with the budget marked and the P10–P90 band shaded">
</section>

<section id="premiums">
<h2>各保费原则 <small>premium principles</small></h2>
<table>
<tr><th>原则 principle</th><th>风险保费 risk premium（元）</th><th>含费用预算 total（元）</th><th>每人 per\
 head（元）</th><th>P(S &gt; 预算)</th></tr>
{% for row in premiums %}<tr{% if row.chosen %} class="chosen"{% endif %}>{% for c in row.cells %}<td{{\
 c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
<p><small>期望值 θ = {{ a.theta }}；标准差 κ = {{ a.kappa }}；VaR/TVaR p = {{ level_text }}；资本成本 r = {{\
 a.coc_rate }}，资本 = TVaR<sub>{{ a.coc_level }}</sub> − E[S]。
Highlighted: the principle that sets the budget.</small></p>
</section>

<section id="band">
<h2>赔付区间 P10–P90 <small>payout band (without expenses)</small></h2>
<table>
<tr><th>分位 quantile</th><th>赔付总额 total（元）</th><th>每人 per head（元）</th></tr>
{% for row in band %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
</section>

<section id="perils">
<h2>分责任测算 <small>by line (peril)</small></h2>
<table>
<tr><th>责任 line</th><th>选用损失分布 severity</th><th>年趋势 trend</th><th>预计事件数\
 events</th><th>每千人事件 per 1,000 heads</th>
<th>期望赔付 mean（元）</th><th>标准差 sd（元）</th><th>每人期望赔付 per head（元）</th></tr>
{% for p in perils %}<tr>{% for c in p.cells %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% for p in perils %}
<h3>{{ p.name }} <small>{{ p.line_id }}：损失分布 AIC 比较 severity families by AIC{% if p.n %}，{{ p.n }}\
 个观测 observations{% endif %}{% if p.truncation %}，左截断于 truncated at ¥{{\
 '{:,.0f}'.format(p.truncation) }}{% endif %}</small></h3>
<table>
<tr>{% for h in p.aic.headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in p.aic.rows %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endfor %}
</section>

<section id="experience">
<h2>历年赔付经验 <small>experience by year and line</small></h2>
<img class="chart" src="{{ imgs.experience }}" alt="历年每人赔付（按责任堆叠）及明年期望赔付与建议预算 / paid\
 per head by year and line, with next year's expected payout and budget">
<table>
<tr>{% for h in experience.headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in experience.rows %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
</section>

{% if whatif %}
<section id="whatif">
<h2>方案比较 <small>what-if: draft {{ whatif.code }}</small></h2>
<p>草案「{{ whatif.name }}」的建议预算 ¥{{ whatif.budget_total }}（每人 ¥{{ whatif.budget_per_head\
 }}），较现行方案变化 {{ whatif.change }}。
<br><small>Same fitted severity and frequency, priced under the draft schedule.</small></p>
<img class="chart" src="{{ imgs.whatif }}" alt="现行与草案在各保费原则下的每人保费比较 / current vs draft\
 premium per head by principle">
<table>
<tr>{% for h in whatif.table.headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in whatif.table.rows %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
</section>
{% endif %}

<section id="validation">
<h2>计算校验 <small>validation: exact vs computed moments</small></h2>
<table>
<tr>{% for h in validation.headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in validation.rows %}<tr>{% for c in row %}<td{{ c|numclass }}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
</section>

<section id="notes">
<h2>说明 <small>notes</small></h2>
{% if notes %}<ul class="notes">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% else %}<p>无\
 <small>none</small></p>{% endif %}
</section>

<section id="method">
<h2>方法说明 <small>method</small></h2>
<ol>
<li><b>趋势与现行化</b>：历年费用按年趋势 (1+i)<sup>T+1−t</sup> 调整到明年，再套用明年的赔付方案\
 g(x)（起付线、分段比例、封顶）。
 <small>On-level: ground-up amounts trended to next year and next year's schedule re-applied (Loss Models ch.\
 8).</small></li>
<li><b>截断极大似然</b>：对数正态、伽马、Lomax\
 分布以极大似然拟合，数据在报告门槛处左截断、在封顶处右删失，含对数线性趋势，按 AIC 选择。
 <small>Severity: MLE with left truncation and right censoring, log-linear trend, choice by AIC.</small></li>
<li><b>信度</b>：出险频率按 Bühlmann–Straub 信度（权重为参保人数）在县间加权，年度系统性波动变异系数下限 {{\
 year_cv_floor }}。
 <small>Frequency: Bühlmann–Straub credibility across counties (weights = heads); systemic year cv floored at\
 {{ year_cv_floor }}.</small></li>
<li><b>FFT 复合分布</b>：每次事件赔付 Y = g(X)\
 按舍入法离散化，以快速傅里叶变换求复合（负二项）分布，各责任的变换相乘；精确矩用于校验。
 <small>Aggregate: rounding discretisation of the payout, FFT compound with padding, perils multiplied; exact\
 moments for validation.</small></li>
<li><b>参数不确定性</b>：参数的 {{ bootstrap }} 次参数自助抽样（种子 {{ seed\
 }}），预测分布为各抽样复合分布的等权混合。
 <small>Parameter uncertainty: parametric bootstrap, predictive = equal-weight mixture of {{ bootstrap }}\
 compounds.</small></li>
<li><b>保费原则</b>：期望值、标准差、VaR、TVaR（Acerbi–Tasche 形式 q<sub>p</sub> +\
 E[(S−q<sub>p</sub>)<sub>+</sub>]/(1−p)）、资本成本；各除以 (1 − 费用率)。
 <small>Premium principles; TVaR in the Acerbi–Tasche (expected shortfall) form, not actuar's CTE.</small></li>
</ol>
<p><small>数据文件 Numbers: <a href="budget.json">budget.json</a>, <a href="premiums.csv">premiums.csv</a>,\
 <a href="band.csv">band.csv</a>,
<a href="experience.csv">experience.csv</a>, <a href="severity.csv">severity.csv</a>{% if whatif %}, <a\
 href="whatif.csv">whatif.csv</a>{% endif %}.</small></p>
</section>
</body>
</html>
"""


def render_html(result: Any, charts: dict[str, Path], out_dir: str | Path, *, current_premium: Any = None,
                history: dict | None = None) -> str:
    """The report page as a string (image paths relative to ``out_dir``; the options as :func:`write_report`'s)."""
    from jinja2 import Environment
    from markupsafe import Markup

    env = Environment(autoescape=True, trim_blocks=False, lstrip_blocks=False)
    env.filters["numclass"] = lambda text: Markup(' class="num"') if _NUMERIC.fullmatch(str(text)) else ""
    page = TEMPLATE.replace('<section id="validation">', CHECKS_TEMPLATE + '<section id="validation">', 1)
    page = page.replace('<section id="headline">', HISTORY_TEMPLATE + '<section id="headline">', 1)
    page = page.replace('<section id="distribution">', PREMIUM_TEMPLATE + '<section id="distribution">', 1)
    context = {**_context(result, charts, Path(out_dir)), **premium_context(result, current_premium, history)}
    return env.from_string(page).render(**context)


def write_report(result: Any, out_dir: str | Path, *, current_premium: Any = None, history: dict | None = None) -> Path:
    """Write report.html, charts/*.png, budget.json and the CSV files under ``out_dir``; return report.html's path.
    ``current_premium`` (yuan per head now) and ``history`` (its verdict): :mod:`actuarial.report_premium`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    charts = write_charts(result, out / "charts")
    write_numbers(result, out, current_premium=current_premium, history=history)
    page = out / "report.html"
    page.write_text(render_html(result, charts, out, current_premium=current_premium, history=history),
                    encoding="utf-8")
    return page
