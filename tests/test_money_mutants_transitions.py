"""Claim transitions the surviving mutants of docs/mutation.md showed no test checked (SQLite and
PostgreSQL: the db fixture runs each on both when RELIEF_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from test_notices import seed

from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim, ClaimEvent
from claims.lifecycle.transitions import ConflictError, advance


def test_a_claim_at_the_expected_version_but_not_in_the_named_state_is_not_moved(db):
    # claim 0 is payable at version v; a caller names the right version but the wrong state (paid → reverse):
    # the guard is "in from_state AND at the expected version", so nothing moves and no event is written
    _, factory = db
    sd = seed(factory, ("100.00", "50.00"), state="payable")
    with factory() as s:
        versions = [s.get(Claim, cid).version for cid in sd.claim_ids]
        events_before = len(s.scalars(select(ClaimEvent)).all())
    with transaction(factory) as s, pytest.raises(ConflictError) as info:
        advance(s, sd.claim_ids[:1], "paid", "reverse", sd.supervisor, reason_code="wrong_person",
                expected_versions=versions[:1])
    assert info.value.claim_ids == sd.claim_ids[:1]
    with factory() as s:
        assert [s.get(Claim, cid).state for cid in sd.claim_ids] == ["payable", "payable"]
        assert [s.get(Claim, cid).version for cid in sd.claim_ids] == versions
        assert len(s.scalars(select(ClaimEvent)).all()) == events_before


def test_each_moved_claim_gets_one_event_naming_the_actor_and_its_amount(db):
    # claims of 100.00 and 50.00, payable → in_payout by the insurer's adjudicator: one event each, with the
    # adjudicator's user id and role, the states, and the amount before and after (unchanged by a move)
    _, factory = db
    sd = seed(factory, ("100.00", "50.00"), state="payable")
    with transaction(factory) as s:
        assert advance(s, sd.claim_ids, "payable", "add_to_batch", sd.insurer, note="batch:test") == 2
    with factory() as s:
        events = s.scalars(select(ClaimEvent).where(ClaimEvent.action == "add_to_batch")
                           .order_by(ClaimEvent.claim_id)).all()
        assert [(e.claim_id, e.actor_id, e.role, e.from_state, e.to_state, e.amount_before, e.amount_after, e.note)
                for e in events] == [
            (sd.claim_ids[0], sd.insurer.id, "insurer_adjudicator", "payable", "in_payout", Decimal("100.00"),
             Decimal("100.00"), "batch:test"),
            (sd.claim_ids[1], sd.insurer.id, "insurer_adjudicator", "payable", "in_payout", Decimal("50.00"),
             Decimal("50.00"), "batch:test")]
