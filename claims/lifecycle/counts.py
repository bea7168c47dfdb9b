"""Counts of claims for the queue's pager and the API's total, kept until the claims change.

``count(*)`` over 100,000 claims costs 10–12 ms of PostgreSQL CPU per page (``benchmarks/load.py``): a third
of a queue page and half of an API list, for a number that changes only when a claim does.  So a count is
kept per process, keyed by the database and the statement (its SQL and its parameters), and reused while
the **stamp** is unchanged:

    stamp = (max(claims.id), max(claim_events.id))

read by the two primary keys' indexes in one statement (≈ 0.2 ms).  Every new claim raises the first; every
change of a claim writes its event in the same transaction (the database's audit guard wants the newest
event to describe the change: ``claims.lifecycle.audit``), which raises the second.  A transaction that
commits an event id lower than one already counted (two writers committing out of order) does not move the
stamp: a kept count also expires after :data:`KEEP_SECONDS`, which bounds that case.  Counts are of rows a
user may see (the statement carries the user's scope), and a count is never money: nothing is paid from it.

A statement that filters claims only on :data:`FIXED_COLUMNS` (their identity, never changed after the claim
is made; claims are never deleted) is kept on ``max(claims.id)`` alone: a transition changes a claim's state,
amount and version, not these, so a day of adjudication does not recount the unfiltered queue on every page.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause

from claims.lifecycle.models import Claim, ClaimEvent

#: The claim columns fixed when a claim is made: who, where, which line (recompute changes money, trace and
#: version; transitions state, amount, flags and version; notices ``notice_id``).
FIXED_COLUMNS = frozenset({"id", "policy_id", "product_version_id", "line_id", "peril", "unit_type", "unit_id",
                           "household_no", "village_code"})
#: How long a count is kept at most, whatever the stamp says (seconds).
KEEP_SECONDS = 10.0
#: How many counts a process keeps (filters × scopes in use); the least recently used go first.
KEPT = 512

_kept: OrderedDict[tuple, tuple[tuple, float, int]] = OrderedDict()
_lock = threading.Lock()


def claims_stamp(session: Session) -> tuple:
    """``(max(claims.id), max(claim_events.id))``: changes when a claim is added or changed."""
    row = session.execute(select(select(func.max(Claim.id)).scalar_subquery(),
                                 select(func.max(ClaimEvent.id)).scalar_subquery())).one()
    return tuple(row)


def on_fixed_columns(statement: Any) -> bool:
    """True when every claims column ``statement`` reads (subqueries included) is in :data:`FIXED_COLUMNS`."""
    claims = Claim.__table__
    used = {e.name for e in visitors.iterate(statement) if isinstance(e, ColumnClause) and e.table is claims}
    return used <= FIXED_COLUMNS


def count_claims(session: Session, statement: Any) -> int:
    """``session.scalar(statement)`` for a ``SELECT count(*) …`` over claims, reused while the claims are
    unchanged (see the module's docstring)."""
    bind = session.get_bind()
    compiled = statement.compile(bind=bind)
    key = (str(bind.url), compiled.string, repr(sorted(compiled.params.items())))
    stamp = claims_stamp(session)
    if on_fixed_columns(statement):
        stamp = stamp[:1]  # only a new claim changes it
    now = time.monotonic()
    with _lock:
        kept = _kept.get(key)
        if kept is not None and kept[0] == stamp and now - kept[1] < KEEP_SECONDS:
            _kept.move_to_end(key)
            return kept[2]
    value = int(session.scalar(statement) or 0)
    with _lock:
        _kept[key] = (stamp, now, value)
        _kept.move_to_end(key)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return value


__all__ = ["FIXED_COLUMNS", "KEEP_SECONDS", "claims_stamp", "count_claims", "on_fixed_columns"]
