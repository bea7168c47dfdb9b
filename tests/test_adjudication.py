"""Adjudication on SQLite and PostgreSQL: verify with coded adjustments, maker-checker above the approval
limit, scoped bulk reviews, rejection from several states, refusals that change nothing, and two
concurrent verifies of one claim (exactly one wins)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from db_factories import add_policy
from db_factories import claim as claim_row
from sqlalchemy import func, select

from claims.lifecycle.adjudication import AuthorityError, approve, bulk, reject, return_to_investigation, verify
from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim, ClaimEvent, User, UserCounty, UserVillage
from claims.lifecycle.scope import ScopeError
from claims.lifecycle.transitions import Actor, ConflictError, advance
from claims.lifecycle.workflow import TransitionError

V1, V2, V_OTHER_TOWN = "130434100200", "130434100201", "130434200300"


def seed(factory, amounts: list[str], villages: list[str] | None = None) -> tuple[dict[str, Actor], list[int]]:
    """A policy, staff users (with village scopes) and claims in state ``computed``."""
    villages = villages or [V1] * len(amounts)
    with transaction(factory) as s:
        pv, pol = add_policy(s)
        users = {
            "maker": User(username="maker", name="理赔员甲", role="insurer_adjudicator", approval_limit=Decimal("5000.00")),
            "small": User(username="small", name="理赔员乙", role="insurer_adjudicator", approval_limit=Decimal("1000.00")),
            "nolimit": User(username="nolimit", name="理赔员丙", role="insurer_adjudicator", approval_limit=None),
            "super": User(username="super", name="主管", role="insurer_supervisor", approval_limit=None),
            "clerk": User(username="clerk", name="村文书", role="village_clerk"),
            "town": User(username="town", name="乡镇审核", role="township_reviewer"),
            "county": User(username="county", name="县审核", role="county_reviewer"),
        }
        s.add_all(users.values())
        s.flush()
        s.add_all([UserVillage(user_id=users["clerk"].id, village_code=V1),
                   UserVillage(user_id=users["town"].id, village_code=V1)])
        s.add_all(UserCounty(user_id=u.id, county=pol.county) for u in users.values())  # they serve its county
        s.add_all(claim_row(pv, pol, i, a, village_code=v) for i, (a, v) in enumerate(zip(amounts, villages)))
        s.flush()
        actors = {k: Actor.of(u) for k, u in users.items()}
        return actors, list(s.scalars(select(Claim.id).order_by(Claim.id)))


def snapshot(factory):
    with factory() as s:
        claims = s.execute(select(Claim.id, Claim.state, Claim.version, Claim.amount, Claim.adjustment_reason,
                                  Claim.proposed_amount, Claim.proposed_by).order_by(Claim.id)).all()
        return claims, s.scalar(select(func.count()).select_from(ClaimEvent))


def investigate(factory, ids, actor):
    with transaction(factory) as s:
        bulk(s, ids, "start_investigation", actor)


def claim(factory, claim_id) -> Claim:
    with factory() as s:
        return s.get(Claim, claim_id)


def test_verify_within_limit(db):
    _, factory = db
    a, ids = seed(factory, ["800.00"])
    investigate(factory, ids, a["maker"])
    with transaction(factory) as s:
        assert verify(s, ids[0], a["maker"], expected_version=2) == "verified"
    c = claim(factory, ids[0])
    assert (c.state, c.amount, c.adjustment_reason, c.version) == ("verified", Decimal("800.00"), None, 3)


def test_adjusted_amount_needs_a_coded_reason_and_is_recorded(db):
    _, factory = db
    a, ids = seed(factory, ["800.00"])
    investigate(factory, ids, a["maker"])
    before = snapshot(factory)
    with pytest.raises(ValueError, match="adjustment reason code is required"), transaction(factory) as s:
        verify(s, ids[0], a["maker"], expected_version=2, amount=Decimal("600.00"))
    with pytest.raises(ValueError, match="unknown adjustment reason"), transaction(factory) as s:
        verify(s, ids[0], a["maker"], expected_version=2, amount=Decimal("600.00"), reason_code="whim")
    assert snapshot(factory) == before
    with transaction(factory) as s:
        verify(s, ids[0], a["maker"], expected_version=2, amount=Decimal("600.00"), reason_code="duplicate_bill",
               note="两张票据重复")
    c = claim(factory, ids[0])
    assert (c.state, c.amount, c.computed_amount, c.adjustment_reason) == (
        "verified", Decimal("600.00"), Decimal("800.00"), "duplicate_bill")
    with factory() as s:
        e = s.scalars(select(ClaimEvent).where(ClaimEvent.action == "verify")).one()
        assert (e.amount_before, e.amount_after, e.reason_code, e.actor_id) == (
            Decimal("800.00"), Decimal("600.00"), "duplicate_bill", a["maker"].id)


def test_above_limit_needs_a_second_insurer(db):
    _, factory = db
    a, ids = seed(factory, ["800.00"])
    investigate(factory, ids, a["maker"])
    with transaction(factory) as s:
        state = verify(s, ids[0], a["maker"], expected_version=2, amount=Decimal("12000.00"),
                       reason_code="calculation_error", note="漏计住院票据")  # above the entitlement: a note
    assert state == "awaiting_approval"
    c = claim(factory, ids[0])
    assert (c.state, c.amount, c.proposed_amount, c.proposed_by) == (
        "awaiting_approval", Decimal("800.00"), Decimal("12000.00"), a["maker"].id)
    before = snapshot(factory)
    with pytest.raises(AuthorityError, match="may not approve their own"), transaction(factory) as s:
        approve(s, ids[0], a["maker"], expected_version=3)
    with pytest.raises(AuthorityError, match="below the proposed amount"), transaction(factory) as s:
        approve(s, ids[0], a["small"], expected_version=3)
    with pytest.raises(AuthorityError, match="no approval limit"), transaction(factory) as s:
        approve(s, ids[0], a["nolimit"], expected_version=3)
    with pytest.raises(TransitionError, match="role 'county_reviewer' may not 'approve'"), transaction(factory) as s:
        approve(s, ids[0], a["county"], expected_version=3)
    assert snapshot(factory) == before
    with transaction(factory) as s:
        approve(s, ids[0], a["super"], expected_version=3)
    c = claim(factory, ids[0])
    assert (c.state, c.amount, c.adjustment_reason, c.proposed_amount, c.proposed_by) == (
        "verified", Decimal("12000.00"), "calculation_error", None, None)
    with factory() as s:
        events = s.execute(select(ClaimEvent.action, ClaimEvent.actor_id, ClaimEvent.amount_before,
                                  ClaimEvent.amount_after).order_by(ClaimEvent.id)).all()
    assert events[1:] == [("verify_above_limit", a["maker"].id, Decimal("800.00"), Decimal("800.00")),
                          ("approve", a["super"].id, Decimal("800.00"), Decimal("12000.00"))]


def test_computed_amount_above_limit_also_needs_a_checker_and_can_be_returned(db):
    _, factory = db
    a, ids = seed(factory, ["3000.00"])
    investigate(factory, ids, a["small"])
    with transaction(factory) as s:
        assert verify(s, ids[0], a["small"], expected_version=2) == "awaiting_approval"
    with transaction(factory) as s:
        return_to_investigation(s, ids[0], a["maker"], expected_version=3, note="补充材料")
    c = claim(factory, ids[0])
    assert (c.state, c.proposed_amount, c.proposed_by, c.amount) == ("investigating", None, None, Decimal("3000.00"))
    with transaction(factory) as s:
        assert verify(s, ids[0], a["maker"], expected_version=4) == "verified"


def test_adjudicator_without_limit_may_not_verify(db):
    _, factory = db
    a, ids = seed(factory, ["10.00", "45000.00"])
    investigate(factory, ids, a["maker"])
    before = snapshot(factory)
    with pytest.raises(AuthorityError, match="no approval limit"), transaction(factory) as s:
        verify(s, ids[0], a["nolimit"], expected_version=2)
    assert snapshot(factory) == before
    with transaction(factory) as s:  # a supervisor with no limit is unlimited (up to the entitlement)
        assert verify(s, ids[1], a["super"], expected_version=2) == "verified"


def test_invalid_transitions_are_refused_and_change_nothing(db):
    _, factory = db
    a, ids = seed(factory, ["100.00", "200.00", "300.00"], [V1, V1, V_OTHER_TOWN])
    before = snapshot(factory)
    cases = [
        (lambda s: verify(s, ids[0], a["maker"], expected_version=1), ConflictError, "not in state 'investigating'"),
        (lambda s: verify(s, ids[0], a["clerk"], expected_version=1), TransitionError, "role 'village_clerk' may not"),
        (lambda s: bulk(s, ids, "start_investigation", a["clerk"]), TransitionError, "may not 'start_investigation'"),
        (lambda s: bulk(s, ids, "village_review", a["clerk"]), ScopeError, "outside your villages"),
        (lambda s: bulk(s, ids[:2], "village_review", a["clerk"]), ConflictError, "not in state 'verified'"),
        (lambda s: bulk(s, ids, "verify", a["maker"]), TransitionError, "not a bulk action"),
        (lambda s: bulk(s, ids, "file", a["county"]), ConflictError, "not in state 'township_reviewed'"),
        (lambda s: reject(s, ids, a["clerk"], "not_eligible"), TransitionError, "may not 'reject'"),
        (lambda s: reject(s, ids, a["county"], "bored"), ValueError, "unknown rejection reason"),
        (lambda s: reject(s, ids, a["county"], "other"), ValueError, "needs a note"),
        (lambda s: approve(s, ids[0], a["super"], expected_version=1), ConflictError, "awaiting_approval"),
    ]
    for action, error, message in cases:
        with pytest.raises(error, match=message), transaction(factory) as s:
            action(s)
        assert snapshot(factory) == before, message
    # township scope: the reviewer of township 130434100 may not touch a claim of 130434200
    investigate(factory, ids, a["maker"])
    with transaction(factory) as s:
        for i in ids:
            verify(s, i, a["maker"], expected_version=2)
    with transaction(factory) as s:
        advance(s, ids, "verified", "village_review", Actor(id=None, role="village_clerk"))
    before = snapshot(factory)
    with pytest.raises(ScopeError, match="outside your townships") as info, transaction(factory) as s:
        bulk(s, ids, "township_review", a["town"])
    assert info.value.claim_ids == [ids[2]]
    assert snapshot(factory) == before
    with transaction(factory) as s:
        assert bulk(s, ids[:2], "township_review", a["town"]) == 2


def test_concurrent_verifies_exactly_one_wins(db):
    _, factory = db
    a, ids = seed(factory, ["500.00"])
    investigate(factory, ids, a["maker"])
    first_done, results = threading.Event(), {}

    def first():
        try:
            with transaction(factory) as s:
                verify(s, ids[0], a["maker"], expected_version=2, amount=Decimal("400.00"), reason_code="duplicate_bill")
                first_done.set()
                threading.Event().wait(0.5)  # hold the transaction open while the second one tries
            results["first"] = "won"
        except Exception as exc:  # pragma: no cover - reported below
            first_done.set()
            results["first"] = exc

    def second():
        first_done.wait(10)
        try:
            with transaction(factory) as s:  # two real connections; SQLite queues at BEGIN IMMEDIATE
                verify(s, ids[0], a["super"], expected_version=2, amount=Decimal("450.00"), reason_code="other")
            results["second"] = "won"
        except ConflictError as exc:
            results["second"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["first"] == "won"
    assert isinstance(results["second"], ConflictError)
    c = claim(factory, ids[0])
    assert (c.amount, c.version, c.adjustment_reason) == (Decimal("400.00"), 3, "duplicate_bill")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(ClaimEvent).where(ClaimEvent.action == "verify")) == 1


def test_concurrent_verifies_started_together(db):
    _, factory = db
    a, ids = seed(factory, ["500.00"])
    investigate(factory, ids, a["maker"])
    barrier, outcomes = threading.Barrier(2), []

    def run(actor, amount):
        barrier.wait(10)
        try:
            with transaction(factory) as s:
                verify(s, ids[0], actor, expected_version=2, amount=Decimal(amount), reason_code="other")
            outcomes.append("won")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=run, args=(a["maker"], "100.00")),
               threading.Thread(target=run, args=(a["super"], "200.00"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "won"]
    assert claim(factory, ids[0]).version == 3


def test_reject_from_several_states_at_once(db):
    _, factory = db
    a, ids = seed(factory, ["100.00"] * 4)
    investigate(factory, ids[1:], a["maker"])
    with transaction(factory) as s:
        verify(s, ids[2], a["maker"], expected_version=2)
        verify(s, ids[3], a["small"], expected_version=2, amount=Decimal("2000.00"), reason_code="calculation_error",
               note="重算")
    with transaction(factory) as s:
        assert reject(s, ids, a["county"], "fraud_suspected", note="经查属实") == 4
    with factory() as s:
        assert set(s.scalars(select(Claim.state))) == {"rejected"}
        froms = s.execute(select(ClaimEvent.claim_id, ClaimEvent.from_state, ClaimEvent.reason_code)
                          .where(ClaimEvent.action == "reject").order_by(ClaimEvent.claim_id)).all()
    assert froms == [(ids[0], "computed", "fraud_suspected"), (ids[1], "investigating", "fraud_suspected"),
                     (ids[2], "verified", "fraud_suspected"), (ids[3], "awaiting_approval", "fraud_suspected")]


def test_reject_is_all_or_nothing(db):
    _, factory = db
    a, ids = seed(factory, ["100.00"] * 3)
    investigate(factory, ids[:1], a["maker"])
    with transaction(factory) as s:
        reject(s, ids[2:], a["county"], "not_eligible")
    before = snapshot(factory)
    with pytest.raises(ConflictError) as info, transaction(factory) as s:
        reject(s, ids, a["county"], "not_eligible")
    assert info.value.claim_ids == [ids[2]]
    assert snapshot(factory) == before


def test_history_complete_from_computed_to_filed(db):
    _, factory = db
    a, ids = seed(factory, ["800.00", "900.00"])
    with transaction(factory) as s:
        bulk(s, ids, "start_investigation", a["maker"])
        verify(s, ids[0], a["maker"], expected_version=2, amount=Decimal("750.00"), reason_code="non_compliant_items")
        verify(s, ids[1], a["maker"], expected_version=2)
    for action, actor in [("village_review", a["clerk"]), ("township_review", a["town"]), ("file", a["county"])]:
        with transaction(factory) as s:
            assert bulk(s, ids, action, actor) == 2
    with factory() as s:
        history = s.execute(select(ClaimEvent.from_state, ClaimEvent.to_state, ClaimEvent.action, ClaimEvent.role,
                                   ClaimEvent.amount_after)
                            .where(ClaimEvent.claim_id == ids[0]).order_by(ClaimEvent.id)).all()
        assert s.get(Claim, ids[0]).state == "filed"
    assert history == [
        ("computed", "investigating", "start_investigation", "insurer_adjudicator", Decimal("800.00")),
        ("investigating", "verified", "verify", "insurer_adjudicator", Decimal("750.00")),
        ("verified", "village_reviewed", "village_review", "village_clerk", Decimal("750.00")),
        ("village_reviewed", "township_reviewed", "township_review", "township_reviewer", Decimal("750.00")),
        ("township_reviewed", "filed", "file", "county_reviewer", Decimal("750.00")),
    ]
