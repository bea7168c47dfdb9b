"""Import one department file: a checksummed batch, its rows and exceptions, and the recomputed claims.

``import_report`` runs in ONE transaction — it lands whole (batch + good rows + exception rows +
claims) or not at all:

1. the file's sha256 is looked up: a file imported before raises :class:`AlreadyImportedError`
   (naming the earlier batch and its time) and changes nothing;
2. :func:`claims.reports.read_report` gives the usable rows and the exceptions;
3. rows whose ``setl_id`` is already stored (an overlapping earlier file) are dropped and reported as
   ``duplicate_settlement`` exceptions naming the earlier batch — never counted twice;
4. the batch, its exceptions and rows are bulk-inserted (``data`` = the canonical row as JSON);
5. :func:`claims.recompute.recompute` for the households the rows touch.

Counts: ``rows_read = rows_stored + rows_exception + rows_duplicate`` where rows_exception counts the
unusable rows (severity ``error``); warnings are stored as exception rows too but their row is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from products.roster_store import chunks
from products.store import Person, Policy, now
from products.tabular import source_name

from .database import transaction
from .models import ImportBatch, ImportException, ImportRow
from .recompute import EVENT_DATE, PERSON_DEPARTMENTS, recompute, rows_to_records, unit_key
from .reports import read_report
from .transitions import Actor

INSERT_CHUNK = 5000


class ImportRefusedError(ValueError):
    """An import refused before anything was stored (bilingual message)."""


class AlreadyImportedError(ImportRefusedError):
    """The same file (by sha256) was imported before; nothing was changed."""

    def __init__(self, batch_id: int, imported_at: Any, file_name: str):
        self.batch_id = batch_id
        self.imported_at = imported_at
        when = f"{imported_at:%Y-%m-%d %H:%M:%S}" if imported_at else "?"
        super().__init__(
            f"文件 {file_name} 已导入（批次 {batch_id}，{when}），未做任何更改 / file {file_name} was already imported "
            f"(batch {batch_id} at {when}); nothing was changed")


@dataclass(frozen=True)
class ImportResult:
    batch_id: int
    rows_read: int
    rows_stored: int
    rows_exception: int
    rows_duplicate: int
    claims_created: int
    claims_updated: int
    claims_withdrawn: int


def _after_rows_inserted(n: int) -> None:
    """Test hook: called after each half of the rows is inserted (``n`` rows so far). Does nothing."""


def _read_bytes(source: str | Path | IO[bytes] | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, (str, Path)):
        return Path(source).read_bytes()
    return source.read()


def _stored_setl_ids(session: Session, setl_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted(set(setl_ids))):
        found.update((k, v) for k, v in session.execute(
            select(ImportRow.setl_id, ImportRow.batch_id).where(ImportRow.setl_id.in_(part))).all())
    return found


def _affected_households(session: Session, department: str, keys: list[str]) -> list[str]:
    if department not in PERSON_DEPARTMENTS:
        return sorted(set(keys))
    found: set[str] = set()
    for part in chunks(sorted(set(keys))):
        found.update(session.scalars(select(Person.household_no).where(Person.id_no.in_(part))))
    return sorted(found)


def import_report(factory: sessionmaker[Session], policy_id: int, department: str,
                  source: str | Path | IO[bytes] | bytes, *, actor: Actor, file_name: str | None = None,
                  period: str | None = None, progress: Callable[[str], None] | None = None,
                  columns: Mapping[str, str] | None = None) -> ImportResult:
    """Import one department file for a policy (see module docstring); returns what landed.
    ``progress(message)`` hears the stage and the rows so far (for a progress line on a terminal);
    ``columns`` (canonical → the file's header) is the reader's column mapping (:func:`read_report`)."""
    say = progress or (lambda _message: None)
    say("读取文件 / reading the file")
    data = _read_bytes(source)
    name = file_name or (source_name(source) if not isinstance(source, bytes) else "upload")
    sha = hashlib.sha256(data).hexdigest()
    with transaction(factory) as session:
        earlier = session.execute(select(ImportBatch.id, ImportBatch.imported_at)
                                  .where(ImportBatch.sha256 == sha)).first()
        if earlier is not None:
            raise AlreadyImportedError(earlier[0], earlier[1], name)
        if session.get(Policy, policy_id) is None:
            raise ImportRefusedError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
        say(f"校验 / checking {name}")
        read = read_report(io.BytesIO(data), department, file_name=name, columns=columns)
        say(f"已读 {read.rows_read:,} 行 / {read.rows_read:,} rows read")
        batch = ImportBatch(policy_id=policy_id, department=department, file_name=name, sha256=sha, period=period,
                            rows_read=read.rows_read, imported_by=actor.id, imported_at=now())
        session.add(batch)
        session.flush()

        rows = read.rows.reset_index(drop=True)
        exceptions = read.exceptions
        has_setl = "setl_id" in rows
        dup = pd.Series(False, index=rows.index)
        if has_setl and len(rows):
            earlier_ids = _stored_setl_ids(session, rows["setl_id"].dropna().astype(str).tolist())
            dup = rows["setl_id"].map(earlier_ids).notna()
            if dup.any():
                d = rows.loc[dup]
                first = d["setl_id"].map(earlier_ids).astype("int64").astype(str)
                exceptions = pd.concat([exceptions, pd.DataFrame({
                    "file": d["source_file"].astype(object), "line": d["source_line"].astype("int64"),
                    "reason": "duplicate_settlement",
                    "detail": ("结算ID " + d["setl_id"].astype(str) + " 已在批次 " + first + " 中导入，不重复计算 / "
                               "settlement " + d["setl_id"].astype(str) + " was already imported in batch " + first
                               + "; not counted twice").astype(object),
                    "severity": "error"})], ignore_index=True)
        keep = rows.loc[~dup]
        if len(exceptions):
            session.execute(insert(ImportException.__table__), [
                {"batch_id": batch.id, "line": int(r.line), "reason": str(r.reason), "detail": str(r.detail),
                 "severity": str(r.severity)} for r in exceptions.itertuples(index=False)])

        key = unit_key(department)
        records = rows_to_records(department, keep)
        stored = [{"batch_id": batch.id, "department": department, "line": int(line),
                   "setl_id": rec.get("setl_id") if has_setl else None, "unit_key": str(rec[key]),
                   "event_date": pd.Timestamp(rec[EVENT_DATE[department]]).date(), "data": rec}
                  for rec, line in zip(records, keep["source_line"].tolist())]
        half, done = (len(stored) + 1) // 2, 0
        for part in (stored[:half], stored[half:]):
            for piece in chunks(part, INSERT_CHUNK):
                session.execute(insert(ImportRow.__table__), piece)
            done += len(part)
            if part:
                _after_rows_inserted(done)
                say(f"入库 / storing rows {done:,}/{len(stored):,}")

        n_dup = int(dup.sum())
        batch.rows_stored = len(stored)
        batch.rows_duplicate = n_dup
        batch.rows_exception = int((read.exceptions["severity"] == "error").sum()) if len(read.exceptions) else 0
        session.flush()
        households = _affected_households(session, department, [r["unit_key"] for r in stored])
        say(f"重新计算 / recomputing the claims of {len(households):,} 户 / households")
        result = recompute(session, policy_id, households)
        return ImportResult(batch_id=batch.id, rows_read=read.rows_read, rows_stored=len(stored),
                            rows_exception=batch.rows_exception, rows_duplicate=n_dup,
                            claims_created=result.created, claims_updated=result.updated,
                            claims_withdrawn=result.withdrawn)


__all__ = ["AlreadyImportedError", "ImportRefusedError", "ImportResult", "import_report"]
