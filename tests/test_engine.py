"""The claims engine on small synthetic counties; every expected amount is worked out by hand (fen).

Catalog 防贫保 (FPB): illness trigger 5,000, 50% to 10,000, 60% to 20,000, 70% above, cap 50,000;
schooling 80% above 8,000 cap 30,000; disaster (household) 100% above 10,000 cap 30,000;
entry 本科 2,000 / 专科 1,000; product cap 100,000 per person.  Income line 6,000.
"""

from __future__ import annotations

import copy

import factories as f
import pandas as pd
import pytest

from claims import compute_claims, run_calculation
from claims.engine.cycle import run_monthly
from products import load_product

FPB = load_product("fangpinbao-weixian-2025")
ZNB = load_product("zhunongbao-fengxian-2025")


def variant(**changes) -> object:
    """The FPB document with top-level or per-line changes, e.g. variant(illness={"basis": "household"})."""
    doc = copy.deepcopy(FPB.document)
    for key, value in changes.items():
        lines = {line["id"]: line for line in doc["lines"]}
        if key in lines:
            lines[key].update(value)
        elif key == "drop_lines":
            doc["lines"] = [line for line in doc["lines"] if line["id"] not in value]
        else:
            doc[key] = value
    return load_product(doc)


def amounts(claims: pd.DataFrame, line_id: str) -> dict[str, tuple[int, int, int]]:
    """unit_id → (base, entitlement, due) of one line."""
    sub = claims[claims["line_id"] == line_id]
    return {u: (b, e, d) for u, b, e, d in zip(sub["unit_id"], sub["base"], sub["entitlement"], sub["due"])}


@pytest.fixture
def family():
    """Household H1: persons 1, 3, 5; household H2: person 7."""
    return f.roster(
        [{"household_no": "H1"}, {"household_no": "H2"}],
        [{"n": 1, "household_no": "H1"}, {"n": 3, "household_no": "H1"}, {"n": 5, "household_no": "H1"},
         {"n": 7, "household_no": "H2"}],
    )


def test_person_versus_household_basis(family):
    persons, households = family
    # person 1 self-paid 4,000.00, person 3 3,000.00: each alone is under the 5,000 trigger
    med = f.medical([(1, "2025-02-01", 400_000), (3, "2025-03-01", 300_000)])
    by_person = compute_claims(FPB, persons, households, {"medical": med})
    assert amounts(by_person, "illness") == {f.pid(1): (400_000, 0, 0), f.pid(3): (300_000, 0, 0)}
    # household basis: 4,000 + 3,000 = 7,000 > 5,000 → (7,000 − 5,000) × 50% = 1,000.00
    by_household = compute_claims(variant(illness={"basis": "household"}), persons, households, {"medical": med})
    assert amounts(by_household, "illness") == {"H1": (700_000, 100_000, 100_000)}
    row = by_household.iloc[0]
    assert row["unit_type"] == "household" and row["village_code"] == f.VILLAGE


def test_line_cap_per_unit(family):
    persons, households = family
    # 100,000 self-paid: 2,500 + 6,000 + 80,000 × 70% = 64,500 → cap 50,000
    claims = compute_claims(FPB, persons, households, {"medical": f.medical([(1, "2025-02-01", 10_000_000)])})
    assert amounts(claims, "illness") == {f.pid(1): (10_000_000, 5_000_000, 5_000_000)}
    assert "超过年封顶 50000.00" in claims.iloc[0]["trace"]


def test_line_household_cap_first_come(family):
    persons, households = family
    product = variant(illness={"caps": {"per_year": 50000, "household_per_year": 60000}})
    # persons 1 (Feb) and 3 (Mar) each 100,000 → each 50,000 after the per-person cap;
    # household cap 60,000: person 1 came first → 50,000; person 3 gets the remaining 10,000
    med = f.medical([(3, "2025-03-01", 10_000_000), (1, "2025-02-01", 10_000_000)])
    claims = compute_claims(product, persons, households, {"medical": med})
    assert amounts(claims, "illness") == {
        f.pid(1): (10_000_000, 5_000_000, 5_000_000),
        f.pid(3): (10_000_000, 1_000_000, 1_000_000),
    }
    assert "户内同责任合计封顶 60000.00，削减 40000.00" in claims.set_index("unit_id").loc[f.pid(3), "trace"]


def test_household_cap_respects_what_was_paid(family):
    persons, households = family
    product = variant(illness={"caps": {"per_year": 50000, "household_per_year": 60000}})
    # person 3 was already paid 45,000 (earlier month); person 1 is newly entitled to 50,000:
    # room = 60,000 − 45,000 = 15,000 → person 1 due 15,000; person 3 due 50,000 − 45,000 = 5,000 would
    # exceed the room too — order: person 1 crossed on 02-01, person 3 on 03-01 → person 1 takes all 15,000.
    med = f.medical([(1, "2025-02-01", 10_000_000), (3, "2025-03-01", 10_000_000)])
    claims = compute_claims(product, persons, households, {"medical": med},
                            paid=f.paid([(f.pid(3), "illness", 4_500_000)]))
    got = amounts(claims, "illness")
    assert got[f.pid(1)][2] == 1_500_000
    assert got[f.pid(3)][2] == 0
    assert claims["due"].sum() + 4_500_000 == 6_000_000  # the household never exceeds its cap


def test_product_cap_per_person_cuts_lines_in_listed_order(family):
    persons, households = family
    product = variant(caps={"per_person_year": 60000, "per_household_year": None})
    # illness 50,000 (capped); schooling base 50,000 → (50,000 − 8,000) × 80% = 33,600 → cap 30,000;
    # product cap 60,000 per person: illness (listed first) keeps 50,000, schooling gets 10,000
    med = f.medical([(3, "2025-02-01", 10_000_000)])
    edu = f.education([(3, 2025, "本科", 5_000_000, False)])
    claims = compute_claims(product, persons, households, {"medical": med, "education": edu})
    assert amounts(claims, "illness")[f.pid(3)] == (10_000_000, 5_000_000, 5_000_000)
    assert amounts(claims, "schooling")[f.pid(3)] == (5_000_000, 1_000_000, 1_000_000)
    assert "产品每人年度封顶 60000.00，削减 20000.00" in claims[claims.line_id == "schooling"].iloc[0]["trace"]


def test_product_cap_per_household(family):
    persons, households = family
    product = variant(caps={"per_person_year": None, "per_household_year": 70000})
    # illness: person 1 50,000 (Feb), person 3 50,000 (Mar); disaster H1: (20,000 − 10,000) × 100% = 10,000.
    # Lines in listed order (illness before disaster); within illness first-come:
    # person 1 50,000; person 3 min(50,000, 70,000 − 50,000) = 20,000; disaster 0.
    med = f.medical([(1, "2025-02-01", 10_000_000), (3, "2025-03-01", 10_000_000)])
    dis = f.disaster([("H1", "2025-07-01", "洪涝", 2_000_000)])
    claims = compute_claims(product, persons, households, {"medical": med, "disaster": dis})
    assert amounts(claims, "illness") == {f.pid(1): (10_000_000, 5_000_000, 5_000_000),
                                          f.pid(3): (10_000_000, 2_000_000, 2_000_000)}
    assert amounts(claims, "disaster") == {"H1": (2_000_000, 0, 0)}


def test_monthly_runs_sum_to_the_yearly_run(family):
    persons, households = family
    # person 1: 3,000 each in Jan, Apr, Jul, Oct (year 12,000 → 2,500 + 2,000 × 60% = 3,700.00)
    # person 3: 4,000 in Feb and 2,000 in Nov (year 6,000 → 1,000 × 50% = 500.00)
    # person 7: 30,000 in Mar (→ 2,500 + 6,000 + 10,000 × 70% = 15,500.00)
    rows = [(1, "2025-01-10", 300_000), (3, "2025-02-10", 400_000), (7, "2025-03-10", 3_000_000),
            (1, "2025-04-10", 300_000), (1, "2025-07-10", 300_000), (1, "2025-10-10", 300_000),
            (3, "2025-11-10", 200_000)]
    med = f.medical(rows)
    months = [{"medical": med[med["setl_date"].dt.month == m]} for m in range(1, 13)]
    results, paid = run_monthly(FPB, persons, households, months)
    yearly = compute_claims(FPB, persons, households, {"medical": med})
    expected = {f.pid(1): 370_000, f.pid(3): 50_000, f.pid(7): 1_550_000}
    assert {u: e for u, (_, e, _) in amounts(yearly, "illness").items()} == expected
    monthly_total = paid.set_index("unit_id")["paid"].to_dict()
    assert monthly_total == expected
    # the dues month by month for person 1: Apr 6,000 → 500.00; Jul 9,000 → 2,000.00 (+1,500); Oct → +1,200
    dues_1 = [int(r.claims.set_index("unit_id")["due"].get(f.pid(1), 0)) for r in results]
    assert dues_1 == [0, 0, 0, 50_000, 0, 0, 150_000, 0, 0, 170_000, 0, 0]


def test_second_identical_run_pays_nothing(family):
    persons, households = family
    reports = {"medical": f.medical([(1, "2025-02-01", 2_000_000)]),
               "education": f.education([(3, 2025, "本科", 1_000_000, True)])}
    first = run_calculation(FPB, persons, households, reports)
    paid = first.claims[["unit_id", "line_id", "due"]].rename(columns={"due": "paid"})
    second = compute_claims(FPB, persons, households, reports, paid=paid)
    assert first.claims["due"].sum() > 0
    assert second["due"].tolist() == [0] * len(second)
    assert (second["entitlement"] == second["paid_before"]).all()


def test_lump_sum_once_per_year(family):
    persons, households = family
    # person 3 reported as admitted to 专科 and to 本科 (two files): pays the larger lump, 2,000, once;
    # person 5 in 高中 (no lump sum for that level; schooling base 1,500 is under 8,000): nothing
    edu = [f.education([(3, 2025, "专科", 600_000, True)], file="edu-a.csv"),
           f.education([(3, 2025, "本科", 600_000, True), (5, 2025, "高中", 150_000, True)], file="edu-b.csv")]
    claims = compute_claims(FPB, persons, households, {"education": edu})
    assert amounts(claims, "entry") == {f.pid(3): (200_000, 200_000, 200_000)}
    again = compute_claims(FPB, persons, households, {"education": edu},
                           paid=f.paid([(f.pid(3), "entry", 200_000)]))
    assert amounts(again, "entry") == {f.pid(3): (200_000, 200_000, 0)}


def test_accident_household_victim_caps():
    persons, households = f.roster(
        [{"household_no": "A1"}, {"household_no": "A2"}],
        [{"n": 11, "household_no": "A1"}, {"n": 13, "household_no": "A1"}, {"n": 15, "household_no": "A1"},
         {"n": 17, "household_no": "A1"}, {"n": 21, "household_no": "A2"}],
    )
    # A1: three die in one traffic accident → 3 × 50,000 = 150,000 > the three-victim cap 120,000;
    # allocation by date then ID: persons 11, 13 get 50,000 each, person 15 gets 20,000.
    # A2: person 21 disability grade 3 → 50,000 × 80% = 40,000 (one victim, cap 50,000: no cut).
    acc = f.accident([(15, "2025-05-01", "death", None, 0), (11, "2025-05-01", "death", None, 0),
                      (13, "2025-05-01", "death", None, 0), (21, "2025-06-01", "disability", 3, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    assert amounts(claims, "death") == {f.pid(11): (5_000_000, 5_000_000, 5_000_000),
                                        f.pid(13): (5_000_000, 5_000_000, 5_000_000),
                                        f.pid(15): (5_000_000, 2_000_000, 2_000_000)}
    assert amounts(claims, "disability") == {f.pid(21): (5_000_000, 4_000_000, 4_000_000)}
    assert "3 人受害，户封顶 120000.00" in claims.set_index("unit_id").loc[f.pid(15), "trace"]


def test_accident_medical_household_cap():
    persons, households = f.roster([{"household_no": "A1"}],
                                   [{"n": 11, "household_no": "A1"}, {"n": 13, "household_no": "A1"}])
    # hospital 20,000 (Mar) and 15,000 (Apr): each under the 30,000 per-person cap;
    # household cap 30,000: person 11 20,000, person 13 10,000
    acc = f.accident([(11, "2025-03-01", "hospital", None, 2_000_000), (13, "2025-04-01", "hospital", None, 1_500_000)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    assert amounts(claims, "accident_medical") == {f.pid(11): (2_000_000, 2_000_000, 2_000_000),
                                                   f.pid(13): (1_500_000, 1_000_000, 1_000_000)}


def test_income_drop():
    doc = copy.deepcopy(FPB.document)
    doc["lines"] = [{"id": "income", "peril": "income_drop", "basis": "household", "protection_line": 6000,
                     "rate": 1.0, "caps": {"per_year": 10000}}]
    product = load_product(doc)
    persons, households = f.roster(
        [{"household_no": "I1", "members": 4}, {"household_no": "I2", "members": 5}, {"household_no": "I3"}],
        [{"n": 31, "household_no": "I1"}, {"n": 33, "household_no": "I2"}, {"n": 35, "household_no": "I3"}],
    )
    # I1: an earlier survey at 5,200 then the latest at 4,500: (6,000 − 4,500) × 4 = 6,000 × 100% = 6,000.00
    # I2: (6,000 − 2,000) × 5 = 20,000 → cap 10,000
    # I3: 5,999.99 → 0.01 × 1 member = 0.01
    inc = f.income([("I1", "2025-06-30", 520_000), ("I1", "2025-12-01", 450_000), ("I2", "2025-12-01", 200_000),
                    ("I3", "2025-12-01", 599_999)])
    claims = compute_claims(product, persons, households, {"income": inc})
    assert amounts(claims, "income") == {"I1": (600_000, 600_000, 600_000), "I2": (2_000_000, 1_000_000, 1_000_000),
                                         "I3": (1, 1, 1)}


def test_eligibility_by_category_income_and_period():
    persons, households = f.roster(
        [{"household_no": "E1"}, {"household_no": "E2", "category": "一般农户"},
         {"household_no": "E3", "category": "特困供养"}, {"household_no": "E4", "income_yuan": 6000.01},
         {"household_no": "E5", "income_yuan": 6500}],
        [{"n": 41, "household_no": "E1"}, {"n": 43, "household_no": "E2"}, {"n": 45, "household_no": "E3"},
         {"n": 47, "household_no": "E4"}, {"n": 49, "household_no": "E5"}],
    )
    med = f.medical([(41, "2024-12-31", 700_000), (41, "2025-12-31", 700_000), (43, "2025-03-01", 700_000),
                     (45, "2025-03-01", 700_000), (47, "2025-03-01", 700_000), (49, "2025-03-01", 700_000),
                     (49, "2025-07-01", 700_000)])
    # E5 (roster income 6,500) is surveyed at 5,500 on 2025-06-01: eligible for events from that date on
    # only — its March settlement was judged on the income known then (6,500 > 6,000)
    inc = f.income([("E5", "2025-06-01", 550_000)])
    # the pre-shock income test (income ≤ line, no rigid costs deducted): the catalog's net_of_costs test
    # would admit E4 and E5 (7,000 self-paid > their income), see tests/test_eligibility.py
    doc = copy.deepcopy(FPB.document)
    doc["eligibility"]["income_test"] = "pre_shock"
    result = run_calculation(load_product(doc), persons, households, {"medical": med, "income": inc})
    # E1's in-period row (7,000 → 1,000.00) and E5's July row (7,000 → 1,000.00) are paid
    assert amounts(result.claims, "illness") == {f.pid(41): (700_000, 100_000, 100_000),
                                                 f.pid(49): (700_000, 100_000, 100_000)}
    ex = result.exceptions[result.exceptions["file"] == "medical.csv"].set_index("line")
    assert ex.loc[2, "reason"] == "outside_period"  # 2024-12-31
    assert ex.loc[4, "reason"] == "not_eligible" and "一般农户" in ex.loc[4, "detail"]
    assert ex.loc[5, "reason"] == "not_eligible" and "特困供养" in ex.loc[5, "detail"]
    assert ex.loc[6, "reason"] == "not_eligible" and "6000.01" in ex.loc[6, "detail"]
    assert ex.loc[7, "reason"] == "not_eligible" and "6500.00" in ex.loc[7, "detail"]
    assert len(ex) == 5
    assert set(result.exceptions["reason"]) == {"outside_period", "not_eligible", "not_covered"}
    # the income row itself is used for eligibility only (no income line in FPB) → info not_covered
    assert result.exceptions.query("reason == 'not_covered'")["severity"].tolist() == ["info"]


def test_unknown_person_and_resent_settlement_across_files(family):
    persons, households = family
    a = f.medical([(1, "2025-02-01", 700_000)], file="jan.csv")
    b = f.medical([(1, "2025-02-01", 700_000), (99, "2025-02-02", 900_000)], file="feb.csv")  # same setl_id S00000001
    result = run_calculation(FPB, persons, households, {"medical": [a, b]})
    # counted once: 7,000 → 1,000.00
    assert amounts(result.claims, "illness") == {f.pid(1): (700_000, 100_000, 100_000)}
    ex = result.exceptions.sort_values("line")
    assert ex[["file", "line", "reason", "severity"]].values.tolist() == [["feb.csv", 2, "resent", "info"],
                                                                           ["feb.csv", 3, "unknown_person", "error"]]
    assert "jan.csv 第 2 行" in ex.iloc[0]["detail"]


def test_overpaid_unit_stays_visible(family):
    persons, households = family
    # paid 2,000 earlier, but the base is now 7,000 → entitlement 1,000: due 0, overpaid 1,000 for reversal
    claims = compute_claims(FPB, persons, households, {"medical": f.medical([(1, "2025-02-01", 700_000)])},
                            paid=f.paid([(f.pid(1), "illness", 200_000), (f.pid(5), "illness", 50_000)]))
    got = claims.set_index("unit_id")
    assert got.loc[f.pid(1), ["entitlement", "due", "overpaid"]].tolist() == [100_000, 0, 100_000]
    # person 5 was paid but has no base at all any more: still listed, base 0, all of it overpaid
    assert got.loc[f.pid(5), ["base", "entitlement", "due", "overpaid"]].tolist() == [0, 0, 0, 50_000]


def test_paid_for_an_unknown_line_or_person_is_never_lost(family):
    persons, households = family
    result = run_calculation(FPB, persons, households, {"medical": f.medical([(1, "2025-02-01", 700_000)])},
                             paid=f.paid([(f.pid(1), "flood", 30_000), (f.pid(99), "illness", 40_000)]))
    ex = result.exceptions
    assert ex[["file", "reason"]].values.tolist() == [["paid", "paid_unknown_line"]]
    assert "flood" in ex.iloc[0]["detail"] and "300.00" in ex.iloc[0]["detail"]
    # person 99 is on no roster: kept as an overpaid row under a placeholder household, nothing crashes
    got = result.claims.set_index("unit_id")
    assert got.loc[f.pid(99), ["paid_before", "due", "overpaid"]].tolist() == [40_000, 0, 40_000]
    assert got.loc[f.pid(1), "due"] == 100_000


def test_trace_reads_bracket_by_bracket(family):
    persons, households = family
    claims = compute_claims(FPB, persons, households, {"medical": f.medical([(1, "2025-02-01", 2_334_567)])},
                            paid=f.paid([(f.pid(1), "illness", 100_000)]))
    trace = claims.iloc[0]["trace"]
    assert trace.startswith("[FPB-130434-2025/illness] 23345.67（1 条）")
    for piece in ("(5000.00, 10000.00]×50% = 2500.00", "(10000.00, 20000.00]×60% = 6000.00",
                  "(20000.00, 23345.67]×70% = 2341.969", "= 10841.97", "已付 1000.00", "本次应付 9841.97"):
        assert piece in trace


def test_disaster_type_filter_routes_rows_to_lines():
    persons, households = f.roster([{"household_no": "D1"}], [{"n": 51, "household_no": "D1"}])
    # ZNB: 农作物受灾 goes to farm (cap 20,000), 火灾 to property (cap 30,000); 地震 has no line
    dis = f.disaster([("D1", "2025-06-01", "农作物受灾", 2_500_000), ("D1", "2025-07-01", "火灾", 800_000),
                      ("D1", "2025-08-01", "地震", 100_000)])
    result = run_calculation(ZNB, persons, households, {"disaster": dis})
    assert amounts(result.claims, "farm") == {"D1": (2_500_000, 2_000_000, 2_000_000)}
    assert amounts(result.claims, "property") == {"D1": (800_000, 800_000, 800_000)}
    assert result.exceptions[["line", "reason"]].values.tolist() == [[4, "not_covered"]]


def test_every_reason_code_has_one_bilingual_text():
    from claims.engine.output import ALL_REASONS
    from claims.engine.screening import SCREEN_REASONS
    from claims.reports import REASONS

    assert not set(REASONS) & set(SCREEN_REASONS)  # one meaning per code
    for code, text in ALL_REASONS.items():
        zh, sep, en = text.partition(" / ")
        assert sep and zh and en, code
