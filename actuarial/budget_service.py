"""The budget from the database history, shared by ``relief budget --database`` and the actuary's budget job.

:func:`database_history` reads the history of a product family (of one county when given) with its coverage and
the verdict of :mod:`claims.engine.history_rule` (the one rule: refuse below 12 months of history or 1,000
person-years, warn below 3 complete years); :func:`file_verdict` gives the same verdict for a history read from
files (a file's year counts as whole).  :func:`priced` runs :func:`actuarial.budget.budget` under that verdict and
puts its warnings first among the result's notes; :func:`budget_run` is the background job's task (kind
``budget_run`` of :mod:`claims.lifecycle.jobs`): it fills the run's row (:mod:`claims.lifecycle.budget_runs`) and
writes the report under the run's folder.

The job's task lives here, not in :mod:`claims.lifecycle.job_tasks`: the budget is in :mod:`actuarial`, a layer
above the database's life (``lint-imports``), and the job table names its tasks by "module:function".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from actuarial.budget import STEPS, budget
from actuarial.budget.inputs import Assumptions
from actuarial.history import claims_from_database
from claims.engine.history_rule import HistoryTooShort, HistoryVerdict, history_verdict
from claims.lifecycle.budget_history import history_coverage, policy_of
from claims.lifecycle.budget_runs import BudgetRun
from claims.lifecycle.database import transaction
from claims.lifecycle.store import Policy, ProductVersion, now
from products.model import Product

__all__ = ["budget_run", "current_premium", "database_history", "file_verdict", "priced", "run_folder"]

#: Progress (percent) at each step of the budget, then the report.
STEP_PERCENT = {STEPS["history"]: 15, STEPS["fit"]: 25, STEPS["price"]: 45, STEPS["checks"]: 65,
                STEPS["holdout"]: 70}


def database_history(session: Session, product: Product, year: int, county: str | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame, HistoryVerdict]:
    """(claims, exposure, verdict) of ``product``'s family before ``year`` (of ``county`` when given)."""
    claims, exposure = claims_from_database(session, product.family)
    if county is not None:
        claims = claims[claims["county"] == county].reset_index(drop=True)
        exposure = exposure[exposure["county"] == county].reset_index(drop=True)
    verdict = history_verdict(history_coverage(session, product.family, county, before_year=int(year)))
    return claims, exposure, verdict


def file_verdict(claims: pd.DataFrame, exposure: pd.DataFrame | None, year: int, heads: int | None
                 ) -> HistoryVerdict:
    """The verdict for a history read from files: each year before ``year`` with claims counts 12 months, its
    heads from ``exposure`` (else ``heads`` a year)."""
    years = sorted({int(y) for y in pd.to_numeric(claims["year"]) if int(y) < int(year)})
    if exposure is not None and not exposure.empty:
        ex = exposure.assign(year=pd.to_numeric(exposure["year"]).astype("int64"))
        by_year = ex.groupby("year")["heads"].sum()
        rows = [{"year": y, "heads": float(by_year.get(y, 0)), "months": 12, "period_months": 12} for y in years]
    else:
        rows = [{"year": y, "heads": float(heads or 0), "months": 12, "period_months": 12} for y in years]
    return history_verdict(pd.DataFrame(rows, columns=["year", "heads", "months", "period_months"]))


def current_premium(session: Session, family: str, county: str | None = None) -> Decimal | None:
    """The premium per head now: Σ premium / Σ framed heads of the family's newest policy year (of ``county``)."""
    query = (select(Policy.year, Policy.premium_total, Policy.framed_heads)
             .join(ProductVersion, ProductVersion.id == Policy.product_version_id)
             .where((ProductVersion.family == family) | (ProductVersion.code == family)))
    if county is not None:
        query = query.where(Policy.county == county)
    rows = session.execute(query).all()
    if not rows:
        return None
    newest = max(r.year for r in rows)
    total = sum((r.premium_total for r in rows if r.year == newest), Decimal(0))
    heads = sum(r.framed_heads for r in rows if r.year == newest)
    return (total / heads).quantize(Decimal("0.01")) if heads else None


def priced(claims: pd.DataFrame, exposure: pd.DataFrame | None, product: Product, year: int, verdict: HistoryVerdict,
           *, allow_short: bool = False, progress: Callable[[str], None] | None = None, **options: Any) -> Any:
    """:func:`actuarial.budget.budget` under ``verdict``: :class:`HistoryTooShort` on a refusal unless
    ``allow_short`` (a trial run), the verdict's warnings first among the notes.  ``options``: heads, draft,
    assumptions, holdout."""
    warnings = verdict.notes(allow_short)
    result = budget(claims, exposure, product, year, progress=progress, **options)
    return dataclasses.replace(result, notes=(*warnings, *result.notes))


def history_summary(verdict: HistoryVerdict, trial: bool) -> dict[str, Any]:
    """The verdict as the report shows it (:func:`actuarial.report.write_report`'s ``history``)."""
    return {"years": verdict.years_text, "months": verdict.months, "person_years": verdict.person_years,
            "complete_years": len(verdict.complete_years), "refusal": verdict.refusal, "trial": trial,
            "warnings": list(verdict.warnings)}


def run_folder(run_id: int) -> str:
    """The folder of run ``run_id``'s report under the reports' root."""
    return f"run-{int(run_id)}"


def _finish(factory: sessionmaker[Session], run_id: int, **values: Any) -> None:
    with transaction(factory) as s:
        s.execute(update(BudgetRun).where(BudgetRun.id == run_id).values(finished_at=now(), **values))


def _lines(result: Any) -> dict[str, dict[str, Any]]:
    """line id → name, expected annual payout (yuan, for the run's heads) and per head."""
    heads = max(int(result.heads), 1)
    out = {p.line_id: {"name": p.name, "expected": float(p.mean)} for p in result.perils}
    for _i, r in result.experience_lines.iterrows():
        out[str(r["line_id"])] = {"name": str(r["name"]), "expected": float(r["mean"])}
    return {k: {**v, "per_head": v["expected"] / heads} for k, v in out.items()}


def budget_run(factory: sessionmaker[Session], params: dict[str, Any], progress: Any) -> dict[str, Any]:
    """The job's task: budget ``params["year"]`` for the county and product family of ``params["policy_id"]`` from
    the database history, into the run ``params["run_id"]`` and its report under ``params["output_dir"]``.  A
    history too short to price ends the run ``refused`` (the job fails with the rule's words) unless
    ``params["trial"]``."""
    from actuarial.report import write_report
    from products import load_product

    run_id, year, trial = int(params["run_id"]), int(params["year"]), bool(params.get("trial"))
    progress(5, STEPS["history"])
    with factory() as s:
        policy, version = policy_of(s, int(params["policy_id"]))
        product = load_product(version.document)
        claims, exposure, verdict = database_history(s, product, year, policy.county)
        premium = policy.premium_per_head
    summary = {"history_years": verdict.years_text, "history_months": verdict.months,
               "person_years": round(verdict.person_years, 1)}
    try:
        result = priced(claims, exposure, product, year, verdict, allow_short=trial,
                        progress=lambda step: progress(STEP_PERCENT.get(step, 50), step),
                        assumptions=Assumptions(bootstrap=int(params.get("bootstrap", 40))), holdout=True)
    except HistoryTooShort as exc:
        _finish(factory, run_id, status="refused", error=str(exc), warnings=list(verdict.warnings), **summary)
        raise
    except Exception as exc:  # the budget's own refusals (BudgetError), bad inputs: the run says so, the job too
        _finish(factory, run_id, status="failed", error=f"无法测算 / cannot compute the budget: {exc}", **summary)
        raise
    progress(80, "写出报告与图表 / writing the report and its charts")
    folder = run_folder(run_id)
    try:
        write_report(result, Path(params["output_dir"]) / folder, current_premium=premium,
                     history=history_summary(verdict, trial))
    except Exception as exc:
        _finish(factory, run_id, status="failed", error=f"报告未写出 / the report was not written: {exc}", **summary)
        raise
    heads = max(int(result.heads), 1)
    expected = Decimal(f"{float(result.predictive.mean) / heads:.2f}")
    _finish(factory, run_id, status="done", report_dir=folder, heads=heads, lines=_lines(result),
            budget_total=Decimal(f"{float(result.budget_total):.2f}"),
            budget_per_head=Decimal(f"{float(result.budget_per_head):.2f}"), expected_per_head=expected,
            prob_exceed=float(result.prob_exceed), warnings=list(verdict.notes(trial)), **summary)
    return {"run_id": run_id, "budget_per_head": f"{float(result.budget_per_head):.2f}",
            "expected_per_head": str(expected), "premium_per_head": None if premium is None else str(premium)}
