"""Import one department file: a checksummed batch, its rows and exceptions, and the recomputed claims.

``import_report`` runs in ONE transaction — it lands whole (batch + good rows + exception rows +
claims) or not at all:

1. the file's sha256 is looked up: a file imported before raises :class:`AlreadyImportedError`
   (naming the earlier batch and its time) and changes nothing;
2. :func:`claims.reports.read_report` gives the usable rows and the exceptions, and
   :func:`claims.reports.identity.reconcile` the rows that count within the file (a row repeated or
   corrected further down the same file);
3. each row's record identity (``record_key``) and content digest are compared with the rows already
   stored for the policy and department that no correction has superseded (content, not bytes: CRLF,
   GB18030, another column order or file name give the same key and digest):

   * same key, same digest — an identical re-send: not stored, an ``info`` ``resent`` exception naming
     the earlier batch, file and line;
   * same key, another digest — a **correction**: stored; the earlier row is superseded (an
     ``import_row_events`` row: at, batch, the changed values before and after) and a ``warning``
     ``corrected`` exception shows the old and new values;
   * a new key (a refund or reversal row has a key of its own) — stored;

4. the batch, its exceptions and rows are bulk-inserted (``data`` = the canonical row as JSON);
   a verified household application (申报) without a number that a stored row reports again (same unit, date
   and amount) is superseded by it (:func:`claims.lifecycle.application_matches.replace_applications`);
5. :func:`claims.lifecycle.recompute.recompute` for the households the stored rows and the superseded rows touch.

Counts: ``rows_read = rows_stored + rows_exception + rows_duplicate`` where rows_exception counts the
unusable rows (severity ``error``) and rows_duplicate the rows not stored because the same record is
stored already with the same content or comes again later in the file; ``rows_corrected`` (part of
rows_stored) counts the stored corrections.  Warnings and infos are stored as exception rows too.
The policy's row is locked (PostgreSQL ``SELECT … FOR UPDATE``; SQLite writers queue anyway), so two
imports for one policy compare against each other's rows, never side by side.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from sqlalchemy import ARRAY, String, any_, bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from claims.lifecycle.application_matches import replace_applications
from claims.lifecycle.audit import append_rows
from claims.lifecycle.database import transaction
from claims.lifecycle.models import ImportBatch, ImportException, ImportRow, ImportRowEvent
from claims.lifecycle.recompute import recompute, rows_to_records
from claims.lifecycle.roster_store import chunks
from claims.lifecycle.store import Person, Policy, now
from claims.lifecycle.transitions import Actor
from claims.reports import read_report
from claims.reports.departments import SPECS
from claims.reports.householders import households_of_householders
from claims.reports.identity import (
    MONEY_KINDS,
    content_columns,
    content_digests,
    reconcile,
    record_keys,
)
from tabular.errors import InvalidInputError, StateConflictError
from tabular.files import source_name

INSERT_CHUNK = 5000


class ImportRefusedError(InvalidInputError):
    """An import refused before anything was stored (bilingual message)."""


class AlreadyImportedError(ImportRefusedError, StateConflictError):
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
    rows_corrected: int
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


STANDING_COLUMNS = ["id", "record_key", "content_digest", "batch_id", "line", "file_name", "unit_key"]


def _standing_rows(session: Session, policy_id: int, department: str, keys: list[str]) -> pd.DataFrame:
    """The stored rows of the policy and department with these record keys that no correction has
    superseded, by id (a key has one, or several when a file was stored twice before record identity
    existed: the migration gave them equal keys)."""
    superseded = select(ImportRowEvent.row_id).where(ImportRowEvent.row_id == ImportRow.id).exists()
    found = []
    query = (select(ImportRow.id, ImportRow.record_key, ImportRow.content_digest, ImportRow.batch_id, ImportRow.line,
                    ImportBatch.file_name, ImportRow.unit_key)
             .join(ImportBatch, ImportBatch.id == ImportRow.batch_id)
             .where(ImportBatch.policy_id == policy_id, ImportRow.department == department, ~superseded))
    for part in chunks(sorted(set(keys))):
        found += session.execute(_with_keys(session, query, part)).all()
    columns = list(zip(*found)) or [()] * len(STANDING_COLUMNS)  # column lists: no per-row tuple check
    frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in zip(STANDING_COLUMNS, columns)})
    return frame.sort_values("id", ignore_index=True)


def _with_keys(session: Session, query: Any, keys: list[str]) -> Any:
    """``query`` limited to rows whose record_key is one of ``keys``: ``IN (…)``, or on PostgreSQL
    ``= ANY(:keys)`` in a custom plan (``plan_cache_mode``, this transaction only), where the array is a
    constant the executor hashes.  In the generic plan psycopg's prepared statements get after five runs,
    each candidate row would be compared with the 5,000 keys one by one: minutes for a 100k-row re-send
    while the table's statistics are stale, as right after a large import."""
    if session.get_bind().dialect.name != "postgresql":
        return query.where(ImportRow.record_key.in_(keys))
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    return query.where(ImportRow.record_key == any_(bindparam("keys", value=list(keys), type_=ARRAY(String))))


def _row_data(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted(ids)):
        found.update(session.execute(select(ImportRow.id, ImportRow.data).where(ImportRow.id.in_(part))).all())
    return found


def _value_text(value: Any, kind: str) -> str:
    if value is None:
        return "（空）"
    if kind in MONEY_KINDS:
        fen = int(value)
        return f"{'-' if fen < 0 else ''}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"
    return str(value)


def _changes(department: str, old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The content values that differ (before, after) and their text '表头(列) 旧值 → 新值，…'."""
    spec = SPECS[department].columns
    names = [c for c in content_columns(department) if old.get(c) != new.get(c)]
    shown = "，".join(f"{spec[c].aliases[0]}({c}) {_value_text(old.get(c), spec[c].kind)} → "
                     f"{_value_text(new.get(c), spec[c].kind)}" for c in names)
    return {c: old.get(c) for c in names}, {c: new.get(c) for c in names}, shown


def _exception_rows(rows: pd.DataFrame, mask: pd.Series, reason: str, detail: pd.Series, severity: str) -> pd.DataFrame:
    return pd.DataFrame({"file": rows.loc[mask, "source_file"].astype(object),
                         "line": rows.loc[mask, "source_line"].astype("int64"), "reason": reason,
                         "detail": detail.astype(object), "severity": severity})


def _householders_resolved(session: Session, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows keyed by the householder's ID given their household from the stored persons of those IDs
    (:func:`claims.reports.householders.households_of_householders`): (rows, ``unknown_householder`` errors)."""
    if "householder_id" not in rows or rows["householder_id"].isna().all():
        return households_of_householders(rows, pd.DataFrame())
    found: list[Any] = []
    for part in chunks(sorted(set(rows["householder_id"].dropna()))):
        found += session.execute(select(Person.id_no, Person.household_no, Person.relation)
                                 .where(Person.id_no.in_(part))).all()
    return households_of_householders(rows, pd.DataFrame(found, columns=["id_no", "household_no", "relation"]))


def _affected_households(session: Session, department: str, keys: list[str]) -> list[str]:
    if not SPECS[department].person_keyed:
        return sorted(set(keys))
    found: set[str] = set()
    for part in chunks(sorted(set(keys))):
        found.update(session.scalars(select(Person.household_no).where(Person.id_no.in_(part))))
    return sorted(found)


@dataclass
class _Compared:
    """A file's reconciled rows against the policy's stored ones: rows ``resent`` (same record, same
    content) and ``corrected`` (same record, other content); the rows to ``keep`` (all but the re-sent)
    with their ``records``; the stored rows they correct (``old``) and each one's change (``diffs``:
    stored row id → (before, after, text)); the ``resent`` / ``corrected`` exception rows."""

    resent: pd.Series
    corrected: pd.Series
    keep: pd.DataFrame
    records: list[dict[str, Any]]
    old: pd.DataFrame
    diffs: dict[int, tuple[dict[str, Any], dict[str, Any], str]]
    exceptions: list[pd.DataFrame]


def _against_stored(session: Session, policy_id: int, department: str, rows: pd.DataFrame, keys: pd.Series,
                    digests: pd.Series) -> _Compared:
    """Each row matched by record key to the latest stored row of the policy (see :class:`_Compared`)."""
    standing = _standing_rows(session, policy_id, department, keys.tolist())
    latest = standing.drop_duplicates("record_key", keep="last")
    match = pd.DataFrame({"record_key": keys}).merge(latest, on="record_key", how="left")
    known = match["id"].notna()
    resent = known & (match["content_digest"] == digests)
    corrected = known & ~resent
    place = ("批次 " + match["batch_id"].astype("Int64").astype(str) + "（" + match["file_name"].astype(str)
             + "）第 " + match["line"].astype("Int64").astype(str) + " 行")
    place_en = ("batch " + match["batch_id"].astype("Int64").astype(str) + " (" + match["file_name"].astype(str)
                + ") line " + match["line"].astype("Int64").astype(str))
    keep = rows.loc[~resent]
    records = rows_to_records(department, keep)
    fixes = np.flatnonzero(corrected)
    new_by_key = dict(zip(keys.iloc[fixes].tolist(), (records[i] for i in keep.index.get_indexer(fixes))))
    old = standing.loc[standing["record_key"].isin(new_by_key)]  # every standing row of those keys
    old_data = _row_data(session, old["id"].tolist())
    diffs = {row_id: _changes(department, old_data[row_id], new_by_key[key])
             for row_id, key in zip(old["id"].tolist(), old["record_key"].tolist())}
    change_text = pd.Series([diffs[int(i)][2] for i in match["id"].iloc[fixes]], index=fixes, dtype=object)
    exceptions = [
        _exception_rows(rows, resent, "resent", "与" + place[resent] + "相同，未重复计入 / same as "
                        + place_en[resent] + "; not counted again", "info"),
        _exception_rows(rows, corrected, "corrected", "更正" + place[corrected] + "：" + change_text
                        + " / corrects " + place_en[corrected] + ": " + change_text, "warning"),
    ]
    return _Compared(resent, corrected, keep, records, old, diffs, exceptions)


def _stored_rows(batch_id: int, department: str, records: list[dict[str, Any]], lines: list[int],
                 keys: list[str], digests: list[str]) -> list[dict[str, Any]]:
    """The ``import_rows`` of a batch: each record with its unit (the Spec's key) and event date."""
    spec = SPECS[department]
    has_setl = "setl_id" in spec.columns
    return [{"batch_id": batch_id, "department": department, "line": int(line),
             "setl_id": rec.get("setl_id") if has_setl else None, "unit_key": str(rec[spec.key]),
             "event_date": pd.Timestamp(rec[spec.event_date]).date(), "record_key": k, "content_digest": d,
             "data": rec}
            for rec, line, k, d in zip(records, lines, keys, digests)]


def _refuse_if_imported(session: Session, sha: str, name: str) -> None:
    earlier = session.execute(select(ImportBatch.id, ImportBatch.imported_at).where(ImportBatch.sha256 == sha)).first()
    if earlier is not None:
        raise AlreadyImportedError(earlier[0], earlier[1], name)


def _insert_rows(session: Session, stored_rows: list[dict[str, Any]], say: Callable[[str], None]) -> None:
    """The rows inserted in two halves (a progress message after each), :data:`INSERT_CHUNK` at a time."""
    append_rows(session, ImportRow, stored_rows)  # the hash chain (claims.lifecycle.audit), one pass
    half, done = (len(stored_rows) + 1) // 2, 0
    for part in (stored_rows[:half], stored_rows[half:]):
        for piece in chunks(part, INSERT_CHUNK):
            session.execute(insert(ImportRow.__table__), piece)
        done += len(part)
        if part:
            _after_rows_inserted(done)
            say(f"入库 / storing rows {done:,}/{len(stored_rows):,}")


#: Longest file name kept (the column holds 255 characters).
NAME_MAX = 255


def short_name(name: str) -> str:
    """A file name as stored: control characters dropped; a name over :data:`NAME_MAX` characters keeps its
    beginning and its end (the extension, often a date) around an ellipsis."""
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f") or "upload"
    if len(name) <= NAME_MAX:
        return name
    half = (NAME_MAX - 1) // 2
    return f"{name[:half]}…{name[-half:]}"


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
    name = short_name(file_name or (source_name(source) if not isinstance(source, bytes) else "upload"))
    if period is not None and (len(period) > 20 or any(ch < " " or ch == "\x7f" for ch in period)):
        raise ImportRefusedError(f"期间最多 20 个字符、不含控制字符：{period[:40]!r} / a period is at most 20 characters "
                                 f"without control characters: {period[:40]!r}")
    sha = hashlib.sha256(data).hexdigest()
    with transaction(factory) as session:
        _refuse_if_imported(session, sha, name)
        if session.get(Policy, policy_id, with_for_update=True) is None:  # imports of a policy queue
            raise ImportRefusedError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
        _refuse_if_imported(session, sha, name)  # again after the lock: the same file imported while we queued
        say(f"校验 / checking {name}")
        read = read_report(io.BytesIO(data), department, file_name=name, columns=columns)
        say(f"已读 {read.rows_read:,} 行 / {read.rows_read:,} rows read")
        batch = ImportBatch(policy_id=policy_id, department=department, file_name=name, sha256=sha, period=period,
                            rows_read=read.rows_read, imported_by=actor.id, imported_at=now(),
                            imported_by_name=actor.name or actor.role)
        try:
            with session.begin_nested():  # the same file imported for another policy at the same moment
                session.add(batch)
                session.flush()
        except IntegrityError:
            _refuse_if_imported(session, sha, name)
            raise
        keyed, unknown_heads = _householders_resolved(session, read.rows)
        within = reconcile(department, [keyed.reset_index(drop=True)])
        rows = within.rows.reset_index(drop=True)
        keys, digests = record_keys(department, rows), content_digests(department, rows)
        compared = _against_stored(session, policy_id, department, rows, keys, digests)
        resent, corrected, old, diffs = compared.resent, compared.corrected, compared.old, compared.diffs
        exceptions = pd.concat([read.exceptions, unknown_heads, within.exceptions, *compared.exceptions],
                               ignore_index=True)
        if len(exceptions):
            session.execute(insert(ImportException.__table__), [
                {"batch_id": batch.id, "line": int(r.line), "reason": str(r.reason), "detail": str(r.detail),
                 "severity": str(r.severity)} for r in exceptions.itertuples(index=False)])
        stored_rows = _stored_rows(batch.id, department, compared.records, compared.keep["source_line"].tolist(),
                                   keys[~resent].tolist(), digests[~resent].tolist())
        _insert_rows(session, stored_rows, say)
        _supersede(session, batch.id, old, diffs)
        replace_applications(session, policy_id, department, batch.id)  # 申报 rows this file reports again

        errors = [int((e["severity"] == "error").sum()) if len(e) else 0
                  for e in (read.exceptions, within.exceptions, unknown_heads)]
        # + repeated or superseded in the file
        n_dup = int(resent.sum()) + len(read.rows) - len(rows) - errors[1] - errors[2]
        batch.rows_stored = len(stored_rows)
        batch.rows_duplicate = n_dup
        batch.rows_corrected = int(corrected.sum())
        batch.rows_exception = sum(errors)
        session.flush()
        units = [r["unit_key"] for r in stored_rows] + old["unit_key"].astype(str).tolist()
        households = _affected_households(session, department, units)
        say(f"重新计算 / recomputing the claims of {len(households):,} 户 / households")
        result = recompute(session, policy_id, households)
        return ImportResult(batch_id=batch.id, rows_read=read.rows_read, rows_stored=len(stored_rows),
                            rows_exception=batch.rows_exception, rows_duplicate=n_dup,
                            rows_corrected=batch.rows_corrected, claims_created=result.created,
                            claims_updated=result.updated, claims_withdrawn=result.withdrawn)


def _supersede(session: Session, batch_id: int, old: pd.DataFrame,
               diffs: dict[int, tuple[dict[str, Any], dict[str, Any], str]]) -> None:
    """One ``import_row_events`` row per superseded row (``old``: id, record_key): superseded by this
    batch's row with the same key (one per key after reconciling), with the values that changed
    (``diffs[row id]``)."""
    if len(old) == 0:
        return
    new_ids: dict[str, int] = {}
    for part in chunks(sorted(set(old["record_key"]))):
        new_ids.update(session.execute(select(ImportRow.record_key, ImportRow.id).where(
            ImportRow.batch_id == batch_id, ImportRow.record_key.in_(part))).all())
    at = now()
    session.execute(insert(ImportRowEvent.__table__), [
        {"row_id": row_id, "superseded_by": new_ids[key], "batch_id": batch_id, "at": at,
         "old_values": diffs[row_id][0], "new_values": diffs[row_id][1]}
        for row_id, key in zip(old["id"].tolist(), old["record_key"].tolist())])


__all__ = ["AlreadyImportedError", "ImportRefusedError", "ImportResult", "import_report"]
