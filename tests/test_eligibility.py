"""Eligibility as the county plans write it (issue 14, item 1 and acceptance 2).

* The 防贫保 income test nets the year's rigid costs out of the household's income: seed 003
  (../shared/seeds/003_b60d021798fb0b63.txt) "将因病、因学、因灾致使收入减少确定为重点理赔项目"; seed 001
  (../shared/seeds/001_d248a509f1250166.txt) "刚性支出明显超过上年度收入"; seed 000
  (../shared/seeds/000_b0b948f29a18e9c9.txt) 突发严重困难户 "收入高于6000元，但因病因灾因意外事故等突发状况，刚性支出较大".
* The line is a multiple of the poverty standard: 003 "以国家现行农村扶贫标准的“1.5倍”为界"; seed 004
  (../shared/seeds/004_4b82c11db3e578ad.txt) "上年度国家贫困线的1.2至1.5倍"; the 2024 standard from seed 002
  (../shared/seeds/002_02e39174bb6f32cc.txt) "人均纯收入以脱贫攻坚期国家标准的1.5倍为底线，我市2024年监测范围为人均纯收入低于6000元".
* 助农保 covers 建档立卡 households: 000 and 002 篇七 "以…已脱贫和年末未脱贫建档立卡人口…为对象（不包含集中供养五保户、
  稳定脱贫户…）"; 边缘户 are "非建档立卡农户" (002).
* A product runs on its own county's roster only.

The catalog 魏县 防贫保 (``fangpinbao-weixian-2025``) pays illness self-paid above 5,000: 50% to 10,000,
60% to 20,000, 70% above, at most 50,000 a person a year; its line is 1.5 × 4,000 = 6,000 per capita.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import factories as f
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from claims import run_calculation
from claims.lifecycle.database import transaction
from claims.lifecycle.recompute import recompute
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.roster_store import county_roster, roster_frames, store_roster
from flask_app.cli import relief
from products import ProductError, load_product
from products.eligibility import POVERTY_STANDARD_FILE, CountyMismatchError, poverty_standards
from products.roster import load_households

FPB = load_product("fangpinbao-weixian-2025")
ZNB = load_product("zhunongbao-fengxian-2025")


def variant(product, **eligibility):
    """The product's document with some eligibility fields replaced (and a code of its own)."""
    doc = copy.deepcopy(product.document)
    doc["eligibility"].update(eligibility)
    doc["code"] = doc["code"] + "-T"
    return load_product(doc)


def illness(result) -> dict[str, tuple[int, int, int]]:
    """unit_id → (base, entitlement, due) of the illness line, in fen."""
    sub = result.claims[result.claims["line_id"] == "illness"]
    return {u: (b, e, d) for u, b, e, d in zip(sub["unit_id"], sub["base"], sub["entitlement"], sub["due"])}


def refused(result, file: str = "medical.csv") -> dict[int, str]:
    """source line → detail of the not_eligible exceptions of ``file``."""
    ex = result.exceptions[(result.exceptions["file"] == file) & (result.exceptions["reason"] == "not_eligible")]
    return dict(zip(ex["line"].astype(int), ex["detail"]))


# ---- acceptance 2: the households the pre-shock test refused ---------------------------------------------

def shocked_households():
    """H1: 3 persons at ¥9,388 per head, person 1 self-paid ¥84,855; H2: 1 person at ¥6,499, self-paid ¥50,209
    (the two households of issue 14; 突发严重困难户, seed 000: "收入高于6000元…刚性支出较大")."""
    persons, households = f.roster(
        [{"household_no": "H1", "category": "突发严重困难户", "income_yuan": 9388},
         {"household_no": "H2", "category": "突发严重困难户", "income_yuan": 6499}],
        [{"n": 1, "household_no": "H1"}, {"n": 2, "household_no": "H1"}, {"n": 3, "household_no": "H1"},
         {"n": 4, "household_no": "H2"}])
    med = f.medical([(1, "2025-04-10", 8_485_500), (4, "2025-05-20", 5_020_900)])
    return persons, households, med


def test_the_catalog_fangpinbao_nets_the_rigid_costs_out_and_pays_both_households():
    """003 "因病、因学、因灾致使收入减少"; 001 "刚性支出明显超过上年度收入": income after the year's rigid costs."""
    persons, households, med = shocked_households()
    assert FPB.eligibility.income_test == "net_of_costs" and FPB.eligibility.income_line == 600_000
    result = run_calculation(FPB, persons, households, {"medical": med})
    # H1: 9,388 × 3 = 28,164; 28,164 − 84,855 = −56,691 ≤ 6,000 × 3 = 18,000 → eligible.
    #   84,855 self-paid: 5,000 × 50% + 10,000 × 60% + 64,855 × 70% = 2,500 + 6,000 + 45,398.50 = 53,898.50,
    #   over the 50,000 a person a year → 50,000.00
    # H2: 6,499 × 1 − 50,209 = −43,710 ≤ 6,000 → eligible.
    #   50,209: 2,500 + 6,000 + 30,209 × 70% (= 21,146.30) = 29,646.30
    assert illness(result) == {f.pid(1): (8_485_500, 5_000_000, 5_000_000),
                               f.pid(4): (5_020_900, 2_964_630, 2_964_630)}
    assert refused(result) == {}


def test_both_households_are_refused_by_the_pre_shock_test_with_a_6000_line():
    """The behaviour the issue reports: income before the shock against a fixed 6,000."""
    persons, households, med = shocked_households()
    pre_shock = variant(FPB, income_test="pre_shock", income_line=6000)
    result = run_calculation(pre_shock, persons, households, {"medical": med})
    assert illness(result) == {}
    # 9,388 > 6,000 and 6,499 > 6,000
    details = refused(result)
    assert sorted(details) == [2, 3]
    assert "9388.00" in details[2] and "6000.00" in details[2] and "6499.00" in details[3]


def test_rigid_costs_are_medical_schooling_and_disaster_to_the_event_date():
    """The costs netted out are the household's self-paid medical, schooling and disaster loss with an event
    date on or before the row's (seed 003: "因病、因学、因灾"), whoever in the household bore them."""
    persons, households = f.roster(
        [{"household_no": "K", "category": "突发严重困难户", "income_yuan": 10_000}],
        [{"n": 11, "household_no": "K"}, {"n": 12, "household_no": "K"}, {"n": 13, "household_no": "K"}])
    reports = {
        "disaster": f.disaster([("K", "2025-02-01", "洪涝", 400_000)]),  # net loss 4,000
        "education": f.education([(13, 2025, "高中", 300_000, False)]),  # 3,000, event date 2025-09-01
        "medical": f.medical([(11, "2025-08-10", 600_000), (12, "2025-10-10", 600_000)]),
    }
    result = run_calculation(FPB, persons, households, reports)
    # income 10,000 × 3 = 30,000; line 6,000 × 3 = 18,000.
    # person 11, 2025-08-10: costs to date 4,000 (disaster) + 6,000 (own bill) = 10,000; 30,000 − 10,000 =
    #   20,000 > 18,000 → refused (the schooling cost of September is not yet there)
    # person 12, 2025-10-10: 4,000 + 3,000 (schooling) + 6,000 (person 11's August bill: a cost, even though its
    #   own claim was refused) + 6,000 = 19,000; 30,000 − 19,000 = 11,000 ≤ 18,000 → eligible:
    #   (6,000 − 5,000) × 50% = 500.00
    assert illness(result) == {f.pid(12): (600_000, 50_000, 50_000)}
    detail = refused(result)[2]
    assert "10000.00" in detail and "10000.00" in detail.split("刚性支出")[1]  # income, and the costs netted out
    assert "6666.67" in detail  # net per capita (30,000 − 10,000) / 3 = 6,666.666… → 6,666.67 > 6,000
    # the disaster row (2025-02-01: 30,000 − 4,000 > 18,000) is refused as a row of a line the product has
    assert 2 in refused(result, "disaster.csv")


def test_a_claim_refused_in_march_is_not_reopened_by_later_costs():
    """Costs to the event date: a later bill makes later rows eligible, not the earlier one (monthly = yearly)."""
    persons, households = f.roster([{"household_no": "J", "category": "突发严重困难户", "income_yuan": 12_000}],
                                   [{"n": 21, "household_no": "J"}])
    med = f.medical([(21, "2025-03-01", 550_000), (21, "2025-06-01", 550_000)])
    result = run_calculation(FPB, persons, households, {"medical": med})
    # March: 12,000 − 5,500 = 6,500 > 6,000 → refused; June: 12,000 − 11,000 = 1,000 ≤ 6,000 → eligible, and the
    # line counts the eligible rows only: base 5,500 → (5,500 − 5,000) × 50% = 250.00
    assert illness(result) == {f.pid(21): (550_000, 25_000, 25_000)}
    assert list(refused(result)) == [2]


def test_income_test_none_pays_whatever_the_income():
    persons, households = f.roster([{"household_no": "R", "category": "突发严重困难户", "income_yuan": 20_000}],
                                   [{"n": 31, "household_no": "R"}])
    med = f.medical([(31, "2025-03-01", 700_000)])
    # net of costs: 20,000 − 7,000 = 13,000 > 6,000 → refused
    assert illness(run_calculation(FPB, persons, households, {"medical": med})) == {}
    # none: (7,000 − 5,000) × 50% = 1,000.00
    anyone = variant(FPB, income_test="none")
    assert illness(run_calculation(anyone, persons, households, {"medical": med})) == {f.pid(31): (700_000, 100_000,
                                                                                                  100_000)}


# ---- the line as a multiple of the poverty standard ------------------------------------------------------

def test_every_poverty_standard_row_names_its_source_and_2024_is_seed_002s():
    document = yaml.safe_load(POVERTY_STANDARD_FILE.read_text(encoding="utf-8"))
    assert all(str(row["source"]).strip() for row in document["standards"].values())
    # seed 002: "以脱贫攻坚期国家标准的1.5倍为底线，我市2024年监测范围为人均纯收入低于6000元" → 6,000 / 1.5 = 4,000
    assert poverty_standards()[2024] == 4000
    assert 2025 not in poverty_standards()  # not sourced: not listed


def test_the_line_is_the_multiple_of_the_years_standard():
    # 004 "1.2至1.5倍": 1.2 × 3,218 (2019) = 3,861.60
    low = variant(FPB, income_line={"multiple_of_poverty_standard": 1.2, "standard_year": 2019})
    assert low.eligibility.income_line == 386_160
    # a fixed amount still reads as yuan
    assert variant(FPB, income_line=5000.5).eligibility.income_line == 500_050


def test_a_year_without_a_sourced_standard_is_refused():
    doc = copy.deepcopy(FPB.document)
    doc["eligibility"]["income_line"] = {"multiple_of_poverty_standard": 1.5}  # standard of the policy year 2025
    with pytest.raises(ProductError) as caught:
        load_product(doc)
    assert "2025" in str(caught.value) and "poverty standard" in str(caught.value)
    doc["eligibility"]["income_line"] = {"multiple_of_poverty_standard": 0}
    with pytest.raises(ProductError, match="multiple"):
        load_product(doc)
    doc["eligibility"]["income_line"] = 6000
    doc["eligibility"]["income_test"] = "after_costs"
    with pytest.raises(ProductError, match="income_test"):
        load_product(doc)


# ---- 助农保: 建档立卡 households, not 集中供养 五保 nor 稳定脱贫户 -----------------------------------------

def test_the_catalog_zhunongbao_covers_the_population_of_its_plan():
    """000/002 篇七 "不包含集中供养五保户、稳定脱贫户"; 002 边缘户 "非建档立卡农户": each household's head killed in
    an accident; the sum insured 50,000 is paid to the covered ones only."""
    cases = {  # household: (category, 供养方式, paid?)
        "A": ("一般农户", None, False),
        "B": ("特困供养", "分散供养", True),
        "C": ("特困供养", "集中供养", False),
        "D": ("五保户", "分散", True),  # the short spelling reads as 分散供养
        "E": ("特困供养", None, False),  # blank 供养方式: nobody can tell it is not 集中供养
        "F": ("稳定脱贫户", None, False),
        "G": ("边缘易致贫户", None, False),
        "H": ("脱贫不稳定户", None, True),
    }
    persons, households = f.roster([{"household_no": h, "category": c} for h, (c, _, _) in cases.items()],
                                   [{"n": 40 + i, "household_no": h} for i, h in enumerate(cases)])
    households["support_mode"] = [s for _, s, _ in cases.values()]
    deaths = f.accident([(40 + i, "2025-05-01", "death", None, 0) for i in range(len(cases))])
    result = run_calculation(ZNB, persons, households, {"accident": deaths})
    paid = dict(zip(result.claims["unit_id"], result.claims["due"]))
    assert paid == {f.pid(40 + i): 5_000_000 for i, (_, _, ok) in enumerate(cases.values()) if ok}
    details = refused(result, "accident.csv")  # line = 2 + the case's position
    assert "一般农户" in details[2] and "集中供养" in details[4] and "供养方式" in details[6]
    assert "稳定脱贫户" in details[7] and "边缘易致贫户" in details[8]


def test_the_roster_reads_the_support_mode_column(tmp_path):
    text = ("户编号,村代码,自然村,户类型,家庭人均纯收入,家庭人口数,供养方式\n"
            "W1,130434100200,张庄,特困供养,3000,1,集中供养\nW2,130434100200,张庄,特困供养,3000,1,分散供养\n"
            "W3,130434100200,张庄,脱贫不稳定户,4000,2,\n")
    path = tmp_path / "households.csv"
    path.write_text(text, encoding="utf-8")
    fast, general = load_households(path), load_households(path, fast=False)
    pd.testing.assert_frame_equal(fast, general)
    assert fast["support_mode"].tolist()[:2] == ["集中供养", "分散供养"] and pd.isna(fast["support_mode"].iloc[2])


# ---- a product runs on its own county's roster ---------------------------------------------------------

def write_roster(tmp_path: Path) -> tuple[Path, Path]:
    """Two households of 魏县 (130434): W1 分散供养 特困供养, W2 集中供养 特困供养."""
    persons, households = tmp_path / "persons.csv", tmp_path / "households.csv"
    persons.write_text(f"身份证号,姓名,户编号\n{f.pid(1)},张一,W1\n{f.pid(2)},李二,W2\n", encoding="utf-8")
    households.write_text("户编号,村代码,自然村,户类型,家庭人均纯收入,家庭人口数,供养方式\n"
                          "W1,130434100200,张庄,特困供养,3000,1,分散供养\n"
                          "W2,130434100200,张庄,特困供养,3000,1,集中供养\n", encoding="utf-8")
    return persons, households


def test_relief_calc_refuses_another_countys_roster(tmp_path):
    """凤县's product (610330) on 魏县's roster (130434) is refused, in Chinese and English."""
    persons, households = write_roster(tmp_path)
    accident = tmp_path / "accident.csv"
    accident.write_text(f"身份证号,事故日期,事故类型\n{f.pid(1)},2025-05-01,身故\n", encoding="utf-8")
    args = ["calc", "--product", "zhunongbao-fengxian-2025", "--persons", str(persons), "--households",
            str(households), "--report", f"accident={accident}", "--out", str(tmp_path / "out"), "--quiet"]
    result = CliRunner().invoke(relief, args)
    assert result.exit_code != 0 and not (tmp_path / "out" / "claims.csv").exists()
    assert "610330" in result.output and "130434（2 户）" in result.output
    assert "holds households of county 130434 (2 households)" in result.output


def test_relief_setup_refuses_another_countys_roster(tmp_path, db_url):
    persons, households = write_roster(tmp_path)
    result = CliRunner().invoke(relief, ["setup", "--product", "zhunongbao-fengxian-2025", "--framed-heads", "10",
                                         "--persons", str(persons), "--households", str(households),
                                         "--database", db_url])
    assert result.exit_code != 0 and "承保县 610330" in result.output and "covers county 610330" in result.output


def test_the_database_keeps_the_support_mode_and_recompute_runs_on_the_products_county(tmp_path, db):
    """助农保 of 魏县 (the catalog document with county 130434) on a database holding 魏县 and 凤县 households:
    the 分散供养 household's death is paid, the 集中供养 one's is not; a product of a county whose households
    the database does not hold is refused."""
    _, factory = db
    persons, households = f.roster(
        [{"household_no": "W1", "category": "特困供养"}, {"household_no": "W2", "category": "特困供养"},
         {"household_no": "F1", "village_code": "610330100200"}],
        [{"n": 1, "household_no": "W1"}, {"n": 2, "household_no": "W2"}, {"n": 3, "household_no": "F1"}])
    households["support_mode"] = ["分散供养", "集中供养", None]
    doc = copy.deepcopy(ZNB.document)
    doc.update(code="ZNB-130434-2025-T", county="130434")
    weixian = load_product(doc)
    with transaction(factory) as s:
        store_roster(s, persons, households)
        _, stored = roster_frames(s)
        assert dict(zip(stored["household_no"], stored["support_mode"].fillna(""))) == {
            "W1": "分散供养", "W2": "集中供养", "F1": ""}
        here_persons, here = county_roster(s, weixian)
        assert sorted(here["household_no"]) == ["W1", "W2"] and len(here_persons) == 2
        policy = create_policy(s, register_product(s, weixian), 10)
        # only 魏县's households: a 凤县 household is none of this product's
        result = run_calculation(weixian, here_persons, here, {"accident": f.accident([
            (1, "2025-05-01", "death", None, 0), (2, "2025-05-01", "death", None, 0)])})
        assert dict(zip(result.claims["unit_id"], result.claims["due"])) == {f.pid(1): 5_000_000}
        assert recompute(s, policy.id).created == 0  # nothing imported yet
        other = copy.deepcopy(ZNB.document)
        other.update(code="ZNB-130999-2025-T", county="130999")
        lost = create_policy(s, register_product(s, load_product(other)), 10)
        with pytest.raises(CountyMismatchError, match="130999"):
            recompute(s, lost.id)


def test_the_amounts_stay_integer_fen():
    """The line in fen is an exact integer: 1.5 × 4,000 yuan = 6,000.00 → 600,000 fen (no float)."""
    assert isinstance(FPB.eligibility.income_line, int)
    assert Decimal(FPB.eligibility.income_line) / 100 == Decimal("1.5") * poverty_standards()[2024]


def test_the_heshan_product_holds_the_income_after_a_disaster_against_its_line():
    """鹤山区 (seed 003): "以国家现行农村扶贫标准的“1.5倍”为界,划定“防贫保障线”" and "将因病、因学、因灾致使收入减少
    确定为重点理赔项目": a 1-person household at ¥8,000, above the 6,000 line, loses ¥15,000 in a flood."""
    heshan = load_product("fangpinbao-heshan-2025")
    assert (heshan.eligibility.income_line, heshan.eligibility.income_test) == (600_000, "net_of_costs")  # 1.5 × 4,000
    persons, households = f.roster([{"household_no": "HS1", "income_yuan": 8000, "village_code": "410602100200"}],
                                   [{"n": 51, "household_no": "HS1"}])
    flood = {"disaster": f.disaster([("HS1", "2025-07-20", "洪涝", 1_500_000)])}
    # 8,000 × 1 − 15,000 = −7,000 ≤ 6,000 → eligible; the disaster line pays the part above 10,000: 5,000.00
    claims = run_calculation(heshan, persons, households, flood).claims
    assert dict(zip(claims["line_id"], claims["due"])) == {"disaster": 500_000}
    # before the shock (8,000 > 6,000) the household would have been refused
    claims = run_calculation(variant(heshan, income_test="pre_shock"), persons, households, flood).claims
    assert claims["due"].sum() == 0


def test_relief_import_refuses_a_policy_whose_county_has_no_household_here(tmp_path, db_url):
    """A policy set up (outside ``relief setup``) for a county whose households the database does not hold:
    importing a report for it is refused, bilingual, and nothing is stored."""
    from sqlalchemy import func, select

    from claims.lifecycle.database import make_engine, session_factory
    from claims.lifecycle.models import ImportBatch

    persons, households = f.roster([{"household_no": "W1"}], [{"n": 1, "household_no": "W1"}])
    other = copy.deepcopy(ZNB.document)
    other.update(code="ZNB-130999-2025-T", county="130999")
    engine = make_engine(db_url)
    try:
        factory = session_factory(engine)
        with transaction(factory) as s:
            store_roster(s, persons, households)
            policy_id = create_policy(s, register_product(s, load_product(other)), 10).id
        report = tmp_path / "accident.csv"
        report.write_text(f"身份证号,事故日期,事故类型\n{f.pid(1)},2025-05-01,身故\n", encoding="utf-8")
        result = CliRunner().invoke(relief, ["import", "--department", "accident", str(report), "--policy",
                                             str(policy_id), "--database", db_url],
                                    env={"RELIEF_USER": "测试员"})
        assert result.exit_code != 0, result.output
        assert "承保县 130999" in result.output and "covers county 130999" in result.output
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(ImportBatch)) == 0
    finally:
        engine.dispose()
