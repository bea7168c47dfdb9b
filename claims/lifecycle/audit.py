"""Tamper-evident audit: hash chains over the append-only tables, and audit events with their actor.

Four chains, one per table: ``claim_events``, ``fund_entries``, ``payout_lines``, ``import_rows``.  Each
row carries ``chain_seq`` (1, 2, 3 … in the order rows were appended to that table's chain, unique),
``prev_hash`` (the ``row_hash`` of the row with ``chain_seq - 1``; 64 zeros for the first) and

    row_hash = SHA-256( canonical text )
    canonical text = JSON array, UTF-8, no spaces: [table, chain_seq, prev_hash, field₁, field₂, …]

with the fields of :data:`CHAINS` in that fixed order; ``null`` for NULL, amounts as fixed-point text with
two decimals (``"-12.30"``), times as ISO 8601 with microseconds (``"2026-12-02T10:00:00.000000"``), dates
ISO, ``import_rows.data`` nested as a JSON object with sorted keys.  Fields added to a chain later
(:data:`ADDED_LATER`, e.g. ``fund_entries.payer``) follow as ``[name, value]`` pairs, only when not NULL: rows
written before they existed keep their hashes, and setting or clearing one on an old row breaks the chain.
The previous hash is inside the hashed text, so
changing one row means rewriting every later one.  Payout lines chain their payee, account and amount
(the bank file's source); their reconciliation status is not chained (it changes on the bank return,
guarded by the claim's events).

The services append through :func:`append_rows` (row dicts for a bulk insert) or :func:`add_all` (ORM
objects), in the caller's transaction; on PostgreSQL a transaction-scoped advisory lock per chain keeps
two writers from forking it (SQLite writers already queue: ``BEGIN IMMEDIATE``).  :func:`verify` walks
every chain (``relief audit verify``).  What a chain cannot show on its own: the removal of the newest rows
(record the heads that ``verify`` prints somewhere else to see that), and a chain rewritten by someone who
recomputes every later hash — both need the heads kept outside the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, func, insert, or_, select, text
from sqlalchemy.orm import Session

from claims.lifecycle.models import AuditEvent, Claim, ClaimEvent, FundEntry, ImportRow, PayoutLine
from claims.lifecycle.store import CENT, Money, now

GENESIS = "0" * 64
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)

#: the chained fields of each table, in hashing order (never reorder: every stored hash depends on it)
CHAINS: dict[str, tuple[str, ...]] = {
    "claim_events": ("claim_id", "at", "actor_id", "role", "action", "from_state", "to_state", "reason_code",
                     "note", "amount_before", "amount_after"),
    "fund_entries": ("policy_id", "at", "kind", "amount", "reference", "note", "actor_id"),
    "payout_lines": ("batch_id", "claim_id", "payee_name", "payee_id_masked", "account", "amount"),
    "import_rows": ("batch_id", "department", "line", "setl_id", "record_key", "content_digest", "unit_key",
                    "event_date", "data"),
}
#: fields added to a chain after rows were written (:data:`CHAINS` never changes: migration 0008 chained the
#: rows stored then with exactly those), hashed after them as [name, value] only when not NULL
ADDED_LATER: dict[str, tuple[str, ...]] = {"fund_entries": ("payer",)}
MODELS: dict[str, Any] = {"claim_events": ClaimEvent, "fund_entries": FundEntry, "payout_lines": PayoutLine,
                          "import_rows": ImportRow}
#: pg_advisory_xact_lock keys, one per chain (the other key: the schema)
LOCK_KEYS = {"claim_events": 801_001, "fund_entries": 801_002, "payout_lines": 801_003, "import_rows": 801_004}


def _money_fields(name: str) -> frozenset[str]:
    table = MODELS[name].__table__
    return frozenset(f for f in CHAINS[name] if isinstance(table.c[f].type, Money))


MONEY = {name: _money_fields(name) for name in CHAINS}


_PLAIN = (str, int, bool, dict, list, type(None))  # as they are (a dict: import_rows.data, nested, keys sorted)


def _plain(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _money(value: Any) -> Any:
    return None if value is None else f"{Decimal(str(value)).quantize(CENT):f}"


def _converters(name: str) -> tuple[Any, ...]:
    return tuple(_money if f in MONEY[name] else _plain for f in CHAINS[name])


CONVERT = {name: _converters(name) for name in CHAINS}


def hashed_fields(table: str) -> tuple[str, ...]:
    """The fields a row's hash covers: :data:`CHAINS`, then :data:`ADDED_LATER`."""
    return CHAINS[table] + ADDED_LATER.get(table, ())


def row_digest(table: str, seq: int, prev: str, values: Sequence[Any]) -> str:
    """The ``row_hash`` of one row: ``values`` are the :func:`hashed_fields` of ``table`` in order (or only the
    :data:`CHAINS` ones: the later fields are then NULL)."""
    base = len(CHAINS[table])
    payload = [table, seq, prev, *(f(v) for f, v in zip(CONVERT[table], values[:base], strict=True))]
    payload += [[name, _plain(v)] for name, v in zip(ADDED_LATER.get(table, ()), values[base:]) if v is not None]
    return hashlib.sha256(_ENCODER.encode(payload).encode()).hexdigest()


def _head(session: Session, table: Table) -> tuple[int, str]:
    """The chain's last (seq, hash), after taking the chain's lock on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        # keyed by schema and chain: databases holding several schemas (tests) do not queue on each other
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :k)"),
                        {"k": LOCK_KEYS[table.name]})
    last = session.execute(select(table.c.chain_seq, table.c.row_hash).where(table.c.chain_seq.is_not(None))
                           .order_by(table.c.chain_seq.desc()).limit(1)).first()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def _default(table: Table, name: str) -> Any:
    default = table.c[name].default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg


def append_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each row dict (in insert order) its ``chain_seq``, ``prev_hash`` and ``row_hash``; a chained
    field missing from the dicts gets its column default first (e.g. ``at``).  Returns ``rows``."""
    table = model.__table__
    fields = hashed_fields(table.name)
    if not rows:
        return rows
    for name in fields:
        if name not in rows[0]:
            value = _default(table, name)
            for r in rows:
                r[name] = value
    seq, prev = _head(session, table)
    for r in rows:
        seq += 1
        r["chain_seq"], r["prev_hash"] = seq, prev
        prev = r["row_hash"] = row_digest(table.name, seq, prev, [r[f] for f in fields])
    return rows


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """:func:`append_rows` and one bulk INSERT."""
    if rows:
        session.execute(insert(model.__table__), append_rows(session, model, rows))


def add_all(session: Session, objects: Sequence[Any]) -> None:
    """Chain new ORM objects of one chained model (in this order) and add them to the session."""
    if not objects:
        return
    model = type(objects[0])
    table = model.__table__
    rows = [{f: getattr(o, f) for f in hashed_fields(table.name)} for o in objects]
    for r in rows:
        for name, value in r.items():
            if value is None:
                r[name] = _default(table, name)
    append_rows(session, model, rows)
    for obj, r in zip(objects, rows):
        for name, value in r.items():
            setattr(obj, name, value)
    session.add_all(objects)


def record(session: Session, actor_id: int | None, kind: str, subject: str, detail: dict[str, Any],
           actor_name: str | None = None) -> None:
    """One audit event (roster or bank-account change, fund entry, objection resolution …) with its actor."""
    session.execute(insert(AuditEvent.__table__).values(at=now(), actor_id=actor_id, actor_name=actor_name,
                                                        kind=kind, subject=subject[:100], detail=detail))


# ------------------------------------------------------------------------------------------------ verify

@dataclass
class ChainReport:
    table: str
    rows: int = 0  # rows in the chain, checked
    head_seq: int = 0
    head_hash: str = GENESIS
    broken: dict[str, Any] | None = None  # the first broken link: id, what, expected, found
    unchained: int = 0  # rows without a chain_seq (inserted around the services); claims: how many disagree
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.broken is None and self.unchained == 0


def _walk(session: Session, table: Table, chunk: int) -> Iterator[Any]:
    cols = [table.c.id, table.c.chain_seq, table.c.prev_hash, table.c.row_hash, *(table.c[f] for f in hashed_fields(table.name))]
    last = 0
    while True:
        part = session.execute(select(*cols).where(table.c.chain_seq > last).order_by(table.c.chain_seq)
                               .limit(chunk)).all()
        if not part:
            return
        yield from part
        last = part[-1].chain_seq


def verify_chain(session: Session, name: str, chunk: int = 20_000) -> ChainReport:
    table = MODELS[name].__table__
    report = ChainReport(name)
    fields = hashed_fields(name)
    prev = GENESIS
    for seq, row in enumerate(_walk(session, table, chunk), start=1):
        values = [getattr(row, f) for f in fields]
        problem = None
        if row.chain_seq != seq:
            problem = ("chain_seq", seq, row.chain_seq)
        elif row.prev_hash != prev:
            problem = ("prev_hash", prev, row.prev_hash)
        else:
            expected = row_digest(name, seq, prev, values)
            if row.row_hash != expected:
                problem = ("row_hash", expected, row.row_hash)
        if problem:
            report.broken = {"id": row.id, "chain_seq": row.chain_seq, "what": problem[0],
                             "expected": problem[1], "found": problem[2]}
            break
        prev = row.row_hash
        report.rows, report.head_seq, report.head_hash = seq, seq, prev
    unchained = session.execute(select(func.count(), func.min(table.c.id)).where(table.c.chain_seq.is_(None))).one()
    report.unchained = int(unchained[0])
    if report.unchained and report.broken is None:
        report.broken = {"id": unchained[1], "chain_seq": None, "what": "not in the chain",
                         "expected": "a chained row", "found": "chain_seq NULL"}
    return report


#: states whose amount is still being worked on: the event that moves the claim on records the amount
WORKING = ("computed", "investigating")


def verify_claims(session: Session) -> ChainReport:
    """Every claim with events agrees with its newest event: the state always, the amount once past
    :data:`WORKING` (a claim moved or re-priced around the services shows here, triggers disabled or not)."""
    report = ChainReport("claims")
    newest = (select(ClaimEvent.claim_id, func.max(ClaimEvent.id).label("event_id"))
              .group_by(ClaimEvent.claim_id).subquery())
    base = (select(Claim.id, Claim.state, Claim.amount, ClaimEvent.id.label("event_id"), ClaimEvent.to_state,
                   ClaimEvent.amount_after)
            .join(newest, newest.c.claim_id == Claim.id).join(ClaimEvent, ClaimEvent.id == newest.c.event_id))
    report.rows = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    wrong = base.where(or_(Claim.state != ClaimEvent.to_state,
                           and_(Claim.state.not_in(WORKING), ClaimEvent.amount_after.is_not(None),
                                Claim.amount != ClaimEvent.amount_after)))
    report.unchained = int(session.scalar(select(func.count()).select_from(wrong.subquery())) or 0)
    first = session.execute(wrong.order_by(Claim.id).limit(1)).first()
    if first is not None:
        report.rows -= report.unchained
        report.broken = {"id": first.id, "chain_seq": None, "what": f"state/amount vs event {first.event_id}",
                         "expected": f"{first.to_state} {first.amount_after}", "found": f"{first.state} {first.amount}"}
    return report


def verify(session: Session, tables: Iterable[str] | None = None) -> list[ChainReport]:
    """Walk every chain (or ``tables``) from its first row; the first broken link of each is reported.
    Without ``tables``, the claims are also checked against their newest events (:func:`verify_claims`)."""
    reports = [verify_chain(session, name) for name in (tables or CHAINS)]
    return reports if tables else [*reports, verify_claims(session)]


__all__ = ["ADDED_LATER", "CHAINS", "GENESIS", "ChainReport", "add_all", "append_rows", "insert_rows", "record", "row_digest",
           "verify", "verify_chain", "verify_claims"]
