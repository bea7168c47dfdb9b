"""Services of the actuary's budget runs (:mod:`claims.lifecycle.budget_runs`): the runs a user sees, and what the
budget reads of each policy-year's coverage (:func:`history_coverage`: the months with reported events and the
insured heads) — shared by the budget (``relief budget --database``, the budget job) and the actuary's page.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.lifecycle.budget_runs import BudgetRun
from claims.lifecycle.completeness import month_over, policy_months
from claims.lifecycle.jobs import Job, submit
from claims.lifecycle.models import ImportBatch, ImportRow
from claims.lifecycle.scope import Scope, scope_policies
from claims.lifecycle.store import Policy, ProductVersion
from tabular.errors import NotFoundError

__all__ = ["close_failed", "history_coverage", "list_runs", "policy_of", "run_in_scope", "start_run"]


def list_runs(session: Session, scope: Scope, policy_id: int | None = None, limit: int = 100) -> list[BudgetRun]:
    """The newest runs of the policies the scope sees (of one policy when given)."""
    query = (select(BudgetRun).where(BudgetRun.policy_id.in_(scope_policies(scope)))
             .order_by(BudgetRun.id.desc()).limit(limit))
    if policy_id is not None:
        query = query.where(BudgetRun.policy_id == policy_id)
    return list(session.scalars(query))


def run_in_scope(session: Session, scope: Scope, run_id: int) -> BudgetRun:
    """The run, when its policy is one the scope sees; :class:`NotFoundError` otherwise (not even its existence)."""
    run = session.scalar(select(BudgetRun).where(BudgetRun.id == run_id,
                                                 BudgetRun.policy_id.in_(scope_policies(scope))))
    if run is None:
        raise NotFoundError(f"测算记录 {run_id} 不存在 / budget run {run_id} does not exist")
    return run


def history_coverage(session: Session, family: str, county: str | None, before_year: int | None = None
                     ) -> pd.DataFrame:
    """The policy-years of the product ``family`` (of ``county`` when given; years before ``before_year`` when
    given): year, county, heads (framed), months (the whole months of the period over by the day of its latest
    reported event: 2025-01-01 to 2025-03-05 → January and February, 2; to 2025-03-31 → 3) and period_months — the
    input of :func:`claims.engine.history_rule.history_verdict`."""
    query = (select(Policy.id, Policy.year, Policy.county, Policy.framed_heads, Policy.period_start, Policy.period_end)
             .join(ProductVersion, ProductVersion.id == Policy.product_version_id)
             .where((ProductVersion.family == family) | (ProductVersion.code == family)))
    if county is not None:
        query = query.where(Policy.county == county)
    if before_year is not None:
        query = query.where(Policy.year < before_year)
    policies = session.execute(query.order_by(Policy.year, Policy.county)).all()
    latest = dict(session.execute(select(ImportBatch.policy_id, func.max(ImportRow.event_date))
                                  .join(ImportRow, ImportRow.batch_id == ImportBatch.id)
                                  .where(ImportBatch.policy_id.in_([p.id for p in policies] or [0]))
                                  .group_by(ImportBatch.policy_id)).all())
    rows = []
    for p in policies:
        months = policy_months(p.period_start, p.period_end)
        last = latest.get(p.id)
        seen = 0 if last is None else sum(month_over(m, last + dt.timedelta(days=1)) for m in months)
        rows.append({"year": int(p.year), "county": p.county, "heads": int(p.framed_heads), "months": seen,
                     "period_months": len(months)})
    return pd.DataFrame(rows, columns=["year", "county", "heads", "months", "period_months"])


def policy_of(session: Session, policy_id: int) -> tuple[Policy, ProductVersion]:
    """The policy and its product version; :class:`NotFoundError` when there is none."""
    row = session.execute(select(Policy, ProductVersion).join(ProductVersion, ProductVersion.id ==
                                                               Policy.product_version_id)
                          .where(Policy.id == policy_id)).first()
    if row is None:
        raise NotFoundError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
    return row[0], row[1]


def start_run(session: Session, policy_id: int, year: int, *, output_dir: str, database_url: str,
              broker_url: str | None, trial: bool = False, created_by: int | None = None) -> BudgetRun:
    """Record a run (``queued``) of ``year``'s budget for the policy's county and family, and submit its job (kind
    ``budget_run``; handed over when ``session``'s transaction commits).  Its report goes under ``output_dir``."""
    policy, version = policy_of(session, policy_id)
    run = BudgetRun(policy_id=policy.id, county=policy.county, product_code=version.code, year=int(year),
                    status="queued", trial=bool(trial), premium_per_head=policy.premium_per_head,
                    created_by=created_by)
    session.add(run)
    session.flush()
    job = submit(session, "budget_run", {"run_id": run.id, "policy_id": policy.id, "year": int(year),
                                         "trial": bool(trial), "output_dir": output_dir},
                 database_url=database_url, broker_url=broker_url, county=policy.county, created_by=created_by,
                 title=f"{version.name} {year} 年度保费预算{'（试算）' if trial else ''} / premium budget for {year}"
                       f"{' (trial)' if trial else ''}")
    run.job_id = job.id
    return run


def close_failed(session: Session) -> int:
    """Runs still ``queued`` whose job has failed (a process stopped under it:
    :func:`claims.lifecycle.jobs.fail_abandoned`; a worker's crash) are marked ``failed`` with the job's words;
    returns how many."""
    rows = session.execute(select(BudgetRun, Job.error, Job.finished_at).join(Job, Job.id == BudgetRun.job_id)
                           .where(BudgetRun.status == "queued", Job.state == "failed")).all()
    for run, error, finished in rows:
        run.status, run.error, run.finished_at = "failed", error, finished
    return len(rows)
