"""Fund operations (issue 15, item 2 and acceptance 3): premiums with their payer and date, the year-end
settlement previewed then posted, and the carry-over that opens next year's balance.

Seed 002 (../shared/seeds/002*): "专项资金单独核算、滚动发展" — the fund is accounted on its own and rolls over
from year to year: next year's opening balance is this year's closing balance, to the fen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal as D

import pytest
from db_factories import add_policy
from sqlalchemy import select

from claims.lifecycle.audit import add_all, row_digest, verify
from claims.lifecycle.fund import FundError, fund_summary, monthly_flows, record_premium, settle_year
from claims.lifecycle.fund_year import carry_over, settlement_preview
from claims.lifecycle.models import FundEntry
from claims.lifecycle.store import Policy, ProductVersion


def _next_year(s, pol: Policy, county: str = "130434") -> Policy:
    pv = ProductVersion(code="P26", family="fangpinbao", name="p", county=county, year=pol.year + 1, digest="e" * 64,
                        document={})
    s.add(pv)
    s.flush()
    nxt = Policy(product_version_id=pv.id, county=county, year=pol.year + 1, framed_heads=100,
                 premium_per_head=D("50.00"), premium_total=D("5000.00"), settlement_rule={},
                 period_start=dt.date(pol.year + 1, 1, 1), period_end=dt.date(pol.year + 1, 12, 31))
    s.add(nxt)
    s.flush()
    return nxt


def _paid(s, pid: int, amount: str, kind: str = "claim_paid") -> None:
    """A bank return's paid lines (claim_paid, negative) or a reversal (positive), as payouts record them."""
    add_all(s, [FundEntry(policy_id=pid, kind=kind, amount=D(amount), reference="bank return")])
    s.flush()


def test_premiums_carry_their_payer_and_fall_in_the_month_the_money_came(db):
    _, Session = db
    with Session.begin() as s:
        _, pol = add_policy(s)
        record_premium(s, pol.id, "premium_received", D("60000.00"), "国库拨付 2025-003", payer="财政",
                       received_on=dt.date(2025, 1, 15))
        record_premium(s, pol.id, "premium_received", D("3000.00"), "个人缴费", payer="individual",
                       received_on=dt.date(2025, 2, 10))
        with pytest.raises(FundError, match="payer"):
            record_premium(s, pol.id, "premium_received", D("1.00"), payer="银行")
    with Session() as s:
        assert fund_summary(s, pol.id)["premium_received"] == D("63000.00")  # 60,000 + 3,000
        assert sorted(s.scalars(select(FundEntry.payer).where(FundEntry.policy_id == pol.id))) == \
            ["government", "individual"]
        # the policy months of the money, not the day it was typed in
        assert monthly_flows(s, pol.id) == {"2025-01": {"premium": D("60000.00"), "paid": D(0)},
                                            "2025-02": {"premium": D("3000.00"), "paid": D(0)}}


def test_settlement_previewed_posted_and_carried_to_next_year_to_the_fen(db):
    _, Session = db
    with Session.begin() as s:
        _, pol = add_policy(s)
        pol.settlement_rule = {"type": "refund_topup", "insurer_keep": "0.1"}  # 多退少补, insurer keeps 10%
        nxt = _next_year(s, pol)
        record_premium(s, pol.id, "premium_received", D("63000.00"), payer="财政", received_on=dt.date(2025, 1, 15))
        _paid(s, pol.id, "-41000.00")
        _paid(s, pol.id, "1000.00", "reversal")
        pid, next_id = pol.id, nxt.id
    with Session.begin() as s:
        preview = settlement_preview(s, pid)
        # P = 63,000; L = 41,000 − 1,000 = 40,000; settlement = L − P(1 − 0.1) = 40,000 − 56,700 = −16,700 (refund)
        assert (preview.premium, preview.net_claims, preview.amount) == (D("63000.00"), D("40000.00"), D("-16700.00"))
        # balance 63,000 − 41,000 + 1,000 = 23,000 → after the refund 23,000 − 16,700 = 6,300
        assert (preview.balance_before, preview.balance_after, preview.settled) == (D("23000.00"), D("6300.00"), False)
        with pytest.raises(FundError, match="settlement first"):
            carry_over(s, pid)  # the settlement is not posted yet
    with Session.begin() as s:
        assert settle_year(s, pid).amount == D("-16700.00")
        assert settlement_preview(s, pid).settled
    with Session.begin() as s:
        out, into = carry_over(s, pid)
        assert (out.amount, into.amount, into.policy_id) == (D("-6300.00"), D("6300.00"), next_id)
        with pytest.raises(FundError, match="already been carried"):
            carry_over(s, pid)
    with Session() as s:
        assert fund_summary(s, pid)["balance"] == D("0.00")  # 6,300 − 6,300
        opening = fund_summary(s, next_id)
        assert (opening["carry_over"], opening["balance"]) == (D("6300.00"), D("6300.00"))  # the opening balance
        assert all(report.ok for report in verify(s))  # every chain intact, payers included


def test_rollover_needs_no_settlement_and_a_deficit_carries_as_a_negative_opening(db):
    _, Session = db
    with Session.begin() as s:
        _, pol = add_policy(s)  # settlement_rule {}: rollover, the surplus (or deficit) stays in the fund
        nxt = _next_year(s, pol)
        record_premium(s, pol.id, "premium_received", D("5000.00"), payer="其他", received_on=dt.date(2025, 3, 1))
        _paid(s, pol.id, "-5200.50")
        out, into = carry_over(s, pol.id, nxt.id)
        assert (out.amount, into.amount) == (D("200.50"), D("-200.50"))  # 5,000 − 5,200.50 = −200.50


def test_carry_over_only_to_the_same_countys_next_year(db):
    _, Session = db
    with Session.begin() as s:
        _, pol = add_policy(s)
        with pytest.raises(FundError, match="does not exist yet"):
            carry_over(s, pol.id)
        other = _next_year(s, pol, county="610330")
        with pytest.raises(FundError, match="same county"):
            carry_over(s, pol.id, other.id)


def test_an_entry_without_a_payer_keeps_the_hash_it_had_before_payers_existed():
    """0016 added ``payer`` to the fund chain (audit.ADDED_LATER): NULL is left out of the hashed text, a payer
    follows the seven older fields as ["payer", value]."""
    fields = [7, "2025-01-15T00:00:00.000000", "premium_received", "100.00", "r", None, None]
    before = hashlib.sha256(json.dumps(["fund_entries", 1, "0" * 64, *fields], ensure_ascii=False,
                                       separators=(",", ":")).encode()).hexdigest()
    at = dt.datetime(2025, 1, 15)
    assert row_digest("fund_entries", 1, "0" * 64, [7, at, "premium_received", D("100"), "r", None, None, None]) \
        == before
    assert row_digest("fund_entries", 1, "0" * 64, [7, at, "premium_received", D("100"), "r", None, None]) == before
    with_payer = hashlib.sha256(json.dumps(["fund_entries", 1, "0" * 64, *fields, ["payer", "government"]],
                                           ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
    assert row_digest("fund_entries", 1, "0" * 64, [7, at, "premium_received", D("100"), "r", None, None,
                                                    "government"]) == with_payer
