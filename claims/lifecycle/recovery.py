"""Recovery of overpayments (追回): money paid on a (line, unit) beyond what the unit is entitled to.

A refund or a correction imported after payment can lower a unit's entitlement below what was paid.
Recomputation (:func:`sync_recoveries`, called by :func:`claims.lifecycle.recompute.recompute`) then keeps one
``open`` recovery per (policy, line, unit) at

    outstanding = min(overpaid, paid out − recovered) − waived

where ``overpaid = max(0, committed − recovered − entitlement)`` is the engine's (committed as in
:func:`claims.lifecycle.recompute.committed_paid`), ``paid out`` is Σ amount of the unit's claims in state
``paid`` (only money that left the fund can be recovered) and ``recovered``/``waived`` are the amounts
of its closed recoveries on claims still paid (a reversed claim took its payment back whole).  So a later
import never opens a second recovery for the same overpayment;
it updates the open one when the amount changes and cancels it when nothing is outstanding any more.

The recovery points at the unit's last paid claim, whose ``flags`` say ``overpaid`` with the amount and
the recovery's state.  Then, by a person:

* :func:`record_recovery` (insurer) — the money came back: state ``recovered`` and a fund entry
  ``recovery`` = +amount (reference ``recovery:<id>``), so ``balance = premium received − claims paid
  + reversals + recoveries + settlements`` (:mod:`claims.lifecycle.fund`);
* :func:`waive_recovery` (insurer supervisor, reason required) — not pursued: state ``waived``, no money.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from claims.lifecycle.audit import add_all
from claims.lifecycle.models import Claim, FundEntry, Recovery
from claims.lifecycle.roster_store import chunks
from claims.lifecycle.store import now
from claims.lifecycle.transitions import Actor
from tabular.errors import NotAllowedError
from tabular.money import fen_to_decimal

STATES: dict[str, str] = {"open": "待追回", "recovered": "已追回", "waived": "已核销", "cancelled": "已取消"}
RECORD_ROLES = frozenset({"insurer_adjudicator", "insurer_supervisor"})
WAIVE_ROLES = frozenset({"insurer_supervisor"})
FLAG = "overpaid / 多付"
NO_LONGER_OVERPAID = "重新计算后已无多付 / no longer overpaid after recomputation"


class RecoveryError(NotAllowedError):
    """A recovery request that cannot be done (bilingual message); nothing was changed."""


def _fen(value: Decimal | None) -> int:
    return 0 if value is None else int(Decimal(value) * 100)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def flag_text(flags: str | None, recovery_id: int, amount_fen: int, state: str | None) -> str | None:
    """``flags`` with its overpaid line replaced by the recovery's (or removed when ``state`` is None);
    other lines (e.g. a duplicate suspicion) are kept."""
    kept = [line for line in (flags or "").split("\n") if line and not line.startswith(FLAG)]
    if state is not None:
        kept.append(f"{FLAG} {_yuan(amount_fen)}：追回单 #{recovery_id} {STATES[state]} / recovery #{recovery_id} "
                    f"{state}")
    return "\n".join(kept) or None


def _scope(household_nos: Sequence[str] | None) -> Any:
    if household_nos is None:
        return true()
    return or_(*(Claim.household_no.in_(part) for part in chunks(household_nos)))


def recovered_amounts(session: Session, policy_id: int, household_nos: Sequence[str] | None = None) -> pd.DataFrame:
    """``line_id, unit_id, recovered`` (fen): Σ amount of the recovered recoveries per (line, unit) whose
    claim is still paid (a reversed claim's payment no longer counts, nor what was recovered of it)."""
    rows = session.execute(
        select(Recovery.line_id, Recovery.unit_id, func.sum(Recovery.amount).cast(Recovery.amount.type))
        .join(Claim, Claim.id == Recovery.claim_id)
        .where(Recovery.policy_id == policy_id, Recovery.state == "recovered", Claim.state == "paid",
               _scope(household_nos))
        .group_by(Recovery.line_id, Recovery.unit_id)).all()
    return pd.DataFrame([(ln, u, _fen(v)) for ln, u, v in rows],
                        columns=["line_id", "unit_id", "recovered"]).astype({"recovered": "int64"})


def _per_unit(session: Session, query: Any, units: list[tuple[str, str]], column: str, *,
              money: bool = True) -> pd.DataFrame:
    """Run ``query(unit ids)`` (selecting line_id, unit_id, a value: a sum of money → fen, or an id)
    over chunks of the units' ids; one row per unit asked for (0 where nothing was found)."""
    found: list[tuple[str, str, int]] = []
    for part in chunks(sorted({u for _, u in units})):
        found += [(ln, u, _fen(v) if money else int(v)) for ln, u, v in session.execute(query(part)).all()]
    frame = pd.DataFrame(found, columns=["line_id", "unit_id", column]).astype({column: "int64"})
    wanted = pd.DataFrame(units, columns=["line_id", "unit_id"])
    return wanted.merge(frame, on=["line_id", "unit_id"], how="left").fillna({column: 0}).astype({column: "int64"})


def sync_recoveries(session: Session, policy_id: int, claims: pd.DataFrame, household_nos: Sequence[str] | None,
                    at: dt.datetime) -> int:
    """Bring the open recoveries of the policy (or of some households) in line with the engine's
    ``claims`` (``line_id, unit_id, overpaid`` in fen) — see the module docstring; returns how many
    recoveries were opened, changed or cancelled."""
    over = claims.loc[claims["overpaid"] > 0, ["line_id", "unit_id", "overpaid"]]
    open_rows = session.execute(
        select(Recovery.id, Recovery.line_id, Recovery.unit_id, Recovery.amount, Recovery.claim_id)
        .join(Claim, Claim.id == Recovery.claim_id)
        .where(Recovery.policy_id == policy_id, Recovery.state == "open", _scope(household_nos))).all()
    opened = pd.DataFrame([(i, ln, u, _fen(a), c) for i, ln, u, a, c in open_rows],
                          columns=["id", "line_id", "unit_id", "amount", "claim_id"])
    units = sorted({(str(ln), str(u)) for ln, u in zip(over["line_id"], over["unit_id"])}
                   | set(zip(opened["line_id"], opened["unit_id"])))
    if not units:
        return 0
    t = Claim.__table__
    paid = _per_unit(session, lambda part: (
        select(t.c.line_id, t.c.unit_id, func.sum(t.c.amount).cast(t.c.amount.type))
        .where(t.c.policy_id == policy_id, t.c.state == "paid", t.c.unit_id.in_(part))
        .group_by(t.c.line_id, t.c.unit_id)), units, "paid_out")
    last = _per_unit(session, lambda part: (
        select(t.c.line_id, t.c.unit_id, func.max(t.c.id))
        .where(t.c.policy_id == policy_id, t.c.state == "paid", t.c.unit_id.in_(part))
        .group_by(t.c.line_id, t.c.unit_id)), units, "last_paid", money=False)
    r = Recovery.__table__
    closed = {state: _per_unit(session, lambda part, state=state: (
        select(r.c.line_id, r.c.unit_id, func.sum(r.c.amount).cast(r.c.amount.type))
        .join(t, t.c.id == r.c.claim_id)
        .where(r.c.policy_id == policy_id, r.c.state == state, t.c.state == "paid", r.c.unit_id.in_(part))
        .group_by(r.c.line_id, r.c.unit_id)), units, state) for state in ("recovered", "waived")}
    frame = paid.assign(last_paid=last["last_paid"], recovered=closed["recovered"]["recovered"],
                        waived=closed["waived"]["waived"])
    frame = frame.merge(over, on=["line_id", "unit_id"], how="left").fillna({"overpaid": 0})
    frame["outstanding"] = (np.minimum(frame["overpaid"].astype("int64"), frame["paid_out"] - frame["recovered"])
                            - frame["waived"]).clip(lower=0)
    frame = frame.merge(opened, on=["line_id", "unit_id"], how="left")

    new = frame.loc[frame["id"].isna() & (frame["outstanding"] > 0) & (frame["last_paid"] > 0)]
    changed = frame.loc[frame["id"].notna() & (frame["outstanding"] > 0)
                        & ((frame["outstanding"] != frame["amount"]) | (frame["last_paid"] != frame["claim_id"]))]
    gone = frame.loc[frame["id"].notna() & (frame["outstanding"] <= 0)]
    if len(new):
        session.execute(insert(r), [
            {"policy_id": policy_id, "claim_id": int(x.last_paid), "line_id": x.line_id, "unit_id": x.unit_id,
             "amount": fen_to_decimal(int(x.outstanding)), "state": "open", "opened_at": at, "updated_at": at}
            for x in new.itertuples(index=False)])
    if len(changed):
        session.execute(update(r).where(r.c.id == bindparam("b_id"), r.c.state == "open").values(
            amount=bindparam("b_amount", type_=r.c.amount.type), claim_id=bindparam("b_claim"), updated_at=at), [
            {"b_id": int(x.id), "b_amount": fen_to_decimal(int(x.outstanding)), "b_claim": int(x.last_paid)}
            for x in changed.itertuples(index=False)])
    if len(gone):
        session.execute(update(r).where(r.c.id == bindparam("b_id"), r.c.state == "open").values(
            state="cancelled", updated_at=at, closed_at=at, reason=NO_LONGER_OVERPAID),
            [{"b_id": int(i)} for i in gone["id"]])
    # the claims whose flags show these recoveries: new, moved (from and to) and cancelled
    _reflag(session, [*new["last_paid"], *changed["claim_id"], *changed["last_paid"], *gone["claim_id"]])
    return len(new) + len(changed) + len(gone)


def _reflag(session: Session, claim_ids: Sequence[Any]) -> None:
    """Rewrite the overpaid line of the claims' flags from their latest recovery (none, or a cancelled
    one: no overpaid line; a recovered or waived one stays visible)."""
    claim_ids = sorted({int(c) for c in claim_ids})
    if not claim_ids:
        return
    flags = dict(session.execute(select(Claim.id, Claim.flags).where(Claim.id.in_(claim_ids))).all())
    latest: dict[int, tuple[int, Decimal, str]] = {}
    for rid, cid, amount, state in session.execute(
            select(Recovery.id, Recovery.claim_id, Recovery.amount, Recovery.state)
            .where(Recovery.claim_id.in_(claim_ids)).order_by(Recovery.id)).all():
        latest[cid] = (rid, amount, state)
    params = []
    for cid in claim_ids:
        rid, amount, state = latest.get(cid, (0, Decimal(0), None))
        text = flag_text(flags.get(cid), rid, _fen(amount), None if state in (None, "cancelled") else state)
        if text != flags.get(cid):
            params.append({"b_id": cid, "b_flags": text})
    if params:
        t = Claim.__table__
        session.execute(update(t).where(t.c.id == bindparam("b_id")).values(flags=bindparam("b_flags")), params)


def _open(session: Session, recovery_id: int) -> Recovery:
    recovery = session.get(Recovery, recovery_id)
    if recovery is None:
        raise RecoveryError(f"追回单 {recovery_id} 不存在 / recovery {recovery_id} does not exist")
    if recovery.state != "open":
        raise RecoveryError(f"追回单 {recovery_id} 已是“{STATES[recovery.state]}”，只能处理待追回的 / recovery "
                            f"{recovery_id} is {recovery.state}; only an open recovery can be recorded or waived")
    return recovery


def _close(session: Session, recovery: Recovery, state: str, actor: Actor, reason: str | None, at: dt.datetime) -> None:
    r = Recovery.__table__
    done = session.execute(update(r).where(r.c.id == recovery.id, r.c.state == "open").values(
        state=state, closed_at=at, closed_by=actor.id, reason=reason, updated_at=at)).rowcount
    if done != 1:
        raise RecoveryError(f"追回单 {recovery.id} 已被他人处理，未做任何更改 / recovery {recovery.id} was closed by "
                            f"someone else; nothing was changed")
    session.expire(recovery)
    _reflag(session, [recovery.claim_id])


def record_recovery(session: Session, recovery_id: int, actor: Actor, note: str | None = None) -> FundEntry:
    """The overpaid money came back (insurer): the recovery is ``recovered`` and the fund gets a
    ``recovery`` entry of +amount; returns the entry."""
    if actor.role not in RECORD_ROLES:
        raise RecoveryError(f"角色 {actor.role} 无权登记追回（须为保险公司理赔员或主管） / role {actor.role!r} may not "
                            f"record a recovery (insurer adjudicator or supervisor only)")
    recovery = _open(session, recovery_id)
    at = now()
    policy_id, amount = recovery.policy_id, recovery.amount
    _close(session, recovery, "recovered", actor, None, at)
    entry = FundEntry(policy_id=policy_id, at=at, kind="recovery", amount=amount, reference=f"recovery:{recovery_id}",
                      note=note, actor_id=actor.id)
    add_all(session, [entry])  # chained (claims.lifecycle.audit)
    session.flush()
    return entry


def waive_recovery(session: Session, recovery_id: int, actor: Actor, reason: str) -> None:
    """Not pursued (insurer supervisor, with a reason): the recovery is ``waived``; no money moves."""
    if actor.role not in WAIVE_ROLES:
        raise RecoveryError(f"角色 {actor.role} 无权核销追回（须为保险公司理赔主管） / role {actor.role!r} may not waive "
                            f"a recovery (insurer supervisor only)")
    if not (reason or "").strip():
        raise RecoveryError("核销追回须填写原因 / waiving a recovery needs a reason")
    recovery = _open(session, recovery_id)
    _close(session, recovery, "waived", actor, reason.strip(), now())
    session.flush()


def list_recoveries(session: Session, policy_id: int | None = None, state: str | None = None) -> list[dict[str, Any]]:
    """Recoveries (newest first) with their claim's household and village, for lists."""
    if state is not None and state not in STATES:
        raise RecoveryError(f"追回状态应为 {'、'.join(STATES)} 之一 / state must be one of {', '.join(STATES)}: {state!r}")
    query = (select(Recovery, Claim.household_no, Claim.village_code).join(Claim, Claim.id == Recovery.claim_id)
             .order_by(Recovery.id.desc()))
    if policy_id is not None:
        query = query.where(Recovery.policy_id == policy_id)
    if state is not None:
        query = query.where(Recovery.state == state)
    return [{"id": r.id, "policy_id": r.policy_id, "claim_id": r.claim_id, "line_id": r.line_id,
             "unit_id": r.unit_id, "household_no": hh, "village_code": village, "amount": r.amount,
             "state": r.state, "state_label": STATES[r.state], "opened_at": r.opened_at, "closed_at": r.closed_at,
             "closed_by": r.closed_by, "reason": r.reason} for r, hh, village in session.execute(query).all()]


__all__ = ["STATES", "RecoveryError", "flag_text", "list_recoveries", "record_recovery", "recovered_amounts",
           "sync_recoveries", "waive_recovery"]
