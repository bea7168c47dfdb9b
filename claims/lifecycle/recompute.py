"""Recompute the claims of a policy from everything imported so far (the database side of the engine).

For the policy's product version, the roster and all stored import rows (optionally only those of some
households: person-keyed departments by the persons of those households), with

    paid[line, unit] = Σ claims.amount over claims in a committed state (workflow.COMMITTED: in review,
                       on notice, payable, paid, rejected …; a reversed claim does not count)
                       − Σ recoveries.amount recovered (money that came back, claims.lifecycle.recovery)
    due[line, unit]  = engine entitlement − paid (after caps; see claims.engine.compute)

then, per (line, unit):

* due > 0 and a ``computed`` claim exists → update its amounts/trace when anything changed
  (event ``recompute``: computed → computed, amount_before → amount_after);
* due > 0 and none exists → a new claim in ``computed`` with amount = computed_amount = due
  (event ``compute``: NULL → computed, amount_after = due);
* a ``computed`` claim whose due is now 0 → amount 0 (event ``recompute``), then ``withdraw`` by the
  system (reason ``no_longer_due``) → rejected.

A (line, unit) paid beyond its entitlement (a refund or a correction after payment) keeps one open
recovery at the outstanding amount (:func:`claims.lifecycle.recovery.sync_recoveries`; its paid claim flagged
``overpaid``).

Claims of persons with a cross-department duplicate (:mod:`claims.lifecycle.duplicates`) on an illness or
accident-medical line get the detail in ``claims.flags``.  Everything is set-based: bulk INSERT of
claims, INSERT … SELECT of their events, executemany UPDATEs; no ORM object per claim.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import bindparam, exists, func, insert, literal, null, or_, select, true, update
from sqlalchemy.orm import Session

from claims.engine.compute import run_calculation
from claims.lifecycle.audit import insert_rows
from claims.lifecycle.duplicates import cross_department_duplicates
from claims.lifecycle.models import Claim, ClaimEvent, ImportBatch, ImportRow, ImportRowEvent
from claims.lifecycle.monitoring import update_watchlist
from claims.lifecycle.recovery import recovered_amounts, sync_recoveries
from claims.lifecycle.registry import product_of
from claims.lifecycle.roster_store import chunks, county_roster
from claims.lifecycle.store import Policy, ProductVersion, now
from claims.lifecycle.transitions import SYSTEM, advance
from claims.lifecycle.workflow import COMMITTED
from claims.reports.departments import SPECS
from tabular.errors import NotFoundError
from tabular.money import fen_to_decimal

#: The departments whose rows name a person, and those whose rows name a household (the Specs' unit).
PERSON_DEPARTMENTS = tuple(d for d, s in SPECS.items() if s.person_keyed)
HOUSEHOLD_DEPARTMENTS = tuple(d for d, s in SPECS.items() if not s.person_keyed)
DUPLICATE_PERILS = ("illness", "accident_medical")
_STR_KINDS = {"id", "key", "text", "required_text", "level", "kind", "village_code"}
_INT_KINDS = {"money", "money_or_zero", "signed_money", "signed_money_required", "school_year"}
_NULLABLE_INT_KINDS = {"money_or_null", "signed_money_or_null", "grade"}


class RecomputeError(NotFoundError):
    """The policy (or its product version) does not exist."""


class RecomputeResult(NamedTuple):
    """How many ``computed`` claims were created, updated, withdrawn, and are flagged as duplicates."""

    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    flagged: int = 0


# ---- stored rows <-> canonical frames ---------------------------------------------------------------

def _kinds(department: str) -> dict[str, str]:
    spec = SPECS[department]
    out = {name: col.kind for name, col in spec.columns.items()}
    out.update({name: ("date" if dtype.startswith("datetime") else dtype) for name, dtype in spec.derived.items()})
    return out


def rows_to_records(department: str, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Canonical rows → JSON-able dicts (dates ISO ``YYYY-MM-DD``, ints, bools, None for NA);
    ``source_file``/``source_line`` are left out (they live on the batch and ImportRow.line)."""
    cols = [c for c in _kinds(department) if c in rows]
    out = {}
    for c in cols:
        col = rows[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            col = col.dt.strftime("%Y-%m-%d")
        out[c] = col.astype(object).where(col.notna(), None)
    return pd.DataFrame(out, index=rows.index).to_dict("records")


def records_to_frame(department: str, records: Sequence[Mapping[str, Any]], files: Sequence[str],
                     lines: Sequence[int]) -> pd.DataFrame:
    """Stored records → the canonical frame read_report would give (with source_file/source_line)."""
    raw = pd.DataFrame.from_records(list(records))
    out: dict[str, Any] = {}
    for name, kind in _kinds(department).items():
        values = raw[name] if name in raw else pd.Series([None] * len(raw), dtype=object)
        if kind == "date":
            out[name] = pd.to_datetime(values).astype("datetime64[ns]")
        elif kind in _INT_KINDS or kind == "int64":
            out[name] = values.astype("int64")
        elif kind in _NULLABLE_INT_KINDS or kind == "Int64":
            out[name] = pd.array(values.tolist(), dtype="Int64")
        elif kind in ("flag", "bool"):
            out[name] = values.astype(bool)
        else:
            out[name] = values.astype("str")
    frame = pd.DataFrame(out)
    frame["source_file"] = pd.Series(list(files), dtype="str")
    frame["source_line"] = pd.Series(list(lines), dtype="int64")
    return frame


def load_reports(session: Session, policy_id: int, person_ids: Iterable[str] | None = None,
                 household_nos: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """All stored rows of the policy per department that no correction has superseded (no
    ``import_row_events`` row names them); with ``household_nos``, only the rows of those households
    (person-keyed departments through ``person_ids``)."""
    superseded = select(ImportRowEvent.row_id).where(ImportRowEvent.row_id == ImportRow.id).exists()
    base = (select(ImportRow.department, ImportRow.line, ImportRow.data, ImportBatch.file_name)
            .join(ImportBatch, ImportBatch.id == ImportRow.batch_id)
            .where(ImportBatch.policy_id == policy_id, ~superseded))
    if household_nos is None:
        queries = [base]
    else:
        queries = [base.where(ImportRow.department.in_(PERSON_DEPARTMENTS), ImportRow.unit_key.in_(part))
                   for part in chunks(sorted(set(person_ids or ())))]
        queries += [base.where(ImportRow.department.in_(HOUSEHOLD_DEPARTMENTS), ImportRow.unit_key.in_(part))
                    for part in chunks(sorted(set(household_nos)))]
    grouped: dict[str, list[tuple[int, dict[str, Any], str]]] = {}
    for q in queries:
        for dept, line, data, file_name in session.execute(q.order_by(ImportRow.id)).all():
            grouped.setdefault(dept, []).append((line, data, file_name))
    return {dept: records_to_frame(dept, [r[1] for r in rows], [r[2] for r in rows], [r[0] for r in rows])
            for dept, rows in grouped.items()}


# ---- claims ------------------------------------------------------------------------------------------

def _fen(value: Decimal | None) -> int:
    return 0 if value is None else int(Decimal(value) * 100)


def _scope(household_nos: Sequence[str] | None) -> Any:
    if household_nos is None:
        return true()
    return or_(*(Claim.household_no.in_(part) for part in chunks(household_nos)))


def committed_paid(session: Session, policy_id: int, household_nos: Sequence[str] | None = None) -> pd.DataFrame:
    """``line_id, unit_id, paid`` (fen): Σ amount of the claims in a committed state − Σ recovered."""
    rows = session.execute(
        select(Claim.line_id, Claim.unit_id, func.sum(Claim.amount).cast(Claim.amount.type))
        .where(Claim.policy_id == policy_id, Claim.state.in_(COMMITTED), _scope(household_nos))
        .group_by(Claim.line_id, Claim.unit_id)).all()
    data = [(line, unit, _fen(total)) for line, unit, total in rows]
    paid = pd.DataFrame(data, columns=["line_id", "unit_id", "paid"]).astype({"paid": "int64"})
    back = recovered_amounts(session, policy_id, household_nos)
    if len(back) == 0:
        return paid
    paid = paid.merge(back, on=["line_id", "unit_id"], how="left").fillna({"recovered": 0})
    return paid.assign(paid=paid["paid"] - paid["recovered"].astype("int64"))[["line_id", "unit_id", "paid"]]


def _open_claims(session: Session, policy_id: int, household_nos: Sequence[str] | None) -> pd.DataFrame:
    cols = ["id", "line_id", "unit_id", "amount", "base", "entitlement", "paid_before", "computed_amount", "trace"]
    rows = session.execute(
        select(Claim.id, Claim.line_id, Claim.unit_id, Claim.amount, Claim.base, Claim.entitlement,
               Claim.paid_before, Claim.computed_amount, Claim.trace)
        .where(Claim.policy_id == policy_id, Claim.state == "computed", _scope(household_nos))).all()
    data = [(i, ln, u, *(_fen(v) for v in money), tr) for i, ln, u, *money, tr in rows]
    ints = {c: "int64" for c in cols if c not in ("line_id", "unit_id", "trace")}
    return pd.DataFrame(data, columns=cols).astype(ints)


def _opt(value: Any) -> Any:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _event(claim_id: int, at: Any, action: str, before: int | None, after: int, from_state: str | None = "computed",
           reason: str | None = None) -> dict[str, Any]:
    return {"claim_id": claim_id, "at": at, "actor_id": None, "role": SYSTEM.role, "action": action,
            "from_state": from_state, "to_state": "computed", "reason_code": reason, "note": None,
            "amount_before": None if before is None else fen_to_decimal(before), "amount_after": fen_to_decimal(after)}


def _update_claims(session: Session, rows: pd.DataFrame, at: Any) -> None:
    t = Claim.__table__
    money = ["base", "entitlement", "paid_before", "computed_amount", "amount"]
    stmt = (update(t).where(t.c.id == bindparam("b_id"), t.c.state == "computed")
            .values({**{m: bindparam("b_" + m, type_=t.c[m].type) for m in money},
                     "trace": bindparam("b_trace"), "version": t.c.version + 1, "updated_at": at}))
    params = [{"b_id": int(r.id), "b_base": fen_to_decimal(r.base), "b_entitlement": fen_to_decimal(r.entitlement),
               "b_paid_before": fen_to_decimal(r.paid_before), "b_computed_amount": fen_to_decimal(r.due),
               "b_amount": fen_to_decimal(r.due), "b_trace": str(r.trace)} for r in rows.itertuples(index=False)]
    if params:
        session.execute(stmt, params)


def _insert_claims(session: Session, policy: Policy, rows: pd.DataFrame, at: Any) -> None:
    if len(rows) == 0:
        return
    params = [{
        "policy_id": policy.id, "product_version_id": policy.product_version_id, "line_id": str(r.line_id),
        "peril": str(r.peril), "unit_type": str(r.unit_type), "unit_id": str(r.unit_id),
        "household_no": str(r.household_no), "village_code": _opt(r.village_code),
        "natural_village": _opt(r.natural_village), "state": "computed", "base": fen_to_decimal(r.base),
        "entitlement": fen_to_decimal(r.entitlement), "paid_before": fen_to_decimal(r.paid_before),
        "computed_amount": fen_to_decimal(r.due), "amount": fen_to_decimal(r.due), "trace": str(r.trace),
        "version": 1, "created_at": at, "updated_at": at} for r in rows.itertuples(index=False)]
    session.execute(insert(Claim.__table__), params)
    # one compute event per new claim: the policy's computed claims that have no event yet
    no_event = ~exists().where(ClaimEvent.claim_id == Claim.id)
    events = select(Claim.id, literal(at), null(), literal(SYSTEM.role), literal("compute"), null(),
                    literal("computed"), Claim.amount).where(
        Claim.policy_id == policy.id, Claim.state == "computed", no_event)
    names = ["claim_id", "at", "actor_id", "role", "action", "from_state", "to_state", "amount_after"]
    insert_rows(session, ClaimEvent, [{"reason_code": None, "note": None, "amount_before": None, **dict(zip(names, r))}
                                      for r in session.execute(events.order_by(Claim.id))])


def _withdraw(session: Session, rows: pd.DataFrame, at: Any) -> int:
    if len(rows) == 0:
        return 0
    ids = [int(i) for i in rows["id"]]
    t = Claim.__table__
    # the event first, then the claim: the database's guard wants the newest event to describe the change
    insert_rows(session, ClaimEvent,
                [_event(int(r.id), at, "recompute", int(r.amount), 0) for r in rows.itertuples(index=False)])
    session.execute(update(t).where(t.c.id == bindparam("b_id"), t.c.state == "computed").values(
        amount=Decimal("0.00"), computed_amount=Decimal("0.00"), version=t.c.version + 1, updated_at=at),
        [{"b_id": i} for i in ids])
    return advance(session, ids, "computed", "withdraw", SYSTEM, reason_code="no_longer_due", at=at)


def _flag(session: Session, policy_id: int, product: Any, reports: Mapping[str, pd.DataFrame]) -> int:
    dups = cross_department_duplicates(reports.get("medical"), reports.get("accident"))
    lines = [ln.id for ln in product.lines if ln.peril in DUPLICATE_PERILS]
    if len(dups) == 0 or not lines:
        return 0
    detail = dups.groupby("id_no")["detail"].agg(lambda s: "；".join(dict.fromkeys(s)))
    t = Claim.__table__
    stmt = (update(t).where(t.c.policy_id == policy_id, t.c.state == "computed", t.c.line_id.in_(lines),
                            t.c.unit_id == bindparam("b_unit")).values(flags=bindparam("b_flags")))
    session.execute(stmt, [{"b_unit": k, "b_flags": v} for k, v in detail.items()])
    return int(session.scalar(select(func.count()).select_from(Claim).where(
        Claim.policy_id == policy_id, Claim.state == "computed", Claim.line_id.in_(lines),
        Claim.unit_id.in_(list(detail.index)))) or 0)


def recompute(session: Session, policy_id: int, household_nos: Iterable[str] | None = None) -> RecomputeResult:
    """Run the engine for the policy (or some households) and bring the ``computed`` claims in line."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise RecomputeError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
    version = session.get(ProductVersion, policy.product_version_id)
    assert version is not None
    product = product_of(version)
    scope = None if household_nos is None else sorted(set(household_nos))
    if scope is not None and not scope:
        return RecomputeResult()
    persons, households = county_roster(session, product, scope)  # the product's county only
    reports = load_reports(session, policy_id, persons["id_no"].tolist(), scope)
    paid = committed_paid(session, policy_id, scope)
    result = run_calculation(product, persons, households, reports, paid)
    at = now()

    due = result.claims.loc[result.claims["due"] > 0]
    old = _open_claims(session, policy_id, scope)
    merged = due.merge(old.rename(columns={c: f"{c}_old" for c in old.columns if c not in ("line_id", "unit_id")}),
                       on=["line_id", "unit_id"], how="outer", indicator=True)
    new = merged.loc[merged["_merge"] == "left_only"]
    both = merged.loc[merged["_merge"] == "both"].copy()
    gone = old.merge(due[["line_id", "unit_id"]], on=["line_id", "unit_id"], how="left", indicator=True)
    gone = gone.loc[gone["_merge"] == "left_only"]

    both = both.rename(columns={"id_old": "id"})
    both["id"] = both["id"].astype("int64")
    changed = both.loc[(both["base"] != both["base_old"]) | (both["entitlement"] != both["entitlement_old"])
                       | (both["paid_before"] != both["paid_before_old"]) | (both["due"] != both["amount_old"])
                       | (both["due"] != both["computed_amount_old"]) | (both["trace"] != both["trace_old"])]
    if len(changed):  # each event before its claim's change (the database's guard reads it)
        insert_rows(session, ClaimEvent, [
            _event(int(r.id), at, "recompute", int(r.amount_old), int(r.due)) for r in changed.itertuples(index=False)])
    _update_claims(session, changed, at)
    _insert_claims(session, policy, new, at)
    withdrawn = _withdraw(session, gone, at)
    flagged = _flag(session, policy_id, product, reports)
    sync_recoveries(session, policy_id, result.claims, scope, at)
    update_watchlist(session, policy_id, product, persons, households, reports, at)  # 防贫监测: the list
    return RecomputeResult(created=len(new), updated=len(changed), withdrawn=withdrawn, flagged=flagged)


__all__ = ["RecomputeError", "RecomputeResult", "committed_paid", "load_reports", "records_to_frame", "recompute",
           "rows_to_records"]
