"""Set-based state changes of claims, each with its audit event, in the caller's transaction.

One ``UPDATE claims … WHERE id IN (…) AND state = :from`` per batch and one ``INSERT INTO
claim_events … SELECT`` — never a loop of ORM saves.  Ids travel through a temporary table, so a
village list of 100,000 claims is two statements, not 100,000.

The transition table (:mod:`claims.lifecycle.workflow`) is checked first; the database's trigger checks again.
If any claim is not in the expected state (or its version moved on), nothing changes and
:class:`ConflictError` names the claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, column, insert, literal, select, table, text, tuple_, update
from sqlalchemy.orm import Session

from claims.lifecycle.audit import insert_rows
from claims.lifecycle.models import Claim, ClaimEvent, User
from claims.lifecycle.store import now
from claims.lifecycle.workflow import next_state
from tabular.errors import StateConflictError

_IDS = table("tmp_claim_ids", column("id", Integer), column("version", Integer))


class ConflictError(StateConflictError):
    """Some claims were changed by someone else (state or version moved on): nothing was changed."""

    def __init__(self, message: str, claim_ids: Sequence[int]):
        super().__init__(message)
        self.claim_ids = list(claim_ids)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (id, role), or the system (id None, role 'system')."""

    id: int | None
    role: str
    approval_limit: Decimal | None = None
    name: str | None = field(default=None, compare=False)  # the username, or the CLI's operator

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(id=user.id, role=user.role, approval_limit=user.approval_limit, name=user.username)


SYSTEM = Actor(id=None, role="system")


def _load_ids(session: Session, ids: Sequence[int], versions: Sequence[int] | None) -> None:
    session.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_claim_ids (id INTEGER PRIMARY KEY, version INTEGER)"))
    session.execute(text("DELETE FROM tmp_claim_ids"))
    if session.get_bind().dialect.name == "postgresql":
        # one statement for any number of ids: two arrays unnested side by side
        session.execute(text("INSERT INTO tmp_claim_ids (id, version) "
                             "SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:versions AS integer[]))"),
                        {"ids": list(ids), "versions": list(versions) if versions is not None else [None] * len(ids)})
        return
    session.execute(insert(_IDS), [{"id": i, "version": v} for i, v in zip(ids, versions or [None] * len(ids))])


#: Up to this many claims the guard names the ids (and versions) in the statement itself; more are loaded once
#: into ``tmp_claim_ids`` (no parameter limit, one plan for any size).  A single claim's transition then costs
#: no temporary-table round trips (three statements of twenty per API write in ``benchmarks/load.py``).
INLINE_IDS = 100


def _guard(session: Session, ids: list[int], from_state: str, versions: Sequence[int] | None) -> Any:
    """The rows to move: ``id ∈ ids ∧ state = from_state`` (∧ ``(id, version) ∈ zip(ids, versions)``)."""
    if len(ids) <= INLINE_IDS:
        named = Claim.id.in_(ids) if versions is None else tuple_(Claim.id, Claim.version).in_(list(zip(ids, versions)))
        return named & (Claim.state == from_state)
    _load_ids(session, ids, versions)
    guard = (Claim.id.in_(select(_IDS.c.id))) & (Claim.state == from_state)
    if versions is not None:
        guard &= Claim.version == select(_IDS.c.version).where(_IDS.c.id == Claim.id).scalar_subquery()
    return guard


def advance(session: Session, claim_ids: Sequence[int], from_state: str, action: str, actor: Actor, *,
            reason_code: str | None = None, note: str | None = None,
            expected_versions: Sequence[int] | None = None, at: dt.datetime | None = None) -> int:
    """Move every claim in ``claim_ids`` from ``from_state`` by ``action``; returns how many moved.

    Raises :class:`TransitionError` when the table forbids it for the actor's role, and
    :class:`ConflictError` (changing nothing) when any claim is not in ``from_state`` or, given
    ``expected_versions``, not at that version.
    """
    to_state = next_state(from_state, action, actor.role)
    ids = list(dict.fromkeys(int(i) for i in claim_ids))
    if not ids:
        return 0
    at = at or now()
    guard = _guard(session, ids, from_state, expected_versions)
    # record the events first (they read the claims' current state and amount), then move the claims
    events = select(
        Claim.id, literal(at), literal(actor.id, Integer), literal(actor.role), literal(action), Claim.state,
        literal(to_state), literal(reason_code), literal(note), Claim.amount, Claim.amount,
    ).where(guard)
    savepoint = session.begin_nested()
    names = ["claim_id", "at", "actor_id", "role", "action", "from_state", "to_state", "reason_code", "note",
             "amount_before", "amount_after"]
    rows = [dict(zip(names, r)) for r in session.execute(events.order_by(Claim.id))]
    moved = 0
    if len(rows) == len(ids):  # every claim matches the guard: the events are its rows
        # the events chained (claims.lifecycle.audit) and inserted in one bulk statement, in claim id order
        insert_rows(session, ClaimEvent, rows)
        # the UPDATE's own guard is the last word if another transaction got in between
        moved = session.execute(
            update(Claim).where(guard).values(state=to_state, version=Claim.version + 1, updated_at=at)
            .execution_options(synchronize_session=False)).rowcount
    if moved != len(ids):
        savepoint.rollback()
        stale = _stale(session, ids, from_state, expected_versions)
        raise ConflictError(
            f"{len(stale)} 笔理赔已被他人修改或不在“{from_state}”状态，未做任何更改 / {len(stale)} claim(s) changed by "
            f"someone else or not in state {from_state!r}; nothing was changed: {stale[:20]}", stale)
    savepoint.commit()
    return moved


def _stale(session: Session, ids: list[int], from_state: str, versions: Sequence[int] | None) -> list[int]:
    current = dict(session.execute(select(Claim.id, Claim.state).where(Claim.id.in_(ids))).all())
    vers = dict(session.execute(select(Claim.id, Claim.version).where(Claim.id.in_(ids))).all())
    want = dict(zip(ids, versions)) if versions is not None else {}
    return [i for i in ids if current.get(i) != from_state or (i in want and vers.get(i) != want[i])]


__all__ = ["SYSTEM", "Actor", "ConflictError", "advance"]
