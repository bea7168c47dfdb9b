"""The claim workflow written out by hand as a matrix (state × action × role → next state or refusal),
checked cell by cell against :func:`claims.lifecycle.workflow.next_state` and :data:`~claims.lifecycle.workflow.TRANSITIONS`,
against :data:`~claims.lifecycle.workflow.ALLOWED_PAIRS`, and against the database's ``allowed_transitions`` rows
and its state-guard trigger (SQLite and PostgreSQL).

The matrix is a second, independent statement of the workflow, not derived from the code: a change of
the workflow must change it too.  DESIGN.md §2: "An objection during the notice puts that claim on hold
and back to investigation" — so a disputed claim must still be rejectable (issue 11 planted bug: dropping
``disputed`` from the states a claim can be rejected in survived every test before this file).
"""

from __future__ import annotations

import itertools

import pytest
from db_factories import add_policy, claim
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from claims.lifecycle.database import transaction
from claims.lifecycle.models import AllowedTransition, Claim
from claims.lifecycle.users import ROLES
from claims.lifecycle.workflow import (
    ACTIONS,
    ALLOWED_PAIRS,
    ROLE_GROUPS,
    STATES,
    TRANSITIONS,
    TransitionError,
    next_state,
)

ALL_STATES = ["computed", "investigating", "awaiting_approval", "verified", "village_reviewed", "township_reviewed",
              "filed", "on_notice", "disputed", "payable", "in_payout", "paid", "rejected", "reversed"]
ALL_ACTIONS = ["start_investigation", "verify", "verify_above_limit", "approve", "return", "village_review",
               "township_review", "file", "post_notice", "notice_ended", "release_without_notice", "object",
               "reinvestigate", "add_to_batch", "bank_paid", "bank_failed", "reverse", "reject", "withdraw", "compute",
               "recompute"]
# column order of the matrix below
ROLE_COLUMNS = ["insurer_adjudicator", "insurer_supervisor", "county_reviewer", "township_reviewer", "village_clerk",
                "system", "actuary", "admin", "city_viewer"]

# Every (state, action) that is allowed to some role, the state it leads to, and per role (columns in
# ROLE_COLUMNS order: adj = adjudicator, sup = supervisor, cty = county, twp = township, vil = village clerk,
# sys = system, act = actuary, adm = admin, cit = city viewer:
# read-only, issue 13) Y = allowed, . = refused (wrong role).
# Every (state, action) NOT listed is refused for every role (wrong state).
MATRIX_TEXT = """
state              action               next state         adj sup cty twp vil sys act adm cit
computed           start_investigation  investigating       Y   Y   .   .   .   .   .   .   .
computed           withdraw             rejected            .   .   .   .   .   Y   .   .   .
computed           reject               rejected            Y   Y   Y   .   .   .   .   .   .
investigating      verify               verified            Y   Y   .   .   .   .   .   .   .
investigating      verify_above_limit   awaiting_approval   Y   Y   .   .   .   .   .   .   .
investigating      reject               rejected            Y   Y   Y   .   .   .   .   .   .
awaiting_approval  approve              verified            Y   Y   .   .   .   .   .   .   .
awaiting_approval  return               investigating       Y   Y   .   .   .   .   .   .   .
awaiting_approval  reject               rejected            Y   Y   Y   .   .   .   .   .   .
verified           village_review       village_reviewed    .   .   .   .   Y   .   .   .   .
verified           reject               rejected            Y   Y   Y   .   .   .   .   .   .
village_reviewed   township_review      township_reviewed   .   .   .   Y   .   .   .   .   .
village_reviewed   reject               rejected            Y   Y   Y   .   .   .   .   .   .
township_reviewed  file                 filed               .   .   Y   .   .   .   .   .   .
township_reviewed  reject               rejected            Y   Y   Y   .   .   .   .   .   .
filed              post_notice          on_notice           .   .   Y   .   Y   .   .   .   .
filed              release_without_notice payable           .   .   .   .   .   Y   .   .   .
filed              reject               rejected            Y   Y   Y   .   .   .   .   .   .
on_notice          notice_ended         payable             .   .   .   .   .   Y   .   .   .
on_notice          object               disputed            .   .   .   .   Y   .   .   .   .
on_notice          reject               rejected            Y   Y   Y   .   .   .   .   .   .
disputed           reinvestigate        investigating       Y   Y   .   .   .   .   .   .   .
disputed           reject               rejected            Y   Y   Y   .   .   .   .   .   .
payable            add_to_batch         in_payout           Y   Y   .   .   .   .   .   .   .
payable            reject               rejected            Y   Y   Y   .   .   .   .   .   .
in_payout          bank_paid            paid                Y   Y   .   .   .   .   .   .   .
in_payout          bank_failed          payable             Y   Y   .   .   .   .   .   .   .
paid               reverse              reversed            .   Y   .   .   .   .   .   .   .
"""


def _parse_matrix() -> tuple[dict[tuple[str, str], str], dict[tuple[str, str, str], str]]:
    """(state, action) → next state for the listed rows, and (state, action, role) → next for the Y cells."""
    lines = [line.split() for line in MATRIX_TEXT.strip().splitlines()[1:]]
    listed: dict[tuple[str, str], str] = {}
    allowed: dict[tuple[str, str, str], str] = {}
    for state, action, to, *marks in lines:
        assert len(marks) == len(ROLE_COLUMNS) and set(marks) <= {"Y", "."}, (state, action)
        assert (state, action) not in listed, f"row written twice: {state} {action}"
        listed[state, action] = to
        allowed.update({(state, action, role): to for role, mark in zip(ROLE_COLUMNS, marks) if mark == "Y"})
    return listed, allowed


LISTED, ALLOWED = _parse_matrix()
# 28 rows: 18 forward/back moves + reject from each of the 10 pre-payment states; 27 distinct (from, to)
# pairs, because computed → rejected is reached by two actions (withdraw, reject); filed → payable is
# release_without_notice (a product whose document says notice_required: false)
MATRIX_PAIRS = {(state, to) for (state, _), to in LISTED.items()}


def test_the_matrix_covers_every_state_action_and_role_the_code_knows():
    assert ALL_STATES == list(STATES)
    assert ALL_ACTIONS == list(ACTIONS)
    assert sorted(ROLE_COLUMNS) == sorted(ROLES)
    assert len(LISTED) == 28 and len(MATRIX_PAIRS) == 27
    assert {s for s, _ in LISTED} | set(LISTED.values()) <= set(ALL_STATES)
    assert {a for _, a in LISTED} <= set(ALL_ACTIONS)


@pytest.mark.parametrize("state", ALL_STATES)
def test_every_cell_of_the_matrix(state):
    """14 states × 20 actions × 8 roles = 2,240 cells: the next state, or a refusal that says why."""
    for action, role in itertools.product(ALL_ACTIONS, ROLE_COLUMNS):
        cell = (state, action, role)
        if cell in ALLOWED:
            assert next_state(*cell) == ALLOWED[cell], cell
        elif (state, action) in LISTED:  # the action exists in this state, but not for this role
            with pytest.raises(TransitionError, match=f"role {role!r} may not {action!r}"):
                next_state(*cell)
        else:
            with pytest.raises(TransitionError, match=f"action {action!r} is not allowed in state {state!r}"):
                next_state(*cell)


def test_a_disputed_claim_can_be_rejected_by_the_insurer_or_the_county():
    # the planted bug, named: disputed missing from the reject states
    for role in ("insurer_adjudicator", "insurer_supervisor", "county_reviewer"):
        assert next_state("disputed", "reject", role) == "rejected"
    with pytest.raises(TransitionError, match="may not"):
        next_state("disputed", "reject", "village_clerk")


def test_a_refusal_in_the_wrong_state_lists_what_that_state_allows():
    # the matrix's rows for computed: start_investigation, withdraw, reject; for paid: reverse only
    with pytest.raises(TransitionError, match=r"\(allowed: reject, start_investigation, withdraw\)"):
        next_state("computed", "file", "county_reviewer")
    with pytest.raises(TransitionError, match=r"\(allowed: reverse\)"):
        next_state("paid", "reject", "insurer_supervisor")


def test_transitions_table_expanded_by_role_is_the_matrix():
    expanded = {(s, a, role): to for (s, a, group), to in TRANSITIONS.items() for role in ROLE_GROUPS[group]}
    assert expanded == ALLOWED
    assert {(s, a): to for (s, a, _), to in TRANSITIONS.items()} == LISTED


def test_allowed_pairs_are_the_matrix_pairs():
    assert set(ALLOWED_PAIRS) == MATRIX_PAIRS


def test_database_allowed_transitions_are_the_matrix_pairs(db):
    _, factory = db
    with factory() as s:
        rows = set(s.execute(select(AllowedTransition.from_state, AllowedTransition.to_state)).all())
    assert rows == MATRIX_PAIRS


def test_database_trigger_allows_exactly_the_matrix_pairs(db):
    """Bypassing the service: an UPDATE of claims.state from every state to every other state (14 × 13 =
    182 changes) succeeds exactly for the matrix's 27 pairs and is refused by the trigger otherwise."""
    _, factory = db
    with transaction(factory) as s:
        pv, pol = add_policy(s)
        s.add_all(claim(pv, pol, i, "100.00", state=state) for i, state in enumerate(ALL_STATES))
    with factory() as s:
        ids = dict(s.execute(select(Claim.state, Claim.id)).all())
        outcomes: dict[tuple[str, str], bool] = {}
        for src, dst in itertools.permutations(ALL_STATES, 2):
            savepoint = s.begin_nested()
            try:
                s.execute(text("UPDATE claims SET state = :dst WHERE id = :id"), {"dst": dst, "id": ids[src]})
            except (DBAPIError, IntegrityError) as exc:
                assert "invalid claim state transition" in str(exc), (src, dst, exc)
                outcomes[src, dst] = False
            else:
                outcomes[src, dst] = True
            savepoint.rollback()  # back to the claim's own state for the next target
        s.rollback()
    assert len(outcomes) == 182
    assert {pair for pair, done in outcomes.items() if done} == MATRIX_PAIRS


def test_a_stale_version_is_named_and_nothing_moves(db):
    """The service's guard beside the table: of two claims in the right state, the one whose version moved
    on is named in a bilingual message and neither claim moves."""
    from claims.lifecycle.transitions import Actor, ConflictError, advance

    _, factory = db
    insurer = Actor(id=None, role="insurer_adjudicator")
    with transaction(factory) as s:
        pv, pol = add_policy(s)
        s.add_all(claim(pv, pol, i, "100.00") for i in range(2))
    with factory() as s:
        ids = list(s.scalars(select(Claim.id).order_by(Claim.id)))
    with transaction(factory) as s:  # the first claim goes round once (three moves: version 1 → 4), back to investigating
        advance(s, ids[:1], "computed", "start_investigation", insurer)
        advance(s, ids[:1], "investigating", "verify_above_limit", insurer)
        advance(s, ids[:1], "awaiting_approval", "return", insurer)
    with transaction(factory) as s:
        advance(s, ids[1:], "computed", "start_investigation", insurer)  # version 2
    with pytest.raises(ConflictError, match=r"1 笔理赔已被他人修改.* / 1 claim\(s\) changed by someone else or not in "
                                            r"state 'investigating'; nothing was changed: \[" + str(ids[0]) + r"\]") as info:
        with transaction(factory) as s:
            advance(s, ids, "investigating", "verify", insurer, expected_versions=[2, 2])
    assert info.value.claim_ids == [ids[0]]
    with factory() as s:
        assert list(s.scalars(select(Claim.state).order_by(Claim.id))) == ["investigating", "investigating"]
