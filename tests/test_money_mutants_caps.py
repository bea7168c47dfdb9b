"""Caps read one at a time, with every figure by hand (fen): the room a manual amount may take under each cap
spanning a claim (claims.engine.cap_room), for the mutants of docs/mutation.md that no test killed."""

from __future__ import annotations

import copy

import factories as f
import pandas as pd

from claims.engine.cap_room import cap_rooms, tightest
from products import load_product

A, B, C, D = (f.pid(n) for n in (41, 43, 45, 47))


def _every_cap_product():
    """凤县助农保 with every cap kind the rooms know: the 团体人身意外 cover at 50,000 per person, 80,000 per
    household and by victims 1 → 50,000, 2 → 70,000, 3 → 90,000; the product at 60,000 per person and 150,000
    per household.  (意外伤害住院医疗 keeps its 30,000 per person and 30,000 per household.)"""
    doc = copy.deepcopy(load_product("zhunongbao-fengxian-2025").document)
    doc["code"] = "ZNB-TEST-ROOMS"
    doc["covers"][0]["caps"] = {"per_person_year": 50000, "per_household_year": 80000,
                                "household_cap_by_victims": {1: 50000, 2: 70000, 3: 90000}}
    doc["caps"] = {"per_person_year": 60000, "per_household_year": 150000}
    return load_product(doc)


#: The household's other committed claims: A's death 30,000, B's death 10,000, C's accident medical 5,000,
#: the household's farm loss 8,000 — 53,000 in all, 40,000 of it on the cover's lines.
OTHERS = pd.DataFrame({"line_id": ["death", "death", "accident_medical", "farm"],
                       "unit_id": [A, B, C, "H41"],
                       "committed": [3_000_000, 1_000_000, 500_000, 800_000]})


def _rooms(line_id, unit_id):
    return {r.kind: (r.cap, r.committed, r.room) for r in cap_rooms(_every_cap_product(), line_id, unit_id, OTHERS)}


def test_every_cap_spanning_a_disability_claim_and_the_room_it_leaves():
    rooms = _rooms("disability", B)
    assert rooms == {
        "sum_insured": (5_000_000, 0, 5_000_000),  # B has no other disability claim: 50,000 − 0
        "cover_person": (5_000_000, 1_000_000, 4_000_000),  # B's death on the cover: 50,000 − 10,000
        "cover_household": (8_000_000, 4_000_000, 4_000_000),  # 80,000 − (30,000 + 10,000)
        "cover_victims": (7_000_000, 4_000_000, 3_000_000),  # victims {A, B}: 2 → 70,000 − 40,000
        "person_year": (6_000_000, 1_000_000, 5_000_000),  # 60,000 − B's 10,000
        "household_year": (15_000_000, 5_300_000, 9_700_000),  # 150,000 − 53,000
    }
    assert tightest(cap_rooms(_every_cap_product(), "disability", B, OTHERS)).kind == "cover_victims"


def test_a_new_victim_raises_the_victims_cap_and_the_household_cap_binds():
    rooms = _rooms("death", C)
    # victims {A, B} and C himself: 3 → 90,000 − 40,000 = 50,000; the cover's household cap 80,000 − 40,000
    # = 40,000 is now the tightest; C's accident medical is not on the cover but counts for the product
    assert rooms == {
        "sum_insured": (5_000_000, 0, 5_000_000),
        "cover_person": (5_000_000, 0, 5_000_000),
        "cover_household": (8_000_000, 4_000_000, 4_000_000),
        "cover_victims": (9_000_000, 4_000_000, 5_000_000),
        "person_year": (6_000_000, 500_000, 5_500_000),  # 60,000 − C's 5,000
        "household_year": (15_000_000, 5_300_000, 9_700_000),
    }
    assert tightest(cap_rooms(_every_cap_product(), "death", C, OTHERS)).kind == "cover_household"


def test_a_line_with_a_yearly_and_a_household_cap_and_no_cover():
    # 意外伤害住院医疗: D has nothing yet: 30,000 − 0 on the line per year; the household's 30,000 − C's 5,000
    assert _rooms("accident_medical", D) == {
        "line_per_year": (3_000_000, 0, 3_000_000),
        "line_household": (3_000_000, 500_000, 2_500_000),
        "person_year": (6_000_000, 0, 6_000_000),
        "household_year": (15_000_000, 5_300_000, 9_700_000),
    }
    # C's own second claim: 30,000 − his 5,000 on the line, the household's room the same 25,000
    assert _rooms("accident_medical", C)["line_per_year"] == (3_000_000, 500_000, 2_500_000)


def test_a_household_line_has_no_per_person_cap_and_a_claim_without_caps_has_no_tightest():
    # the farm line (per household, 20,000 a year): the household's farm claim holds 8,000 → 12,000 left;
    # the product's per-person cap does not span a household line
    assert _rooms("farm", "H41") == {"line_per_year": (2_000_000, 800_000, 1_200_000),
                                     "household_year": (15_000_000, 5_300_000, 9_700_000)}
    assert tightest([]) is None
