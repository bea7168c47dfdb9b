"""A scripted policy year against the database (SQLite, and PostgreSQL when configured).

Twelve monthly imports for a generated county → claims → investigation → review → filing → notice →
payable → payout batch → bank return with failures → re-batch → paid; an objection, an adjusted
amount, a reversal.  At the end: the fund reconciles to the fen, every claim's history is complete
and unbroken, and what was paid per unit and line equals one pure yearly engine run.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from claims.engine.compute import run_calculation
from claims.lifecycle import adjudication as adj
from claims.lifecycle.database import transaction
from claims.lifecycle.fund import fund_summary, record_premium
from claims.lifecycle.imports import import_report
from claims.lifecycle.models import Claim, ClaimEvent, Notice, NoticeLine, PayoutBatch, PayoutLine
from claims.lifecycle.notices import close_due, post_notice, record_objection
from claims.lifecycle.payouts import build_batch, export_bank_file, import_bank_return, reverse_claim
from claims.lifecycle.recompute import recompute
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.roster_store import store_roster
from claims.lifecycle.transitions import Actor
from claims.lifecycle.users import actor_of, create_user
from claims.reports import read_report
from claims.synth import synth_county
from products import load_product
from products.roster import load_households, load_persons

DEPARTMENTS = ("medical", "education", "disaster", "accident", "income")
FORWARD = [("start_investigation", "insurer"), ("village_review", "clerk"), ("township_review", "town"),
           ("file", "county")]


def month_files(county: Path, month: int) -> list[tuple[str, Path]]:
    return [(d, county / d / f"2025-{month:02d}.csv") for d in DEPARTMENTS if (county / d / f"2025-{month:02d}.csv").exists()]


def ids_in(session, policy_id: int, state: str) -> list[int]:
    return list(session.scalars(select(Claim.id).where(Claim.policy_id == policy_id, Claim.state == state)
                                .order_by(Claim.id)))


def review_and_file(factory, policy_id: int, actors: dict[str, Actor]) -> None:
    """computed → investigating → verified (maker-checker above the limit) → reviewed → filed."""
    with transaction(factory) as s:
        ids = ids_in(s, policy_id, "computed")
        adj.bulk(s, ids, "start_investigation", actors["insurer"])
    with transaction(factory) as s:
        for claim in s.scalars(select(Claim).where(Claim.policy_id == policy_id, Claim.state == "investigating")):
            if adj.verify(s, claim.id, actors["insurer"], expected_version=claim.version) == "awaiting_approval":
                version = s.scalar(select(Claim.version).where(Claim.id == claim.id))
                adj.approve(s, claim.id, actors["supervisor"], expected_version=version)
    for action, who in FORWARD[1:]:
        with transaction(factory) as s:
            state = {"village_review": "verified", "township_review": "village_reviewed", "file": "township_reviewed"}[action]
            adj.bulk(s, ids_in(s, policy_id, state), action, actors[who])


def post_all(factory, policy_id: int, actor: Actor, posted_on: dt.date) -> list[int]:
    with transaction(factory) as s:
        villages = sorted(set(s.scalars(select(Claim.village_code).where(Claim.policy_id == policy_id,
                                                                         Claim.state == "filed"))))
        return [post_notice(s, policy_id, v, actor, posted_on=posted_on, hotline="0310-1234567").id for v in villages]


def pay(factory, policy_id: int, period: str, actor: Actor, tmp: Path, fail_every: int) -> tuple[int, int]:
    """Batch everything payable, export the bank file, return it with every n-th line failed."""
    with transaction(factory) as s:
        if not ids_in(s, policy_id, "payable"):
            return 0, 0
        batch = build_batch(s, policy_id, period, actor)
        bank_file = export_bank_file(s, batch.id, tmp / f"bank-{period}.xlsx")
        batch_id = batch.id
    sent = pd.read_excel(bank_file, dtype=str, engine="calamine")
    status = ["失败" if fail_every and (i + 1) % fail_every == 0 else "成功" for i in range(len(sent))]
    back = pd.DataFrame({"理赔编号": sent["理赔编号"], "状态": status,
                         "原因": ["账户冻结" if st == "失败" else "" for st in status]})
    back.to_csv(tmp / f"return-{period}.csv", index=False, encoding="utf-8-sig")
    with transaction(factory) as s:
        result = import_bank_return(s, batch_id, tmp / f"return-{period}.csv", actor)
    return result["paid"], result["failed"]


@pytest.mark.slow
def test_a_scripted_policy_year(db, tmp_path):
    _, factory = db
    county = tmp_path / "county"
    synth_county(county, 2500, seed=11)
    product = load_product("fangpinbao-weixian-2025")
    persons, households = load_persons(county / "persons.csv"), load_households(county / "households.csv")
    villages = sorted(households["village_code"].unique())
    with transaction(factory) as s:
        version = register_product(s, product)
        policy = create_policy(s, version, framed_heads=2500, settlement_rule={"type": "rollover"})
        store_roster(s, persons, households)
        users = {
            "insurer": create_user(s, "ins", "理赔员", "insurer_adjudicator", approval_limit=Decimal("3000.00")),
            "supervisor": create_user(s, "sup", "理赔主管", "insurer_supervisor"),
            "clerk": create_user(s, "clerk", "村文书", "village_clerk", villages=villages),
            "town": create_user(s, "town", "乡镇审核", "township_reviewer", villages=villages),
            "county": create_user(s, "county", "县乡村振兴局", "county_reviewer"),
        }
        s.flush()
        actors = {k: actor_of(u) for k, u in users.items()}
        policy_id = policy.id
        premium = policy.premium_total  # 2,500 heads × 50 yuan = 125,000.00
        assert premium == Decimal("125000.00")
        record_premium(s, policy_id, "premium_due", premium)
        record_premium(s, policy_id, "premium_received", premium)

    objected = adjusted = reversed_claim = None
    for month in range(1, 13):
        for dept, path in month_files(county, month):
            import_report(factory, policy_id, dept, path, actor=actors["insurer"], file_name=f"{dept}/{path.name}",
                          period=f"2025-{month:02d}")
        review_and_file(factory, policy_id, actors)
        posted_on = dt.date(2025, month, 28)
        notices = post_all(factory, policy_id, actors["clerk"], posted_on)
        if month == 3 and notices:
            # an objection on one claim: it goes back to investigation and is re-verified at a lower amount
            with transaction(factory) as s:
                claim = s.scalars(select(Claim).where(Claim.notice_id == notices[0])).first()
                record_objection(s, claim.id, actors["clerk"], "邻居反映该户已获其他保险赔付")
                objected = claim.id
            with transaction(factory) as s:
                adj.bulk(s, [objected], "reinvestigate", actors["insurer"])
                claim = s.get(Claim, objected)
                adjusted = (claim.amount - Decimal("100.00")).quantize(Decimal("0.01"))
                adj.verify(s, objected, actors["supervisor"], expected_version=claim.version, amount=adjusted,
                           reason_code="other_insurance")
            for action, who in FORWARD[1:]:
                with transaction(factory) as s:
                    adj.bulk(s, [objected], action, actors[who])
            with transaction(factory) as s:
                village = s.get(Claim, objected).village_code
                post_notice(s, policy_id, village, actors["clerk"], posted_on=dt.date(2025, 4, 2))
        # day 10 after posting: still on notice; day 11: payable
        with transaction(factory) as s:
            posted = list(s.scalars(select(Claim.id).where(Claim.notice_id.in_(notices), Claim.state == "on_notice")))
            close_due(s, today=posted_on + dt.timedelta(days=10))
            assert set(s.scalars(select(Claim.state).where(Claim.id.in_(posted)))) <= {"on_notice"}
            close_due(s, today=posted_on + dt.timedelta(days=11))
            assert set(s.scalars(select(Claim.state).where(Claim.id.in_(posted)))) <= {"payable"}
            if month == 3:  # the re-posted claim: its own full period from 04-02
                close_due(s, today=dt.date(2025, 4, 12))
                assert s.get(Claim, objected).state == "on_notice"
                close_due(s, today=dt.date(2025, 4, 13))
                assert s.get(Claim, objected).state == "payable"
        pay(factory, policy_id, f"2025-{month:02d}", actors["insurer"], tmp_path, fail_every=5)
        if month == 6:
            with transaction(factory) as s:
                reversed_claim = s.scalars(select(Claim.id).where(Claim.policy_id == policy_id, Claim.state == "paid")
                                           .order_by(Claim.id)).first()
                reverse_claim(s, reversed_claim, actors["supervisor"], "calculation_error", note="重复计费")
                # a correction after payment is a reversal plus a new claim: recompute that household now
                recompute(s, policy_id, [s.get(Claim, reversed_claim).household_no])
    # the failures of December, paid in a final batch with no failures
    assert pay(factory, policy_id, "2026-01", actors["insurer"], tmp_path, fail_every=0)[1] == 0

    with factory() as s:
        states = dict(s.execute(select(Claim.state, func.count()).where(Claim.policy_id == policy_id)
                                .group_by(Claim.state)).all())
        # the reversal's unit got a new computed claim on the next import ("reversal plus a new claim"),
        # which went through the cycle too: nothing is left half-way
        assert set(states) <= {"paid", "rejected", "reversed"}, states
        assert states.get("reversed") == 1 and states["paid"] > 20
        assert objected is not None and s.get(Claim, objected).amount == adjusted

        # failed bank lines went back to payable and were paid in a later batch
        failed = list(s.scalars(select(PayoutLine.claim_id).where(PayoutLine.status == "failed")))
        assert failed and {current for current in s.scalars(select(Claim.state).where(Claim.id.in_(failed)))} <= {
            "paid", "reversed"}
        for claim_id in failed:
            assert s.scalar(select(func.count()).select_from(PayoutLine).where(
                PayoutLine.claim_id == claim_id, PayoutLine.status == "paid")) == 1

        # fund: balance = premiums − claims paid + reversals, to the fen, reconciled with the bank lines
        paid_lines = s.scalar(select(func.coalesce(func.sum(PayoutLine.amount), 0)).where(PayoutLine.status == "paid"))
        reversed_amount = s.get(Claim, reversed_claim).amount
        summary = fund_summary(s, policy_id)
        assert Decimal(paid_lines) == summary["claims_paid"]
        assert summary["reversals"] == reversed_amount
        assert summary["balance"] == premium - Decimal(paid_lines) + reversed_amount
        # paid lines = the paid claims' amounts; every batch total = the sum of its lines
        paid_claims = s.scalar(select(func.sum(Claim.amount)).where(Claim.policy_id == policy_id,
                                                                     Claim.state.in_(["paid", "reversed"])))
        assert Decimal(paid_claims) == Decimal(paid_lines)
        for batch in s.scalars(select(PayoutBatch)):
            lines = s.scalar(select(func.sum(PayoutLine.amount)).where(PayoutLine.batch_id == batch.id))
            assert batch.total == Decimal(lines)
        # each paid claim's last notice showed exactly the amount paid
        for claim in s.scalars(select(Claim).where(Claim.state == "paid")):
            shown = s.scalar(select(NoticeLine.amount).where(NoticeLine.claim_id == claim.id)
                             .order_by(NoticeLine.notice_id.desc()).limit(1))
            assert shown == claim.amount
        assert s.scalar(select(func.count()).select_from(Notice)) >= 12

        # history: every claim's events form an unbroken chain from compute to its current state
        events = pd.DataFrame(s.execute(select(ClaimEvent.claim_id, ClaimEvent.id, ClaimEvent.action,
                                               ClaimEvent.from_state, ClaimEvent.to_state)).all(),
                              columns=["claim_id", "id", "action", "from_state", "to_state"]).sort_values("id")
        current = dict(s.execute(select(Claim.id, Claim.state)).all())
        for claim_id, ev in events.groupby("claim_id"):
            assert ev["action"].iloc[0] == "compute", claim_id
            assert (ev["from_state"].iloc[1:].to_numpy() == ev["to_state"].iloc[:-1].to_numpy()).all(), claim_id
            assert ev["to_state"].iloc[-1] == current[claim_id]
            if current[claim_id] == "paid":
                for step in ("start_investigation", "village_review", "township_review", "file", "post_notice",
                             "notice_ended", "add_to_batch", "bank_paid"):
                    assert step in set(ev["action"]), (claim_id, step)
        assert set(current) == set(events["claim_id"])

        # what was paid per unit and line equals one pure yearly engine run on the same files
        # (except the objected claim, re-verified 100.00 lower, and the reversed one, paid twice then reversed once)
        reports = {d: [read_report(p, d, file_name=f"{d}/{p.name}").rows for p in sorted((county / d).glob("*.csv"))]
                   for d in DEPARTMENTS}
        yearly = run_calculation(product, persons, households, reports).claims
        want = yearly[yearly["entitlement"] > 0].set_index(["line_id", "unit_id"])["entitlement"]
        got_rows = s.execute(select(Claim.line_id, Claim.unit_id, Claim.amount, Claim.id)
                             .where(Claim.state == "paid")).all()
        got = pd.DataFrame(got_rows, columns=["line_id", "unit_id", "amount", "id"])
        special = {(c.line_id, c.unit_id) for c in (s.get(Claim, objected), s.get(Claim, reversed_claim))}
        got_fen = got.assign(fen=(got["amount"].map(Decimal) * 100).astype("int64")).groupby(["line_id", "unit_id"])["fen"].sum()
        keys = [k for k in want.index if k not in special]
        assert len(keys) > 20
        assert {k: int(got_fen.get(k, 0)) for k in keys} == {k: int(want[k]) for k in keys}
