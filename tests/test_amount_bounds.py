"""Manual amounts bounded (issue 11 item 5) on SQLite and PostgreSQL: a verified, proposed or approved amount
never exceeds the room left under any cap spanning the claim (refused naming the cap), and an amount above the
computed entitlement needs a reason other than "other", a note and a different supervisor's approval whatever
the maker's limit; the same rules through the API (422 problem+json) and the CLI.

Rooms are computed by hand in each case: room = cap − what the household's other committed claims hold.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pandas as pd
import pytest
from click.testing import CliRunner
from factories import pid
from sqlalchemy import func, select

from claims.engine.cap_room import cap_rooms
from claims.lifecycle.adjudication import (
    AuthorityError,
    CapExceededError,
    approve,
    return_to_investigation,
    room_left,
    verify,
)
from claims.lifecycle.api_tokens import issue_token
from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim, ClaimEvent
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.transitions import Actor
from claims.lifecycle.users import Operator, create_user, get_user
from flask_app import create_app
from flask_app import db as web_db
from flask_app.cli import relief
from products import load_product

WEIXIAN = "fangpinbao-weixian-2025"  # illness: "caps: {per_year: 50000}"; product "per_person_year: 100000"
FENGXIAN = "zhunongbao-fengxian-2025"
VILLAGE = "130434100200"
VICTIMS_TABLE = {"1": 50000, "2": 100000, "3": 120000}  # 凤县 团体人身意外: "one victim ≤ 50,000, two ≤ 100,000,
#                                                         three or more ≤ 120,000" (catalog comment, [S24])


def weixian_per_household(cap: int) -> dict:
    """魏县 with a per-household yearly cap (the catalog's is null)."""
    doc = copy.deepcopy(load_product(WEIXIAN).document)
    doc["code"], doc["caps"]["per_household_year"] = "FPB-TEST-HH", cap
    return doc


def fengxian(code: str, *, victims_on: str) -> dict:
    """凤县 助农保 with the victims table on each accident line (``"lines"``) or on one cover of both (``"cover"``)."""
    doc = copy.deepcopy(load_product(FENGXIAN).document)
    doc["code"] = code
    doc.pop("covers", None)
    for line in doc["lines"]:
        line.pop("household_cap_by_victims", None)
        if victims_on == "lines" and line["id"] in ("death", "disability"):
            line["household_cap_by_victims"] = dict(VICTIMS_TABLE)
    if victims_on == "cover":
        doc["covers"] = [{"id": "group_accident", "name": "团体人身意外", "lines": ["death", "disability"],
                          "caps": {"per_person_year": 50000, "household_cap_by_victims": dict(VICTIMS_TABLE)}}]
    return doc


def setup(session, document) -> tuple[int, int, dict[str, Actor]]:
    """(product version id, policy id, actors): the product, its policy and four insurer users."""
    version = register_product(session, load_product(document))
    policy = create_policy(session, version, 100)
    users = {"adj": ("insurer_adjudicator", "5000"), "adj2": ("insurer_adjudicator", "10000"),
             "sup1": ("insurer_supervisor", None), "sup2": ("insurer_supervisor", None)}
    actors = {name: Actor.of(create_user(session, name, name, role, approval_limit=limit))
              for name, (role, limit) in users.items()}
    return version.id, policy.id, actors


def add_claim(session, version_id: int, policy_id: int, line: str, unit: str, household: str, amount: str,
              state: str = "investigating", computed: str | None = None) -> int:
    """A claim as the engine left it (amount = computed), in ``state``."""
    peril = {"illness": "illness", "entry": "school_entry", "schooling": "schooling", "death": "accident_death",
             "disability": "accident_disability", "accident_medical": "accident_medical"}[line]
    computed_amount = Decimal(computed or amount)
    claim = Claim(policy_id=policy_id, product_version_id=version_id, line_id=line, peril=peril,
                  unit_type="person", unit_id=unit, household_no=household, village_code=VILLAGE, state=state,
                  base=computed_amount, entitlement=computed_amount, paid_before=Decimal("0.00"),
                  computed_amount=computed_amount, amount=Decimal(amount), trace="t")
    session.add(claim)
    session.flush()
    return claim.id


def snapshot(factory):
    with factory() as s:
        claims = s.execute(select(Claim.id, Claim.state, Claim.version, Claim.amount, Claim.proposed_amount,
                                  Claim.above_entitlement).order_by(Claim.id)).all()
        return claims, s.scalar(select(func.count()).select_from(ClaimEvent))


def claim_of(factory, claim_id: int) -> Claim:
    with factory() as s:
        return s.get(Claim, claim_id)


# ------------------------------------------------------------------------------------------- cap kinds

A, B, C = pid(1), pid(2), pid(3)

#: kind → (document, the household's other claims (line, unit, amount, state), the new claim (line, unit,
#: computed), the room by hand).  Every other claim is in household H1, as is the new one.
CAP_CASES = {
    # 50,000 per year − 45,000 already paid to A on illness = 5,000.00
    "line_per_year": (WEIXIAN, [("illness", A, "45000.00", "paid")], ("illness", A, "3000.00"), "5000.00"),
    # product 100,000 per person − (50,000 illness + 30,000 schooling paid to A) = 20,000.00 (entry has no own cap)
    "person_year": (WEIXIAN, [("illness", A, "50000.00", "paid"), ("schooling", A, "30000.00", "verified")],
                    ("entry", A, "2000.00"), "20000.00"),
    # 60,000 per household − 50,000 paid to A on illness = 10,000.00 for B (B's own line room is 50,000)
    "household_year": (weixian_per_household(60000), [("illness", A, "50000.00", "paid")],
                       ("illness", B, "8000.00"), "10000.00"),
    # accident_medical "household_per_year: 30000" − 25,000 paid to A = 5,000.00 for B
    "line_household": (fengxian("ZNB-TEST-LINES", victims_on="lines"), [("accident_medical", A, "25000.00", "paid")],
                       ("accident_medical", B, "3000.00"), "5000.00"),
    # death: A and B killed and paid 50,000 each; C is the third victim: 120,000 − 100,000 = 20,000.00
    "line_victims": (fengxian("ZNB-TEST-LINES", victims_on="lines"),
                     [("death", A, "50000.00", "paid"), ("death", B, "50000.00", "paid")], ("death", C, "20000.00"),
                     "20000.00"),
    # one cover for death + disability (acceptance 6): two deaths paid 50,000 each, C's grade-1 disability
    # computed at the 20,000 left: 120,000 − 100,000 = 20,000.00 (the disability line alone would allow 50,000)
    "cover_victims": (fengxian("ZNB-TEST-COVER", victims_on="cover"),
                      [("death", A, "50000.00", "paid"), ("death", B, "50000.00", "on_notice")],
                      ("disability", C, "20000.00"), "20000.00"),
    # cover per person 50,000: C's death was paid 35,000; C's disability room is 50,000 − 35,000 = 15,000.00
    "cover_person": (fengxian("ZNB-TEST-COVER", victims_on="cover"), [("death", C, "35000.00", "paid")],
                     ("disability", C, "10000.00"), "15000.00"),
}


@pytest.mark.parametrize("kind", list(CAP_CASES))
def test_verification_above_the_room_is_refused_naming_the_cap(db, kind):
    _, factory = db
    document, others, (line, unit, computed), room = CAP_CASES[kind]
    with transaction(factory) as s:
        version_id, policy_id, a = setup(s, document)
        for other_line, other_unit, amount, state in others:
            add_claim(s, version_id, policy_id, other_line, other_unit, "H1", amount, state)
        claim_id = add_claim(s, version_id, policy_id, line, unit, "H1", computed)
    before = snapshot(factory)
    over = Decimal(room) + Decimal("0.01")
    with pytest.raises(CapExceededError) as info, transaction(factory) as s:
        verify(s, claim_id, a["sup1"], expected_version=1, amount=over, reason_code="calculation_error", note="复核")
    assert info.value.cap.kind == kind
    assert f"剩余 {Decimal(room):,}" in str(info.value) and f"room left {Decimal(room):,}" in str(info.value)
    assert snapshot(factory) == before
    # exactly the room is accepted (above the entitlement it is proposed for a second supervisor)
    above = Decimal(room) > Decimal(computed)
    with transaction(factory) as s:
        assert verify(s, claim_id, a["sup1"], expected_version=1, amount=Decimal(room),
                      reason_code="calculation_error", note="复核") == ("awaiting_approval" if above else "verified")
    c = claim_of(factory, claim_id)
    assert (c.proposed_amount if above else c.amount) == Decimal(room)


def test_the_issue_case_a_supervisor_cannot_verify_a_trillion(db):
    """"A supervisor verified a claim computed at ¥1,012.78 (yearly cap ¥50,000) at ¥999,999,999,999.99"."""
    _, factory = db
    with transaction(factory) as s:
        version_id, policy_id, a = setup(s, WEIXIAN)
        claim_id = add_claim(s, version_id, policy_id, "illness", A, "H1", "1012.78")
    with pytest.raises(CapExceededError, match="超过本责任年度限额 50,000.00 元（已付 0.00，剩余 50,000.00）") as info, \
            transaction(factory) as s:
        verify(s, claim_id, a["sup1"], expected_version=1, amount=Decimal("999999999999.99"),
               reason_code="calculation_error", note="…")
    assert "exceeds the line's per-year cap of 50,000.00" in str(info.value)
    assert claim_of(factory, claim_id).state == "investigating"


def test_committed_states_hold_room_and_a_reversed_or_computed_claim_does_not(db):
    _, factory = db
    with transaction(factory) as s:
        version_id, policy_id, _ = setup(s, WEIXIAN)
        add_claim(s, version_id, policy_id, "illness", A, "H1", "10000.00", "paid")
        add_claim(s, version_id, policy_id, "illness", A, "H1", "7000.00", "reversed")
        add_claim(s, version_id, policy_id, "illness", A, "H1", "4000.00", "computed")
        add_claim(s, version_id, policy_id, "illness", A, "H1", "2500.00", "filed")
        claim_id = add_claim(s, version_id, policy_id, "illness", A, "H1", "1000.00")
        room = room_left(s, claim_id)
    # paid 10,000 + filed 2,500 hold room; the reversed 7,000 and the computed 4,000 do not:
    # line 50,000 − 12,500 = 37,500 (tighter than the person's 100,000 − 12,500 = 87,500)
    assert (room.kind, room.cap, room.committed, room.room) == ("line_per_year", 5_000_000, 1_250_000, 3_750_000)


def test_victims_count_this_claims_unit_and_the_households_other_claimants():
    product = load_product(fengxian("ZNB-TEST-LINES", victims_on="lines"))
    others = pd.DataFrame({"line_id": ["death"], "unit_id": [A], "committed": [5_000_000]})
    # two victims (A and this claim's B): 100,000 − 50,000 = 50,000; sum insured 50,000 for B: both 50,000
    rooms = {r.kind: r.room for r in cap_rooms(product, "death", B, others)}
    assert rooms == {"sum_insured": 5_000_000, "line_victims": 5_000_000}
    # A's own second death claim: one victim, 50,000 − 50,000 = 0
    rooms = {r.kind: r.room for r in cap_rooms(product, "death", A, others)}
    assert rooms == {"sum_insured": 0, "line_victims": 0}


# ------------------------------------------------------------------------------------ above the entitlement

def test_the_issue_case_above_the_entitlement_needs_reason_note_and_a_supervisor(db):
    """"an adjudicator with a ¥5,000 limit raised ¥327.36 to ¥4,999.99 with reason other"."""
    _, factory = db
    with transaction(factory) as s:
        version_id, policy_id, a = setup(s, WEIXIAN)
        claim_id = add_claim(s, version_id, policy_id, "illness", A, "H1", "327.36")
    before = snapshot(factory)
    for reason, note, message in [("other", "补充票据", "reason other than 'other'"),
                                  ("calculation_error", None, "write a note"),
                                  ("calculation_error", "  ", "write a note")]:
        with pytest.raises(ValueError, match=message), transaction(factory) as s:
            verify(s, claim_id, a["adj"], expected_version=1, amount=Decimal("4999.99"), reason_code=reason,
                   note=note)
        assert snapshot(factory) == before
    # within the maker's 5,000 limit, yet proposed only: the amount stays 327.36 until a supervisor approves
    with transaction(factory) as s:
        assert verify(s, claim_id, a["adj"], expected_version=1, amount=Decimal("4999.99"),
                      reason_code="calculation_error", note="漏计一张住院票据") == "awaiting_approval"
    c = claim_of(factory, claim_id)
    assert (c.state, c.amount, c.proposed_amount, c.above_entitlement) == (
        "awaiting_approval", Decimal("327.36"), Decimal("4999.99"), True)
    before = snapshot(factory)
    with pytest.raises(AuthorityError, match="an insurer supervisor"), transaction(factory) as s:
        approve(s, claim_id, a["adj2"], expected_version=2)  # an adjudicator whose 10,000 limit covers it
    assert snapshot(factory) == before
    with transaction(factory) as s:
        approve(s, claim_id, a["sup1"], expected_version=2)
    c = claim_of(factory, claim_id)
    assert (c.state, c.amount, c.adjustment_reason, c.above_entitlement) == (
        "verified", Decimal("4999.99"), "calculation_error", True)


def test_an_unlimited_supervisor_maker_also_needs_a_different_supervisor(db):
    _, factory = db
    with transaction(factory) as s:
        version_id, policy_id, a = setup(s, WEIXIAN)
        claim_id = add_claim(s, version_id, policy_id, "illness", A, "H1", "668.65")
    with transaction(factory) as s:
        assert verify(s, claim_id, a["sup1"], expected_version=1, amount=Decimal("6000.00"),
                      reason_code="other_insurance", note="他保险拒付，改由本保险承担") == "awaiting_approval"
    with pytest.raises(AuthorityError, match="may not approve their own"), transaction(factory) as s:
        approve(s, claim_id, a["sup1"], expected_version=2)
    with transaction(factory) as s:
        approve(s, claim_id, a["sup2"], expected_version=2)
    c = claim_of(factory, claim_id)
    assert (c.state, c.amount, c.above_entitlement) == ("verified", Decimal("6000.00"), True)
    with factory() as s:
        actions = list(s.scalars(select(ClaimEvent.action).where(ClaimEvent.claim_id == claim_id)
                                 .order_by(ClaimEvent.id)))
    assert actions == ["verify_above_limit", "approve"]


def test_within_the_entitlement_and_the_limit_verifies_at_once_unflagged(db):
    _, factory = db
    with transaction(factory) as s:
        version_id, policy_id, a = setup(s, WEIXIAN)
        lower = add_claim(s, version_id, policy_id, "illness", A, "H1", "327.36")
        same = add_claim(s, version_id, policy_id, "illness", B, "H1", "668.65")
    with transaction(factory) as s:
        assert verify(s, lower, a["adj"], expected_version=1, amount=Decimal("300.00"),
                      reason_code="other") == "verified"  # below the entitlement: "other" is fine, no note
        assert verify(s, same, a["adj"], expected_version=1) == "verified"
    for claim_id, amount in ((lower, "300.00"), (same, "668.65")):
        c = claim_of(factory, claim_id)
        assert (c.state, c.amount, c.above_entitlement) == ("verified", Decimal(amount), False)


def test_return_clears_the_flag_and_approval_rechecks_the_room(db):
    _, factory = db
    with transaction(factory) as s:
        version_id, policy_id, a = setup(s, WEIXIAN)
        claim_id = add_claim(s, version_id, policy_id, "illness", A, "H1", "1000.00")
    with transaction(factory) as s:
        verify(s, claim_id, a["adj"], expected_version=1, amount=Decimal("3000.00"), reason_code="calculation_error",
               note="重算")
    with transaction(factory) as s:
        return_to_investigation(s, claim_id, a["sup1"], expected_version=2, note="材料不足")
    c = claim_of(factory, claim_id)
    assert (c.state, c.amount, c.proposed_amount, c.above_entitlement) == (
        "investigating", Decimal("1000.00"), None, False)
    with transaction(factory) as s:
        verify(s, claim_id, a["adj"], expected_version=3, amount=Decimal("3000.00"), reason_code="calculation_error",
               note="补齐材料后重算")
        # meanwhile another of A's illness claims is verified: 50,000 − 48,000 = 2,000 left, below 3,000
        add_claim(s, version_id, policy_id, "illness", A, "H1", "48000.00", "verified")
    before = snapshot(factory)
    with pytest.raises(CapExceededError, match="剩余 2,000.00"), transaction(factory) as s:
        approve(s, claim_id, a["sup1"], expected_version=4)
    assert snapshot(factory) == before


# ------------------------------------------------------------------------------------------- API and CLI

def token(name: str) -> str:
    return f"amount-bounds-token-{name}"


def test_api_refuses_over_cap_with_422_naming_the_cap(db_url):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True})
    try:
        with app.app_context(), transaction(web_db.factory()) as s:
            version_id, policy_id, a = setup(s, WEIXIAN)
            for name in a:
                issue_token(s, Operator(None, "tests"), get_user(s, name), "tests", "write", secret=token(name))
            claim_id = add_claim(s, version_id, policy_id, "illness", A, "H1", "1012.78")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token('sup1')}"}
        r = client.post(f"/api/v1/claims/{claim_id}/transitions", headers=headers, json={
            "action": "verify", "expected_version": 1, "amount": "50000.01", "reason_code": "calculation_error",
            "note": "复核"})
        assert r.status_code == 422 and r.mimetype == "application/problem+json"
        body = r.get_json()
        # the claim holds nothing else: room = 50,000 − 0
        assert (body["type"], body["cap"], body["room"]) == ("/problems/cap-exceeded", "line_per_year", "50000.00")
        assert "本责任年度限额 50,000.00" in body["detail"] and "per-year cap of 50,000.00" in body["detail"]
        # above the entitlement within the room: proposed, flagged in the API's claim
        r = client.post(f"/api/v1/claims/{claim_id}/transitions", headers=headers, json={
            "action": "verify", "expected_version": 1, "amount": "2000.00", "reason_code": "other", "note": "x"})
        assert r.status_code == 422 and "other than 'other'" in r.get_json()["detail"]
        r = client.post(f"/api/v1/claims/{claim_id}/transitions", headers=headers, json={
            "action": "verify", "expected_version": 1, "amount": "2000.00", "reason_code": "calculation_error",
            "note": "漏计票据"})
        assert r.status_code == 200
        assert (r.json["state"], r.json["above_entitlement"], r.json["amount"], r.json["proposed_amount"]) == (
            "awaiting_approval", True, "1012.78", "2000.00")
        listed = client.get("/api/v1/claims?state=awaiting_approval", headers=headers).json
        assert [(c["id"], c["above_entitlement"]) for c in listed] == [(claim_id, True)]
        assert [c["id"] for c in client.get("/api/v1/claims?above_entitlement=true", headers=headers).json] == [
            claim_id]
        assert client.get("/api/v1/claims?above_entitlement=false", headers=headers).json == []
    finally:
        app.extensions["relief_engine"].dispose()


def test_cli_refuses_over_cap_and_needs_the_second_supervisor(tmp_path):
    url = f"sqlite:///{tmp_path / 'relief.db'}"
    runner = CliRunner()
    assert runner.invoke(relief, ["db", "upgrade", "--database", url]).exit_code == 0
    from claims.lifecycle.database import make_engine, session_factory
    factory = session_factory(make_engine(url))
    with transaction(factory) as s:
        version_id, policy_id, _ = setup(s, WEIXIAN)
        claim_id = add_claim(s, version_id, policy_id, "illness", A, "H1", "1012.78")
    base = ["claims", "verify", "--claim", str(claim_id), "--policy", str(policy_id), "--database", url]
    over = runner.invoke(relief, [*base, "--user", "sup1", "--amount", "50000.01", "--reason", "calculation_error",
                                  "--note", "复核"])
    assert over.exit_code != 0 and "本责任年度限额 50,000.00" in over.output and "room left 50,000.00" in over.output
    other = runner.invoke(relief, [*base, "--user", "sup1", "--amount", "2000.00", "--reason", "other", "--note", "x"])
    assert other.exit_code != 0 and "other than 'other'" in other.output
    assert claim_of(factory, claim_id).state == "investigating"
    ok = runner.invoke(relief, [*base, "--user", "sup1", "--amount", "2000.00", "--reason", "calculation_error",
                                "--note", "漏计票据"])
    assert ok.exit_code == 0 and "awaiting_approval" in ok.output, ok.output
    approve_args = ["claims", "approve", "--claim", str(claim_id), "--policy", str(policy_id), "--database", url]
    own = runner.invoke(relief, [*approve_args, "--user", "sup1"])
    assert own.exit_code != 0 and "may not approve their own" in own.output
    assert runner.invoke(relief, [*approve_args, "--user", "sup2"]).exit_code == 0
    c = claim_of(factory, claim_id)
    assert (c.state, c.amount, c.above_entitlement) == ("verified", Decimal("2000.00"), True)
