"""The queue's kept counts (claims.lifecycle.counts): reused while the claims are unchanged, never stale after
a claim is added or moves, never shared between databases."""

from __future__ import annotations

from db_factories import add_policy, claim
from sqlalchemy import func, select

from claims.lifecycle import counts
from claims.lifecycle.counts import count_claims
from claims.lifecycle.database import make_engine, session_factory, upgrade
from claims.lifecycle.models import Claim
from claims.lifecycle.transitions import Actor, advance

ADJUDICATOR = Actor(id=None, role="insurer_adjudicator")


def _by_state(state: str):
    return select(func.count()).select_from(Claim).where(Claim.state == state)


def _statements(engine) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_count_is_reused_until_a_claim_moves_or_is_added(db):
    engine, Session = db
    with Session.begin() as s:
        pv, pol = add_policy(s)
        s.add_all([claim(pv, pol, i, "100.00") for i in range(1, 4)])
    seen = _statements(engine)
    with Session() as s:
        assert count_claims(s, _by_state("computed")) == 3  # three claims computed
        counted = sum("count(" in q for q in seen)
        assert count_claims(s, _by_state("computed")) == 3
        assert sum("count(" in q for q in seen) == counted  # kept: no second count(*)
    with Session.begin() as s:  # one claim moves: its event raises the stamp
        first = s.scalar(select(Claim.id).order_by(Claim.id))
        assert advance(s, [first], "computed", "start_investigation", ADJUDICATOR) == 1
    with Session() as s:
        assert count_claims(s, _by_state("computed")) == 2  # 3 − 1 moved
        assert count_claims(s, _by_state("investigating")) == 1
    with Session.begin() as s:  # a new claim raises max(claims.id)
        s.add(claim(pv, pol, 9, "50.00"))
    with Session() as s:
        assert count_claims(s, _by_state("computed")) == 3  # 2 + 1 new


def test_a_kept_count_expires(db, monkeypatch):
    engine, Session = db
    with Session.begin() as s:
        pv, pol = add_policy(s)
        s.add(claim(pv, pol, 1, "100.00"))
    clock = [1000.0]
    monkeypatch.setattr(counts.time, "monotonic", lambda: clock[0])
    seen = _statements(engine)
    with Session() as s:
        assert count_claims(s, _by_state("computed")) == 1
        clock[0] += counts.KEEP_SECONDS + 1
        before = sum("count(" in q for q in seen)
        assert count_claims(s, _by_state("computed")) == 1
        assert sum("count(" in q for q in seen) == before + 1  # counted again after KEEP_SECONDS


def test_two_databases_never_share_a_count(tmp_path):
    """Same statement, same stamp (two claims and no event in each: (2, None)), different answers."""
    totals = []
    for name, states in (("a.db", ("computed", "computed")), ("b.db", ("computed", "rejected"))):
        url = f"sqlite:///{tmp_path / name}"
        upgrade(url)
        engine = make_engine(url)
        Session = session_factory(engine)
        with Session.begin() as s:
            pv, pol = add_policy(s)
            s.add_all([claim(pv, pol, i, "10.00", state=state) for i, state in enumerate(states, 1)])
        with Session() as s:
            assert counts.claims_stamp(s) == (2, None)
        with Session() as s:
            totals.append(count_claims(s, _by_state("computed")))
        engine.dispose()
    assert totals == [2, 1]


def _by_village(code: str):
    return select(func.count()).select_from(select(Claim.id).where(Claim.village_code == code).subquery())


def test_a_count_on_fixed_columns_survives_a_transition_but_not_a_new_claim(db):
    # claims in villages V1 (ids 1, 2) and V2 (id 3): a filter on the village (a fixed column) cannot change
    # when a claim moves, so it is kept across the transition; a state filter is recounted (3 − 1 = 2)
    engine, Session = db
    with Session.begin() as s:
        pv, pol = add_policy(s)
        rows = [claim(pv, pol, i, "100.00") for i in range(1, 4)]
        for row, code in zip(rows, ("130434100201", "130434100201", "130434100202")):
            row.village_code = code
        s.add_all(rows)
    seen = _statements(engine)
    with Session() as s:
        assert count_claims(s, _by_village("130434100201")) == 2
        assert count_claims(s, _by_state("computed")) == 3
    with Session.begin() as s:
        first = s.scalar(select(Claim.id).order_by(Claim.id))
        assert advance(s, [first], "computed", "start_investigation", ADJUDICATOR) == 1
    before = sum("count(" in q for q in seen)
    with Session() as s:
        assert count_claims(s, _by_village("130434100201")) == 2  # still two claims in V1
        assert sum("count(" in q for q in seen) == before  # kept: the move cannot change it
        assert count_claims(s, _by_state("computed")) == 2  # recounted: 3 − 1 moved
        assert sum("count(" in q for q in seen) == before + 1
    with Session.begin() as s:  # a new claim in V1 raises max(claims.id): recounted, 2 + 1
        extra = claim(pv, pol, 9, "50.00")
        extra.village_code = "130434100201"
        s.add(extra)
    with Session() as s:
        assert count_claims(s, _by_village("130434100201")) == 3


def test_which_statements_count_on_fixed_columns_only():
    assert counts.on_fixed_columns(_by_village("130434100201"))
    assert counts.on_fixed_columns(select(func.count()).select_from(Claim).where(Claim.policy_id.in_([1, 2])))
    assert not counts.on_fixed_columns(_by_state("computed"))
    assert not counts.on_fixed_columns(select(func.count()).select_from(Claim).where(Claim.amount >= 5))
    assert not counts.on_fixed_columns(select(func.count()).select_from(Claim).where(Claim.above_entitlement))
