"""Covers: lines sharing one cap (issue 11, item 6; acceptance 6).

The rule, in the words of its sources:
* seed S0 篇七: "意外伤害保险。在保险期间内被保险人遭受意外伤害，保险人负责意外身故、残疾、烧伤给付保险金" —
  one insurance pays death, disability and burns;
* the 凤县 catalog product (``products/catalog/zhunongbao-fengxian-2025.yaml``, from domain.md §8 [S24]):
  "团体人身意外: 120,000 per household; one victim ≤ 50,000, two ≤ 100,000, three or more ≤ 120,000 …
  Death pays the 50,000 per person; disability by grade (grade 1 = 100% … grade 10 = 10%…)".

So death and disability are one cover (``group_accident``): 50,000 per person and the household's victims
table over both lines, victims = distinct persons of the household with a claim on either line.
Amounts below are fen; the arithmetic is in yuan.
"""

from __future__ import annotations

import copy

import factories as f
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from claims import compute_claims
from claims.engine.cycle import run_monthly
from products import ProductError, load_product

ZNB = load_product("zhunongbao-fengxian-2025")
FPB = load_product("fangpinbao-weixian-2025")
COVER_LINES = ("death", "disability")
SHARED = "团体人身意外 共用限额 / shared cap of cover 团体人身意外："


def household(*ns: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Household A1 with persons ns (an eligible 边缘易致贫户 of 凤县's 助农保)."""
    return f.roster([{"household_no": "A1"}], [{"n": n, "household_no": "A1"} for n in ns])


def dues(claims: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(line_id, unit_id) → due, over the cover's lines."""
    sub = claims[claims["line_id"].isin(COVER_LINES)]
    return {(line, unit): int(due) for line, unit, due in zip(sub["line_id"], sub["unit_id"], sub["due"])}


def trace(claims: pd.DataFrame, line_id: str, n: int) -> str:
    return claims.set_index(["line_id", "unit_id"]).loc[(line_id, f.pid(n)), "trace"]


def without_covers(product, **line_caps) -> object:
    """The product's document with no covers; ``line_caps``: line id → that line's own fields to add."""
    doc = copy.deepcopy(product.document)
    doc.pop("covers", None)
    for line in doc["lines"]:
        line.update(line_caps.get(line["id"], {}))
    return load_product(doc)


# ---------------------------------------------------------------------------------------------------
# acceptance 6 and its neighbours


def test_two_deaths_and_a_grade_1_disability_are_paid_120000_in_total():
    persons, households = household(11, 13, 15)
    # persons 11 (Mar) and 13 (Apr) die, person 15 is disabled grade 1 (May):
    # uncapped 50,000 + 50,000 + 50,000 × 100% = 150,000; 3 victims → household cap 120,000.
    # First come first served by date: 11 → 50,000, 13 → 50,000, 15 → 120,000 − 100,000 = 20,000 (cut 30,000).
    acc = f.accident([(11, "2025-03-01", "death", None, 0), (13, "2025-04-01", "death", None, 0),
                      (15, "2025-05-01", "disability", 1, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    assert dues(claims) == {("death", f.pid(11)): 5_000_000, ("death", f.pid(13)): 5_000_000,
                            ("disability", f.pid(15)): 2_000_000}
    assert claims["due"].sum() == 12_000_000
    assert (SHARED + "3 人受害，户封顶 120000.00，本项剩余 20000.00，削减 30000.00") in trace(claims, "disability", 15)
    # the claims the cap did not cut carry no note of it
    assert "共用限额" not in trace(claims, "death", 11) and "共用限额" not in trace(claims, "death", 13)


def test_first_come_first_served_by_date_across_the_covers_lines():
    persons, households = household(11, 13, 15)
    # the disability came first (Feb), then the deaths (Mar, Apr): 15 → 50,000; 11 → 50,000;
    # 13 → 120,000 − 100,000 = 20,000 (cut 30,000), although death is listed before disability
    acc = f.accident([(15, "2025-02-01", "disability", 1, 0), (11, "2025-03-01", "death", None, 0),
                      (13, "2025-04-01", "death", None, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    assert dues(claims) == {("disability", f.pid(15)): 5_000_000, ("death", f.pid(11)): 5_000_000,
                            ("death", f.pid(13)): 2_000_000}
    assert (SHARED + "3 人受害，户封顶 120000.00，本项剩余 20000.00，削减 30000.00") in trace(claims, "death", 13)


def test_two_deaths_and_a_grade_3_disability_are_paid_120000():
    persons, households = household(11, 13, 15)
    # 50,000 + 50,000 + 50,000 × 80% = 140,000 > 120,000 (3 victims): the disability (last, Jun) gets
    # 120,000 − 100,000 = 20,000 of its 40,000 (cut 20,000)
    acc = f.accident([(11, "2025-05-01", "death", None, 0), (13, "2025-05-01", "death", None, 0),
                      (15, "2025-06-01", "disability", 3, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    assert dues(claims) == {("death", f.pid(11)): 5_000_000, ("death", f.pid(13)): 5_000_000,
                            ("disability", f.pid(15)): 2_000_000}
    assert (SHARED + "3 人受害，户封顶 120000.00，本项剩余 20000.00，削减 20000.00") in trace(claims, "disability", 15)


def test_one_death_alone_is_paid_50000():
    persons, households = household(11, 13)
    # one victim: cap 50,000 = the sum insured, nothing cut
    claims = compute_claims(ZNB, persons, households, {"accident": f.accident([(11, "2025-05-01", "death", None, 0)])})
    assert dues(claims) == {("death", f.pid(11)): 5_000_000}
    assert "共用限额" not in trace(claims, "death", 11)


def test_a_death_and_a_disability_in_two_households_are_not_shared():
    persons, households = f.roster([{"household_no": "A1"}, {"household_no": "A2"}],
                                   [{"n": 11, "household_no": "A1"}, {"n": 21, "household_no": "A2"}])
    # one victim in each household: each its own 50,000 (A1 death 50,000; A2 grade 2: 50,000 × 90% = 45,000)
    acc = f.accident([(11, "2025-05-01", "death", None, 0), (21, "2025-05-02", "disability", 2, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    assert dues(claims) == {("death", f.pid(11)): 5_000_000, ("disability", f.pid(21)): 4_500_000}


def test_one_person_disabled_then_killed_is_one_victim_with_50000():
    persons, households = household(11, 13)
    # person 11: disability grade 3 in March (50,000 × 80% = 40,000), died in August (50,000).
    # Per person 50,000 over the cover's lines, first come by date: disability 40,000, death 10,000 (cut 40,000).
    acc = f.accident([(11, "2025-03-01", "disability", 3, 0), (11, "2025-08-01", "death", None, 0)])
    claims = compute_claims(ZNB, persons, households, {"accident": acc})
    assert dues(claims) == {("disability", f.pid(11)): 4_000_000, ("death", f.pid(11)): 1_000_000}
    assert (SHARED + "每人年度封顶 50000.00，本项剩余 10000.00，削减 40000.00") in trace(claims, "death", 11)


def test_victims_are_distinct_persons_across_the_covers_lines():
    # the cover without its per-person cap: person 11 disabled grade 1 (50,000) and killed (50,000) is still
    # one victim → household cap 50,000 (counted as two claims it would have been 100,000):
    # disability (Mar) 50,000, death (Aug) 0 (cut 50,000)
    doc = copy.deepcopy(ZNB.document)
    doc["covers"][0]["caps"].pop("per_person_year")
    product = load_product(doc)
    persons, households = household(11, 13)
    acc = f.accident([(11, "2025-03-01", "disability", 1, 0), (11, "2025-08-01", "death", None, 0)])
    claims = compute_claims(product, persons, households, {"accident": acc})
    assert dues(claims) == {("disability", f.pid(11)): 5_000_000, ("death", f.pid(11)): 0}
    assert (SHARED + "1 人受害，户封顶 50000.00，本项剩余 0.00，削减 50000.00") in trace(claims, "death", 11)


def test_the_same_household_without_covers_was_paid_150000():
    # the catalog's version 1: death and disability each with its own victims table.  Death: 2 victims,
    # cap 100,000 → 50,000 + 50,000; disability: 1 victim, cap 50,000 → 50,000: 150,000 in all (the bug),
    # and a document without covers still computes so (backward compatible)
    victims = {"household_cap_by_victims": {1: 50000, 2: 100000, 3: 120000}}
    product = without_covers(ZNB, death=victims, disability=victims)
    assert product.covers == ()
    persons, households = household(11, 13, 15)
    acc = f.accident([(11, "2025-03-01", "death", None, 0), (13, "2025-04-01", "death", None, 0),
                      (15, "2025-05-01", "disability", 1, 0)])
    assert compute_claims(product, persons, households, {"accident": acc})["due"].sum() == 15_000_000


def test_monthly_runs_pay_the_cover_by_what_was_paid():
    persons, households = household(11, 13, 15)
    # month 1: person 11 dies → 1 victim, cap 50,000 → paid 50,000.
    # month 2: persons 13 (death) and 15 (disability grade 1) → 3 victims, cap 120,000;
    #          room = 120,000 − 50,000 paid = 70,000: 13 → 50,000, 15 → 20,000; 70,000 more, 120,000 in all.
    months = [{"accident": f.accident([(11, "2025-03-01", "death", None, 0)], file="m3.csv")},
              {"accident": f.accident([(13, "2025-04-01", "death", None, 0),
                                       (15, "2025-04-02", "disability", 1, 0)], file="m4.csv")}]
    results, paid = run_monthly(ZNB, persons, households, months)
    assert dues(results[0].claims) == {("death", f.pid(11)): 5_000_000}
    assert dues(results[1].claims) == {("death", f.pid(11)): 0, ("death", f.pid(13)): 5_000_000,
                                       ("disability", f.pid(15)): 2_000_000}
    assert results[1].claims["due"].sum() == 7_000_000 and paid["paid"].sum() == 12_000_000
    assert (SHARED + "3 人受害，户封顶 120000.00，本项剩余 20000.00，削减 30000.00") \
        in trace(results[1].claims, "disability", 15)


def test_line_caps_then_cover_caps_then_product_caps():
    # the product also capped at 100,000 per household (product caps come last, lines in listed order):
    # cover: 11 death 50,000 (Mar), 13 death 50,000 (Apr), 15 grade 1 → 20,000 (May), as in acceptance 6;
    # then the product's 100,000 per household: death 50,000 + 50,000, disability 0 (cut 20,000)
    doc = copy.deepcopy(ZNB.document)
    doc["caps"] = {"per_person_year": None, "per_household_year": 100000}
    product = load_product(doc)
    persons, households = household(11, 13, 15)
    acc = f.accident([(11, "2025-03-01", "death", None, 0), (13, "2025-04-01", "death", None, 0),
                      (15, "2025-05-01", "disability", 1, 0)])
    claims = compute_claims(product, persons, households, {"accident": acc})
    assert dues(claims) == {("death", f.pid(11)): 5_000_000, ("death", f.pid(13)): 5_000_000,
                            ("disability", f.pid(15)): 0}
    assert trace(claims, "disability", 15).endswith(
        "削减 30000.00；产品每户年度封顶 100000.00，削减 20000.00；已付 0.00；本次应付 0.00")


@pytest.mark.slow
def test_the_dask_engine_shares_the_cover_as_the_engine_does():
    # the Dask engine runs the engine on whole households (claims.scale): the cover's caps hold there too.
    # A1: acceptance 6 → 50,000 + 50,000 + 20,000; A2: one death → 50,000
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] is not installed")
    from claims.scale import compute_claims_dask

    persons, households = f.roster([{"household_no": "A1"}, {"household_no": "A2"}],
                                   [{"n": 11, "household_no": "A1"}, {"n": 13, "household_no": "A1"},
                                    {"n": 15, "household_no": "A1"}, {"n": 21, "household_no": "A2"}])
    acc = f.accident([(11, "2025-03-01", "death", None, 0), (21, "2025-03-02", "death", None, 0),
                      (13, "2025-04-01", "death", None, 0), (15, "2025-05-01", "disability", 1, 0)])
    single = compute_claims(ZNB, persons, households, {"accident": acc})
    assert dues(single) == {("death", f.pid(11)): 5_000_000, ("death", f.pid(13)): 5_000_000,
                            ("death", f.pid(21)): 5_000_000, ("disability", f.pid(15)): 2_000_000}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        for nparts in (1, 2):
            claims = compute_claims_dask(ZNB, persons, households, {"accident": [dd.from_pandas(acc, npartitions=2)]},
                                         client=client, npartitions=nparts, progress=False)
            pd.testing.assert_frame_equal(claims, single)


# ---------------------------------------------------------------------------------------------------
# the monthly-run property (claims.engine.caps): over a year the household's cover total equals one yearly run's


RATE_E4 = {g: (11 - g) * 1000 for g in range(1, 11)}  # the catalog's table: grade 1 = 100% … grade 10 = 10%
VICTIMS_CAP = {1: 5_000_000, 2: 10_000_000, 3: 12_000_000}
PEOPLE = (11, 13, 15, 17)

accident_year = st.lists(st.tuples(st.sampled_from(PEOPLE), st.integers(1, 12), st.sampled_from(["death", "disability"]),
                                   st.integers(1, 10)), min_size=1, max_size=8)


def cover_total_by_hand(events: list[tuple[int, int, str, int]]) -> int:
    """min(victims cap, Σ per person min(50,000, death 50,000 + 50,000 × the worst grade's rate)), fen."""
    death: dict[int, int] = {}
    disability: dict[int, int] = {}
    for person, _, kind, grade in events:
        if kind == "death":
            death[person] = 5_000_000
        else:
            disability[person] = max(disability.get(person, 0), 5_000_000 * RATE_E4[grade] // 10_000)
    victims = set(death) | set(disability)
    total = sum(min(5_000_000, death.get(p, 0) + disability.get(p, 0)) for p in victims)
    return min(VICTIMS_CAP[min(len(victims), 3)], total)


@given(events=accident_year)
@example(events=[(11, 3, "death", 1), (13, 4, "death", 1), (15, 5, "disability", 1)])  # acceptance 6
@example(events=[(11, 9, "disability", 1), (13, 1, "death", 1), (11, 2, "disability", 3), (15, 2, "death", 1)])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_monthly_runs_pay_the_cover_what_one_yearly_run_pays(events):
    persons, households = household(*PEOPLE)
    rows = [(p, f"2025-{m:02d}-{i + 1:02d}", kind, grade if kind == "disability" else None, 0)
            for i, (p, m, kind, grade) in enumerate(events)]
    acc = f.accident(rows)
    # one run per month with reports (a month without any pays nothing new)
    months = [{"accident": acc[acc["event_date"].dt.month == m]} for m in sorted({m for _, m, _, _ in events})]
    results, paid = run_monthly(ZNB, persons, households, months)
    yearly = compute_claims(ZNB, persons, households, {"accident": acc})
    want = cover_total_by_hand(events)
    assert int(paid.loc[paid["line_id"].isin(COVER_LINES), "paid"].sum()) == want
    assert int(yearly.loc[yearly["line_id"].isin(COVER_LINES), "entitlement"].sum()) == want
    assert all((r.claims["due"] >= 0).all() for r in results)


def test_the_budget_prices_a_covers_lines_one_by_one_and_says_so():
    # actuarial.budget prices death and disability at experience, each line on its own: the cover's shared caps
    # are not applied to a simulated year, so the price is an upper bound, and the notes say it
    from actuarial.budget import budget

    history = pd.DataFrame([(y, "610330", line, None, amount) for y in (2022, 2023, 2024)
                            for line, amount, k in (("death", 50000.0, 3), ("disability", 40000.0, 4))
                            for _ in range(k)], columns=["year", "county", "peril", "ground_up", "paid"])
    exposure = pd.DataFrame([(y, "610330", 30000) for y in (2022, 2023, 2024)], columns=["year", "county", "heads"])
    notes = budget(history, exposure, ZNB, 2025).notes
    assert ("group_accident（团体人身意外）: 共用限额未用于模拟，death、disability 各自计价（上限估计） / the shared caps of "
            "cover group_accident are not applied in the simulation: death, disability are priced line by line "
            "(an upper bound)") in notes
    assert not any("group_accident" in note for note in budget(history, exposure, without_covers(ZNB), 2025).notes)


# ---------------------------------------------------------------------------------------------------
# the product document


def test_the_catalog_product_groups_death_and_disability_in_one_cover():
    (cover,) = ZNB.covers
    assert (cover.id, cover.name, cover.lines) == ("group_accident", "团体人身意外", ("death", "disability"))
    # "Death pays the 50,000 per person"; "one victim ≤ 50,000, two ≤ 100,000, three or more ≤ 120,000"
    assert cover.per_person_year == 5_000_000 and cover.per_household_year is None
    assert cover.household_cap_by_victims == {1: 5_000_000, 2: 10_000_000, 3: 12_000_000}
    assert ZNB.cover_of("death") is cover and ZNB.cover_of("disability") is cover and ZNB.cover_of("farm") is None
    # the victims cap lives on the cover only, not on each line again
    assert ZNB.line("death").household_cap_by_victims == {} == ZNB.line("disability").household_cap_by_victims


def test_a_document_without_covers_loads_unchanged():
    assert "covers" not in FPB.document and FPB.covers == ()
    again = load_product(copy.deepcopy(FPB.document))
    assert again.digest == FPB.digest and again == FPB


def test_the_cover_lines_are_kept_in_the_products_order():
    doc = copy.deepcopy(ZNB.document)
    doc["covers"][0]["lines"] = ["disability", "death"]
    assert load_product(doc).covers[0].lines == ("death", "disability")


def _errors(covers: list[dict]) -> list[str]:
    doc = copy.deepcopy(ZNB.document)
    doc["covers"] = covers
    with pytest.raises(ProductError) as caught:
        load_product(doc)
    return caught.value.errors


VICTIMS = {1: 50000, 2: 100000, 3: 120000}


def test_an_unknown_line_is_named_with_the_lines_there_are():
    errors = _errors([{"id": "group_accident", "name": "团体人身意外", "lines": ["death", "burns"],
                       "caps": {"household_cap_by_victims": VICTIMS}}])
    assert errors == ["covers[0].lines[1]: 产品没有责任 burns（现有：farm, death, disability, accident_medical, property） / "
                      "unknown line burns; the product's lines are farm, death, disability, accident_medical, property"]


def test_a_line_in_two_covers_is_refused():
    errors = _errors([{"id": "group_accident", "name": "团体人身意外", "lines": ["death", "disability"],
                       "caps": {"household_cap_by_victims": VICTIMS}},
                      {"id": "accident_all", "name": "意外合计", "lines": ["accident_medical", "death"],
                       "caps": {"per_household_year": 150000}}])
    assert errors == ["covers[1].lines[1]: death: 已属于 covers[0]（group_accident），一项责任只能属于一个保障项目 / "
                      "already in covers[0] (group_accident); a line belongs to one cover at most"]


def test_person_caps_over_a_household_line_are_refused():
    errors = _errors([{"id": "farm_and_death", "name": "x", "lines": ["farm", "death"],
                       "caps": {"per_person_year": 50000}}])
    assert errors == ["covers[0].caps: per_person_year 按人计，责任 farm 按户计：请去掉该限额或把这些责任移出本保障项目 / "
                      "per_person_year counts persons but line farm is household-basis: drop the cap or move those "
                      "lines out of the cover"]
    # a per-household cap over household and person lines is fine
    doc = copy.deepcopy(ZNB.document)
    doc["covers"] = [{"id": "farm_and_death", "name": "x", "lines": ["farm", "death"],
                      "caps": {"per_household_year": 60000}}]
    assert load_product(doc).covers[0].per_household_year == 6_000_000


@pytest.mark.parametrize(("cover", "error"), [
    ({"id": "a", "name": "x", "lines": ["death"], "caps": {"per_person_year": 1}},
     "covers[0].lines: 至少两项责任（单项责任的限额写在该责任的 caps 下） / needs at least two lines (a single line's caps "
     "go under that line's caps)"),
    ({"id": "a", "name": "x", "lines": ["death", "disability"], "caps": {}},
     "covers[0].caps: 至少需要一项共用限额：per_person_year, per_household_year 或 household_cap_by_victims / needs at "
     "least one shared cap: per_person_year, per_household_year or household_cap_by_victims"),
    ({"id": "a", "name": "x", "lines": ["death", "disability"],
      "caps": {"household_cap_by_victims": {1: 50000, 2: 40000}}},
     "covers[0].caps.household_cap_by_victims: 2 人的户封顶 40000 低于 1 人的 50000：受害人越多，封顶不能越低 / the cap for "
     "2 victims (40000) is below the cap for 1 (50000): a cap must not fall as victims increase"),
    ({"id": "Group", "name": "x", "lines": ["death", "disability"], "caps": {"per_person_year": 1}},
     "covers[0].id: 须为小写字母、数字和 _ / must be lower-case letters, digits and _ (e.g. group_accident)"),
])
def test_cover_errors_say_what_to_change(cover, error):
    assert _errors([cover]) == [error]


def test_two_covers_with_one_id_are_refused():
    errors = _errors([{"id": "a", "name": "x", "lines": ["death", "disability"], "caps": {"per_person_year": 1}},
                      {"id": "a", "name": "y", "lines": ["farm", "property"], "caps": {"per_household_year": 1}}])
    assert errors == ["covers[1].id: 与 covers[0].id 重复 / duplicates covers[0].id"]
