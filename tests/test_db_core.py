"""The persistence foundation on SQLite and PostgreSQL: migrations, exact money, guard triggers, set-based
transitions with their audit events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from db_factories import add_policy, claim
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim, ClaimEvent, User
from claims.lifecycle.transitions import INLINE_IDS, SYSTEM, Actor, ConflictError, advance
from claims.lifecycle.workflow import TransitionError


def seed_claims(factory, n: int, amount: str = "100.01") -> tuple[int, list[int]]:
    with transaction(factory) as s:
        pv, pol = add_policy(s)
        s.add(User(username="ins", name="理赔员", role="insurer_adjudicator", approval_limit=Decimal("5000.00")))
        s.add_all(claim(pv, pol, i, amount) for i in range(n))
        s.flush()
        ids = list(s.scalars(select(Claim.id).order_by(Claim.id)))
        return pol.id, ids


def test_money_is_exact_in_sql_sums(db):
    _, factory = db
    # 3 × 100.01 = 300.03 exactly (a REAL column would give 300.03000000000003 on SQLite)
    seed_claims(factory, 3)
    with factory() as s:
        total = s.scalar(select(func.sum(Claim.amount).cast(Claim.amount.type)))
        assert total == Decimal("300.03")
        assert s.scalar(select(Claim.amount).limit(1)) == Decimal("100.01")


def test_money_refuses_more_than_two_decimals(db):
    _, factory = db
    with pytest.raises(Exception, match="two decimals"), transaction(factory) as s:
        s.add(User(username="x", name="x", role="insurer_adjudicator", approval_limit=Decimal("1.001")))
        s.flush()


def test_advance_moves_claims_and_writes_one_event_each(db):
    _, factory = db
    _, ids = seed_claims(factory, 5)
    actor = Actor(id=1, role="insurer_adjudicator")
    with transaction(factory) as s:
        assert advance(s, ids, "computed", "start_investigation", actor, note="batch") == 5
    with factory() as s:
        assert set(s.scalars(select(Claim.state))) == {"investigating"}
        events = s.scalars(select(ClaimEvent).order_by(ClaimEvent.claim_id)).all()
        assert [(e.claim_id, e.from_state, e.to_state, e.action, e.role) for e in events] == [
            (i, "computed", "investigating", "start_investigation", "insurer_adjudicator") for i in ids]
        assert all(c.version == 2 for c in s.scalars(select(Claim)))


def test_wrong_role_or_state_is_refused_and_changes_nothing(db):
    _, factory = db
    _, ids = seed_claims(factory, 3)
    with pytest.raises(TransitionError, match="role 'village_clerk' may not 'start_investigation'"):
        with transaction(factory) as s:
            advance(s, ids, "computed", "start_investigation", Actor(id=None, role="village_clerk"))
    with pytest.raises(TransitionError, match="not allowed in state 'computed'"):
        with transaction(factory) as s:
            advance(s, ids, "computed", "file", Actor(id=None, role="county_reviewer"))
    # one of three already moved on: the batch is refused whole
    with transaction(factory) as s:
        advance(s, ids[:1], "computed", "start_investigation", Actor(id=1, role="insurer_adjudicator"))
    with pytest.raises(ConflictError) as info:
        with transaction(factory) as s:
            advance(s, ids, "computed", "start_investigation", Actor(id=1, role="insurer_adjudicator"))
    assert info.value.claim_ids == ids[:1]
    with factory() as s:
        assert [c.state for c in s.scalars(select(Claim).order_by(Claim.id))] == ["investigating", "computed", "computed"]
        assert s.scalar(select(func.count()).select_from(ClaimEvent)) == 1


def test_stale_version_loses(db):
    _, factory = db
    _, ids = seed_claims(factory, 1)
    insurer = Actor(id=1, role="insurer_adjudicator")
    with transaction(factory) as s:
        advance(s, ids, "computed", "start_investigation", insurer, expected_versions=[1])
    with pytest.raises(ConflictError):
        with transaction(factory) as s:
            advance(s, ids, "investigating", "verify", insurer, expected_versions=[1])  # version is 2 now


def test_database_refuses_an_invalid_state_change_and_audit_edits(db):
    engine, factory = db
    _, ids = seed_claims(factory, 1)
    with transaction(factory) as s:
        advance(s, ids, "computed", "start_investigation", Actor(id=1, role="insurer_adjudicator"))
    # computed → paid straight away, bypassing the service: the trigger refuses it
    with pytest.raises((DBAPIError, IntegrityError), match="invalid claim state transition"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE claims SET state = 'paid' WHERE id = :i"), {"i": ids[0]})
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE claim_events SET note = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM claim_events"))
    with factory() as s:
        assert s.scalar(select(Claim.state)) == "investigating"


def test_system_closes_notice_only(db):
    _, factory = db
    _, ids = seed_claims(factory, 1)
    with pytest.raises(TransitionError):
        with transaction(factory) as s:
            advance(s, ids, "computed", "start_investigation", SYSTEM)


@pytest.mark.parametrize("n", [INLINE_IDS, INLINE_IDS + 1], ids=["ids-in-statement", "ids-in-temp-table"])
def test_versions_guard_every_claim_on_both_paths_of_the_guard(db, n):
    # n claims at version 1; one of them named at version 2 (stale): nothing moves and that one is named;
    # then every claim at version 1 moves (n events, each claim at version 2)
    _, factory = db
    _, ids = seed_claims(factory, n)
    insurer = Actor(id=1, role="insurer_adjudicator")
    wrong = [1] * n
    wrong[n // 2] = 2
    with pytest.raises(ConflictError) as info, transaction(factory) as s:
        advance(s, ids, "computed", "start_investigation", insurer, expected_versions=wrong)
    assert info.value.claim_ids == [ids[n // 2]]
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(ClaimEvent)) == 0
    with transaction(factory) as s:
        assert advance(s, ids, "computed", "start_investigation", insurer, expected_versions=[1] * n) == n
    with factory() as s:
        assert set(s.scalars(select(Claim.version))) == {2}
        assert s.scalar(select(func.count()).select_from(ClaimEvent)) == n
