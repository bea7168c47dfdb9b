"""The budget report's statement of confidence, its comparison with the current premium and its history warning
(issue 15, item 3) — rendered for :mod:`actuarial.report` (:data:`HISTORY_TEMPLATE` after the title,
:data:`PREMIUM_TEMPLATE` after the headline; their context from :func:`premium_context`; the same figures in
budget.json from :func:`premium_numbers`).

**One probability.**  The budget B = R / (1 − e): the chosen principle's risk premium R (for VaR at p, the p
quantile of next year's total payout S) grossed up by the expense ratio e.  The report states one probability of
exceeding the budget, P(S > B), on its card, in its text and in the principles' table; the level p belongs to R
(P(S > R) ≈ 1 − p for VaR), and the text says that the expense loading B − R lifts the budget above it.

**Against the current premium** Π per head (the policy's 每人保费; a total of Π·E for the E insured heads):

* budget / current = (B / E) / Π;
* expected loss ratio (预期赔付率) = (E[S] / E) / Π: the expected claims over the current premium;
* P(S > Π·E): the probability that next year's payouts exceed the current premium income.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["HISTORY_TEMPLATE", "PREMIUM_TEMPLATE", "premium_context", "premium_numbers"]


def _pct(v: float | None, decimals: int = 1, *, tiny: bool = False) -> str:
    """A percentage, as the report's cards print it; with ``tiny``, a probability above 0 that would print as
    0.0% is "< 0.1%"."""
    if v is None or not math.isfinite(v):
        return "—"
    floor = 10.0 ** -decimals / 100
    return f"< {floor * 100:g}%" if tiny and 0 < v < floor / 2 else f"{v * 100:.{decimals}f}%"


def premium_numbers(result: Any, current_premium: Any = None, history: dict | None = None) -> dict[str, Any]:
    """The figures of the module docstring (plain floats; None where there is no current premium)."""
    heads = max(int(result.heads), 1)
    a = result.assumptions
    risk = float(result.premiums.loc[a.principle, "risk_premium"])
    out: dict[str, Any] = {
        "risk_premium": risk, "prob_exceed_risk_premium": float(result.predictive.prob_exceed(risk)),
        "prob_exceed_budget": float(result.prob_exceed), "expense_loading": float(result.budget_total) - risk,
        "current_premium_per_head": None, "budget_to_current": None, "expected_loss_ratio": None,
        "prob_exceed_current_premium": None, "history": history,
    }
    if current_premium is not None and float(current_premium) > 0:
        pi = float(current_premium)
        out.update({"current_premium_per_head": pi, "budget_to_current": float(result.budget_per_head) / pi,
                    "expected_loss_ratio": float(result.predictive.mean) / heads / pi,
                    "prob_exceed_current_premium": float(result.predictive.prob_exceed(pi * heads))})
    return out


def premium_context(result: Any, current_premium: Any = None, history: dict | None = None) -> dict[str, Any]:
    """``confidence`` (the risk premium, its level and P(S > R), the loading), ``current`` (the comparison, or
    None) and ``history`` (the verdict of :mod:`claims.engine.history_rule` as given, or None)."""
    n = premium_numbers(result, current_premium, history)
    confidence = {"risk_premium": f"{n['risk_premium']:,.0f}", "prob_risk": _pct(n["prob_exceed_risk_premium"]),
                  "loading": f"{n['expense_loading']:,.0f}", "prob_budget": _pct(n["prob_exceed_budget"])}
    current = None
    if n["current_premium_per_head"] is not None:
        ratio = n["expected_loss_ratio"]
        current = {"per_head": f"{n['current_premium_per_head']:,.2f}", "ratio": f"{n['budget_to_current']:.2f}",
                   "loss_ratio": _pct(ratio), "prob_exceed": _pct(n["prob_exceed_current_premium"], tiny=True),
                   "short": ratio is not None and ratio > 1.0}
    shown = None
    if history:
        shown = {**history, "person_years": f"{float(history.get('person_years') or 0):,.0f}"}
    return {"confidence": confidence, "current": current, "history": shown}


#: The warning after the title (Jinja2, autoescaped by the report's environment).
HISTORY_TEMPLATE = """{% if history %}
<style>
#history-warning { border: 2px solid #c9a227; background: #fff8e1; padding: .4em 1em; margin: 1em 0; }
#history-warning.refused { border-color: #c00000; background: #fdecea; }
#history-warning .refusal { color: #c00000; }
</style>
<section id="history-warning" class="{{ 'refused' if history.refusal else ('warn' if history.warnings else '') }}">
<p><b>历史数据 <span class="en">history</span>：</b>{{ history.years }} 年，{{ history.months }} 个月，{{\
 history.person_years }} 人年，完整年度 {{ history.complete_years }} 年
<small>({{ history.months }} months, {{ history.person_years }} person-years, {{ history.complete_years }} complete\
 year(s))</small></p>
{% if history.refusal %}<p class="refusal"><b>试算，不可用于定价 <span class="en">trial run, not fit for\
 pricing</span>：</b>{{ history.refusal }}</p>{% endif %}
{% if history.warnings %}<ul>{% for w in history.warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}
</section>
{% endif %}
"""

#: The comparison with the current premium, after the headline.
PREMIUM_TEMPLATE = """<section id="premium">
<h2>与现行保费比较 <small>against the current premium</small></h2>
{% if current %}
<div class="headline">
  <div class="card"><div>现行保费 <span class="en">current premium per head</span></div>
    <div class="value" id="current-premium">¥{{ current.per_head }}</div></div>
  <div class="card"><div>预算 ÷ 现行 <span class="en">budget / current</span></div>
    <div class="value" id="budget-ratio">{{ current.ratio }}</div></div>
  <div class="card"><div>预期赔付率 <span class="en">expected loss ratio</span></div>
    <div class="value" id="expected-loss-ratio">{{ current.loss_ratio }}</div></div>
</div>
<p>预期赔付率 = 每人期望赔付 ¥{{ mean_per_head }} ÷ 现行每人保费 ¥{{ current.per_head }} = {{ current.loss_ratio }}；\
按现行保费，明年赔付超过保费收入的概率为 {{ current.prob_exceed }}。{% if current.short %}<b>现行保费低于期望赔付。</b>{% endif %}
<br><small>Expected loss ratio = expected payout per head ÷ current premium per head; at the current premium, next\
 year's payouts exceed the premium income with probability {{ current.prob_exceed }}.{% if current.short %} The\
 current premium is below the expected payout.{% endif %}</small></p>
{% else %}
<p>未给出现行保费 <small>no current premium given</small></p>
{% endif %}
</section>
"""
