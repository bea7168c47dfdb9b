"""The insurer's and reviewers' actions on claims, each in the caller's session (the caller commits).

Rules
-----
* Every action goes through the transition table (:mod:`claims.lifecycle.workflow`); a wrong state or role is
  refused with a bilingual :class:`~claims.lifecycle.workflow.TransitionError` and nothing changes.
* **Adjusted amount needs a coded reason.**  ``verify(amount=…)`` with an amount different from the
  claim's ``computed_amount`` requires a code from :data:`ADJUST_REASONS`; the event carries the
  amount before and after.
* **Amount authority (maker-checker).**  The amount a user may verify alone is their
  ``approval_limit``.  Choice made here: for ``insurer_supervisor`` a ``None`` limit means
  *unlimited*; an ``insurer_adjudicator`` must have a limit (``None`` = no authority to verify or
  approve at all).  A resulting amount above the maker's limit does not change ``amount``: the claim
  goes to ``awaiting_approval`` (action ``verify_above_limit``) with ``proposed_amount`` /
  ``proposed_by`` set and the reason code in the event.  A *different* insurer user whose limit
  covers the proposed amount approves it (``amount = proposed_amount``, reason copied from the
  proposal's event) or returns the claim to investigation.
* **Amounts bounded by the caps.**  A verified, proposed or approved amount never exceeds the room
  left under the caps that span the claim (:mod:`claims.engine.cap_room`: the line's per-year cap or sum
  insured, its household or victims cap, the product's per-person and per-household caps), each
  measured against what the household's other claims hold: ``amount`` of the claims in a
  committed state (:data:`claims.lifecycle.workflow.COMMITTED`, as :func:`claims.lifecycle.recompute.committed_paid`
  counts them).  Above it → :class:`CapExceededError` naming the cap, nothing changes.
* **Above the entitlement needs a second supervisor.**  An amount above the claim's
  ``computed_amount`` needs a reason code other than ``other`` (:data:`ABOVE_ENTITLEMENT_REASONS`)
  and a note, and always goes to ``awaiting_approval`` whatever the maker's limit; only a different
  ``insurer_supervisor`` approves it.  ``claims.above_entitlement`` marks the claim while its amount
  (or proposal) is above ``computed_amount``.
* **Optimistic locking.**  Single-claim actions take ``expected_version`` and change the claim with
  one ``UPDATE … WHERE id = :id AND version = :expected AND state = :from``; a row count of 0 means
  someone else got there first → :class:`~claims.lifecycle.transitions.ConflictError`, nothing changed.
* **Bulk forward actions** (:func:`bulk`) and :func:`reject` are set-based (``claims.lifecycle.transitions
  .advance``): all or nothing.  Village clerks act only on claims of their villages (``UserVillage``,
  12-digit codes); township reviewers on claims whose village code starts with the 9-digit township
  prefix of one of their ``UserVillage`` codes (:func:`claims.lifecycle.scope.check_scope`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from claims.engine.cap_room import CapRoom, cap_rooms, tightest
from claims.lifecycle.audit import insert_rows
from claims.lifecycle.models import Claim, ClaimEvent
from claims.lifecycle.registry import product_of
from claims.lifecycle.scope import check_counties, check_scope
from claims.lifecycle.store import ProductVersion, now
from claims.lifecycle.transitions import Actor, ConflictError, advance
from claims.lifecycle.workflow import ACTIONS, COMMITTED, PRE_PAYMENT, STATES, TRANSITIONS, TransitionError, next_state
from tabular.errors import InvalidInputError, OverLimitError
from tabular.money import MAX_STORED_YUAN, fen_to_decimal, yuan_to_fen

#: Coded reasons for an adjusted amount (code → Chinese label).
ADJUST_REASONS: dict[str, str] = {
    "document_shortfall": "票据不足",
    "duplicate_bill": "重复票据",
    "non_compliant_items": "不合规费用",
    "other_insurance": "其他保险已赔",
    "calculation_error": "计算差错",
    "other": "其他",
}

#: Reasons that may justify an amount above the computed entitlement ("other" may not).
ABOVE_ENTITLEMENT_REASONS = tuple(code for code in ADJUST_REASONS if code != "other")

#: Coded reasons for a rejection (code → Chinese label).
REJECT_REASONS: dict[str, str] = {
    "not_eligible": "不符合条件",
    "fraud_suspected": "疑似欺诈",
    "duplicate_claim": "重复理赔",
    "outside_period": "不在保险期间",
    "withdrawn_by_applicant": "申请人撤回",
    "other": "其他",
}

#: Forward actions that :func:`bulk` performs for a whole list.
BULK_ACTIONS = ("start_investigation", "village_review", "township_review", "file", "reinvestigate")

#: Actions on one claim seen at a version (:func:`act`).
SINGLE_ACTIONS = ("verify", "approve", "return", "reject", *BULK_ACTIONS)

CENT = Decimal("0.01")


class AuthorityError(TransitionError):
    """The user lacks the amount authority (approval limit) or is the maker approving their own."""


class CapExceededError(OverLimitError):
    """An amount above the room left under one of the caps spanning the claim (``cap`` names it)."""

    def __init__(self, cap: CapRoom, amount: Decimal):
        super().__init__(cap.refusal(yuan_to_fen(amount)))
        self.cap = cap


# ---------------------------------------------------------------------------------------------- helpers

def _authority(actor: Actor) -> Decimal | None:
    """The largest amount ``actor`` may decide alone; ``None`` = unlimited (supervisor only)."""
    if actor.approval_limit is not None:
        return Decimal(actor.approval_limit)
    if actor.role == "insurer_supervisor":
        return None
    raise AuthorityError(f"用户未设定核定权限额度，不能核定或复核 / user {actor.id} ({actor.role}) has no approval "
                         "limit and may not verify or approve amounts")


def _within(amount: Decimal, limit: Decimal | None) -> bool:
    return limit is None or amount <= limit


def _money(value: Decimal | int | str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInputError(f"金额无效 / invalid amount: {value!r}") from None
    if amount.is_finite() and amount > MAX_STORED_YUAN:  # NUMERIC(14, 2): refused here, not by the database
        raise InvalidInputError(f"金额不得超过 {MAX_STORED_YUAN:,} 元 / amount must not exceed {MAX_STORED_YUAN:,} yuan: "
                                f"{value!r}")
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        raise InvalidInputError(f"金额须为非负且最多两位小数 / amount must be ≥ 0 with at most two decimals: {value!r}")
    return amount.quantize(CENT)


def _load(session: Session, claim_id: int) -> dict:
    row = session.execute(select(Claim.id, Claim.state, Claim.version, Claim.amount, Claim.computed_amount,
                                 Claim.adjustment_reason, Claim.proposed_amount, Claim.proposed_by, Claim.policy_id,
                                 Claim.product_version_id, Claim.line_id, Claim.unit_id, Claim.household_no)
                          .where(Claim.id == claim_id)).mappings().first()
    if row is None:
        raise ConflictError(f"理赔 {claim_id} 不存在 / claim {claim_id} does not exist", [claim_id])
    return dict(row)


def _household_claims(session: Session, claim: dict) -> pd.DataFrame:
    """The household's other claims that hold room or mark a victim: ``line_id, unit_id, committed`` (fen).

    committed = amount for a claim in a committed state, 0 for a ``computed`` one (a victim, no room
    held); reversed claims and claims at 0 (withdrawn) are left out.  One SELECT for the household."""
    rows = session.execute(
        select(Claim.line_id, Claim.unit_id, Claim.state, Claim.amount)
        .where(Claim.policy_id == claim["policy_id"], Claim.household_no == claim["household_no"],
               Claim.id != claim["id"], Claim.state != "reversed", Claim.amount > 0)).all()
    data = [(line, unit, yuan_to_fen(amount) if state in COMMITTED else 0) for line, unit, state, amount in rows]
    return pd.DataFrame(data, columns=["line_id", "unit_id", "committed"]).astype({"committed": "int64"})


def _rooms(session: Session, claim: dict) -> list[CapRoom]:
    version = session.get(ProductVersion, claim["product_version_id"])
    assert version is not None
    product = product_of(version)
    return cap_rooms(product, claim["line_id"], claim["unit_id"], _household_claims(session, claim))


def room_left(session: Session, claim_id: int) -> CapRoom | None:
    """The cap leaving the least room for this claim (``None`` when no cap spans it), for the forms."""
    return tightest(_rooms(session, _load(session, claim_id)))


def _check_room(session: Session, claim: dict, amount: Decimal) -> None:
    """Refuse (:class:`CapExceededError`) an amount above the room of any cap spanning the claim."""
    for cap in _rooms(session, claim):
        if amount > fen_to_decimal(cap.room):
            raise CapExceededError(cap, amount)


def _check_above_entitlement(claim: dict, amount: Decimal, reason_code: str | None, note: str | None) -> None:
    """Above ``computed_amount``: a reason other than ``other`` and a note, or InvalidInputError."""
    if reason_code not in ABOVE_ENTITLEMENT_REASONS or not (note or "").strip():
        raise InvalidInputError(
            f"核定金额 {amount} 高于核定应赔金额 {claim['computed_amount']}，须选择“其他”以外的调整原因并填写说明，"
            f"并由另一位主管复核 / the amount {amount} is above the computed entitlement {claim['computed_amount']}: "
            f"choose a reason other than 'other' ({', '.join(ABOVE_ENTITLEMENT_REASONS)}) and write a note; a "
            "second insurer supervisor must then approve it")


def _check_state(claim: dict, state: str, expected_version: int) -> None:
    if claim["state"] != state or claim["version"] != expected_version:
        raise ConflictError(
            f"理赔 {claim['id']} 已被他人修改或不在“{STATES[state]}”状态（当前 {STATES.get(claim['state'])}，"
            f"版本 {claim['version']}），未做任何更改 / claim {claim['id']} was changed by someone else or is not in "
            f"state {state!r} (now {claim['state']!r}, version {claim['version']}, expected {expected_version}); "
            "nothing was changed", [claim["id"]])


def _change(session: Session, claim: dict, from_state: str, action: str, actor: Actor, values: dict, *,
            expected_version: int, amount_after: Decimal, reason_code: str | None, note: str | None,
            at: dt.datetime | None) -> int:
    """One guarded UPDATE of one claim plus its event, in a savepoint; returns the new version."""
    to_state = next_state(from_state, action, actor.role)
    at = at or now()
    with session.begin_nested():
        # the event first (chained), then the claim: the database's guard reads the newest event
        insert_rows(session, ClaimEvent, [dict(
            claim_id=claim["id"], at=at, actor_id=actor.id, role=actor.role, action=action, from_state=from_state,
            to_state=to_state, reason_code=reason_code, note=note, amount_before=claim["amount"],
            amount_after=amount_after)])
        moved = session.execute(
            update(Claim)
            .where(Claim.id == claim["id"], Claim.version == expected_version, Claim.state == from_state)
            .values(state=to_state, version=Claim.version + 1, updated_at=at, **values)
            .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise ConflictError(
                f"理赔 {claim['id']} 已被他人修改，未做任何更改 / claim {claim['id']} was changed by someone else "
                f"(expected version {expected_version}); nothing was changed", [claim["id"]])
    obj = session.identity_map.get(session.identity_key(Claim, claim["id"]))
    if obj is not None:
        session.expire(obj)
    return expected_version + 1


# --------------------------------------------------------------------------------- single-claim actions

def verify(session: Session, claim_id: int, actor: Actor, *, expected_version: int,
           amount: Decimal | None = None, reason_code: str | None = None, note: str | None = None,
           at: dt.datetime | None = None) -> str:
    """Verify one investigating claim, optionally at an adjusted amount; returns the new state.

    ``verified`` when the resulting amount is within the actor's authority and not above the computed
    entitlement, else ``awaiting_approval`` (the amount is only *proposed*; a second insurer user — a
    supervisor when above the entitlement — must :func:`approve` it).  Refused above the room left
    under the caps (:class:`CapExceededError`).
    """
    next_state("investigating", "verify", actor.role)  # role first: a clear message for the wrong role
    claim = _load(session, claim_id)
    _check_state(claim, "investigating", expected_version)
    if reason_code is not None and reason_code not in ADJUST_REASONS:
        raise InvalidInputError(f"未知的调整原因代码 {reason_code!r} / unknown adjustment reason {reason_code!r} "
                                f"(allowed: {', '.join(ADJUST_REASONS)})")
    if amount is None:
        new_amount, new_reason = claim["amount"], claim["adjustment_reason"]
    else:
        new_amount = _money(amount)
        adjusted = new_amount != claim["computed_amount"]
        if adjusted and reason_code is None:
            raise InvalidInputError(
                f"核定金额 {new_amount} 与计算金额 {claim['computed_amount']} 不同，须填写调整原因代码 / the verified "
                f"amount {new_amount} differs from the computed {claim['computed_amount']}: an adjustment reason "
                f"code is required ({', '.join(ADJUST_REASONS)})")
        new_reason = reason_code if adjusted else None
    limit = _authority(actor)
    _check_room(session, claim, new_amount)
    above = new_amount > claim["computed_amount"]
    if above:
        _check_above_entitlement(claim, new_amount, reason_code or new_reason, note)
    if not above and _within(new_amount, limit):
        values = {"amount": new_amount, "adjustment_reason": new_reason, "proposed_amount": None, "proposed_by": None,
                  "above_entitlement": False}
        _change(session, claim, "investigating", "verify", actor, values, expected_version=expected_version,
                amount_after=new_amount, reason_code=reason_code, note=note, at=at)
        return "verified"
    if actor.id is None:
        raise AuthorityError("超权限核定须由具名用户提出（双人复核）/ a proposal above the limit needs a named maker "
                             "(user id) so that a different checker can approve it")
    proposal = f"拟核定金额 / proposed amount {new_amount}"
    if above:
        proposal = f"超核定应赔 {claim['computed_amount']} / above entitlement; {proposal}"
    values = {"proposed_amount": new_amount, "proposed_by": actor.id, "above_entitlement": above}
    _change(session, claim, "investigating", "verify_above_limit", actor, values, expected_version=expected_version,
            amount_after=claim["amount"], reason_code=new_reason if amount is not None else reason_code,
            note=f"{proposal}; {note}" if note else proposal, at=at)
    return "awaiting_approval"


def approve(session: Session, claim_id: int, checker: Actor, *, expected_version: int, note: str | None = None,
            at: dt.datetime | None = None) -> None:
    """The checker approves the proposed amount: ``amount = proposed_amount``, state ``verified``.

    The checker must be an insurer user, not the maker, with authority for the proposed amount — an
    ``insurer_supervisor`` when it is above the computed entitlement; the amount must still fit the
    room left under the caps (what other claims hold may have grown since the proposal).
    """
    next_state("awaiting_approval", "approve", checker.role)
    claim = _load(session, claim_id)
    _check_state(claim, "awaiting_approval", expected_version)
    proposed = claim["proposed_amount"]
    if checker.id is None or checker.id == claim["proposed_by"]:
        raise AuthorityError(f"提出人不能复核自己的核定（双人复核）/ the maker (user {claim['proposed_by']}) may not "
                             "approve their own proposal: a second insurer user must approve (maker-checker)")
    limit = _authority(checker)
    if not _within(proposed, limit):
        raise AuthorityError(f"复核人权限额度 {limit} 低于拟核定金额 {proposed} / checker's approval limit {limit} is "
                             f"below the proposed amount {proposed}")
    above = proposed > claim["computed_amount"]
    if above and checker.role != "insurer_supervisor":
        entitlement = claim["computed_amount"]
        raise AuthorityError(f"拟核定金额 {proposed} 高于核定应赔金额 {entitlement}，须由主管复核 / the proposed amount "
                             f"{proposed} is above the computed entitlement {entitlement}: an insurer supervisor (other "
                             "than the maker) must approve it")
    _check_room(session, claim, proposed)
    reason = session.scalar(select(ClaimEvent.reason_code).where(
        ClaimEvent.claim_id == claim_id, ClaimEvent.action == "verify_above_limit").order_by(ClaimEvent.id.desc())
        .limit(1))
    if proposed == claim["computed_amount"]:
        reason = None
    elif reason is None:
        reason = claim["adjustment_reason"]
    values = {"amount": proposed, "adjustment_reason": reason, "proposed_amount": None, "proposed_by": None,
              "above_entitlement": above}
    _change(session, claim, "awaiting_approval", "approve", checker, values, expected_version=expected_version,
            amount_after=proposed, reason_code=reason, note=note, at=at)


def return_to_investigation(session: Session, claim_id: int, actor: Actor, *, expected_version: int,
                            reason_code: str | None = None, note: str | None = None,
                            at: dt.datetime | None = None) -> None:
    """Send a claim awaiting approval back to investigation; the proposal is dropped (kept in the events)."""
    next_state("awaiting_approval", "return", actor.role)
    claim = _load(session, claim_id)
    _check_state(claim, "awaiting_approval", expected_version)
    values = {"proposed_amount": None, "proposed_by": None,
              "above_entitlement": claim["amount"] > claim["computed_amount"]}
    _change(session, claim, "awaiting_approval", "return", actor, values, expected_version=expected_version,
            amount_after=claim["amount"], reason_code=reason_code, note=note, at=at)


# --------------------------------------------------------------------------------------- list actions

def _from_state(action: str) -> str:
    if action not in BULK_ACTIONS:
        raise TransitionError(f"“{ACTIONS.get(action, action)}”不能批量执行 / action {action!r} is not a bulk action "
                              f"(bulk actions: {', '.join(BULK_ACTIONS)})")
    (state,) = {s for (s, a, _) in TRANSITIONS if a == action}
    return state


def bulk(session: Session, claim_ids: Sequence[int], action: str, actor: Actor, *, reason_code: str | None = None,
         note: str | None = None, at: dt.datetime | None = None) -> int:
    """One simple forward action for a whole list (e.g. a village's claims); all or nothing.

    Every claim must be in the action's one from-state (else ConflictError naming them) and, for
    scoped roles, in the actor's area (else ScopeError, checked before anything changes).
    """
    from_state = _from_state(action)
    next_state(from_state, action, actor.role)
    ids = list(dict.fromkeys(int(i) for i in claim_ids))
    missing = sorted(set(ids) - set(session.scalars(select(Claim.id).where(Claim.id.in_(ids)))))
    if missing:
        raise ConflictError(f"理赔不存在 / claims do not exist: {missing[:20]}", missing)
    check_scope(session, ids, actor)
    return advance(session, ids, from_state, action, actor, reason_code=reason_code, note=note, at=at)


def reject(session: Session, claim_ids: Sequence[int], actor: Actor, reason_code: str, note: str | None = None,
           at: dt.datetime | None = None) -> int:
    """Reject claims from any pre-payment state with a coded reason; all or nothing.

    The claims are grouped by current state, one set-based advance per state, inside one savepoint.
    ``other`` needs a note.  Scoped roles reject only in their area (:func:`~claims.lifecycle.scope.check_scope`).
    """
    if reason_code not in REJECT_REASONS:
        raise InvalidInputError(f"未知的拒赔原因代码 {reason_code!r} / unknown rejection reason {reason_code!r} "
                                f"(allowed: {', '.join(REJECT_REASONS)})")
    if reason_code == "other" and not note:
        raise InvalidInputError("拒赔原因为“其他”时须填写说明 / rejection reason 'other' needs a note")
    next_state("computed", "reject", actor.role)
    ids = list(dict.fromkeys(int(i) for i in claim_ids))
    check_scope(session, ids, actor)
    states = dict(session.execute(select(Claim.id, Claim.state).where(Claim.id.in_(ids))).all())
    bad = sorted(i for i in ids if states.get(i) not in PRE_PAYMENT)
    if bad:
        raise ConflictError(f"{len(bad)} 笔理赔不存在或已进入支付，不能拒赔 / {len(bad)} claim(s) do not exist or are "
                            f"past payment and cannot be rejected: {bad[:20]}", bad)
    by_state: dict[str, list[int]] = {}
    for i in ids:
        by_state.setdefault(states[i], []).append(i)
    at = at or now()
    moved = 0
    with session.begin_nested():
        for state in sorted(by_state):
            moved += advance(session, by_state[state], state, "reject", actor, reason_code=reason_code, note=note,
                             at=at)
    return moved


# ---------------------------------------------------------------------------------- one claim, any action

def _check_version(session: Session, claim_id: int, expected_version: int) -> None:
    """Refuse (:class:`ConflictError`) a claim whose version moved on since the user saw it."""
    current = session.scalar(select(Claim.version).where(Claim.id == claim_id))
    if current != expected_version:
        raise ConflictError(
            f"理赔 {claim_id} 已被他人修改（版本 {current}），未做任何更改 / claim {claim_id} was changed by someone "
            f"else (version {current}, expected {expected_version}); nothing was changed", [claim_id])


def act(session: Session, claim_id: int, action: str, actor: Actor, *, expected_version: int,
        amount: Decimal | None = None, reason_code: str | None = None, note: str | None = None) -> None:
    """One action on one claim the user saw at ``expected_version`` (the detail page's and the API's).

    ``verify``, ``approve`` and ``return`` follow their rules above; ``reject`` checks the version, then
    :func:`reject`; a forward action (:data:`BULK_ACTIONS`) checks the actor's area, then moves the claim
    guarded by its version.  Any other action → :class:`TransitionError`.
    """
    if action in BULK_ACTIONS:  # the area check reads the counties too: one statement, not two
        check_scope(session, [claim_id], actor)
    else:
        check_counties(session, [claim_id], actor)  # another county's claim is answered as a missing one
    if action == "verify":
        verify(session, claim_id, actor, expected_version=expected_version, amount=amount, reason_code=reason_code,
               note=note)
    elif action == "approve":
        approve(session, claim_id, actor, expected_version=expected_version, note=note)
    elif action == "return":
        return_to_investigation(session, claim_id, actor, expected_version=expected_version, reason_code=reason_code,
                                note=note)
    elif action == "reject":
        _check_version(session, claim_id, expected_version)
        reject(session, [claim_id], actor, reason_code or "", note)
    elif action in BULK_ACTIONS:
        advance(session, [claim_id], _from_state(action), action, actor, reason_code=reason_code, note=note,
                expected_versions=[expected_version])
    else:
        raise TransitionError(f"未知操作 {action!r} / unknown action {action!r}")


__all__ = ["ABOVE_ENTITLEMENT_REASONS", "ADJUST_REASONS", "BULK_ACTIONS", "REJECT_REASONS", "SINGLE_ACTIONS",
           "AuthorityError", "CapExceededError", "act", "approve", "bulk", "reject", "return_to_investigation",
           "room_left", "verify"]
