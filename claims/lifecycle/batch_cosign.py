"""The payout batch's workflow (支付批次流程): one explicit transition table, like the claims' (:mod:`claims.
lifecycle.workflow`), whose row ``county_cosign`` is the county office's co-sign (县扶贫办会签) of a batch before
the bank pays it.

    exported ─county_cosign (county_reviewer, admin)→ cosigned

A batch is co-signed once (a row of ``payout_batch_signoffs`` records who, in which role, when, with the note).
Where the policy says the county co-signs (``Policy.county_cosign``), a batch not co-signed is not paid:
:func:`check_cosigned` refuses its bank file and its bank return (:mod:`claims.lifecycle.payouts`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.batch_signoffs import PayoutBatchSignoff
from claims.lifecycle.models import PayoutBatch
from claims.lifecycle.store import Policy, now
from claims.lifecycle.transitions import Actor
from tabular.errors import NotAllowedError, StateConflictError

#: (state, action) → (roles allowed, next state).
BATCH_TRANSITIONS: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("exported", "county_cosign"): (frozenset({"county_reviewer", "admin"}), "cosigned"),
}
#: Batch states with their Chinese label.
BATCH_STATES = {"exported": "已导出", "cosigned": "县已会签", "reconciled": "已回盘"}
MAX_NOTE = 500


def signoff_of(session: Session, batch_id: int) -> PayoutBatchSignoff | None:
    return session.scalar(select(PayoutBatchSignoff).where(PayoutBatchSignoff.batch_id == batch_id))


def check_cosigned(session: Session, batch: PayoutBatch) -> None:
    """NotAllowedError when the batch's policy requires the county's co-sign and the batch is still ``exported``."""
    policy = session.get(Policy, batch.policy_id)
    if policy is not None and policy.county_cosign and batch.state == "exported":
        raise NotAllowedError(f"支付批次 {batch.id} 须经县扶贫办会签后方可支付 / payout batch {batch.id} must be "
                              f"co-signed by the county office before it is paid")


def apply_batch_action(session: Session, batch: PayoutBatch, action: str, actor: Actor,
                       note: str | None = None) -> PayoutBatchSignoff:
    """Apply ``action`` to the batch by :data:`BATCH_TRANSITIONS`: a role not in the row → NotAllowedError, a
    state without the row (or a batch already signed) → StateConflictError; nothing changes then."""
    row = BATCH_TRANSITIONS.get((batch.state, action))
    if row is None or signoff_of(session, batch.id) is not None:
        raise StateConflictError(f"支付批次 {batch.id} 当前状态（{BATCH_STATES.get(batch.state, batch.state)}）不能{action}"
                                 f" / batch {batch.id} in state {batch.state!r} does not allow {action!r}")
    roles, to_state = row
    if actor.role not in roles:
        raise NotAllowedError(f"角色 {actor.role} 不能会签支付批次 / role {actor.role!r} may not {action!r}")
    signoff = PayoutBatchSignoff(batch_id=batch.id, action=action, actor_id=actor.id, role=actor.role, at=now(),
                                 note=(note or "").strip()[:MAX_NOTE] or None)
    batch.state = to_state
    session.add(signoff)
    session.flush()
    return signoff


__all__ = ["BATCH_STATES", "BATCH_TRANSITIONS", "apply_batch_action", "check_cosigned", "signoff_of"]
