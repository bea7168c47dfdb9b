"""Fund ledger (基金台账) per policy: premiums in, claims out, reversals, recoveries, year-end settlement.

Every entry is a signed amount (yuan, two places):

==================  ======  ==================================================================
kind                sign    meaning
==================  ======  ==================================================================
premium_due         +       premium invoiced (not cash: not in the balance)
premium_received    +       premium received
claim_paid          −       a bank return's paid lines (:mod:`claims.lifecycle.payouts`)
reversal            +       a paid claim reversed: the money comes back to the fund
recovery            +       an overpayment recovered from the person (:mod:`claims.lifecycle.recovery`)
settlement          ±       year-end settlement: − refund to the government, + government top-up
carry_over          ±       the closing balance moved to next year's policy: − on the closing policy, + (the
                            opening balance) on the next (:mod:`claims.lifecycle.fund_year`, 滚动发展)
==================  ======  ==================================================================

``balance = premium_received − claims_paid + reversals + recoveries + settlements + carry_over``
(claims_paid as a positive number, carry_over signed), ``net_claims = claims_paid − reversals − recoveries``, ``loss_ratio = net_claims /
premium_received`` (4 places).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session

from claims.lifecycle.audit import add_all
from claims.lifecycle.models import FundEntry
from claims.lifecycle.store import CENT, Money, Policy
from tabular.errors import InvalidInputError
from tabular.money import MAX_STORED_YUAN

PREMIUM_KINDS = ("premium_due", "premium_received")
#: Who paid a premium (缴费来源): code → Chinese label; the label is accepted for the code.
PAYERS = {"government": "财政", "individual": "个人", "other": "其他"}
ZERO = Decimal("0.00")

#: The month view's two series from the signed entries: kind → (series, factor).  ``premium`` is premium
#: received; ``paid`` is claims paid net of reversals and recoveries, so ``paid = −(claim_paid + reversal +
#: recovery)`` (claim_paid entries are negative, the other two positive).  Premium due and settlements are
#: not cash flows of the month.
MONTHLY_SERIES: dict[str, tuple[str, int]] = {
    "premium_received": ("premium", 1), "claim_paid": ("paid", -1), "reversal": ("paid", -1), "recovery": ("paid", -1),
}


class FundError(InvalidInputError):
    """A fund request that cannot be done (bilingual message); nothing was changed."""


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _fraction(value: Any, what: str) -> Decimal:
    d = Decimal(str(value))
    if d < 0:
        raise FundError(f"{what} 不能为负 / {what} must not be negative: {value}")
    return d


def policy_of(session: Session, policy_id: int) -> Policy:
    """The policy, or :class:`FundError` naming it when it does not exist."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise FundError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
    return policy


def payer_code(payer: str | None) -> str | None:
    """``government`` / ``individual`` / ``other`` from the code or its Chinese label (财政 / 个人 / 其他)."""
    if payer is None or payer == "":
        return None
    text = str(payer).strip()
    code = text if text in PAYERS else next((c for c, label in PAYERS.items() if label == text), None)
    if code is None:
        raise FundError(f"缴费来源应为 财政、个人 或 其他 / payer must be one of {', '.join(PAYERS)} "
                        f"(财政, 个人, 其他): {payer!r}")
    return code


def record_premium(session: Session, policy_id: int, kind: str, amount: Decimal,
                   reference: str | None = None, *, actor_id: int | None = None, payer: str | None = None,
                   received_on: dt.date | None = None) -> FundEntry:
    """Record premium due or received (a positive amount with at most two decimals) by ``actor_id``
    (None: the system), paid by ``payer`` (:data:`PAYERS`), dated ``received_on`` (the entry's ``at``, so the
    ledger's month is the month the money came, not the day it was typed in; default now)."""
    payer = payer_code(payer)
    if kind not in PREMIUM_KINDS:
        raise FundError(f"保费类型应为 premium_due 或 premium_received / kind must be one of {PREMIUM_KINDS}: {kind!r}")
    try:
        amount = Decimal(str(amount))
    except InvalidOperation:
        raise FundError(f"保费金额无效 / invalid premium: {amount!r}") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_STORED_YUAN or amount != amount.quantize(CENT):
        raise FundError(f"保费金额须为正数、最多两位小数且不超过 {MAX_STORED_YUAN:,} 元 / premium must be positive with at "
                        f"most two decimals and at most {MAX_STORED_YUAN:,} yuan: {amount}")
    policy_of(session, policy_id)
    at = None if received_on is None else dt.datetime.combine(received_on, dt.time())
    entry = FundEntry(policy_id=policy_id, kind=kind, amount=amount, reference=reference, actor_id=actor_id,
                      payer=payer, **({} if at is None else {"at": at}))
    add_all(session, [entry])  # chained (claims.lifecycle.audit)
    session.flush()
    return entry


def fund_summary(session: Session, policy_id: int) -> dict[str, Decimal | None]:
    """Totals by kind (all positive except settlements, which keep their sign), balance, loss ratio.

    ``loss_ratio`` is None while no premium has been received.
    """
    rows = session.execute(select(FundEntry.kind, type_coerce(func.sum(FundEntry.amount), Money()))
                           .where(FundEntry.policy_id == policy_id).group_by(FundEntry.kind)).all()
    by_kind = {k: (v if v is not None else ZERO) for k, v in rows}
    due = by_kind.get("premium_due", ZERO)
    received = by_kind.get("premium_received", ZERO)
    paid = -by_kind.get("claim_paid", ZERO)
    reversals = by_kind.get("reversal", ZERO)
    recoveries = by_kind.get("recovery", ZERO)
    settlements = by_kind.get("settlement", ZERO)
    carry_over = by_kind.get("carry_over", ZERO)
    net = paid - reversals - recoveries
    ratio = (net / received).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) if received else None
    return {"premium_due": due, "premium_received": received, "claims_paid": paid, "reversals": reversals,
            "recoveries": recoveries, "net_claims": net, "settlements": settlements, "carry_over": carry_over,
            "balance": received - paid + reversals + recoveries + settlements + carry_over, "loss_ratio": ratio}


def monthly_flows(session: Session, policy_id: int) -> dict[str, dict[str, Decimal]]:
    """month (YYYY-MM, in order) → {"premium": received, "paid": claims paid net of reversals and
    recoveries}, from the ledger's entries by :data:`MONTHLY_SERIES`."""
    months: dict[str, dict[str, Decimal]] = defaultdict(lambda: {"premium": Decimal(0), "paid": Decimal(0)})
    rows = session.execute(select(FundEntry.at, FundEntry.kind, FundEntry.amount)
                           .where(FundEntry.policy_id == policy_id)).all()
    for at, kind, amount in rows:
        if kind in MONTHLY_SERIES:
            series, factor = MONTHLY_SERIES[kind]
            months[at.strftime("%Y-%m")][series] += factor * amount
    return dict(sorted(months.items()))


def settlement_amount(premium: Decimal, claims: Decimal, rule: dict[str, Any] | None) -> Decimal:
    """The year-end settlement entry (signed, yuan to the fen, half-up) for premium ``P`` and net
    claims ``L`` (claims paid − reversals − recoveries).  Negative: refunded to the government;
    positive: paid in by the government.  ``e`` = ``insurer_keep`` (the insurer's expense/profit
    loading, default 0).

    * ``{"type": "rollover"}`` → 0: the surplus (or deficit) stays in the fund for next year.
    * ``{"type": "refund", "insurer_keep": e}`` → ``−max(0, P(1−e) − L)``: the surplus above the
      insurer's loading goes back.  P=1,000,000, e=0.1, L=700,000 → −(900,000 − 700,000) = −200,000.
    * ``{"type": "topup", "insurer_keep": e}`` → ``+max(0, L − P(1−e))``: the government fills the
      deficit.  P=1,000,000, e=0, L=1,250,000 → +250,000.
    * ``{"type": "refund_topup", "insurer_keep": e}`` (多退少补) → ``L − P(1−e)``, either sign.
    * ``{"type": "corridor", "bands": [{"upto": u_i, "government_share": g_i}, …, {"upto": null, …}],
      "insurer_keep": e, "surplus_refund_share": s}``: the loss ratio axis is cut into bands
      ``[u_{i−1}, u_i)`` (u_0 = 0, the last band open-ended); the government pays its share of the part
      of the loss that falls in each band:

          top-up = Σ_i g_i × max(0, min(L, u_i·P) − u_{i−1}·P)

      and, when ``s`` > 0 and there is a surplus, refund = ``−s × max(0, P(1−e) − L)``; the entry is
      top-up + refund (only one of them is non-zero in practice).
      Worked example, bands 0.9/0.0, 1.5/0.5, null/1.0, P=1,000,000, L=1,800,000 (loss ratio 180%):
      band [0, 0.9): 900,000 × 0 = 0; band [0.9, 1.5): 600,000 × 0.5 = 300,000; band [1.5, ∞):
      300,000 × 1.0 = 300,000 → +600,000 (the insurer bears 1,800,000 − 1,000,000 − 600,000 = 200,000
      beyond the premium).  L=1,200,000 → 300,000 × 0.5 = +150,000.  L=800,000 → 0 (s = 0).
    """
    rule = rule or {"type": "rollover"}
    kind = rule.get("type", "rollover")
    P, L = Decimal(str(premium)), Decimal(str(claims))
    e = _fraction(rule.get("insurer_keep", 0), "insurer_keep")
    if e > 1:
        raise FundError(f"insurer_keep 应在 0 和 1 之间 / insurer_keep must be between 0 and 1: {e}")
    retained = P * (1 - e)
    if kind == "rollover":
        result = Decimal(0)
    elif kind == "refund":
        result = -max(Decimal(0), retained - L)
    elif kind == "topup":
        result = max(Decimal(0), L - retained)
    elif kind == "refund_topup":
        result = L - retained
    elif kind == "corridor":
        bands = rule.get("bands") or []
        open_bands = [i for i, band in enumerate(bands) if band.get("upto") is None]
        if not bands or open_bands != [len(bands) - 1]:
            raise FundError("走廊规则须有分段，且仅最后一段 upto 为空 / corridor needs bands, only the last with "
                            "upto null")
        lower, result = Decimal(0), Decimal(0)
        for band in bands:
            upto = band.get("upto")
            share = _fraction(band.get("government_share", 0), "government_share")
            if share > 1:
                raise FundError(f"government_share 应在 0 和 1 之间 / must be between 0 and 1: {share}")
            top = L if upto is None else min(L, _fraction(upto, "upto") * P)
            if upto is not None and _fraction(upto, "upto") <= lower:
                raise FundError(f"走廊分段须递增 / corridor bands must increase: {bands}")
            result += share * max(Decimal(0), top - lower * P)
            lower = Decimal(0) if upto is None else _fraction(upto, "upto")
        s = _fraction(rule.get("surplus_refund_share", 0), "surplus_refund_share")
        result -= s * max(Decimal(0), retained - L)
    else:
        raise FundError(f"未知的结算规则 / unknown settlement rule type: {kind!r} "
                        f"(rollover, refund, topup, refund_topup, corridor)")
    return _money(result) + ZERO


def settle_year(session: Session, policy_id: int, rule: dict[str, Any] | None = None, *,
                actor_id: int | None = None) -> FundEntry | None:
    """Year-end settlement of a policy with ``rule`` (default: the policy's ``settlement_rule``).

    P = premium received, L = net claims: claims paid − reversals − recoveries (from the ledger).
    Records one ``settlement`` entry (reference ``settle:<policy_id>``) and returns it; returns None
    when the amount is zero (e.g. rollover: no entry, the surplus stays).  A policy is settled once: a
    second call is refused.
    """
    policy = policy_of(session, policy_id)
    reference = f"settle:{policy_id}"
    if session.scalar(select(FundEntry.id).where(FundEntry.policy_id == policy_id, FundEntry.kind == "settlement")):
        raise FundError(f"保单 {policy_id} 已做过年终结算 / policy {policy_id} has already been settled")
    summary = fund_summary(session, policy_id)
    amount = settlement_amount(summary["premium_received"], summary["net_claims"],
                               rule if rule is not None else policy.settlement_rule)
    if amount == 0:
        return None
    entry = FundEntry(policy_id=policy_id, kind="settlement", amount=amount, reference=reference,
                      note=str((rule if rule is not None else policy.settlement_rule) or {"type": "rollover"})[:500],
                      actor_id=actor_id)
    add_all(session, [entry])  # chained (claims.lifecycle.audit)
    session.flush()
    return entry


__all__ = ["MONTHLY_SERIES", "PAYERS", "FundError", "fund_summary", "monthly_flows", "payer_code", "policy_of",
           "record_premium", "settle_year", "settlement_amount"]
