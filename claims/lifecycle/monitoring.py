"""防贫监测 in the database: the watched households of a policy and their tracking record, month by month.

* :class:`WatchedHousehold`: a household that entered the early-warning list (预警名单) of a policy, with its
  latest assessment (category, grade, per-capita income, rigid costs, the reasons) and its state:
  ``watching`` 监测中 → ``aided`` 已帮扶 → ``closed`` 已销号 (a person records these, with a reason:
  :mod:`claims.lifecycle.watchlist`), or ``claimed`` 转理赔 when the household crossed a warning line and
  the claims run made a claim of it (``claim_id`` links the claim; it has left the list).
* :class:`WatchRecord`: the tracking record (监测台账) — one row per change: who (a user, or the system for
  the monthly run), when, the data month (``YYYY-MM``), the action, the state after it, the grade and
  rigid costs then, and the reason.

:func:`update_watchlist` is the monthly run's part (called by :func:`claims.lifecycle.recompute.recompute`
for the households it recomputes): the pure assessment (:func:`claims.engine.monitoring.assess_households`,
year to date = every stored row of the policy) → new households on the list enter (``watching``, action
``enter``); a watched household whose figures changed gets a ``monitor`` record for the month; one in
``watching`` or ``aided`` that now has a claim on a rigid line (any state but rejected or reversed) moves
to ``claimed`` with the claim's id.  A closed (销号) household stays closed for the policy year: seed 001
篇1 "完成对标补短和帮扶救助后…批准销号".  The data month is the month of the latest event date among the rows
(the report month the run is for), not the day the run happens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    column,
    func,
    insert,
    select,
    table,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from claims.engine.monitoring import assess_households, rigid_lines
from claims.lifecycle.store import Base, Money, now
from claims.reports.departments import SPECS
from products.model import Product
from tabular.money import fen_to_decimal

#: state → Chinese label.
WATCH_STATES: dict[str, str] = {"watching": "监测中", "aided": "已帮扶", "closed": "已销号", "claimed": "转理赔"}
#: The states of a household still on the list.
ON_LIST = ("watching", "aided")
#: action → Chinese label (the tracking record).
WATCH_ACTIONS: dict[str, str] = {"enter": "纳入监测", "monitor": "月度监测", "aided": "已帮扶", "closed": "销号",
                                 "claimed": "转理赔"}
#: Claim states that do not count as the household's claim (nothing is or will be paid on them).
NOT_A_CLAIM = ("rejected", "reversed")

_STATE_LIST = ", ".join(f"'{s}'" for s in WATCH_STATES)
_ACTION_LIST = ", ".join(f"'{a}'" for a in WATCH_ACTIONS)


class WatchedHousehold(Base):
    """A household on (or once on) a policy's early-warning list, with its latest assessment."""

    __tablename__ = "watched_households"
    __table_args__ = (
        UniqueConstraint("policy_id", "household_no"),
        CheckConstraint(f"state IN ({_STATE_LIST})", name="state"),
        Index("ix_watched_households_village_state", "village_code", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    household_no: Mapped[str] = mapped_column(String(40))
    village_code: Mapped[str] = mapped_column(String(12))
    natural_village: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(20))  # 三类 category, "" when none applies
    grade: Mapped[str] = mapped_column(String(10))
    per_capita_income: Mapped[Decimal] = mapped_column(Money())
    rigid_costs: Mapped[Decimal] = mapped_column(Money())
    reasons: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="watching")
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))  # the claim it moved to
    entered_month: Mapped[str] = mapped_column(String(7))
    month: Mapped[str] = mapped_column(String(7))  # the data month of the latest assessment
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class WatchRecord(Base):
    """One line of a watched household's tracking record (监测台账): never changed once written."""

    __tablename__ = "watch_records"
    __table_args__ = (CheckConstraint(f"action IN ({_ACTION_LIST})", name="action"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    watched_id: Mapped[int] = mapped_column(ForeignKey("watched_households.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    action: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10))
    grade: Mapped[str] = mapped_column(String(10))
    rigid_costs: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(60))  # the user's name, or 系统 for the monthly run


@dataclass(frozen=True)
class WatchResult:
    """What a run changed: households that entered the list, got a monthly record, moved to a claim."""

    entered: int = 0
    monitored: int = 0
    claimed: int = 0


SYSTEM_NAME = "系统 / system"


def data_month(reports: Mapping[str, pd.DataFrame], product: Product, at: dt.datetime) -> str:
    """``YYYY-MM`` of the latest event date among the rows within the policy period (else of ``at``)."""
    latest: pd.Timestamp | None = None
    start, end = pd.Timestamp(product.period_start), pd.Timestamp(product.period_end)
    for dept, rows in reports.items():
        column = SPECS[dept].event_date if dept in SPECS else None
        if column is None or column not in rows or not len(rows):
            continue
        dates = rows[column]
        dates = dates[(dates >= start) & (dates <= end)]
        if len(dates) and (latest is None or dates.max() > latest):
            latest = dates.max()
    return (latest if latest is not None else pd.Timestamp(at)).strftime("%Y-%m")


#: The claims table's columns read here (named, not imported: claims.lifecycle.models imports this module).
_CLAIMS = table("claims", column("id"), column("policy_id"), column("household_no"), column("line_id"),
                column("state"))
#: Bind-parameter limit of one IN list.
CHUNK = 5000


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _money(fen: Any) -> Decimal:
    return fen_to_decimal(int(fen))


def add_record(session: Session, watched: WatchedHousehold, action: str, month: str, at: dt.datetime,
               reason: str | None = None, actor_id: int | None = None, actor_name: str = SYSTEM_NAME) -> None:
    """Append one line to the household's tracking record (its state, grade and costs as they are now)."""
    session.execute(insert(WatchRecord.__table__).values(
        watched_id=watched.id, month=month, at=at, action=action, state=watched.state, grade=watched.grade,
        rigid_costs=watched.rigid_costs, reason=reason, actor_id=actor_id, actor_name=actor_name[:60]))


def _claims_of(session: Session, policy_id: int, product: Product, household_nos: list[str]) -> dict[str, int]:
    """household_no → the id of its first claim on a rigid line that is not rejected or reversed."""
    lines = [line.id for line in rigid_lines(product)]
    out: dict[str, int] = {}
    if not lines or not household_nos:
        return out
    c = _CLAIMS.c
    for part in _chunks(household_nos):
        for household_no, claim_id in session.execute(
                select(c.household_no, func.min(c.id))
                .where(c.policy_id == policy_id, c.household_no.in_(part), c.line_id.in_(lines),
                       c.state.not_in(NOT_A_CLAIM))
                .group_by(c.household_no)):
            out[str(household_no)] = int(claim_id)
    return out


def _watched(session: Session, policy_id: int, household_nos: Iterable[str]) -> dict[str, WatchedHousehold]:
    out: dict[str, WatchedHousehold] = {}
    for part in _chunks(sorted(set(household_nos))):
        for w in session.scalars(select(WatchedHousehold).where(WatchedHousehold.policy_id == policy_id,
                                                                WatchedHousehold.household_no.in_(part))):
            out[w.household_no] = w
    return out


def _assessment_changed(w: WatchedHousehold, row: Any) -> bool:
    return (w.grade != row.grade or w.category != row.category or w.reasons != row.reasons
            or w.rigid_costs != _money(row.rigid_costs) or w.per_capita_income != _money(row.income))


def _refresh(w: WatchedHousehold, row: Any, month: str, at: dt.datetime) -> None:
    w.village_code, w.natural_village = str(row.village_code), row.natural_village
    w.category, w.grade, w.reasons = str(row.category), str(row.grade), str(row.reasons)
    w.per_capita_income, w.rigid_costs = _money(row.income), _money(row.rigid_costs)
    w.month, w.updated_at = month, at


def update_watchlist(session: Session, policy_id: int, product: Product, persons: pd.DataFrame,
                     households: pd.DataFrame, reports: Mapping[str, pd.DataFrame],
                     at: dt.datetime | None = None) -> WatchResult:
    """Bring the watched households of ``households`` (the run's scope) in line with the assessment of
    the year to date (see the module docstring): enter, monthly record, moved to a claim."""
    at = at or now()
    if not len(households):
        return WatchResult()
    month = data_month(reports, product, at)
    assessed = assess_households(product, persons, households, reports)
    by_household = {str(r.household_no): r for r in assessed.itertuples(index=False)}
    watched = _watched(session, policy_id, by_household)
    entered = monitored = claimed = 0
    for row in assessed.loc[assessed["early_warning"]].itertuples(index=False):
        if str(row.household_no) in watched:
            continue
        w = WatchedHousehold(policy_id=policy_id, household_no=str(row.household_no), state="watching",
                             entered_month=month, created_at=at)
        _refresh(w, row, month, at)
        session.add(w)
        session.flush()
        add_record(session, w, "enter", month, at, reason=w.reasons)
        watched[w.household_no] = w
        entered += 1
    claims = _claims_of(session, policy_id, product, sorted(h for h, w in watched.items() if w.state in ON_LIST))
    for household_no, w in watched.items():
        row = by_household[household_no]
        changed = _assessment_changed(w, row) or w.month != month
        if changed:
            _refresh(w, row, month, at)
        if w.state in ON_LIST and household_no in claims:
            w.state, w.claim_id, w.updated_at = "claimed", claims[household_no], at
            add_record(session, w, "claimed", month, at,
                       reason=f"越过预警线，转入理赔 #{claims[household_no]} / crossed the line: claim #{claims[household_no]}")
            claimed += 1
        elif changed and w.state != "closed" and w.created_at != at:
            add_record(session, w, "monitor", month, at, reason=w.reasons or "未达预警 / below the warning share")
            monitored += 1
    session.flush()
    return WatchResult(entered=entered, monitored=monitored, claimed=claimed)


__all__ = ["ON_LIST", "WATCH_ACTIONS", "WATCH_STATES", "WatchRecord", "WatchResult", "WatchedHousehold", "add_record",
           "data_month", "update_watchlist"]
