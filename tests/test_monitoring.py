"""防贫监测 (issue 14 item 2): monitoring categories, 红/黄/绿 grades and the early-warning list.

Seed: ../shared/seeds/001_d248a509f1250166.txt (the monitoring plans).  The words each test implements:

* 篇1 "脱贫监测户：年人均收入低于5000元且有返贫风险的建档立卡已脱贫户" and "边缘户：年人均收入低于5000元且有致贫
  风险的非建档立卡农户";
* 篇8 the 三类: "脱贫不稳定户、边缘易致贫户" and "因病因灾因意外事故等刚性支出较大或收入大幅缩减导致基本生活出现
  严重困难的户";
* 篇9 "红色…预估今年家庭人均纯收入低于5000元（不含）", "黄色…超过5000元（含）但低于10000元（不含）", "绿色…超过
  10000元（含）";
* 篇7 "因病自付医疗费用超过0.5万元为预警线", "对进入防贫预警线的脱贫户和边缘户进行实时跟踪监测", "刚性支出明显超过
  上年度收入".

The product is 魏县防贫保2025 (illness warning line 5,000 = its trigger and start line; schooling 8,000;
disaster 10,000); the share is the default 60%.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factories as f
import pandas as pd
import pytest
from test_imports import county  # noqa: F401 - the migrated database with the product, policy and roster

from claims.engine.monitoring import assess_households, early_warning_list, grade_of, warning_line, write_watchlist
from products import load_product

FPB = load_product("fangpinbao-weixian-2025")


def _county():
    persons, households = f.roster(
        [{"household_no": "H1", "category": "稳定脱贫户", "income_yuan": 4000},
         {"household_no": "H2", "category": "一般农户", "income_yuan": 12000},
         {"household_no": "H3", "category": "一般农户", "income_yuan": 5000},
         {"household_no": "H4", "category": "边缘易致贫户", "income_yuan": 6000},
         {"household_no": "H5", "category": "一般农户", "income_yuan": 2000},
         {"household_no": "H6", "category": "低保户", "income_yuan": 4500}],
        [{"n": 1, "household_no": "H1"}, {"n": 2, "household_no": "H1"}, {"n": 3, "household_no": "H2"},
         {"n": 4, "household_no": "H3"}, {"n": 5, "household_no": "H4"}, {"n": 6, "household_no": "H5"},
         {"n": 7, "household_no": "H6"}, {"n": 8, "household_no": "H6"}])
    reports = {
        # person 1: 3,000 in January + 1,900 in February = 4,900 self-paid (below the 5,000 line, ≥ 60% of it)
        "medical": f.medical([(1, "2025-01-10", 300_000), (1, "2025-02-10", 190_000), (3, "2025-01-12", 299_999),
                              (4, "2025-01-15", 300_000), (5, "2025-01-20", 500_001)]),
        "education": f.education([(6, 2025, "高中", 250_000, False)]),
        "disaster": f.disaster([("H6", "2025-03-01", "洪涝", 600_000)]),
    }
    return persons, households, reports


def test_warning_lines_are_where_a_claim_starts():
    # W = max(trigger, start_line): illness trigger 5,000 / start 5,000; schooling start 8,000; disaster 10,000
    assert {line.id: warning_line(line) for line in FPB.lines if line.kind == "bracket"} == {
        "illness": 500_000, "schooling": 800_000, "disaster": 1_000_000}


def test_grades_red_yellow_green_by_per_capita_income():
    """篇9: 红 "低于5000元（不含）", 黄 "超过5000元（含）但低于10000元（不含）", 绿 "超过10000元（含）"."""
    income = [0, 499_999, 500_000, 999_999, 1_000_000, 2_000_000]
    assert list(grade_of(income, FPB)) == ["红", "红", "黄", "黄", "绿", "绿"]


def test_grades_and_share_from_the_product_document():
    """Another county's 红黄蓝 (篇8 "分别用“红、黄、蓝”三种颜色标示") with its own bounds and a 50% share."""
    doc = dict(FPB.document)
    doc["monitoring"] = {"grades": [{"grade": "红", "below": 3000}, {"grade": "黄", "below": 6000},
                                    {"grade": "蓝", "below": None}], "warning_share": 0.5}
    product = load_product(doc)
    assert list(grade_of([299_999, 300_000, 600_000], product)) == ["红", "黄", "蓝"]
    persons, households, reports = _county()
    listed = set(early_warning_list(assess_households(product, persons, households, reports))["household_no"])
    # at 50% person 3's 2,999.99 reaches 2,500 (= 50% × 5,000): H2 joins the list
    assert "H2" in listed


def test_categories_grades_and_the_early_warning_list():
    persons, households, reports = _county()
    got = assess_households(FPB, persons, households, reports).set_index("household_no")
    # H1: 稳定脱贫户 (建档立卡) at 4,000 < 5,000 → 脱贫不稳定户 (篇1 "年人均收入低于5000元且有返贫风险的建档立卡已脱贫户");
    #     self-paid 3,000 + 1,900 = 4,900 ≥ 60% × 5,000 = 3,000 and ≤ 5,000 → on the list (篇7 "进入防贫预警线");
    #     last year's income 4,000 × 2 = 8,000 > 4,900: no shock
    assert got.loc["H1", ["category", "grade", "rigid_costs", "early_warning", "shock"]].tolist() == [
        "脱贫不稳定户", "红", 490_000, True, False]
    assert got.loc["H1", "reasons"] == "因病防贫 ¥4900.00 ≥ 60% × 预警线 ¥5000.00"
    # H2: 一般农户 at 12,000: 绿, no category; 2,999.99 < 3,000: not on the list
    assert got.loc["H2", ["category", "grade", "early_warning"]].tolist() == ["", "绿", False]
    # H3: exactly 3,000.00 = 60% × 5,000 reaches the share: on the list; 5,000 per head is 黄 (5000元（含）)
    #     and not below 5,000: no category
    assert got.loc["H3", ["category", "grade", "early_warning"]].tolist() == ["", "黄", True]
    # H4: 边缘易致贫户 on the roster keeps it; 5,000.01 > 5,000 crossed the line: a claim, not the list
    assert got.loc["H4", ["category", "grade", "crossed", "early_warning"]].tolist() == [
        "边缘易致贫户", "黄", True, False]
    # H5: schooling 2,500 < 60% × 8,000 = 4,800 (not near), but 2,500 > last year's 2,000 × 1 → 突发严重困难户
    #     (篇7 "刚性支出明显超过上年度收入"), on the list
    assert got.loc["H5", ["category", "grade", "shock", "early_warning"]].tolist() == [
        "突发严重困难户", "红", True, True]
    assert got.loc["H5", "reasons"] == "刚性支出 ¥2500.00 超过上年收入 ¥2000.00"
    # H6: 低保户 (not 建档立卡) at 4,500 → 边缘易致贫户 (篇1 "非建档立卡农户"); disaster 6,000 = 60% × 10,000: on the list
    assert got.loc["H6", ["category", "grade", "rigid_costs", "early_warning"]].tolist() == [
        "边缘易致贫户", "红", 600_000, True]
    listed = early_warning_list(got.reset_index())
    assert listed["household_no"].tolist() == ["H6", "H1", "H3", "H5"]  # largest rigid costs first


def test_year_to_date_and_the_income_report():
    persons, households, reports = _county()
    # as of January's end person 1 has 3,000 self-paid: exactly 60% of the 5,000 line, already on the list
    jan = assess_households(FPB, persons, households, reports, as_of=dt.date(2025, 1, 31)).set_index("household_no")
    assert jan.loc["H1", ["rigid_costs", "early_warning"]].tolist() == [300_000, True]
    assert not jan.loc["H6", "early_warning"]  # the March flood is not counted yet
    # a survey on 2025-02-01 puts H2 at 4,800 per head: graded 红 from then on (篇9 "预估今年家庭人均纯收入"), and
    # as a non-建档立卡 household below 5,000 it is 边缘易致贫户
    reports["income"] = f.income([("H2", "2025-02-01", 480_000)])
    feb = assess_households(FPB, persons, households, reports, as_of=dt.date(2025, 2, 28)).set_index("household_no")
    assert feb.loc["H2", ["income", "grade", "category"]].tolist() == [480_000, "红", "边缘易致贫户"]
    assert jan.loc["H2", "grade"] == "绿"


def test_watchlist_csv_is_formula_safe(tmp_path):
    persons, households, reports = _county()
    households.loc[households["household_no"] == "H1", "natural_village"] = "=HYPERLINK(\"http://x\",\"y\")"
    path = write_watchlist(early_warning_list(assess_households(FPB, persons, households, reports)),
                           tmp_path / "watchlist.csv")
    table = pd.read_csv(path, dtype=str, encoding="utf-8-sig").set_index("household_no")
    assert table.loc["H1", "natural_village"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert table.loc["H1", "rigid_costs"] == "4900.00"
    assert table.loc["H1", "monitoring_category"] == "脱贫不稳定户"


def test_relief_monitor_writes_the_list(tmp_path):
    """``relief monitor`` wires the files to the pure core: the same households as the engine's list."""
    from click.testing import CliRunner

    from claims.engine.files import load_inputs, parse_report_specs
    from claims.synth import synth_county
    from flask_app.cli import relief

    county = tmp_path / "county"
    synth_county(county, 600, seed=7)
    specs = [f"{d}={county / d}" for d in ("medical", "education", "disaster") if (county / d).exists()]
    result = CliRunner().invoke(relief, ["monitor", "--product", "fangpinbao-weixian-2025", "--roster", str(county),
                                         *sum((["--report", s] for s in specs), []), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "watchlist.csv", dtype=str, encoding="utf-8-sig")
    inputs = load_inputs(county / "persons.csv", county / "households.csv", parse_report_specs(specs))
    listed = early_warning_list(assess_households(FPB, inputs.persons, inputs.households, inputs.reports))
    assert table["household_no"].tolist() == listed["household_no"].tolist()
    assert f"{len(listed)} 户" in result.output
    bad = CliRunner().invoke(relief, ["monitor", "--product", "fangpinbao-weixian-2025", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--roster" in bad.output


# ---- the database: the monthly run keeps the list; a household crossing moves to a claim ----------------

def test_the_monthly_run_keeps_the_list_and_a_crossing_moves_to_a_claim(county, tmp_path):
    """Acceptance 3: "a household crossing the line in a later month moves from the list to a claim".

    Roster (tests/test_imports.py): H1 (village V1) persons 1, 2; H2 (V2) person 3; H3 (V1) person 4; every
    household 5,000 per head.  001 篇7: "对进入防贫预警线的脱贫户和边缘户进行实时跟踪监测"."""
    from sqlalchemy import select
    from test_imports import SYSTEM, medical_file

    from claims.lifecycle.imports import import_report
    from claims.lifecycle.models import Claim
    from claims.lifecycle.monitoring import WatchedHousehold, WatchRecord
    from claims.lifecycle.scope import Scope
    from claims.lifecycle.transitions import Actor
    from claims.lifecycle.watchlist import WatchActionError, WatchFilters, WatchNotFound, record_action, watch_page

    factory, policy_id = county
    # month 1: person 1 pays 4,900 self-paid (below the 5,000 line, ≥ 60% × 5,000 = 3,000); person 3 1,000
    # (< 3,000: not on the list); person 4 3,500 (≥ 3,000: on the list)
    jan = medical_file(tmp_path / "jan.csv", [("S1", 1, "2025-01-10", 4900), ("S2", 3, "2025-01-11", 1000),
                                             ("S3", 4, "2025-01-12", 3500)])
    import_report(factory, policy_id, "medical", jan, actor=SYSTEM, period="2025-01")
    everyone = Scope(None)
    with factory() as s:
        rows, total = watch_page(s, everyone, WatchFilters(), 1)
        assert total == 2 and [w.household_no for w in rows] == ["H1", "H3"]  # largest rigid costs first
        h1 = rows[0]
        assert (h1.state, h1.month, h1.rigid_costs, h1.grade) == ("watching", "2025-01", Decimal("4900.00"), "黄")
        assert s.scalar(select(Claim.id).where(Claim.household_no == "H1")) is None  # no claim yet
        # a village clerk of V2 does not see V1's households
        assert watch_page(s, Scope.of("village_clerk", ["130434101201"], ["130434"]), WatchFilters(), 1)[1] == 0
    # month 2: person 1 pays 600 more: 4,900 + 600 = 5,500 > 5,000 → a claim (50% × 500 = 250.00)
    feb = medical_file(tmp_path / "feb.csv", [("S4", 1, "2025-02-03", 600)])
    import_report(factory, policy_id, "medical", feb, actor=SYSTEM, period="2025-02")
    with factory() as s:
        claim = s.scalar(select(Claim).where(Claim.household_no == "H1"))
        assert claim.amount == Decimal("250.00")
        h1 = s.scalar(select(WatchedHousehold).where(WatchedHousehold.household_no == "H1"))
        assert (h1.state, h1.claim_id, h1.month) == ("claimed", claim.id, "2025-02")
        assert [w.household_no for w in watch_page(s, everyone, WatchFilters(), 1)[0]] == ["H3"]  # left the list
        actions = [(r.month, r.action, r.state) for r in s.scalars(
            select(WatchRecord).where(WatchRecord.watched_id == h1.id).order_by(WatchRecord.id))]
        assert actions == [("2025-01", "enter", "watching"), ("2025-02", "claimed", "claimed")]
    # H3: 已帮扶 then 已销号, each with its reason and actor; a closed household cannot be aided again
    clerk = Actor(None, "village_clerk", name="clerk1")
    with factory() as s, s.begin():
        h3 = s.scalar(select(WatchedHousehold).where(WatchedHousehold.household_no == "H3"))
        record_action(s, everyone, h3.id, "aided", "落实医疗救助 / medical aid arranged", clerk)
        record_action(s, everyone, h3.id, "closed", "风险消除 / risk removed", clerk)
        with pytest.raises(WatchActionError):
            record_action(s, everyone, h3.id, "aided", "again", clerk)
        with pytest.raises(WatchNotFound):  # a clerk of V2 cannot act on V1's household: as if it did not exist
            record_action(s, Scope.of("village_clerk", ["130434101201"], ["130434"]), h3.id, "closed", "x", clerk)
        records = [(r.action, r.state, r.reason, r.actor_name) for r in s.scalars(
            select(WatchRecord).where(WatchRecord.watched_id == h3.id).order_by(WatchRecord.id))][1:]
        assert records == [("aided", "aided", "落实医疗救助 / medical aid arranged", "clerk1"),
                           ("closed", "closed", "风险消除 / risk removed", "clerk1")]
    # the Excel export: every household of the filter, text cells formula-safe, amounts numbers
    import io

    from openpyxl import load_workbook

    from claims.lifecycle.watchlist import export_xlsx
    with factory() as s, s.begin():
        s.query(WatchedHousehold).filter(WatchedHousehold.household_no == "H3").update(
            {"natural_village": "=HYPERLINK(\"http://x\",\"y\")"})
    with factory() as s:
        sheet = load_workbook(io.BytesIO(export_xlsx(s, everyone, WatchFilters(state="all")))).active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"H1", "H3"}
    assert rows["H3"][2] == "'=HYPERLINK(\"http://x\",\"y\")" and rows["H3"][7] == "已销号"
    assert rows["H1"][6] == 5500  # 4,900 + 600 self-paid, a number
