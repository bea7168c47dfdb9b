"""Fund ledger: premiums, summary, balance, and each year-end settlement rule (hand arithmetic in comments)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from db_factories import add_policy
from sqlalchemy import func, select
from test_notices import seed

from claims.lifecycle.database import transaction
from claims.lifecycle.fund import FundError, fund_summary, record_premium, settle_year, settlement_amount
from claims.lifecycle.models import FundEntry

D = Decimal
P = D("1000000.00")
CORRIDOR = {"type": "corridor", "bands": [{"upto": 0.9, "government_share": 0.0},
                                          {"upto": 1.5, "government_share": 0.5},
                                          {"upto": None, "government_share": 1.0}]}


def test_rollover_never_moves_money():
    assert settlement_amount(P, D("700000.00"), {"type": "rollover"}) == D("0.00")
    assert settlement_amount(P, D("1300000.00"), None) == D("0.00")  # no rule: rollover


def test_refund_surplus_after_insurer_loading():
    rule = {"type": "refund", "insurer_keep": 0.1}
    # P(1−e) − L = 1,000,000 × 0.9 − 700,000 = 200,000 refunded → −200,000
    assert settlement_amount(P, D("700000.00"), rule) == D("-200000.00")
    # 900,000 − 950,000 < 0: nothing to refund, the refund rule does not fill deficits
    assert settlement_amount(P, D("950000.00"), rule) == D("0.00")
    # fen: 0.9 × 1234.57 = 1111.113 − 1000.00 = 111.113 → −111.11
    assert settlement_amount(D("1234.57"), D("1000.00"), rule) == D("-111.11")


def test_topup_fills_deficit():
    # L − P = 1,250,000 − 1,000,000 = 250,000 paid in by the government
    assert settlement_amount(P, D("1250000.00"), {"type": "topup"}) == D("250000.00")
    assert settlement_amount(P, D("600000.00"), {"type": "topup"}) == D("0.00")
    # with a loading e = 0.13: L − P(1−e) = 1,250,000 − 870,000 = 380,000
    assert settlement_amount(P, D("1250000.00"), {"type": "topup", "insurer_keep": 0.13}) == D("380000.00")


def test_refund_topup_both_ways():
    rule = {"type": "refund_topup", "insurer_keep": 0.05}
    # 950,000 retained: L = 800,000 → −150,000; L = 1,000,000 → +50,000
    assert settlement_amount(P, D("800000.00"), rule) == D("-150000.00")
    assert settlement_amount(P, D("1000000.00"), rule) == D("50000.00")


@pytest.mark.parametrize("loss,expected", [
    ("800000.00", "0.00"),         # ratio 0.8: inside the insurer's band
    ("900000.00", "0.00"),         # exactly 0.9
    ("1200000.00", "150000.00"),   # (1.2 − 0.9) × P × 0.5 = 300,000 × 0.5
    ("1500000.00", "300000.00"),   # (1.5 − 0.9) × P × 0.5 = 600,000 × 0.5
    ("1800000.00", "600000.00"),   # 300,000 + (1.8 − 1.5) × P × 1.0 = 300,000 + 300,000
    ("1200000.01", "150000.01"),   # 300,000.01 × 0.5 = 150,000.005 → half-up 150,000.01
])
def test_corridor_bands(loss, expected):
    assert settlement_amount(P, D(loss), CORRIDOR) == D(expected)


def test_corridor_surplus_refund_share():
    rule = {**CORRIDOR, "insurer_keep": 0.1, "surplus_refund_share": 0.5}
    # P(1−e) − L = 900,000 − 600,000 = 300,000 surplus; half refunded → −150,000
    assert settlement_amount(P, D("600000.00"), rule) == D("-150000.00")


def test_a_rule_without_type_is_rollover():
    # {"insurer_keep": 0.1} names no type: rollover, nothing moves (even with a deficit of 300,000)
    assert settlement_amount(P, D("1300000.00"), {"insurer_keep": 0.1}) == D("0.00")
    assert settlement_amount(P, D("700000.00"), {}) == D("0.00")


def test_insurer_keeping_the_whole_premium_and_a_band_without_share():
    # e = 1 is allowed (0 ≤ e ≤ 1): nothing retained for claims, so the top-up is the whole loss L − 0 = 700,000
    assert settlement_amount(P, D("700000.00"), {"type": "topup", "insurer_keep": 1}) == D("700000.00")
    # a corridor band without government_share: the government pays none of it.  L = 1,200,000:
    # band [0, 1.0): 0 × 1,000,000; band [1.0, ∞): 1.0 × (1,200,000 − 1,000,000) = 200,000
    bands = [{"upto": 1.0}, {"upto": None, "government_share": 1}]
    assert settlement_amount(P, D("1200000.00"), {"type": "corridor", "bands": bands}) == D("200000.00")


def test_corridor_without_surplus_refunds_nothing_and_no_negative_zero():
    rule = {**CORRIDOR, "insurer_keep": 0.1, "surplus_refund_share": 0.5}
    # L = 1,000,000 > P(1−e) = 900,000: no surplus, nothing refunded; top-up 0.5 × (1,000,000 − 900,000) = 50,000
    assert settlement_amount(P, D("1000000.00"), rule) == D("50000.00")
    # refund with nothing to refund is 0.00, never printed as -0.00 on the ledger
    assert str(settlement_amount(P, D("950000.00"), {"type": "refund", "insurer_keep": 0.1})) == "0.00"


def test_bad_rules_are_refused():
    with pytest.raises(FundError, match="government_share 应在 0 和 1 之间 / must be between 0 and 1: 1.5"):
        settlement_amount(P, P, {"type": "corridor", "bands": [{"upto": None, "government_share": 1.5}]})
    with pytest.raises(FundError, match="upto must not be negative"):
        settlement_amount(P, P, {"type": "corridor", "bands": [{"upto": -0.5}, {"upto": None}]})
    with pytest.raises(FundError, match="surplus_refund_share must not be negative"):
        settlement_amount(P, P, {**CORRIDOR, "surplus_refund_share": -0.5})
    with pytest.raises(FundError, match="must increase"):  # two bands ending at the same ratio
        settlement_amount(P, P, {"type": "corridor", "bands": [{"upto": 0.9}, {"upto": 0.9}, {"upto": None}]})
    with pytest.raises(FundError, match="insurer_keep must be between 0 and 1: 1.5"):
        settlement_amount(P, P, {"type": "refund", "insurer_keep": 1.5})
    with pytest.raises(FundError, match="insurer_keep must not be negative: -0.1"):
        settlement_amount(P, P, {"type": "refund", "insurer_keep": -0.1})
    with pytest.raises(FundError, match="government_share must not be negative"):
        settlement_amount(P, P, {"type": "corridor", "bands": [{"upto": None, "government_share": -1}]})
    with pytest.raises(FundError, match="unknown settlement rule"):
        settlement_amount(P, P, {"type": "split"})
    with pytest.raises(FundError, match="last with upto null"):
        settlement_amount(P, P, {"type": "corridor", "bands": [{"upto": 0.9, "government_share": 0}]})
    # an open band before the last would swallow the rest of the loss axis (found by mutation testing:
    # [open 100 %, open] returned 500.00 for L = 500)
    with pytest.raises(FundError, match="only the last with upto null"):
        settlement_amount(D("1000.00"), D("500.00"), {"type": "corridor", "bands": [
            {"upto": None, "government_share": 1}, {"upto": None}]})
    with pytest.raises(FundError, match="must increase"):
        settlement_amount(P, P, {"type": "corridor", "bands": [{"upto": 1.2, "government_share": 0},
                                                               {"upto": 0.9, "government_share": 0.5},
                                                               {"upto": None, "government_share": 1}]})


def test_balance_and_settlement_in_the_ledger(db):
    _, factory = db
    sd = seed(factory, ("1.00",), rule={"type": "refund", "insurer_keep": 0.1})
    pid = sd.policy_id
    with transaction(factory) as s:
        record_premium(s, pid, "premium_due", D("50000.00"), reference="invoice 1")
        record_premium(s, pid, "premium_received", D("30000.00"))
        record_premium(s, pid, "premium_received", D("20000.00"))
        s.add_all([FundEntry(policy_id=pid, kind="claim_paid", amount=D("-12345.67"), reference="batch:1"),
                   FundEntry(policy_id=pid, kind="claim_paid", amount=D("-10000.01"), reference="batch:2"),
                   FundEntry(policy_id=pid, kind="reversal", amount=D("345.66"), reference="claim:1")])
    with factory() as s:
        summary = fund_summary(s, pid)
    # paid 12,345.67 + 10,000.01 = 22,345.68; balance = 50,000 − 22,345.68 + 345.66 = 27,999.98
    assert summary["premium_due"] == D("50000.00")
    assert summary["premium_received"] == D("50000.00")
    assert summary["claims_paid"] == D("22345.68")
    assert summary["reversals"] == D("345.66")
    assert summary["balance"] == D("27999.98")
    # loss ratio (22,345.68 − 345.66) / 50,000 = 22,000.02 / 50,000 = 0.4400004 → 0.4400
    assert summary["loss_ratio"] == D("0.4400")
    with transaction(factory) as s:
        entry = settle_year(s, pid)  # the policy's rule: refund with e = 0.1
        # 50,000 × 0.9 − 22,000.02 = 22,999.98 refunded
        assert entry.amount == D("-22999.98")
    with factory() as s:
        after = fund_summary(s, pid)
    # what stays is the insurer's loading: 27,999.98 − 22,999.98 = 5,000.00 = 0.1 × 50,000
    assert after["balance"] == D("5000.00") and after["settlements"] == D("-22999.98")
    with pytest.raises(FundError, match="already been settled"), transaction(factory) as s:
        settle_year(s, pid)


def test_rollover_settlement_writes_nothing_and_premium_checks(db):
    _, factory = db
    sd = seed(factory, ("1.00",))
    with transaction(factory) as s:
        record_premium(s, sd.policy_id, "premium_received", D("100.00"), reference="receipt 1")
        assert settle_year(s, sd.policy_id) is None
    for kind, amount, msg in [("claim_paid", D("1.00"), "kind must be"), ("premium_received", D("-1.00"), "positive"),
                              ("premium_received", D("0.00"), "positive"),
                              ("premium_received", D("1.001"), "two decimals")]:
        with pytest.raises(FundError, match=msg), transaction(factory) as s:
            record_premium(s, sd.policy_id, kind, amount)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(FundEntry)) == 1
        assert fund_summary(s, sd.policy_id)["loss_ratio"] == D("0.0000")
        assert fund_summary(s, sd.policy_id)["premium_due"] == D("0.00")  # nothing invoiced: 0.00, not None
        assert s.scalars(select(FundEntry.reference)).one() == "receipt 1"
        assert fund_summary(s, 999)["loss_ratio"] is None


def test_a_premium_of_one_fen_is_recorded(db):
    # the smallest positive amount with two decimals is 0.01 yuan; 0.01 + 0.99 received = 1.00
    _, factory = db
    sd = seed(factory, ("1.00",))
    with transaction(factory) as s:
        record_premium(s, sd.policy_id, "premium_received", D("0.01"))
        record_premium(s, sd.policy_id, "premium_received", D("0.99"))
    with factory() as s:
        assert fund_summary(s, sd.policy_id)["premium_received"] == D("1.00")


def test_balance_and_loss_ratio_count_premium_received_not_premium_due(db):
    """The fund holds cash: premium invoiced but not yet received is not in the balance, the loss ratio nor
    the settlement (issue 11: a balance computed from premium due passed every fund test, where due = received)."""
    _, factory = db
    sd = seed(factory, ("1.00",), rule={"type": "refund", "insurer_keep": 0.1})
    pid = sd.policy_id
    with transaction(factory) as s:
        record_premium(s, pid, "premium_due", D("100000.00"), reference="invoice 2025")
        record_premium(s, pid, "premium_received", D("60000.00"))
        record_premium(s, pid, "premium_received", D("15000.50"))
        s.add_all([FundEntry(policy_id=pid, kind="claim_paid", amount=D("-30000.25"), reference="batch:1"),
                   FundEntry(policy_id=pid, kind="claim_paid", amount=D("-12000.00"), reference="batch:2"),
                   FundEntry(policy_id=pid, kind="reversal", amount=D("1000.00"), reference="claim:7")])
    with factory() as s:
        summary = fund_summary(s, pid)
    # received 60,000.00 + 15,000.50 = 75,000.50 of the 100,000.00 invoiced
    assert summary["premium_due"] == D("100000.00")
    assert summary["premium_received"] == D("75000.50")
    # paid 30,000.25 + 12,000.00 = 42,000.25; net of the reversal 42,000.25 − 1,000.00 = 41,000.25
    assert summary["claims_paid"] == D("42000.25") and summary["net_claims"] == D("41000.25")
    # balance = 75,000.50 − 42,000.25 + 1,000.00 = 34,000.25 (from premium due it would be 59,000.00)
    assert summary["balance"] == D("34000.25")
    # loss ratio 41,000.25 / 75,000.50 = 0.546666… → 0.5467 (over premium due: 0.4100)
    assert summary["loss_ratio"] == D("0.5467")
    with transaction(factory) as s:
        # refund with e = 0.1: 75,000.50 × 0.9 − 41,000.25 = 67,500.45 − 41,000.25 = 26,500.20
        # (over premium due: 90,000.00 − 41,000.25 = 48,999.75)
        assert settle_year(s, pid).amount == D("-26500.20")


def test_premium_only_invoiced_gives_no_loss_ratio_and_a_negative_balance(db):
    _, factory = db
    sd = seed(factory, ("1.00",))
    with transaction(factory) as s:
        record_premium(s, sd.policy_id, "premium_due", D("5000.00"))
        s.add(FundEntry(policy_id=sd.policy_id, kind="claim_paid", amount=D("-1234.56"), reference="batch:1"))
    with factory() as s:
        summary = fund_summary(s, sd.policy_id)
    # nothing received yet: balance = 0 − 1,234.56; no loss ratio (nothing to divide by)
    assert summary["balance"] == D("-1234.56")
    assert summary["loss_ratio"] is None


def test_settle_year_records_the_rule_it_used_once_per_policy(db):
    """An explicit rule overrides the policy's own; the entry names the policy and the rule; settling one
    policy does not count as settling another."""
    _, factory = db
    sd = seed(factory, ("1.00",), rule={"type": "refund", "insurer_keep": 0.1})
    with transaction(factory) as s:
        _, other = add_policy(s)
        other.settlement_rule = {"type": "refund_topup"}
        other_id = other.id
        for pid in (sd.policy_id, other_id):
            record_premium(s, pid, "premium_received", D("1000.00"))
            s.add(FundEntry(policy_id=pid, kind="claim_paid", amount=D("-400.00"), reference="batch:1"))
    with transaction(factory) as s:
        # explicit refund with e = 0: −(1,000 − 400) = −600.00 (the policy's own rule, e = 0.1, would give
        # −(900 − 400) = −500.00)
        first = settle_year(s, sd.policy_id, {"type": "refund"})
        assert (first.amount, first.reference, first.note) == (D("-600.00"), f"settle:{sd.policy_id}",
                                                               "{'type': 'refund'}")
        # the other policy, by its own rule 多退少补 with e = 0: 400 − 1,000 = −600.00
        second = settle_year(s, other_id)
        assert (second.amount, second.reference, second.note) == (D("-600.00"), f"settle:{other_id}",
                                                                  "{'type': 'refund_topup'}")
    with factory() as s:
        assert fund_summary(s, sd.policy_id)["settlements"] == D("-600.00")
        assert fund_summary(s, other_id)["balance"] == D("0.00")  # 1,000 − 400 − 600


def test_loss_ratio_rounds_half_up(db):
    _, factory = db
    sd = seed(factory, ("1.00",))
    with transaction(factory) as s:
        record_premium(s, sd.policy_id, "premium_received", D("100000.00"))
        s.add(FundEntry(policy_id=sd.policy_id, kind="claim_paid", amount=D("-12345.00"), reference="batch:1"))
    with factory() as s:
        # 12,345.00 / 100,000.00 = 0.12345 exactly → half up 0.1235 (half even would give 0.1234)
        assert fund_summary(s, sd.policy_id)["loss_ratio"] == D("0.1235")
