"""Which department sent which month (报送情况): the department × month board of a policy year.

Seed 003: "人社、教育、民政、医保每月向区扶贫办报送" — each department reports every month.  For a policy, the
board has one row per department and one cell per month of the policy year (``period_start`` to
``period_end``, YYYY-MM); a cell counts the department's import batches whose ``period`` is that month.

* **expected** departments: those feeding a line of the policy's product (the line's peril's ``source`` in
  :data:`products.model.PERILS`), plus any department that sent a file anyway;
* a cell is ``received`` (≥ 1 file), ``late`` (no file, and the month is over: its last day is before
  ``today``), or ``open`` (the month is not over yet; also a department not expected);
* batches whose period is not a month of the year are counted per department as ``other``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.lifecycle.models import ImportBatch
from claims.lifecycle.store import Policy, ProductVersion
from claims.reports.departments import SPECS
from products.model import PERILS
from tabular.errors import NotFoundError


def policy_months(start: dt.date, end: dt.date) -> list[str]:
    """YYYY-MM of every month from ``start`` to ``end`` inclusive (2025-01-01..2025-12-31 → 12 months)."""
    months, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        months.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def month_over(month: str, today: dt.date) -> bool:
    """True when the month's last day is before ``today`` (2025-02 is over on 2025-03-01, not on 2025-02-28)."""
    y, m = int(month[:4]), int(month[5:7])
    first_next = dt.date(y + (m == 12), 1 if m == 12 else m + 1, 1)
    return first_next <= today


def expected_departments(document: dict[str, Any]) -> list[str]:
    """The departments whose reports feed the product's lines (in :data:`SPECS` order)."""
    sources = {PERILS[ln.get("peril")]["source"] for ln in document.get("lines") or []
               if isinstance(ln, dict) and ln.get("peril") in PERILS}
    return [d for d in SPECS if d in sources]


def completeness(session: Session, policy_id: int, today: dt.date) -> dict[str, Any]:
    """The board: ``months``; ``rows`` (department, label, expected, cells: month → {files, state}, other,
    late: the count of late months); ``late_total``."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise NotFoundError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
    document = session.scalar(select(ProductVersion.document).where(ProductVersion.id == policy.product_version_id))
    months = policy_months(policy.period_start, policy.period_end)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for department, period, n in session.execute(
            select(ImportBatch.department, ImportBatch.period, func.count())
            .where(ImportBatch.policy_id == policy_id).group_by(ImportBatch.department, ImportBatch.period)).all():
        counts[department][period or ""] = n
    expected = expected_departments(document or {})
    departments = expected + sorted(d for d in counts if d not in expected)
    rows = []
    for department in departments:
        sent = counts.get(department, {})
        cells = {}
        for month in months:
            files = sent.get(month, 0)
            state = "received" if files else ("late" if department in expected and month_over(month, today)
                                              else "open")
            cells[month] = {"files": files, "state": state}
        spec = SPECS.get(department)
        rows.append({"department": department, "label": spec.label if spec else department,
                     "expected": department in expected, "cells": cells,
                     "other": sum(n for p, n in sent.items() if p not in months),
                     "late": sum(1 for c in cells.values() if c["state"] == "late")})
    return {"months": months, "rows": rows, "late_total": sum(r["late"] for r in rows)}


__all__ = ["completeness", "expected_departments", "month_over", "policy_months"]
