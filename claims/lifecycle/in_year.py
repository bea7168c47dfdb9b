"""In-year monitoring of a policy (年内监测) for the actuary's page: the claims incurred so far against what was
expected by now, by line, the year-end projection and the loss ratio (:mod:`claims.engine.in_year` does the
arithmetic), with the history's verdict (:mod:`claims.engine.history_rule`).

Where the expected annual cost A of a line comes from:

* the newest finished budget run (:class:`~claims.lifecycle.budget_runs.BudgetRun`, status ``done``) of the
  policy's county and product family that budgeted the policy's own year: A = the run's expected payout per head
  of the line × the policy's framed heads;
* without one, the policy's premium budget: one row for all lines, A = premium × (1 − :data:`DEFAULT_EXPENSE_RATIO`)
  (the part of the premium the budget's default expense ratio leaves for claims).

Actual to date: Σ ``entitlement`` of the policy's claims not in :data:`NOT_INCURRED` (the amount the engine
computed as owed, the same measure the budget's history uses, :func:`actuarial.history.claims_from_database`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.engine.history_rule import history_verdict
from claims.engine.in_year import elapsed_days, in_year_table, totals
from claims.lifecycle.budget_history import history_coverage, policy_of
from claims.lifecycle.budget_runs import BudgetRun
from claims.lifecycle.models import Claim
from claims.lifecycle.store import Policy, ProductVersion
from tabular.money import yuan_to_fen

__all__ = ["DEFAULT_EXPENSE_RATIO", "NOT_INCURRED", "ALL_LINES", "budget_run_for", "in_year"]

#: The budget's default expense ratio (费用率, ``actuarial.budget.inputs.Assumptions.expense_ratio``; a test keeps
#: the two equal): the premium budget expects claims of premium × (1 − this).
DEFAULT_EXPENSE_RATIO = 0.15
#: Claim states that are not claims incurred: refused, and superseded by a reversal.
NOT_INCURRED = ("rejected", "reversed")
#: The line id of the one row the premium budget gives.
ALL_LINES = "all"


def budget_run_for(session: Session, policy: Policy, family: str) -> BudgetRun | None:
    """The newest finished run of the policy's county and family that budgeted the policy's year."""
    return session.scalar(
        select(BudgetRun).join(Policy, Policy.id == BudgetRun.policy_id)
        .join(ProductVersion, ProductVersion.id == Policy.product_version_id)
        .where(BudgetRun.county == policy.county, BudgetRun.year == policy.year, BudgetRun.status == "done",
               ProductVersion.family == family)
        .order_by(BudgetRun.id.desc()).limit(1))


def _actual(session: Session, policy_id: int) -> pd.DataFrame:
    rows = session.execute(select(Claim.line_id, func.sum(Claim.entitlement))
                           .where(Claim.policy_id == policy_id, Claim.state.not_in(NOT_INCURRED))
                           .group_by(Claim.line_id)).all()
    return pd.DataFrame([{"line_id": line, "actual_fen": yuan_to_fen(total or 0)} for line, total in rows],
                        columns=["line_id", "actual_fen"])


def in_year(session: Session, policy_id: int, as_of: dt.date) -> dict[str, Any]:
    """The page's figures for the policy as of ``as_of``: ``table`` (rows of :func:`claims.engine.in_year.in_year_table`),
    ``totals``, ``source`` ("run" or "premium"), ``run``, ``elapsed``/``days``, ``premium_fen`` and ``verdict`` (the
    history up to the policy's year, for next year's budget)."""
    policy, version = policy_of(session, policy_id)
    elapsed, days = elapsed_days(policy.period_start, policy.period_end, as_of)
    actual = _actual(session, policy.id)
    run = budget_run_for(session, policy, version.family)
    names = {ln.get("id"): ln.get("name", ln.get("id")) for ln in version.document.get("lines") or []
             if isinstance(ln, dict)}
    if run is not None:
        expected = pd.DataFrame([{"line_id": k, "name": v.get("name") or names.get(k, k),
                                  "expected_annual_fen": yuan_to_fen(round(float(v["per_head"]) * policy.framed_heads,
                                                                           2))}
                                 for k, v in (run.lines or {}).items()],
                                columns=["line_id", "name", "expected_annual_fen"])
    else:
        claims_share = yuan_to_fen(policy.premium_total) * (1 - DEFAULT_EXPENSE_RATIO)
        expected = pd.DataFrame([{"line_id": ALL_LINES, "name": "全部责任 all lines",
                                  "expected_annual_fen": int(round(claims_share))}])
        actual = actual.assign(line_id=ALL_LINES)
    table = in_year_table(expected, actual, elapsed, days)
    table["name"] = [names.get(i, n) if n == i else n for i, n in zip(table["line_id"], table["name"])]
    premium_fen = yuan_to_fen(policy.premium_total)
    verdict = history_verdict(history_coverage(session, version.family, policy.county, before_year=policy.year + 1))
    return {"policy": policy, "version": version, "table": table, "totals": totals(table, premium_fen),
            "source": "run" if run is not None else "premium", "run": run, "elapsed": elapsed, "days": days,
            "premium_fen": premium_fen, "verdict": verdict, "as_of": as_of}
