"""A department file arriving after a household application (申报) for the same bill: its row replaces the
application's, so the bill is paid once.

An application with the receipt's number has the department's record key (:mod:`claims.lifecycle.imports`
already treats the department's row as a *correction* of it).  One without a number has a key of its own
(``申报<id>``), so :func:`replace_applications` matches it the way the insurer's review does (rule 2 of
:mod:`claims.lifecycle.application_review`): a standing row of a verified application without a number is
the same record as a row of the new department file with

    the same unit (person, or household) and the same event date and the same amount
    (医疗费总额 / 学费 / 核定损失 / 医疗费用: :data:`DUPLICATE_AMOUNT`).

Each such application row is superseded by the department's row (an ``import_row_events`` row, as a
correction is) and the new row gets a ``warning`` ``replaces_application`` exception naming the application.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from claims.lifecycle.applications import Application
from claims.lifecycle.models import ImportException, ImportRow, ImportRowEvent
from claims.lifecycle.roster_store import chunks
from claims.lifecycle.store import now
from claims.reports.departments import SPECS

#: The amount a row without a number is matched on, per department (rule 2 of the duplicate rule).
DUPLICATE_AMOUNT = {"medical": "medfee_sumamt", "education": "tuition", "disaster": "assessed_loss",
                    "accident": "medical_cost"}


def _amount(data: dict[str, Any] | None, column: str) -> int | None:
    value = (data or {}).get(column)
    return None if value is None else int(value)


def replace_applications(session: Session, policy_id: int, department: str, batch_id: int) -> list[int]:
    """Supersede the standing rows of the policy's verified applications without a number that a row of
    ``batch_id`` (a department file) reports again (module rule); returns the application ids replaced."""
    column = DUPLICATE_AMOUNT.get(department)
    if column is None:
        return []
    superseded = select(ImportRowEvent.row_id).where(ImportRowEvent.row_id == ImportRow.id).exists()
    applied = session.execute(
        select(Application.id, ImportRow.id, ImportRow.unit_key, ImportRow.event_date, ImportRow.data)
        .join(ImportRow, ImportRow.batch_id == Application.batch_id)
        .where(Application.policy_id == policy_id, Application.department == department,
               Application.state == "verified", Application.bill_no.is_(None), ~superseded)).all()
    if not applied:
        return []
    new_rows = []
    for units in chunks(sorted({a.unit_key for a in applied})):
        new_rows += session.execute(select(ImportRow.id, ImportRow.line, ImportRow.unit_key, ImportRow.event_date,
                                           ImportRow.data)
                                    .where(ImportRow.batch_id == batch_id, ImportRow.unit_key.in_(units))).all()
    new_rows.sort(key=lambda row: row.id)
    by_record = {}
    for row in new_rows:
        by_record.setdefault((row.unit_key, row.event_date, _amount(row.data, column)), row)
    events, exceptions, replaced = [], [], []
    for app_id, row_id, unit, day, data in applied:
        match = by_record.pop((unit, day, _amount(data, column)), None)
        if match is None:
            continue
        changed = [c for c in SPECS[department].columns if (data or {}).get(c) != (match.data or {}).get(c)]
        events.append({"row_id": row_id, "superseded_by": match.id, "batch_id": batch_id, "at": now(),
                       "old_values": {c: (data or {}).get(c) for c in changed},
                       "new_values": {c: (match.data or {}).get(c) for c in changed}})
        exceptions.append({"batch_id": batch_id, "line": match.line, "reason": "replaces_application",
                           "severity": "warning",
                           "detail": f"与申报 #{app_id} 为同一记录（同一对象、日期、金额），以本行为准 / the same record as "
                                     f"application #{app_id} (same unit, date and amount); this row counts instead"})
        replaced.append(app_id)
    if events:
        session.execute(insert(ImportRowEvent.__table__), events)
        session.execute(insert(ImportException.__table__), exceptions)
    return replaced


__all__ = ["DUPLICATE_AMOUNT", "replace_applications"]
