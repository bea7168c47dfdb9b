"""The early-warning list (预警名单) as people work it: scoped lists with filters, a household's tracking
record, 已帮扶 / 已销号 recorded with a reason, and the Excel export.

Every read goes through :func:`claims.lifecycle.scope.scoped` (the user's counties, and a village clerk's
villages or a township reviewer's townships).  Actions (:func:`record_action`): ``aided`` (已帮扶) from
``watching``; ``closed`` (已销号, 001 篇1 "第七步：销…批准销号") from ``watching`` or ``aided``; each with a
reason, the date and the actor in the tracking record.  A household outside the actor's scope is answered
as missing.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.lifecycle.monitoring import ON_LIST, WATCH_ACTIONS, WATCH_STATES, WatchedHousehold, WatchRecord, add_record
from claims.lifecycle.scope import Scope, scoped
from claims.lifecycle.store import now
from claims.lifecycle.transitions import Actor
from claims.lifecycle.villages import village_names
from tabular.errors import InvalidInputError, NotFoundError, StateConflictError
from tabular.safe_cells import formula_safe_frame

#: action → the states it may be taken from.
ACTION_FROM: dict[str, tuple[str, ...]] = {"aided": ("watching",), "closed": ("watching", "aided")}
#: The longest reason kept.
MAX_REASON = 500
#: The list's filters (query argument → what it filters).
FILTERS = ("grade", "category", "state", "village", "q")


class WatchNotFound(NotFoundError):
    """No watched household of that id in the user's scope."""


class WatchActionError(StateConflictError):
    """The action does not apply to the household's state."""


@dataclass(frozen=True)
class WatchFilters:
    """The list's filters: grade, category, state (``list`` = on the list: watching or aided; ``all``),
    village code, household number."""

    grade: str = ""
    category: str = ""
    state: str = "list"
    village: str = ""
    q: str = ""

    @classmethod
    def of(cls, args: Any) -> WatchFilters:
        values = {k: str(args.get(k, "") or "").strip()[:40] for k in FILTERS}
        return cls(**{**values, "state": values["state"] or "list"})


def _base(scope: Scope, filters: WatchFilters, columns: Any = None) -> Any:
    query = scoped(scope, select(columns if columns is not None else WatchedHousehold),
                   WatchedHousehold.village_code, policy=WatchedHousehold.policy_id)
    if filters.state == "list":
        query = query.where(WatchedHousehold.state.in_(ON_LIST))
    elif filters.state in WATCH_STATES:
        query = query.where(WatchedHousehold.state == filters.state)
    if filters.grade:
        query = query.where(WatchedHousehold.grade == filters.grade)
    if filters.category:
        query = query.where(WatchedHousehold.category == filters.category)
    if filters.village:
        query = query.where(WatchedHousehold.village_code == filters.village)
    if filters.q:
        query = query.where(WatchedHousehold.household_no == filters.q)
    return query


def watch_page(session: Session, scope: Scope, filters: WatchFilters, page: int, per_page: int = 50
               ) -> tuple[list[WatchedHousehold], int]:
    """One page of the filtered list (largest rigid costs first) and the total count."""
    total = session.scalar(select(func.count()).select_from(_base(scope, filters, WatchedHousehold.id).subquery()))
    rows = session.scalars(_base(scope, filters).order_by(WatchedHousehold.rigid_costs.desc(), WatchedHousehold.id)
                           .limit(per_page).offset(max(0, page - 1) * per_page))
    return list(rows), int(total or 0)


def filter_options(session: Session, scope: Scope) -> dict[str, list[tuple[str, str]]]:
    """The values the filters offer within the scope: grades, categories, villages (code, name)."""
    every = WatchFilters(state="all")
    grades = sorted(g for g in session.scalars(_base(scope, every, WatchedHousehold.grade).distinct()) if g)
    categories = sorted(c for c in session.scalars(_base(scope, every, WatchedHousehold.category).distinct()) if c)
    codes = sorted(v for v in session.scalars(_base(scope, every, WatchedHousehold.village_code).distinct()) if v)
    names = village_names(session, codes)
    return {"grades": [(g, g) for g in grades], "categories": [(c, c) for c in categories],
            "villages": [(c, names.get(c, c)) for c in codes]}


def watched_in_scope(session: Session, scope: Scope, watched_id: int) -> WatchedHousehold:
    """The watched household, if the scope sees it (else :class:`WatchNotFound`, as if it did not exist)."""
    w = session.scalar(_base(scope, WatchFilters(state="all")).where(WatchedHousehold.id == watched_id))
    if w is None:
        raise WatchNotFound(f"监测户 {watched_id} 不存在 / watched household {watched_id} does not exist")
    return w


def history(session: Session, watched: WatchedHousehold) -> list[WatchRecord]:
    """The household's tracking record, oldest first."""
    return list(session.scalars(select(WatchRecord).where(WatchRecord.watched_id == watched.id)
                                .order_by(WatchRecord.id)))


def record_action(session: Session, scope: Scope, watched_id: int, action: str, reason: str, actor: Actor,
                  at: dt.datetime | None = None) -> WatchedHousehold:
    """已帮扶 (``aided``) or 已销号 (``closed``) with a reason: the state changes and the tracking record
    gets the line (month = the household's data month, date, actor)."""
    w = watched_in_scope(session, scope, watched_id)
    reason = (reason or "").strip()
    if action not in ACTION_FROM:
        raise InvalidInputError(f"未知操作 {action[:20]!r}（已帮扶 aided、已销号 closed）/ unknown action")
    if not reason:
        raise InvalidInputError("请填写原因 / a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidInputError(f"原因最多 {MAX_REASON} 字 / the reason is at most {MAX_REASON} characters")
    if w.state not in ACTION_FROM[action]:
        raise WatchActionError(f"“{WATCH_STATES[w.state]}”的户不能“{WATCH_ACTIONS[action]}” / a household in state "
                               f"{w.state} cannot be marked {action}")
    at = at or now()
    w.state, w.updated_at = action, at
    session.flush()
    add_record(session, w, action, w.month, at, reason=reason, actor_id=actor.id,
               actor_name=actor.name or actor.role)
    return w


EXPORT_COLUMNS = {"household_no": "户编号", "village": "行政村", "natural_village": "自然村", "category": "监测类别",
                  "grade": "等级", "per_capita_income": "人均收入", "rigid_costs": "刚性支出", "state": "状态",
                  "entered_month": "纳入月份", "month": "监测月份", "reasons": "预警原因", "village_code": "村代码"}
EXPORT_MONEY = ("人均收入", "刚性支出")


def export_xlsx(session: Session, scope: Scope, filters: WatchFilters) -> bytes:
    """The filtered list as an .xlsx workbook: text cells formula-safe (:mod:`tabular.safe_cells`), the
    household number as text (every digit kept), amounts as numbers with two decimals."""
    from openpyxl import Workbook

    rows = list(session.scalars(_base(scope, filters).order_by(WatchedHousehold.rigid_costs.desc(),
                                                                WatchedHousehold.id)))
    names = village_names(session, sorted({w.village_code for w in rows}))
    frame = pd.DataFrame([{
        "户编号": w.household_no, "行政村": names.get(w.village_code, w.village_code),
        "自然村": w.natural_village or "", "监测类别": w.category, "等级": w.grade,
        "人均收入": w.per_capita_income, "刚性支出": w.rigid_costs, "状态": WATCH_STATES.get(w.state, w.state),
        "纳入月份": w.entered_month, "监测月份": w.month, "预警原因": w.reasons, "村代码": w.village_code} for w in rows],
        columns=list(EXPORT_COLUMNS.values()), dtype=object)
    frame = formula_safe_frame(frame, numeric=EXPORT_MONEY)
    wb = Workbook()
    ws = wb.active
    ws.title = "预警名单"
    ws.append(list(EXPORT_COLUMNS.values()))
    for values in frame.itertuples(index=False):
        ws.append(list(values))
        r = ws.max_row
        for col, name in enumerate(EXPORT_COLUMNS.values(), start=1):
            cell = ws.cell(r, col)
            if name in EXPORT_MONEY:
                cell.number_format = "0.00"
            else:
                cell.data_type = "s"  # text, never a formula
                if name in ("户编号", "村代码"):
                    cell.number_format = "@"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = ["ACTION_FROM", "WatchActionError", "WatchFilters", "WatchNotFound", "export_xlsx", "filter_options",
           "history", "record_action", "watch_page", "watched_in_scope"]
