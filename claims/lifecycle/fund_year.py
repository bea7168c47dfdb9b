"""The fund's year end (年终结算与结转): the settlement previewed before it is posted, and the carry-over that
opens next year's balance (seed 002: "专项资金单独核算、滚动发展").

For a policy with P = premium received and L = net claims (claims paid − reversals − recoveries):

    settlement  = :func:`claims.lifecycle.fund.settlement_amount` (P, L, the policy's rule)   (多退少补, corridor …)
    closing     = balance after the settlement = P − L + settlements (+ an earlier year's carry-over in)
    carry-over  = closing, moved as two ``carry_over`` entries with one reference ``carry:<from>-><to>``:
                  −closing on the closing policy (its balance becomes 0), +closing on the next year's policy of
                  the same county (its opening balance).

A policy is carried over once, after its settlement is posted (or when the settlement would be 0, e.g.
``rollover``); a deficit carries over as a negative opening balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.audit import add_all
from claims.lifecycle.fund import ZERO, FundError, fund_summary, policy_of, settlement_amount
from claims.lifecycle.models import FundEntry
from claims.lifecycle.store import Policy


@dataclass(frozen=True)
class SettlementPreview:
    """What :func:`claims.lifecycle.fund.settle_year` would post, before it does."""

    policy_id: int
    rule: dict[str, Any]
    premium: Decimal  # P, premium received
    net_claims: Decimal  # L
    amount: Decimal  # the settlement entry: − refund to the government, + top-up by the government
    balance_before: Decimal
    balance_after: Decimal
    settled: bool  # already posted: amount is then the posted entry's


def settlement_preview(session: Session, policy_id: int, rule: dict[str, Any] | None = None) -> SettlementPreview:
    """The settlement of ``policy_id`` under ``rule`` (default: the policy's ``settlement_rule``), not posted."""
    policy = policy_of(session, policy_id)
    rule = rule if rule is not None else (policy.settlement_rule or {"type": "rollover"})
    summary = fund_summary(session, policy_id)
    posted = session.scalar(select(FundEntry.amount).where(FundEntry.policy_id == policy_id,
                                                           FundEntry.kind == "settlement"))
    if posted is not None:
        return SettlementPreview(policy_id, rule, summary["premium_received"], summary["net_claims"], posted,
                                 summary["balance"] - posted, summary["balance"], True)
    amount = settlement_amount(summary["premium_received"], summary["net_claims"], rule)
    return SettlementPreview(policy_id, rule, summary["premium_received"], summary["net_claims"], amount,
                             summary["balance"], summary["balance"] + amount, False)


def next_policy(session: Session, policy: Policy) -> Policy | None:
    """The same county's policy of the following year, if it exists."""
    return session.scalar(select(Policy).where(Policy.county == policy.county, Policy.year == policy.year + 1)
                          .order_by(Policy.id).limit(1))


def carry_over(session: Session, from_policy_id: int, to_policy_id: int | None = None, *,
               actor_id: int | None = None) -> tuple[FundEntry, FundEntry] | None:
    """Move the closing balance of ``from_policy_id`` to the next year's policy (default: the same county's
    policy of the next year).  Returns the two entries (out, in), or None when the balance is 0.

    Refused: the next policy missing or not the same county's following year; a settlement still to post;
    a policy already carried over."""
    source = policy_of(session, from_policy_id)
    target = next_policy(session, source) if to_policy_id is None else policy_of(session, to_policy_id)
    if target is None:
        raise FundError(f"{source.county} 县 {source.year + 1} 年保单尚未建立，请先登记（relief setup）/ the county's "
                        f"{source.year + 1} policy does not exist yet: create it first (relief setup)")
    if target.county != source.county or target.year != source.year + 1:
        raise FundError(f"只能结转到同一县的下一年度保单 / the carry-over goes to the same county's next year: policy "
                        f"{source.id} is {source.county} {source.year}, policy {target.id} is {target.county} {target.year}")
    if _carried_out(session, source.id):
        raise FundError(f"保单 {source.id} 已结转 / policy {source.id} has already been carried over")
    preview = settlement_preview(session, source.id)
    if not preview.settled and preview.amount != 0:
        raise FundError(f"请先做年终结算（预览金额 {preview.amount:,.2f} 元）/ post the year-end settlement first "
                        f"(previewed at {preview.amount:,.2f} yuan)")
    closing = preview.balance_after  # the balance once settled (the settlement posted, or 0 to post)
    if closing == ZERO:
        return None
    reference = f"carry:{source.id}->{target.id}"
    out = FundEntry(policy_id=source.id, kind="carry_over", amount=-closing, reference=reference, actor_id=actor_id,
                    note=f"结转至 {target.year} 年保单 {target.id} / carried to policy {target.id} ({target.year})")
    into = FundEntry(policy_id=target.id, kind="carry_over", amount=closing, reference=reference, actor_id=actor_id,
                     note=f"上年结转 自保单 {source.id} / opening balance from policy {source.id} ({source.year})")
    add_all(session, [out, into])  # chained (claims.lifecycle.audit)
    session.flush()
    return out, into


def _carried_out(session: Session, policy_id: int) -> bool:
    """True when an entry moved this policy's balance out (its reference starts ``carry:<policy_id>->``)."""
    return session.scalar(select(FundEntry.id).where(FundEntry.policy_id == policy_id, FundEntry.kind == "carry_over",
                                                     FundEntry.reference.like(f"carry:{policy_id}->%")).limit(1)) \
        is not None


__all__ = ["SettlementPreview", "carry_over", "next_policy", "settlement_preview"]
