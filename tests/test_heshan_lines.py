"""The six relief lines of 鹤山区's 防贫保 (seed 003) and the catalog product written from it.

Seed: ../shared/seeds/003_b60d021798fb0b63.txt (鹤壁市鹤山区 乡村振兴局), the lines in its own words:
"构建六重救助保障。一是瞄准灾害、意外事故致贫因素……二是瞄准疾病住院致贫因素……三是瞄准升学致贫因素……
四是瞄准在校持续接受教育新致贫因素……五是瞄准家庭有贫困风险导致收入下降因素……六是瞄准产业受损新致贫因素".
What a fall of income is: ../shared/seeds/000_b0b948f29a18e9c9.txt "收入与上年同期相比下滑幅度较大".
Seed 003 gives no amounts: the start lines, rates and caps are the product's
(products/catalog/fangpinbao-heshan-2025.yaml says where each comes from).  Each expected amount below is
worked by hand in its comment.  All people are synthetic (valid GB 11643 check digits).
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pandas as pd
import pytest
from click.testing import CliRunner

from claims import run_calculation
from claims.reports import read_report
from flask_app.cli import relief
from products import ProductError, load_product
from tabular.resident_id import make_id

PRODUCT = "fangpinbao-heshan-2025"
VILLAGE = "410602100201"  # a 12-digit village code inside 鹤山区 (410602)


def pid(n: int) -> str:
    """The n-th synthetic resident of 鹤山区."""
    return make_id("410602", "19800101", n)


def roster(households: list[tuple[str, int, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """households: (household_no, roster per-capita income in yuan, members); person n = k-th member."""
    persons, rows, n = [], [], 1
    for household_no, income_yuan, members in households:
        for k in range(members):
            persons.append({"id_no": pid(n), "name": f"测试{n}", "household_no": household_no,
                            "relation": "户主" if k == 0 else "子女"})
            n += 1
        rows.append({"household_no": household_no, "village_code": VILLAGE, "natural_village": "鹤山村",
                     "category": "边缘易致贫户", "per_capita_income": income_yuan * 100, "members": members})
    return pd.DataFrame(persons), pd.DataFrame(rows)


def claims_of(result) -> dict[tuple[str, str], int]:
    """(line_id, unit_id) → due in fen."""
    return {(r.line_id, r.unit_id): int(r.due) for r in result.claims.itertuples()}


MEDICAL = "结算ID,身份证号,结算日期,医疗费总额,统筹基金支出,大病保险,医疗救助,其他支出,全自费金额,超限价自费,医疗类别\n"


def test_the_heshan_product_is_seed_003s():
    """003: "每年购买100元防贫救助保险"; "为期10天的公示"; the district 鹤壁市鹤山区 = 410602."""
    product = load_product(PRODUCT)
    assert (product.county, product.premium_per_head, product.premium_basis) == ("410602", 100_00, "person")
    assert product.notice_days == 10
    assert [(line.id, line.peril) for line in product.lines] == [
        ("illness", "illness"), ("entry", "school_entry"), ("schooling", "schooling"), ("disaster", "disaster"),
        ("accident", "accident_medical"), ("income", "income_drop"), ("industry", "industry_loss")]
    assert product.line("illness").inpatient_only  # 003 "疾病住院"
    assert product.line("income").drop_basis == "prior_year" and product.line("income").min_drop_rate_e4 == 3000


def test_illness_counts_inpatient_settlements_only():
    """003 "二是瞄准疾病住院致贫因素": a 住院 settlement counts, a 门诊慢特病 one does not and is listed."""
    persons, households = roster([("H1", 5000, 1)])
    # row 2, 住院: total 20,000 − 统筹 8,000 = self-paid 12,000; row 3, 门诊慢特病: 3,500 − 500 = 3,000
    text = (MEDICAL + f"S1,{pid(1)},2025-03-01,20000,8000,0,0,0,0,0,住院\n"
            f"S2,{pid(1)},2025-04-01,3500,500,0,0,0,0,0,门诊慢特病\n")
    read = read_report(text.encode("utf-8"), "medical", file_name="medical.csv")
    assert read.rows["med_type"].tolist() == ["inpatient", "outpatient"]
    result = run_calculation(load_product(PRODUCT), persons, households, {"medical": [read.rows]})
    # base 12,000 (the 门诊 3,000 not added): (10,000 − 5,000) × 50% + (12,000 − 10,000) × 60% = 2,500 + 1,200
    assert claims_of(result) == {("illness", pid(1)): 3_700_00}
    ex = result.exceptions
    assert ex[["line", "reason"]].values.tolist() == [[3, "not_inpatient"]]
    assert "门诊" in ex["detail"].iloc[0]


def test_an_outpatient_row_another_line_reads_is_not_an_exception():
    """Rows an inpatient-only line leaves are listed only when no other line of the product uses them."""
    doc = copy.deepcopy(load_product(PRODUCT).document)
    every = {**doc["lines"][0], "id": "illness_all", "inpatient_only": False}
    doc["lines"].append(every)
    persons, households = roster([("H1", 5000, 1)])
    text = (MEDICAL + f"S1,{pid(1)},2025-03-01,20000,8000,0,0,0,0,0,住院\n"
            f"S2,{pid(1)},2025-04-01,3500,500,0,0,0,0,0,门诊\n")
    read = read_report(text.encode("utf-8"), "medical", file_name="medical.csv")
    result = run_calculation(load_product(doc), persons, households, {"medical": [read.rows]})
    assert result.exceptions.empty
    due = claims_of(result)
    assert due[("illness", pid(1))] == 3_700_00  # 12,000 as above
    # 12,000 + 3,000 = 15,000: 2,500 + (15,000 − 10,000) × 60% = 2,500 + 3,000 = 5,500 (the person's 100,000
    # product cap leaves both whole)
    assert due[("illness_all", pid(1))] == 5_500_00


def test_a_medical_file_without_the_visit_column_pays_nothing_on_an_inpatient_only_line():
    """Whether a settlement was 住院 must be written: without 医疗类别 no row is known to be inpatient."""
    persons, households = roster([("H1", 5000, 1)])
    header = MEDICAL.replace(",医疗类别", "")
    read = read_report((header + f"S1,{pid(1)},2025-03-01,20000,8000,0,0,0,0,0\n").encode("utf-8"), "medical",
                       file_name="medical.csv")
    result = run_calculation(load_product(PRODUCT), persons, households, {"medical": [read.rows]})
    assert result.claims["due"].sum() == 0
    assert result.exceptions["reason"].tolist() == ["not_inpatient"]


INCOME = "户编号,统计日期,家庭人均纯收入,上年同期人均纯收入\n"


def test_income_pays_a_fall_against_the_prior_year_and_not_a_household_low_both_years():
    """000 "收入与上年同期相比下滑幅度较大"; 003 "五是瞄准家庭有贫困风险导致收入下降因素,发放收入防贫救助保险金".
    The product: a fall of at least 30%, paid the part of the shortfall under 6,000 the fall caused."""
    persons, households = roster([("H1", 9000, 3), ("H2", 5000, 2), ("H3", 5000, 2), ("H4", 8000, 1)])
    text = (INCOME + "H1,2025-06-30,5400,9000\n"  # fell 40%
            "H2,2025-06-30,4800,5000\n"  # fell 4%: low last year too, no drop to speak of
            "H3,2025-06-30,3000,5000\n"  # fell 40% from below the line
            "H4,2025-06-30,4000,\n")  # no prior on the row: the roster's 8,000 stands in; fell 50%
    read = read_report(text.encode("utf-8"), "income", file_name="income.csv")
    assert read.rows["prior_per_capita_income"].tolist()[:3] == [900_000, 500_000, 500_000]
    result = run_calculation(load_product(PRODUCT), persons, households, {"income": [read.rows]})
    due = claims_of(result)
    # H1: (9,000 − 5,400) / 9,000 = 40% ≥ 30%; (min(9,000, 6,000) − 5,400) × 3 = 600 × 3 = 1,800 × 100%
    assert due[("income", "H1")] == 1_800_00
    # H2: (5,000 − 4,800) / 5,000 = 4% < 30%: nothing
    assert due.get(("income", "H2"), 0) == 0
    # H3: 40% ≥ 30%; (min(5,000, 6,000) − 3,000) × 2 = 4,000 (not the 3,000 × 2 = 6,000 under the line:
    # it was 1,000 under the line the year before as well)
    assert due[("income", "H3")] == 4_000_00
    # H4: (8,000 − 4,000) / 8,000 = 50%; (6,000 − 4,000) × 1 = 2,000
    assert due[("income", "H4")] == 2_000_00
    trace = result.claims.set_index("unit_id").loc["H1", "trace"]
    assert "上年同期人均 9000.00 → 本年 5400.00，下滑 40%（门槛 30%）" in trace


def test_an_income_line_without_drop_basis_keeps_todays_rule():
    """A product written before drop_basis: the shortfall under the line, every year (backward compatible)."""
    doc = copy.deepcopy(load_product(PRODUCT).document)
    line = next(x for x in doc["lines"] if x["id"] == "income")
    del line["drop_basis"], line["min_drop_rate"]
    persons, households = roster([("H2", 5000, 2)])
    read = read_report((INCOME + "H2,2025-06-30,4800,5000\n").encode("utf-8"), "income", file_name="income.csv")
    result = run_calculation(load_product(doc), persons, households, {"income": [read.rows]})
    # (6,000 − 4,800) × 2 = 2,400 × 100%, though it fell only 4%
    assert claims_of(result) == {("income", "H2"): 2_400_00}


AGRICULTURE = "户编号,受损日期,产业项目,核定损失,农业保险赔款,灾损编号\n"


def test_industry_loss_from_the_agriculture_bureau_counts_a_record_once():
    """003 "六是瞄准产业受损新致贫因素,发放产业防贫救助保险金": the 农业农村局's report; a row sent again (in a
    second file) is the same record (household + date + item + 灾损编号) and counts once."""
    persons, households = roster([("H1", 5000, 1), ("H2", 5000, 1), ("H3", 5000, 1)])
    first = (AGRICULTURE + "H1,2025-06-10,核桃,40000,0,\n"
             "H1,2025-06-10,花椒,5000,0,\n"  # another item: another record
             "H2,2025-07-01,葡萄,160000,10000,Z-7\n"
             "H3,2025-07-01,生猪,9000,0,\n")
    again = AGRICULTURE + "H1,2025-06-10,核桃,40000,0,\n"
    reads = [read_report(t.encode("utf-8"), "agriculture", file_name=name).rows
             for t, name in ((first, "agri-06.csv"), (again, "agri-07.csv"))]
    assert reads[0]["net_loss"].tolist() == [4_000_000, 500_000, 15_000_000, 900_000]
    result = run_calculation(load_product(PRODUCT), persons, households, {"agriculture": reads})
    due = claims_of(result)
    # H1: 40,000 + 5,000 = 45,000 (the re-sent 核桃 row not again) > 10,000; 45,000 × 20% = 9,000
    assert due[("industry", "H1")] == 9_000_00
    # H2: 160,000 − 10,000 = 150,000; × 20% = 30,000 = the 30,000 cap (枣阳: lost 15万, paid 3万)
    assert due[("industry", "H2")] == 30_000_00
    # H3: 9,000 is not above 10,000: nothing
    assert due.get(("industry", "H3"), 0) == 0
    resent = result.exceptions[result.exceptions["reason"] == "resent"]
    assert resent[["file", "line"]].values.tolist() == [["agri-07.csv", 2]]


def test_the_other_lines_of_003():
    """003 "一是瞄准灾害、意外事故致贫因素" (disaster and accident), "三是瞄准升学致贫因素", "四是瞄准在校持续接受
    教育新致贫因素"."""
    persons, households = roster([("H1", 5000, 2)])
    accident = pd.DataFrame({"id_no": [pid(1)], "event_date": pd.to_datetime(["2025-05-01"]), "kind": ["hospital"],
                             "grade": pd.array([None], dtype="Int64"), "medical_cost": [8_000_00],
                             "source_file": "accident.csv", "source_line": [2]})
    # one row: a 本科 freshman's first term (both 升学 and 在校)
    education = pd.DataFrame({
        "id_no": [pid(2)], "school_year": [2025], "level": ["本科"], "event_date": pd.to_datetime(["2025-09-01"]),
        "tuition": [10_000_00], "accommodation": [0], "textbooks": [0], "other_aid": [0], "entry": [True],
        "net_cost": [10_000_00], "source_file": "education.csv", "source_line": [2]})
    disaster = pd.DataFrame({"household_no": ["H1"], "event_date": pd.to_datetime(["2025-07-20"]),
                             "disaster_type": ["洪涝"], "assessed_loss": [25_000_00], "other_compensation": [0],
                             "net_loss": [25_000_00], "source_file": "disaster.csv", "source_line": [2]})
    result = run_calculation(load_product(PRODUCT), persons, households,
                             {"accident": [accident], "education": [education], "disaster": [disaster]})
    assert claims_of(result) == {
        ("accident", pid(1)): 1_500_00,  # (8,000 − 5,000) × 50%
        ("schooling", pid(2)): 1_600_00,  # (10,000 − 8,000) × 80%
        ("entry", pid(2)): 2_000_00,  # 本科 admission, once
        ("disaster", "H1"): 15_000_00,  # (25,000 − 10,000) × 100% ≤ 30,000
    }


@pytest.mark.parametrize(("change", "message"), [
    ({"id": "schooling", "inpatient_only": True}, "lines[2].inpatient_only: 仅适用于读取医保结算的责任"),
    ({"id": "income", "min_drop_rate": None}, "lines[5].min_drop_rate: drop_basis 为 prior_year 时必填"),
    ({"id": "income", "drop_basis": "protection_line"}, "lines[5].min_drop_rate: 仅用于 drop_basis: prior_year"),
    ({"id": "income", "drop_basis": "last_month"}, "lines[5].drop_basis: "),
    ({"id": "industry", "basis": "person"}, "agriculture reports are per household"),
])
def test_the_schema_refuses_the_new_fields_where_they_do_not_apply(change, message):
    doc = copy.deepcopy(load_product(PRODUCT).document)
    line = next(x for x in doc["lines"] if x["id"] == change["id"])
    for key, value in change.items():
        if value is None:
            line.pop(key)
        else:
            line[key] = value
    with pytest.raises(ProductError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_product(doc)


def write_roster(tmp_path) -> None:
    """Household H1 (2 people, 5,000 a head) and H2 (1 person, prior year 9,000 a head)."""
    (tmp_path / "persons.csv").write_text(
        "身份证号,姓名,户编号,与户主关系\n"
        f"{pid(1)},王一,H1,户主\n{pid(2)},王二,H1,子女\n{pid(3)},李三,H2,户主\n", encoding="utf-8-sig")
    (tmp_path / "households.csv").write_text(
        "户编号,村代码,自然村,户类别,家庭人均纯收入,家庭人口数\n"
        f"H1,{VILLAGE},鹤山村,脱贫不稳定户,5000.00,2\nH2,{VILLAGE},鹤山村,边缘易致贫户,9000.00,1\n",
        encoding="utf-8-sig")


def test_relief_calc_pays_a_small_heshan_roster_end_to_end(tmp_path):
    """The catalog product by name through ``relief calc``: medical (住院 and 门诊), income and agriculture files."""
    write_roster(tmp_path)
    for dept, text in {
        "medical": MEDICAL + f"S1,{pid(1)},2025-03-01,30000,8000,2000,0,0,0,0,普通住院\n"
                             f"S2,{pid(2)},2025-04-01,9000,1000,0,0,0,0,0,11\n",
        "income": INCOME + "H2,2025-06-30,4500,\n",
        "agriculture": AGRICULTURE + "H1,2025-06-10,核桃,60000,20000,\n",
    }.items():
        (tmp_path / dept).mkdir()
        (tmp_path / dept / "2025.csv").write_text(text, encoding="utf-8-sig")
    args = ["calc", "--product", PRODUCT, "--persons", str(tmp_path / "persons.csv"),
            "--households", str(tmp_path / "households.csv"), "--out", str(tmp_path / "out"),
            *(f"--report={d}={tmp_path / d}" for d in ("medical", "income", "agriculture"))]
    result = CliRunner().invoke(relief, args)
    assert result.exit_code == 0, result.output
    claims = pd.read_csv(tmp_path / "out" / "claims.csv", dtype=str, encoding="utf-8-sig")
    due = {(r.line_id, r.unit_id): r.due for r in claims.itertuples() if r.due != "0.00"}
    assert due == {
        # person 1, 普通住院: 30,000 − 8,000 − 2,000 = 20,000 self-paid; 5,000 × 50% + 10,000 × 60% = 2,500 + 6,000
        ("illness", pid(1)): "8500.00",
        # H2: the roster's 9,000 is last year's; (9,000 − 4,500) / 9,000 = 50% ≥ 30%; (6,000 − 4,500) × 1 = 1,500
        ("income", "H2"): "1500.00",
        # H1: 60,000 − 20,000 = 40,000 > 10,000; × 20% = 8,000
        ("industry", "H1"): "8000.00",
    }
    ex = pd.read_csv(tmp_path / "out" / "exceptions.csv", dtype=str, encoding="utf-8-sig")
    # person 2's settlement, 医疗类别 11 (普通门诊), is not counted by the 住院-only line
    assert ex[["file", "line", "reason"]].values.tolist() == [["medical/2025.csv", "3", "not_inpatient"]]
    # 8,500 + 1,500 + 8,000 = 18,000
    assert "¥18,000.00" in result.output


def test_the_new_columns_left_blank_keep_the_digests_of_rows_stored_before_them():
    """A file imported before 医疗类别 / 上年同期人均纯收入 were read, sent again after, is a re-send (the same
    content digest), not a correction.  The digests below were computed by the code before the columns
    existed (commit 79d63fb) on the same rows."""
    from claims.reports.identity import content_digests
    header = MEDICAL.replace(",医疗类别", "")
    medical = read_report((header + f"S1,{make_id('130434', '19800101', 1)},2025-03-01,20000,8000,0,0,0,0,0\n")
                          .encode("utf-8"), "medical", file_name="m.csv").rows
    income = read_report("户编号,统计日期,家庭人均纯收入\nH1,2025-06-30,5400\n".encode(), "income",
                         file_name="i.csv").rows
    assert content_digests("medical", medical).tolist() == ["d8ac82c4b5667f78"]
    assert content_digests("income", income).tolist() == ["dafd7b0e6c767461"]
    # a filled 医疗类别 is content: the same settlement with and without it are two versions
    filled = read_report((MEDICAL + f"S1,{make_id('130434', '19800101', 1)},2025-03-01,20000,8000,0,0,0,0,0,住院\n")
                         .encode("utf-8"), "medical", file_name="m.csv").rows
    assert content_digests("medical", filled).tolist() != ["d8ac82c4b5667f78"]


def test_the_database_import_keeps_the_visit_kind_and_reads_the_agriculture_report(db, tmp_path):
    """The monthly cycle: 医保 and 农业农村局 files imported for a 鹤山区 policy; the stored rows (JSON) keep
    医疗类别, so the recompute counts the 住院 settlement only; a re-sent 产业受损 row is not stored again."""
    from sqlalchemy import select

    from claims.lifecycle.database import transaction
    from claims.lifecycle.imports import import_report
    from claims.lifecycle.models import Claim
    from claims.lifecycle.registry import create_policy, register_product
    from claims.lifecycle.roster_store import store_roster
    from claims.lifecycle.transitions import SYSTEM
    from products.roster import check_roster, load_households, load_persons

    _, factory = db
    write_roster(tmp_path)
    persons, households = load_persons(tmp_path / "persons.csv"), load_households(tmp_path / "households.csv")
    check_roster(persons, households)
    with transaction(factory) as s:
        policy = create_policy(s, register_product(s, load_product(PRODUCT)), 100)
        store_roster(s, persons, households)
        policy_id = policy.id
    medical = (MEDICAL + f"S1,{pid(1)},2025-03-01,20000,8000,0,0,0,0,0,住院\n"
               f"S2,{pid(1)},2025-04-01,3500,500,0,0,0,0,0,门诊\n").encode("utf-8")
    result = import_report(factory, policy_id, "medical", medical, actor=SYSTEM, file_name="m.csv")
    assert (result.rows_stored, result.claims_created) == (2, 1)
    agriculture = (AGRICULTURE + "H1,2025-06-10,核桃,40000,0,\n").encode("utf-8")
    import_report(factory, policy_id, "agriculture", agriculture, actor=SYSTEM, file_name="agri-06.csv")
    # the next month's file repeats the 核桃 row and adds a 花椒 loss
    later = agriculture + "H1,2025-06-10,花椒,5000,0,\n".encode()
    again = import_report(factory, policy_id, "agriculture", later, actor=SYSTEM, file_name="agri-07.csv")
    assert (again.rows_read, again.rows_stored, again.claims_updated) == (2, 1, 1)
    with factory() as s:
        amounts = {(c.line_id, c.unit_id): c.amount for c in s.scalars(select(Claim))}
    assert amounts == {
        ("illness", pid(1)): Decimal("3700.00"),  # 住院 12,000: 2,500 + 1,200 (the 门诊 3,000 not counted)
        ("industry", "H1"): Decimal("9000.00"),  # (40,000 counted once + 5,000) × 20%
    }


@pytest.mark.slow
def test_the_dask_engine_pays_the_heshan_lines_as_the_single_machine_engine(tmp_path):
    """``relief calc --engine dask`` carries 医疗类别 to the workers for an inpatient-only line (a medical
    column otherwise left behind) and reads the agriculture report like any other department."""
    import distributed

    from claims.engine.files import calculate, load_inputs, parse_report_specs
    from claims.scale.run import run_calculation_dask

    write_roster(tmp_path)
    for dept, text in {
        "medical": MEDICAL + f"S1,{pid(1)},2025-03-01,30000,8000,2000,0,0,0,0,普通住院\n"
                             f"S2,{pid(2)},2025-04-01,9000,1000,0,0,0,0,0,11\n",
        "income": INCOME + "H2,2025-06-30,4500,\n",
        "agriculture": AGRICULTURE + "H1,2025-06-10,核桃,60000,20000,\nH1,2025-06-10,核桃,60000,20000,\n",
    }.items():
        (tmp_path / dept).mkdir()
        (tmp_path / dept / "2025.csv").write_text(text, encoding="utf-8-sig")
    product = load_product(PRODUCT)
    specs = parse_report_specs([f"{d}={tmp_path / d}" for d in ("medical", "income", "agriculture")])
    single = calculate(product, load_inputs(tmp_path / "persons.csv", tmp_path / "households.csv", specs))
    # 8,500 (住院 20,000) + 1,500 (H2's fall) + 8,000 (the 核桃 row once: 40,000 × 20%), as in the CLI test
    assert single.claims["due"].tolist() == [8_500_00, 1_500_00, 8_000_00]
    roster = load_inputs(tmp_path / "persons.csv", tmp_path / "households.csv", [])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GB", processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        result = run_calculation_dask(product, roster.persons, roster.households, specs, client=client,
                                      npartitions=2, progress=False)
    pd.testing.assert_frame_equal(result.claims, single.claims)
    assert sorted(result.exceptions["reason"]) == sorted(single.exceptions["reason"]) == ["not_inpatient", "resent"]
