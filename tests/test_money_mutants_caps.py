"""Caps read one at a time, with every figure by hand (fen): the room a manual amount may take under each cap
spanning a claim (claims.engine.cap_room), for the mutants of docs/mutation.md that no test killed."""

from __future__ import annotations

import copy

import factories as f
import numpy as np
import pandas as pd

from claims.engine.cap_room import cap_rooms, tightest
from claims.engine.caps import (
    allocate_codes,
    group_codes,
    household_victims,
    sort_order,
    victims_cap_fen,
    with_cut_notes,
)
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


# --- claims.engine.caps, function by function ------------------------------------------------------------


def test_sort_order_of_keys_that_are_neither_integers_nor_dates_is_lexsort_most_significant_first():
    # rows (1.5, 3), (0.5, 2), (1.5, 1), (0.5, 2): by the first key, then the second, ties in row order →
    # rows 1 and 3 (0.5, 2; row 1 first), then row 2 (1.5, 1), then row 0 (1.5, 3)
    keys = [np.array([1.5, 0.5, 1.5, 0.5]), np.array([3, 2, 1, 2])]
    assert sort_order(keys).tolist() == [1, 3, 2, 0]


def test_sort_order_keeps_the_time_of_day_of_dates_that_are_not_at_midnight():
    # 1 Jan 12:00, 1 Jan 06:00, 2 Jan 00:00: by time 06:00 (row 1) < 12:00 (row 0) < 2 Jan (row 2); counted
    # in days the first two would tie and keep row order 0, 1
    when = np.array(["2025-01-01T12:00", "2025-01-01T06:00", "2025-01-02T00:00"], dtype="datetime64[ns]")
    assert sort_order([when, np.array([0, 0, 0])]).tolist() == [1, 0, 2]
    # at midnight the dates pack as days: 3 Jan, 1 Jan, 2 Jan → rows 1, 2, 0
    days = np.array(["2025-01-03", "2025-01-01", "2025-01-02"], dtype="datetime64[ns]")
    assert sort_order([days, np.array([5, 5, 5])]).tolist() == [1, 2, 0]


def test_allocate_codes_grants_first_come_within_each_group_against_what_was_paid():
    # group 7: cap 100.00, paid 30.00 before → room 70.00; demands in order 50.00 (row 2, key 1), 40.00
    # (row 0, key 2) → 50.00 and 20.00; group 3: not capped (cap −1) → its 80.00 whole
    group = np.array([7, 3, 7])
    granted = allocate_codes(group, [np.array([2, 0, 1])], np.array([4_000, 8_000, 5_000]),
                             np.array([3_000, 0, 0]), np.array([10_000, -1, 10_000]))
    assert granted.tolist() == [2_000, 8_000, 5_000]
    # nothing to grant: the demand array back as it is
    empty = np.zeros(0, dtype=np.int64)
    assert allocate_codes(empty, [empty], empty, empty, empty).tolist() == []


def test_group_codes_take_the_roster_code_and_fall_back_to_the_text():
    claims = pd.DataFrame({"household_code": [4, 2, 4], "household_no": ["B", "A", "B"]})
    assert group_codes(claims, "household_code", "household_no").tolist() == [4, 2, 4]
    # a row without a roster code (−1): every row keyed by its text in order of appearance, B → 0, A → 1
    claims.loc[1, "household_code"] = -1
    assert group_codes(claims, "household_code", "household_no").tolist() == [0, 1, 0]
    assert group_codes(claims.drop(columns="household_code"), "household_code", "household_no").tolist() == [0, 1, 0]


def test_victims_cap_takes_the_largest_key_not_above_the_victims_and_0_below_the_first():
    # table 2 → 100.00, 4 → 150.00: 1 victim 0; 2 and 3 → 100.00; 4 and 9 → 150.00
    table = {4: 15_000, 2: 10_000}
    assert victims_cap_fen(table, np.array([1, 2, 3, 4, 9])).tolist() == [0, 10_000, 10_000, 15_000, 15_000]


def test_household_victims_count_distinct_claimants_under_the_mask():
    # household 0: persons 5, 5, 6 claimed → 2 victims; person 7's row is not claimed; household 1: person 8
    # → 1; its row of person 9 is outside the mask and not counted; household 2 (the highest code) has a
    # row under the mask but no claim (a grade the plan does not pay) → 0 victims
    household = np.array([0, 0, 0, 0, 1, 1, 2])
    person = np.array([5, 5, 6, 7, 8, 9, 10])
    claimed = np.array([True, True, True, False, True, True, False])
    mask = np.array([True, True, True, True, True, False, True])
    assert household_victims(household, person, claimed, mask).tolist() == [2, 2, 2, 2, 1, 0]


def test_cut_notes_name_what_each_cap_cut_and_join_two_cuts_on_one_row():
    notes = np.array(["", "", ""], dtype=object)
    # first cap cuts row 0 from 100.00 to 40.00 (60.00) and row 2 from 5.00 to 0 (5.00); row 1 unchanged
    notes = with_cut_notes(notes, np.array([10_000, 800, 500]), np.array([4_000, 800, 0]), "户封顶 40.00")
    # a second cap with one note per row cuts row 0 again, 40.00 → 30.00
    notes = with_cut_notes(notes, np.array([4_000, 800, 0]), np.array([3_000, 800, 0]),
                           np.array(["每人封顶 30.00", "x", "y"], dtype=object))
    assert notes.tolist() == ["户封顶 40.00，削减 60.00；每人封顶 30.00，削减 10.00", "", "户封顶 40.00，削减 5.00"]
