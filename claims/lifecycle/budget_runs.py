"""The actuary's budget runs (保费预算测算记录): one row per budget started from the database history for a policy's
county and product family, with its headline figures once it has run and the folder of its report.

A run is started as a background job (:mod:`claims.lifecycle.jobs`, kind ``budget_run``) and its row is filled by
the job's task (:func:`actuarial.budget_service.budget_run`): ``status`` queued → done | refused (the history is
too short to price, :mod:`claims.engine.history_rule`) | failed.  The report's files live under a folder of the
app's data (``report_dir``, relative to the reports' root the caller names); :func:`report_path` is the only way
to a file of a run, and it never leaves the run's folder.

The services around the table (the list, the scope, a policy-year's coverage) are in
:mod:`claims.lifecycle.budget_history`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from claims.lifecycle.store import Base, Money, now
from tabular.errors import NotFoundError

__all__ = ["REPORT_FILE", "RUN_STATES", "BudgetRun", "report_path"]

RUN_STATES = {"queued": "排队中 / queued", "done": "已完成 / done", "refused": "历史不足，未测算 / refused: history too "
              "short", "failed": "失败 / failed"}
#: The files of a run's report a page may serve: report.html, its charts, its numbers.
REPORT_FILE = re.compile(r"(report\.html|budget\.json|[a-z_]+\.csv|charts/[a-z_]+\.png)")


class BudgetRun(Base):
    """One budget run of the actuary (保费预算测算) for a policy's county and product family."""

    __tablename__ = "budget_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    county: Mapped[str] = mapped_column(String(6), index=True)
    product_code: Mapped[str] = mapped_column(String(60))  # the version priced (the policy's)
    year: Mapped[int] = mapped_column(Integer)  # the policy year budgeted
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    trial: Mapped[bool] = mapped_column(default=False)  # 试算: run although the history is too short
    history_years: Mapped[str | None] = mapped_column(String(20))  # "2023–2025"
    history_months: Mapped[int | None] = mapped_column(Integer)
    person_years: Mapped[float | None] = mapped_column(Float)
    heads: Mapped[int | None] = mapped_column(Integer)  # insured heads priced for
    budget_total: Mapped[Decimal | None] = mapped_column(Money())
    budget_per_head: Mapped[Decimal | None] = mapped_column(Money())
    expected_per_head: Mapped[Decimal | None] = mapped_column(Money())  # E[S] / heads
    premium_per_head: Mapped[Decimal | None] = mapped_column(Money())  # the policy's premium when the run started
    prob_exceed: Mapped[float | None] = mapped_column(Float)  # P(S > budget)
    #: line id → {"name", "expected" (yuan a year, for ``heads``), "per_head" (yuan)}
    lines: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    warnings: Mapped[list[str] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    report_dir: Mapped[str | None] = mapped_column(String(40))  # "run-7", under the reports' root
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    @property
    def expected_loss_ratio(self) -> float | None:
        """预期赔付率: expected claims per head / the current premium per head (None without either)."""
        if self.expected_per_head is None or not self.premium_per_head:
            return None
        return float(self.expected_per_head / self.premium_per_head)


def report_path(root: Path, run: BudgetRun, name: str) -> Path:
    """The file ``name`` of the run's report under ``root``: only the report's own files (:data:`REPORT_FILE`),
    never outside the run's folder; :class:`NotFoundError` for anything else or a file not written."""
    if run.report_dir is None or not REPORT_FILE.fullmatch(name):
        raise NotFoundError(f"报告文件不存在 / no such report file: {name}")
    folder = (root / run.report_dir).resolve()
    path = (folder / name).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise NotFoundError(f"报告文件不存在 / no such report file: {name}")
    return path
