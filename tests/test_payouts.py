"""Payout batches: totals to the fen, one batch per period, the bank file, the bank's return, reversal."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from test_notices import VILLAGE, seed

from claims.lifecycle.database import transaction
from claims.lifecycle.fund import fund_summary, record_premium
from claims.lifecycle.models import Claim, ClaimEvent, FundEntry, NoticeLine, PayoutBatch, PayoutLine
from claims.lifecycle.notices import close_due, post_notice
from claims.lifecycle.payouts import (
    BANK_COLUMNS,
    PayoutError,
    build_batch,
    export_bank_file,
    import_bank_return,
    reverse_claim,
)
from claims.lifecycle.transitions import ConflictError
from claims.lifecycle.workflow import TransitionError

AMOUNTS = ("1200.50", "800.01", "333.33", "0.01", "99.99")


def payable(factory, amounts=AMOUNTS, **kw):
    """Seeded claims taken through a 10-day notice to payable (the real path, not a shortcut)."""
    sd = seed(factory, amounts, **kw)
    with transaction(factory) as s:
        post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1))
        close_due(s, today=dt.date(2025, 3, 12))
    return sd


def snapshot(factory):
    with factory() as s:
        return {
            "claims": [(c.id, c.state, c.version) for c in s.scalars(select(Claim).order_by(Claim.id))],
            "events": s.scalar(select(func.count()).select_from(ClaimEvent)),
            "batches": [(b.id, b.state, b.total) for b in s.scalars(select(PayoutBatch).order_by(PayoutBatch.id))],
            "lines": [(ln.id, ln.status, ln.bank_reason)
                      for ln in s.scalars(select(PayoutLine).order_by(PayoutLine.id))],
            "fund": [(f.kind, f.amount) for f in s.scalars(select(FundEntry).order_by(FundEntry.id))],
        }


def write_return(path, rows, header=("理赔编号", "状态", "原因")):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_batch_total_equals_lines_and_notice_amounts(db):
    _, factory = db
    sd = payable(factory)
    with transaction(factory) as s:
        batch = build_batch(s, sd.policy_id, "2025-03", sd.insurer)
        bid = batch.id
    with factory() as s:
        batch = s.get(PayoutBatch, bid)
        lines = s.scalars(select(PayoutLine).where(PayoutLine.batch_id == bid)).all()
        notice_total = sum(s.scalars(select(NoticeLine.amount)))
        # 1200.50 + 800.01 + 333.33 + 0.01 + 99.99 = 2433.84
        assert batch.total == sum(ln.amount for ln in lines) == notice_total == Decimal("2433.84")
        assert {c.state for c in s.scalars(select(Claim))} == {"in_payout"}
        # the head 户主 is paid even though the member was listed first, and even for person lines
        by_claim = {ln.claim_id: ln for ln in lines}
        first = by_claim[sd.claim_ids[0]]
        assert first.payee_name == "张三"
        assert first.payee_id_masked == sd.ids["张三"][:6] + "********" + sd.ids["张三"][-4:]
        assert first.account == "6217000000000000000"


def test_second_batch_for_the_same_period_is_refused(db):
    _, factory = db
    sd = payable(factory)
    with transaction(factory) as s:
        build_batch(s, sd.policy_id, "2025-03", sd.insurer, claim_ids=sd.claim_ids[:2])
    before = snapshot(factory)
    with pytest.raises(PayoutError, match="already exists"), transaction(factory) as s:
        build_batch(s, sd.policy_id, "2025-03", sd.insurer)
    assert snapshot(factory) == before
    with transaction(factory) as s:  # another period is fine
        assert build_batch(s, sd.policy_id, "2025-04", sd.insurer).total == Decimal("433.33")


def test_only_payable_claims_and_only_with_bank_accounts(db):
    _, factory = db
    sd = seed(factory, ("10.00",))  # filed, not yet on notice
    before = snapshot(factory)
    with pytest.raises(PayoutError, match="not payable"), transaction(factory) as s:
        build_batch(s, sd.policy_id, "2025-03", sd.insurer, claim_ids=sd.claim_ids)
    with pytest.raises(PayoutError, match="no payable claims"), transaction(factory) as s:
        build_batch(s, sd.policy_id, "2025-03", sd.insurer)
    assert snapshot(factory) == before


def test_household_without_bank_account_is_refused(db):
    _, factory = db
    sd = payable(factory, ("10.00", "20.00"), bank_accounts=False)
    before = snapshot(factory)
    with pytest.raises(PayoutError, match="without a bank account"), transaction(factory) as s:
        build_batch(s, sd.policy_id, "2025-03", sd.insurer)
    assert snapshot(factory) == before


def test_wrong_role_cannot_batch(db):
    _, factory = db
    sd = payable(factory)
    before = snapshot(factory)
    with pytest.raises(TransitionError, match="may not 'add_to_batch'"), transaction(factory) as s:
        build_batch(s, sd.policy_id, "2025-03", sd.village)
    assert snapshot(factory) == before


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_bank_file(db, tmp_path, suffix):
    _, factory = db
    sd = payable(factory)
    with transaction(factory) as s:
        bid = build_batch(s, sd.policy_id, "2025-03", sd.insurer).id
    path = tmp_path / f"bank{suffix}"
    with factory() as s:
        export_bank_file(s, bid, path)
    if suffix == ".csv":
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    else:
        ws = load_workbook(path).active
        rows = [[c.value for c in r] for r in ws.iter_rows()]
        assert all(isinstance(r[2], str) and isinstance(r[3], str) for r in rows[1:])  # ID, account as text
        assert ws.cell(2, 5).number_format == "0.00"
        rows = [rows[0]] + [[str(v) if i != 4 else f"{Decimal(str(v)):.2f}" for i, v in enumerate(r)] for r in rows[1:]]
    assert rows[0] == BANK_COLUMNS
    assert len(rows) == 1 + len(AMOUNTS)
    by_claim = {int(r[6]): r for r in rows[1:]}
    r0 = by_claim[sd.claim_ids[0]]
    assert r0[1:6] == ["张三", sd.ids["张三"][:6] + "********" + sd.ids["张三"][-4:], "6217000000000000000", "1200.50",
                       str(bid)]
    assert by_claim[sd.claim_ids[3]][4] == "0.01"
    assert sum(Decimal(r[4]) for r in rows[1:]) == Decimal("2433.84")
    shown = " ".join(" ".join(r) for r in rows)
    for id_no in sd.ids.values():  # never a full ID, nor its birth date and sequence
        assert id_no not in shown and id_no[6:14] not in shown


def test_bank_return_failures_rebatch_and_reversal(db, tmp_path):
    _, factory = db
    sd = payable(factory)
    c = sd.claim_ids
    with transaction(factory) as s:
        record_premium(s, sd.policy_id, "premium_received", Decimal("50000.00"))
        bid = build_batch(s, sd.policy_id, "2025-03", sd.insurer).id
    ret = write_return(tmp_path / "ret.csv", [
        [c[0], "成功", ""], [c[1], "失败", "账户已销户"], [c[2], "paid", ""], [c[3], "failed", "户名不符"],
        [c[4], "成功", ""]])
    with transaction(factory) as s:
        assert import_bank_return(s, bid, ret, sd.insurer) == {"paid": 3, "failed": 2}
    assert _states(factory, c) == ["paid", "payable", "paid", "payable", "paid"]
    with factory() as s:
        lines = {ln.claim_id: ln for ln in s.scalars(select(PayoutLine))}
        assert lines[c[1]].status == "failed" and lines[c[1]].bank_reason == "账户已销户"
        assert lines[c[0]].status == "paid" and lines[c[0]].returned_at is not None
        assert s.get(PayoutBatch, bid).state == "reconciled"
        ev = s.scalars(select(ClaimEvent).where(ClaimEvent.action == "bank_failed", ClaimEvent.claim_id == c[3])).one()
        assert ev.note == "户名不符" and ev.to_state == "payable"
        # 1200.50 + 333.33 + 99.99 = 1633.82 paid
        fe = s.scalars(select(FundEntry).where(FundEntry.kind == "claim_paid")).one()
        assert (fe.amount, fe.reference) == (Decimal("-1633.82"), f"batch:{bid}")
    # the same file again: refused, nothing changes
    before = snapshot(factory)
    with pytest.raises(PayoutError, match="already returned"), transaction(factory) as s:
        import_bank_return(s, bid, ret, sd.insurer)
    assert snapshot(factory) == before

    # failed ones go into next month's batch and are paid
    with transaction(factory) as s:
        bid2 = build_batch(s, sd.policy_id, "2025-04", sd.insurer).id
        assert s.get(PayoutBatch, bid2).total == Decimal("800.02")  # 800.01 + 0.01
    ret2 = write_return(tmp_path / "ret2.csv", [[c[1], "paid", ""], [c[3], "paid", ""]],
                        header=("claim_id", "status", "reason"))
    with transaction(factory) as s:
        assert import_bank_return(s, bid2, ret2, sd.insurer) == {"paid": 2, "failed": 0}
    assert _states(factory, c) == ["paid"] * 5

    # a correction after payment: reversal (supervisor only), the paid claim itself unchanged
    before = snapshot(factory)
    with pytest.raises(TransitionError, match="may not 'reverse'"), transaction(factory) as s:
        reverse_claim(s, c[2], sd.insurer, "wrong_person")
    assert snapshot(factory) == before
    with transaction(factory) as s:
        reverse_claim(s, c[2], sd.supervisor, "wrong_person", "错误发放")
    with pytest.raises(ConflictError), transaction(factory) as s:
        reverse_claim(s, c[2], sd.supervisor, "wrong_person")
    with factory() as s:
        claim = s.get(Claim, c[2])
        assert (claim.state, claim.amount) == ("reversed", Decimal("333.33"))
        summary = fund_summary(s, sd.policy_id)
    # paid 1633.82 + 800.02 = 2433.84; reversal +333.33; balance 50000 − 2433.84 + 333.33 = 47899.49
    assert summary["claims_paid"] == Decimal("2433.84")
    assert summary["reversals"] == Decimal("333.33")
    assert summary["balance"] == Decimal("47899.49")


def _states(factory, ids):
    with factory() as s:
        return [s.get(Claim, i).state for i in ids]


def test_bank_return_refuses_foreign_lines_and_bad_status(db, tmp_path):
    _, factory = db
    sd = payable(factory)
    c = sd.claim_ids
    with transaction(factory) as s:
        bid = build_batch(s, sd.policy_id, "2025-03", sd.insurer, claim_ids=c[:2]).id
    before = snapshot(factory)
    for rows, msg in [([[c[0], "成功", ""], [c[2], "成功", ""]], "not in batch"),
                      ([[c[0], "成功", ""], [c[0], "失败", "x"]], "repeated"),
                      ([[c[0], "maybe", ""]], "unknown status"),
                      ([["abc", "成功", ""]], "bad claim id")]:
        path = write_return(tmp_path / "r.csv", rows)
        with pytest.raises(PayoutError, match=msg), transaction(factory) as s:
            import_bank_return(s, bid, path, sd.insurer)
        assert snapshot(factory) == before
    # an xlsx return file works too; a partial return leaves the batch open
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["理赔编号", "状态", "原因"])
    wb.active.append([c[0], "成功", None])
    wb.save(tmp_path / "r.xlsx")
    with transaction(factory) as s:
        assert import_bank_return(s, bid, tmp_path / "r.xlsx", sd.insurer) == {"paid": 1, "failed": 0}
    with factory() as s:
        assert s.get(PayoutBatch, bid).state == "exported"
