"""A refund after payment (issue 11, acceptance 3): the paid claim is flagged ``overpaid``, one recovery is
opened for the hand-computed difference and kept current by later imports, and recording the money
returned balances the fund ledger to the fen; a waiver needs a supervisor and a reason.  The claim is
taken to ``paid`` along the real path (review, notice, payout batch, bank return).  SQLite and PostgreSQL.

Illness line of fangpinbao-weixian-2025: "trigger: 5000 … brackets upto 10000 rate 0.5" — 50 % of the
self-paid amount in (5,000, 10,000].
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from click.testing import CliRunner
from factories import pid
from sqlalchemy import func, select, update
from test_import_identity import county  # noqa: F401 - the fixture
from test_imports import MEDICAL_HEADER, V1, medical_file, write_csv

from claims.lifecycle.database import transaction
from claims.lifecycle.fund import fund_summary, record_premium
from claims.lifecycle.imports import import_report
from claims.lifecycle.models import Claim, FundEntry, Recovery, User
from claims.lifecycle.notices import close_due, post_notice
from claims.lifecycle.payouts import build_batch, import_bank_return
from claims.lifecycle.recompute import recompute
from claims.lifecycle.recovery import RecoveryError, list_recoveries, record_recovery, waive_recovery
from claims.lifecycle.store import Household
from claims.lifecycle.transitions import SYSTEM, Actor, advance
from claims.lifecycle.users import create_user

D = Decimal


def actors(factory) -> dict[str, Actor]:
    with transaction(factory) as s:
        return {name: Actor.of(create_user(s, name, name, role, approval_limit="100000" if "insurer" in role
                                           else None, villages=[V1] if role == "village_clerk" else ()))
                for name, role in [("ins", "insurer_adjudicator"), ("sup", "insurer_supervisor"),
                                   ("clerk", "village_clerk"), ("town", "township_reviewer"),
                                   ("county", "county_reviewer")]}


def pay(factory, policy_id: int, claim_id: int, who: dict[str, Actor]) -> None:
    """computed → … → paid: review, a 10-day notice, a payout batch and the bank's return."""
    with transaction(factory) as s:
        s.execute(update(Household).where(Household.household_no == "H1").values(bank_account="6217000000000000001"))
        for state, action, actor in [("computed", "start_investigation", "ins"), ("investigating", "verify", "ins"),
                                     ("verified", "village_review", "clerk"),
                                     ("village_reviewed", "township_review", "town"),
                                     ("township_reviewed", "file", "county")]:
            advance(s, [claim_id], state, action, who[actor])
        post_notice(s, policy_id, V1, who["county"], posted_on=dt.date(2025, 4, 1), claim_ids=[claim_id])
        close_due(s, today=dt.date(2025, 4, 12))
        batch = build_batch(s, policy_id, "2025-04", who["ins"], claim_ids=[claim_id])
        ret = pd.DataFrame({"理赔编号": [claim_id], "状态": ["成功"], "原因": [""]})
        assert import_bank_return(s, batch.id, ret, who["ins"]) == {"paid": 1, "failed": 0}


def refund(tmp_path, name: str, amount: int):
    """A 冲销 row of ``amount`` yuan under settlement S1 (negative amounts, the original's number)."""
    return write_csv(tmp_path / name, MEDICAL_HEADER, [["S1", pid(1), "2025-05-06", -amount, 0, 0, 0, 0, 0, 0]])


def recoveries(factory) -> list[tuple]:
    with factory() as s:
        return [(r.claim_id, r.line_id, r.unit_id, r.amount, r.state)
                for r in s.scalars(select(Recovery).order_by(Recovery.id))]


def recovery_ids(factory) -> list[int]:
    with factory() as s:
        return list(s.scalars(select(Recovery.id).order_by(Recovery.id)))


def test_refund_after_payment_opens_one_recovery_that_balances_the_fund(county, tmp_path):
    factory, policy_id = county
    who = actors(factory)
    # S1: person 1 self-paid 9,000 → (9,000 − 5,000) × 50 % = 2,000.00
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", [("S1", 1, "2025-03-01", 9000)]),
                  actor=SYSTEM)
    with factory() as s:
        claim_id = s.scalar(select(Claim.id).where(Claim.unit_id == pid(1)))
    with transaction(factory) as s:
        record_premium(s, policy_id, "premium_received", D("50000.00"))
    pay(factory, policy_id, claim_id, who)

    # a reversal of 3,000 after payment: base 9,000 − 3,000 = 6,000 → (6,000 − 5,000) × 50 % = 500.00 due in
    # all; 2,000.00 paid → overpaid 2,000.00 − 500.00 = 1,500.00; nothing new to pay
    r = import_report(factory, policy_id, "medical", refund(tmp_path, "m05.csv", 3000), actor=SYSTEM)
    assert (r.rows_stored, r.claims_created, r.claims_updated) == (1, 0, 0)
    assert recoveries(factory) == [(claim_id, "illness", pid(1), D("1500.00"), "open")]
    with factory() as s:
        claim = s.get(Claim, claim_id)
        assert (claim.state, claim.amount) == ("paid", D("2000.00"))
        assert claim.flags.startswith("overpaid / 多付 ¥1,500.00") and "recovery #" in claim.flags
        assert s.scalar(select(func.count()).select_from(Claim)) == 1

    # a later import for the same person and a full recompute: still one recovery, unchanged
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m06.csv", [("S2", 1, "2025-06-01", 0)]),
                  actor=SYSTEM)
    with transaction(factory) as s:
        recompute(s, policy_id)
    assert recoveries(factory) == [(claim_id, "illness", pid(1), D("1500.00"), "open")]

    # the reversal corrected to 2,000: base 7,000 → (7,000 − 5,000) × 50 % = 1,000.00; overpaid
    # 2,000.00 − 1,000.00 = 1,000.00 — the open recovery follows
    r = import_report(factory, policy_id, "medical", refund(tmp_path, "m05b.csv", 2000), actor=SYSTEM)
    assert r.rows_corrected == 1
    assert recoveries(factory) == [(claim_id, "illness", pid(1), D("1000.00"), "open")]
    with factory() as s:
        [listed] = list_recoveries(s, policy_id, "open")
    assert (listed["household_no"], listed["amount"], listed["state_label"]) == ("H1", D("1000.00"), "待追回")

    with pytest.raises(RecoveryError, match="may not record"), transaction(factory) as s:
        record_recovery(s, listed["id"], who["clerk"])
    with transaction(factory) as s:
        entry = record_recovery(s, listed["id"], who["ins"], note="银行退回")
        assert (entry.kind, entry.amount, entry.reference) == ("recovery", D("1000.00"), f"recovery:{listed['id']}")
    with factory() as s:
        summary = fund_summary(s, policy_id)
        assert "recovered" in s.get(Claim, claim_id).flags
    # ledger: premium received 50,000.00 − claims paid 2,000.00 + recoveries 1,000.00 = 49,000.00;
    # net claims 2,000.00 − 1,000.00 = 1,000.00 = person 1's entitlement
    assert (summary["premium_received"], summary["claims_paid"], summary["recoveries"]) == (
        D("50000.00"), D("2000.00"), D("1000.00"))
    assert (summary["balance"], summary["net_claims"], summary["loss_ratio"]) == (D("49000.00"), D("1000.00"),
                                                                                 D("0.0200"))
    # recovered: paid counts 2,000 − 1,000 = 1,000 = entitlement, so nothing due and nothing to recover
    with transaction(factory) as s:
        assert recompute(s, policy_id).created == 0
    assert [x[3:] for x in recoveries(factory)] == [(D("1000.00"), "recovered")]
    with pytest.raises(RecoveryError, match="only an open recovery"), transaction(factory) as s:
        record_recovery(s, listed["id"], who["ins"])


def paid_then_refunded(factory, policy_id: int, tmp_path) -> tuple[dict[str, Actor], int]:
    """S1 (self-paid 9,000 → 2,000.00) paid, then a reversal of 3,000 (→ 500.00: overpaid 1,500.00, as in
    the test above): the users and the paid claim's id."""
    who = actors(factory)
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03.csv", [("S1", 1, "2025-03-01", 9000)]),
                  actor=SYSTEM)
    with factory() as s:
        claim_id = s.scalar(select(Claim.id).where(Claim.unit_id == pid(1)))
    pay(factory, policy_id, claim_id, who)
    import_report(factory, policy_id, "medical", refund(tmp_path, "m05.csv", 3000), actor=SYSTEM)
    return who, claim_id


def test_waiver_and_cancellation(county, tmp_path):
    factory, policy_id = county
    who, claim_id = paid_then_refunded(factory, policy_id, tmp_path)
    [rid] = recovery_ids(factory)
    # S1 itself corrected to self-paid 12,000: base 12,000 − 3,000 = 9,000 → 2,000.00 = paid → cancelled
    import_report(factory, policy_id, "medical", medical_file(tmp_path / "m03b.csv", [("S1", 1, "2025-03-01", 12000)]),
                  actor=SYSTEM)
    assert [x[3:] for x in recoveries(factory)] == [(D("1500.00"), "cancelled")]
    with factory() as s:
        assert s.get(Claim, claim_id).flags is None
    # the reversal corrected to 7,000: base 12,000 − 7,000 = 5,000, not above 5,000 → entitlement 0 →
    # overpaid 2,000.00, a new recovery
    import_report(factory, policy_id, "medical", refund(tmp_path, "m05b.csv", 7000), actor=SYSTEM)
    assert [x[3:] for x in recoveries(factory)] == [(D("1500.00"), "cancelled"), (D("2000.00"), "open")]
    new = max(recovery_ids(factory))
    assert new != rid
    with pytest.raises(RecoveryError, match="insurer supervisor only"), transaction(factory) as s:
        waive_recovery(s, new, who["ins"], "困难户")
    with pytest.raises(RecoveryError, match="needs a reason"), transaction(factory) as s:
        waive_recovery(s, new, who["sup"], "  ")
    with transaction(factory) as s:
        waive_recovery(s, new, who["sup"], "家庭困难，经批准不予追回")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(FundEntry).where(FundEntry.kind == "recovery")) == 0
        waived = s.get(Recovery, new)
        assert (waived.state, waived.closed_by, waived.reason) == ("waived", who["sup"].id, "家庭困难，经批准不予追回")
    # waived: the same overpayment is not opened again
    with transaction(factory) as s:
        recompute(s, policy_id)
    assert [x[4] for x in recoveries(factory)] == ["cancelled", "waived"]


def test_recovery_command(county, tmp_path, monkeypatch):
    from flask_app.cli.recovery import recovery

    factory, policy_id = county
    paid_then_refunded(factory, policy_id, tmp_path)
    url = str(factory.kw["bind"].url.render_as_string(hide_password=False))
    runner = CliRunner()
    r = runner.invoke(recovery, ["list", "--database", url])
    assert r.exit_code == 0, r.output
    assert "¥1,500.00" in r.output and "H1" in r.output and "open" in r.output
    [rid] = recovery_ids(factory)
    r = runner.invoke(recovery, ["waive", str(rid), "--user", "ins", "--reason", "x", "--database", url])
    assert r.exit_code == 2 and "insurer supervisor only" in r.output
    r = runner.invoke(recovery, ["record", str(rid), "--user", "ins", "--database", url])
    assert r.exit_code == 0, r.output
    assert "¥1,500.00" in r.output
    with factory() as s:
        assert s.get(Recovery, rid).state == "recovered"


def test_fund_and_claim_pages_show_the_overpayment(county, db_url, tmp_path):
    from test_notice_pdf import PASSWORD, login

    from flask_app.app import create_app
    from flask_app.auth import hash_password

    factory, policy_id = county
    _, claim_id = paid_then_refunded(factory, policy_id, tmp_path)
    with transaction(factory) as s:
        s.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True})
    client = app.test_client()
    login(client, "sup")
    fund = client.get("/fund").get_data(as_text=True)
    assert "多付追回" in fund and "1,500.00" in fund and f"/claims/{claim_id}" in fund and "待追回 open" in fund
    claim = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert "overpaid / 多付 ¥1,500.00" in claim
    app.extensions["relief_engine"].dispose()
