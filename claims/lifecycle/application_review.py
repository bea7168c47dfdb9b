"""The insurer's review of a household application (申报): verify it into report rows, or reject it.

Verification (:func:`verify_application`) turns a ``submitted`` application into the one row of the
department its peril reads (:func:`claims.lifecycle.application_intake.report_file`) and imports it like a
department file (:func:`claims.lifecycle.imports.import_report`: a batch named ``申报 #<id>.csv``, record
identity, hash chain, recompute), unless the department has already reported the same record.

**Duplicate rule** (checked against the policy's stored rows of that department that no correction has
superseded, department files and earlier applications alike):

1. *same record*: the application's row has the record key of a stored row (the department's identity,
   :mod:`claims.reports.identity`): for a medical bill, the same settlement number (结算ID) as a 医保 row;
   for an accident, the same person, date and kind; for education and disaster, the same number as well;
2. *no number on the receipt*: a stored row of the same unit (person, or household for disaster), the same
   event date and the same amount — 医疗费总额 (medical), 学费 (education), 核定损失 (disaster).

A duplicate is not imported: the application goes to ``duplicate`` naming the stored row (batch, file,
line), so nothing is paid twice.  The other order is covered too: a 医保 file imported after a verified
application with the same settlement number is a *correction* of its row (same record key), which the
department's row supersedes (:func:`application_rows` shows it); a department row arriving after a
verified application *without* a number that has its unit, date and amount supersedes it as well
(:mod:`claims.lifecycle.application_matches`, called by every import).

The check and the import are two transactions: an import failing after the check leaves the application
``submitted`` (verify again; the batch of an earlier attempt is found by its file's sha256).  Known gap: a
department file with the same settlement number imported *between* the check and the import is treated by
the import as a correction the other way round (the application's row supersedes the department's; one
record, paid once, but on the application's amounts).  Every change
is an audit event (``application_verified`` / ``application_duplicate`` / ``application_rejected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from claims.lifecycle.application_intake import ApplicationRefusedError, file_name_of, read_application, report_file
from claims.lifecycle.application_matches import DUPLICATE_AMOUNT
from claims.lifecycle.applications import Application
from claims.lifecycle.audit import record
from claims.lifecycle.database import transaction
from claims.lifecycle.imports import AlreadyImportedError, import_report
from claims.lifecycle.models import ImportBatch, ImportRow, ImportRowEvent
from claims.lifecycle.scope import Scope, scoped
from claims.lifecycle.store import Person, now
from claims.lifecycle.transitions import Actor
from claims.reports.departments import SPECS
from claims.reports.identity import record_keys
from tabular.errors import NotAllowedError, NotFoundError, StateConflictError

#: Who may verify or reject (the insurer; the system and admins for the command line and repairs).
REVIEW_ROLES = frozenset({"insurer_adjudicator", "insurer_supervisor", "admin", "system"})
REASON_MAX = 500


class ApplicationStateError(StateConflictError):
    """The application is no longer ``submitted`` (someone decided it already)."""


@dataclass(frozen=True)
class ReviewResult:
    """What a review did: the new state, the batch stored or the row duplicated, the claims it moved."""

    application_id: int
    state: str
    batch_id: int | None = None
    duplicate_row_id: int | None = None
    claims_created: int = 0
    claims_updated: int = 0


def visible(scope: Scope, query: Any) -> Any:
    """``query`` of applications limited to what the scope sees (counties, then villages or townships)."""
    return scoped(scope, query, Application.village_code, policy=Application.policy_id)


def application_in_scope(session: Session, scope: Scope, application_id: int, *, lock: bool = False) -> Application:
    """The application, if the scope sees it; another county's or village's is answered as missing."""
    query = visible(scope, select(Application).where(Application.id == application_id))
    app = session.scalar(query.with_for_update() if lock else query)
    if app is None:
        raise NotFoundError(f"申报 {application_id} 不存在 / application {application_id} does not exist")
    return app


def _decidable(session: Session, scope: Scope, application_id: int, actor: Actor) -> Application:
    if actor.role not in REVIEW_ROLES:
        raise NotAllowedError("只有保险公司人员可以核实或驳回申报 / only insurer staff verify or reject applications")
    app = application_in_scope(session, scope, application_id, lock=True)
    if app.state != "submitted":
        raise ApplicationStateError(f"申报 {app.id} 已处理（{app.state}），未做任何更改 / application {app.id} was "
                                    f"already decided ({app.state}); nothing was changed")
    return app


def find_duplicate(session: Session, app: Application, rows: pd.DataFrame) -> tuple[int, str] | None:
    """The stored row the application's row duplicates (id, where: 批次 b（file）第 n 行), or None (module rule)."""
    spec = SPECS[app.department]
    superseded = select(ImportRowEvent.row_id).where(ImportRowEvent.row_id == ImportRow.id).exists()
    standing = (select(ImportRow.id, ImportRow.batch_id, ImportBatch.file_name, ImportRow.line, ImportRow.data)
                .join(ImportBatch, ImportBatch.id == ImportRow.batch_id)
                .where(ImportBatch.policy_id == app.policy_id, ImportRow.department == app.department, ~superseded)
                .order_by(ImportRow.id))
    key = str(record_keys(app.department, rows).iloc[0])
    hits = session.execute(standing.where(ImportRow.record_key == key).limit(1)).all()
    if not hits and not app.bill_no:
        column = DUPLICATE_AMOUNT[app.department]
        unit = str(rows[spec.key].iloc[0])
        day = pd.Timestamp(rows[spec.event_date].iloc[0]).date()
        amount = int(rows[column].iloc[0])
        hits = [h for h in session.execute(standing.where(ImportRow.unit_key == unit, ImportRow.event_date == day))
                if int((h.data or {}).get(column) or 0) == amount][:1]
    if not hits:
        return None
    hit = hits[0]
    return hit.id, f"批次 {hit.batch_id}（{hit.file_name}）第 {hit.line} 行 / batch {hit.batch_id} ({hit.file_name}) line {hit.line}"


def _decided(app: Application, actor: Actor, state: str, reason: str | None = None) -> None:
    app.state, app.reason, app.decided_by, app.decided_at = state, reason, actor.id, now()


def _person_name(session: Session, app: Application) -> str | None:
    return session.scalar(select(Person.name).where(Person.id_no == app.id_no)) if app.id_no else None


def verify_application(factory: sessionmaker[Session], application_id: int, actor: Actor, scope: Scope) -> ReviewResult:
    """Verify: a duplicate → ``duplicate``; else the row imported (claims recomputed) → ``verified``."""
    with transaction(factory) as session:
        app = _decidable(session, scope, application_id, actor)
        name = _person_name(session, app)
        read = read_application(app, name)
        duplicate = find_duplicate(session, app, read.rows)
        if duplicate is not None:
            row_id, where = duplicate
            _decided(app, actor, "duplicate", f"与已导入记录重复：{where} / duplicates a stored record: {where}")
            app.duplicate_row_id = row_id
            record(session, actor.id, "application_duplicate", f"application {app.id}",
                   {"row_id": row_id, "where": where}, actor_name=actor.name)
            return ReviewResult(app.id, "duplicate", duplicate_row_id=row_id)
        data, columns = report_file(app, name)
        policy_id, department = app.policy_id, app.department
    created = updated = 0
    try:
        done = import_report(factory, policy_id, department, data, actor=actor, file_name=file_name_of(application_id),
                             columns=columns)
        batch_id, created, updated = done.batch_id, done.claims_created, done.claims_updated
    except AlreadyImportedError as exc:  # an earlier attempt imported it and failed before recording so
        with factory() as session:
            earlier = session.get(ImportBatch, exc.batch_id)
            if earlier is None or earlier.file_name != file_name_of(application_id):
                raise ApplicationRefusedError(f"申报 {application_id} 与批次 {exc.batch_id} 内容相同 / application "
                                              f"{application_id} has the content of batch {exc.batch_id}") from exc
        batch_id = exc.batch_id
    with transaction(factory) as session:
        app = _decidable(session, scope, application_id, actor)
        _decided(app, actor, "verified")
        app.batch_id = batch_id
        record(session, actor.id, "application_verified", f"application {app.id}",
               {"batch_id": batch_id, "department": department, "claims_created": created,
                "claims_updated": updated}, actor_name=actor.name)
    return ReviewResult(application_id, "verified", batch_id=batch_id, claims_created=created, claims_updated=updated)


def reject_application(session: Session, application_id: int, actor: Actor, scope: Scope, reason: str) -> ReviewResult:
    """Reject with a reason (required, at most :data:`REASON_MAX` characters); nothing is imported."""
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise ApplicationRefusedError(f"驳回须填写理由（最多 {REASON_MAX} 字）/ a rejection needs a reason (at most "
                                      f"{REASON_MAX} characters)")
    app = _decidable(session, scope, application_id, actor)
    _decided(app, actor, "rejected", reason)
    record(session, actor.id, "application_rejected", f"application {app.id}", {"reason": reason},
           actor_name=actor.name)
    session.flush()
    return ReviewResult(app.id, "rejected")


def application_rows(session: Session, app: Application) -> list[dict[str, Any]]:
    """The rows a verified application stored, each with the batch of the row that superseded it, if any
    (a department file's correction of the same record: that row counts instead)."""
    if app.batch_id is None:
        return []
    rows = session.execute(select(ImportRow.id, ImportRow.record_key, ImportRow.event_date, ImportRow.data)
                           .where(ImportRow.batch_id == app.batch_id).order_by(ImportRow.id)).all()
    later = dict(session.execute(select(ImportRowEvent.row_id, ImportRowEvent.batch_id)
                                 .where(ImportRowEvent.row_id.in_([r.id for r in rows] or [0]))).all())
    return [{"id": r.id, "event_date": r.event_date, "data": r.data, "superseded_by_batch": later.get(r.id)}
            for r in rows]


__all__ = ["DUPLICATE_AMOUNT", "REVIEW_ROLES", "ApplicationStateError", "ReviewResult", "application_in_scope",
           "application_rows", "find_duplicate", "reject_application", "verify_application", "visible"]
