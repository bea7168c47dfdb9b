"""Sensitivity of the budget (敏感性分析) to its judgmental assumptions: the budget refitted with one assumption
changed at a time, everything else (history, seed, parameter draws) the same.

Rows (assumption, value): the severity trend imposed at 0%, 5% and 10% a year (against the fitted one of the
base run), the severity family imposed on every fitted bracket line — lognormal, gamma, Lomax (against the family
chosen per line on the paid layer, named in the base row; a family that does not converge on a line leaves that
line's choice, noted in that run) — when the base run fitted one, the systemic year-cv floor at 5% and 20%
(base 10%), and the expense ratio at base ± 5 points (no refit: the budget is the risk premium / (1 − e), so it
scales by (1 − e_base)/(1 − e)).  Each row gives the budget, per head, and its change against the base run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from actuarial.severity import FAMILIES as SEVERITY_FAMILIES

__all__ = ["sensitivity_table"]

TRENDS = (0.0, 0.05, 0.10)
YEAR_CV_FLOORS = (0.05, 0.20)
EXPENSE_STEP = 0.05


def sensitivity_table(base: Any, claims: pd.DataFrame, exposure: pd.DataFrame | None, product: Any, year: int, *,
                      heads: int | None = None) -> pd.DataFrame:
    """The table of the module docstring for the ``base`` result (a :class:`BudgetResult` of the same inputs)."""
    from actuarial.budget import budget

    a = base.assumptions
    chosen = ", ".join(f"{p.line_id} {p.severity.best.family}" for p in base.perils)
    rows = [{"assumption": "base 基准", "value": chosen, "budget_total": float(base.budget_total)}]
    variants = [("trend 趋势", f"{t:.0%}", dataclasses.replace(a, trend=t)) for t in TRENDS]
    if base.perils:
        variants += [("family 分布族", f, dataclasses.replace(a, severity_family=f)) for f in SEVERITY_FAMILIES]
    variants += [("year cv floor 年度波动下限", f"{f:.0%}", dataclasses.replace(a, year_cv_floor=f))
                 for f in YEAR_CV_FLOORS if f != a.year_cv_floor]
    for name, value, changed in variants:
        r = budget(claims, exposure, product, year, heads=heads, assumptions=changed)
        rows.append({"assumption": name, "value": value, "budget_total": float(r.budget_total)})
    for e in (a.expense_ratio - EXPENSE_STEP, a.expense_ratio + EXPENSE_STEP):
        if 0.0 <= e < 1.0:
            rows.append({"assumption": "expense ratio 费用率", "value": f"{e:.0%}",
                         "budget_total": float(base.budget_total) * (1.0 - a.expense_ratio) / (1.0 - e)})
    out = pd.DataFrame(rows)
    out["per_head"] = out["budget_total"] / max(int(base.heads), 1)
    out["change"] = out["budget_total"] / float(base.budget_total) - 1.0
    return out
