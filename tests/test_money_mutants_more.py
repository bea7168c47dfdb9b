"""Money rules and the texts beside them that the surviving mutants of docs/mutation.md (run at the stop-20
paths: lines.lump_sum_units, compute.claim_sources, payouts._read_return, …) showed no test checked.
Expected amounts by hand, in fen unless said otherwise."""

from __future__ import annotations

import copy

import factories as f
import pandas as pd

from claims import compute_claims
from products import load_product


def _school_entry_product():
    """魏县防贫保 with its 升学补助 "lump_sums: {本科: 2000, 专科: 1000}" plus 高职 at 1,000 (two levels of one
    amount) and a yearly cap of 1,500 on the line (a copy of the document)."""
    doc = copy.deepcopy(load_product("fangpinbao-weixian-2025").document)
    entry = next(line for line in doc["lines"] if line["id"] == "entry")
    entry["lump_sums"] = {"本科": 2000, "专科": 1000, "高职": 1000}
    entry["caps"] = {"per_year": 1500}
    return load_product(doc)


def test_a_school_entry_pays_the_largest_lump_sum_once_under_the_line_cap_and_names_the_level():
    """Two records (the bureau's record numbers differ, so neither is a re-send of the other) per student.
    Person 11: 专科 (1,000) and 本科 (2,000) → the larger, 2,000, once (not 1,000, not 3,000), over the
    1,500 yearly cap → 1,500.  Person 13: 专科 on 8 October and 高职 on 20 September, 1,000 each → 1,000
    (not 2,000; under the cap), named by the level reported first (高职)."""
    product = _school_entry_product()
    persons, households = f.roster([{"household_no": "A1"}, {"household_no": "A2"}],
                                   [{"n": 11, "household_no": "A1"}, {"n": 13, "household_no": "A2"}])
    edu = f.education([(11, 2025, "专科", 0, True), (11, 2025, "本科", 0, True), (13, 2025, "专科", 0, True),
                       (13, 2025, "高职", 0, True)])
    edu["record_no"] = ["E1", "E2", "E3", "E4"]
    edu["event_date"] = pd.to_datetime(["2025-09-01", "2025-09-01", "2025-10-08", "2025-09-20"])
    claims = compute_claims(product, persons, households, {"education": edu})
    got = {r.unit_id: (r.base, r.uncapped, r.entitlement, r.due, r.trace) for r in claims.itertuples()}
    head = "[FPB-130434-2025/entry] "
    assert got == {
        f.pid(11): (200_000, 200_000, 150_000, 150_000,
                    head + "升学“本科”一次性补助 2000.00（每人每年一次）；超过年封顶 1500.00，按 1500.00；"
                    "已付 0.00；本次应付 1500.00"),
        f.pid(13): (100_000, 100_000, 100_000, 100_000,
                    head + "升学“高职”一次性补助 1000.00（每人每年一次）；年封顶 1500.00；已付 0.00；本次应付 1000.00"),
    }


def test_claim_sources_list_every_lines_report_rows_when_the_first_line_has_none():
    """claim_sources.csv: one row per report row of each line (line, unit, file, line number, amount).  An
    education file alone: 魏县's first line (illness, medical) has no rows, and the two education lines
    (schooling: net cost 6,000.00; entry: 本科, whose base is the level's lump sum, not an amount of the row:
    0) still list person 13's row; with a medical and a disaster file too the lines come in the product's
    order, each row with its own amount (7,000.00 and 5,000.00 self-paid; household A1's loss 12,000.00)."""
    from claims import run_calculation

    product = load_product("fangpinbao-weixian-2025")
    persons, households = f.roster([{"household_no": "A1"}],
                                   [{"n": 11, "household_no": "A1"}, {"n": 13, "household_no": "A1"}])
    edu = f.education([(13, 2025, "本科", 600_000, True)], file="edu.csv")
    med = f.medical([(11, "2025-03-01", 700_000), (11, "2025-04-01", 500_000)], file="med.csv")
    columns = ["line_id", "unit_id", "source_file", "source_line", "amount"]
    schooling = ("schooling", f.pid(13), "edu.csv", 2, 600_000)
    entry = ("entry", f.pid(13), "edu.csv", 2, 0)
    alone = run_calculation(product, persons, households, {"education": edu}).sources
    assert list(alone.columns) == columns
    assert list(alone.itertuples(index=False, name=None)) == [schooling, entry]
    dis = f.disaster([("A1", "2025-07-01", "洪涝", 1_200_000)], file="dis.csv")
    every = run_calculation(product, persons, households, {"education": edu, "medical": med, "disaster": dis})
    assert list(every.sources.itertuples(index=False, name=None)) == [
        ("illness", f.pid(11), "med.csv", 2, 700_000), ("illness", f.pid(11), "med.csv", 3, 500_000),
        schooling, ("disaster", "A1", "dis.csv", 2, 1_200_000), entry]  # the disaster line's unit: the household


def test_a_bank_return_is_read_from_xlsm_or_upper_case_suffixes_and_english_headers_with_spaces(tmp_path):
    """The bank's return file as banks send it: an Excel workbook saved as ``.xlsm`` or named ``.XLSX``
    (read as Excel, not as CSV text), and a CSV with the English headers padded with spaces and no reason
    column (every reason blank).  Each gives the claim ids, statuses and reasons as written."""
    from openpyxl import Workbook

    from claims.lifecycle.payouts import _read_return

    for name in ("r.xlsm", "R.XLSX"):
        wb = Workbook()
        wb.active.append(["理赔编号", "状态", "原因"])
        wb.active.append(["7", "成功", None])
        wb.active.append(["9", "失败", "户名不符"])
        wb.save(tmp_path / name)
        got = _read_return(tmp_path / name)
        assert got.to_dict("list") == {"claim_id": ["7", "9"], "status": ["成功", "失败"], "reason": ["", "户名不符"]}
    (tmp_path / "r.csv").write_text(" claim_id , status \n7,paid\n9,failed\n", encoding="utf-8-sig")
    got = _read_return(tmp_path / "r.csv")
    assert got.to_dict("list") == {"claim_id": ["7", "9"], "status": ["paid", "failed"], "reason": ["", ""]}
    (tmp_path / "e.csv").write_text("claim_id,status,reason\n7,paid,\n9,failed,N/A\n", encoding="utf-8-sig")
    got = _read_return(tmp_path / "e.csv")  # the English reason column, "N/A" as written (not a missing value)
    assert got.to_dict("list") == {"claim_id": ["7", "9"], "status": ["paid", "failed"], "reason": ["", "N/A"]}


def test_a_bank_return_given_as_a_table_reads_numbers_as_text_and_a_missing_reason_as_blank(tmp_path):
    """import_bank_return also takes the return as a table (a DataFrame): claim ids typed as numbers are
    read as their text ("7", not 7 or "7.0"), a reason left empty (None) is blank, not "nan"; a file
    without a status column is refused, naming the columns it needs."""
    import pytest

    from claims.lifecycle.payouts import PayoutError, _read_return

    table = pd.DataFrame({"理赔编号": [7, 9], "状态": ["成功", "失败"], "原因": [None, "户名不符"]})
    got = _read_return(table)
    assert got.to_dict("list") == {"claim_id": ["7", "9"], "status": ["成功", "失败"], "reason": ["", "户名不符"]}
    (tmp_path / "r.csv").write_text("理赔编号,原因\n7,\n", encoding="utf-8-sig")
    with pytest.raises(PayoutError, match="状态/status"):
        _read_return(tmp_path / "r.csv")


def test_income_shortfall_takes_the_latest_survey_above_the_trigger_under_the_household_cap():
    """魏县防贫保 with an income line (a copy of the document, as tests/test_engine.py's test_income_drop):
    protection line 6,000 per head, 80 %, trigger 1,000, yearly cap 10,000; and a household cap of 5,000
    on the product.
    J1 (3 members): surveys of 1 December (4,000, listed first) and 30 June (2,000): the latest by date,
    (6,000 − 4,000) × 3 = 6,000 > 1,000 → 6,000 × 80 % = 4,800; but the product's household cap takes the
    lines in the product's order, and person 51's illness (12,000 self-paid: (10,000 − 5,000) × 50 % +
    (12,000 − 10,000) × 60 % = 3,700) comes first: the income claim gets 5,000 − 3,700 = 1,300.
    J2 (1 member): (6,000 − 5,000) × 1 = 1,000, not above the trigger → 0.
    J3 (2 members): 6,000 per head, no shortfall → no claim.
    J4 (5 members): (6,000 − 0) × 5 = 30,000 × 80 % = 24,000 → the 10,000 yearly cap → the household's 5,000."""
    doc = copy.deepcopy(load_product("fangpinbao-weixian-2025").document)
    doc["lines"].append({"id": "income", "peril": "income_drop", "basis": "household", "protection_line": 6000,
                         "rate": 0.8, "trigger": 1000, "caps": {"per_year": 10000}})
    doc["caps"] = {"per_person_year": 100000, "per_household_year": 5000}
    product = load_product(doc)
    persons, households = f.roster(
        [{"household_no": "J1", "members": 3}, {"household_no": "J2", "members": 1},
         {"household_no": "J3", "members": 2}, {"household_no": "J4", "members": 5}],
        [{"n": 51, "household_no": "J1"}, {"n": 53, "household_no": "J2"}, {"n": 55, "household_no": "J3"},
         {"n": 57, "household_no": "J4"}])
    inc = f.income([("J1", "2025-12-01", 400_000), ("J1", "2025-06-30", 200_000), ("J2", "2025-12-01", 500_000),
                    ("J3", "2025-12-01", 600_000), ("J4", "2025-12-01", 0)])
    med = f.medical([(51, "2025-03-01", 1_200_000)])
    claims = compute_claims(product, persons, households, {"income": inc, "medical": med})
    got = {(r.line_id, r.unit_id): (r.base, r.uncapped, r.entitlement, r.due) for r in claims.itertuples()}
    assert got == {
        ("illness", f.pid(51)): (1_200_000, 370_000, 370_000, 370_000),
        ("income", "J1"): (600_000, 480_000, 130_000, 130_000),
        ("income", "J2"): (100_000, 0, 0, 0),
        # J3: no shortfall, no claim row; J4: the household's 5,000 is below the line's 10,000
        ("income", "J4"): (3_000_000, 2_400_000, 500_000, 500_000),
    }


def test_a_household_at_the_protection_line_has_no_income_claim_even_without_a_trigger():
    """tests/test_engine.py's income line (6,000 per head, 100 %, no trigger): K1 (2 members) at 6,000.00
    per head has (6,000 − 6,000) × 2 = 0 shortfall: no claim (not 0.01 per head); K2 (1 member) at
    5,999.99 has 0.01 × 1 = 0.01."""
    doc = copy.deepcopy(load_product("fangpinbao-weixian-2025").document)
    doc["lines"] = [{"id": "income", "peril": "income_drop", "basis": "household", "protection_line": 6000,
                     "rate": 1.0, "caps": {"per_year": 10000}}]
    product = load_product(doc)
    persons, households = f.roster([{"household_no": "K1", "members": 2}, {"household_no": "K2"}],
                                   [{"n": 61, "household_no": "K1"}, {"n": 63, "household_no": "K2"}])
    inc = f.income([("K1", "2025-12-01", 600_000), ("K2", "2025-12-01", 599_999)])
    claims = compute_claims(product, persons, households, {"income": inc})
    assert {r.unit_id: (r.base, r.entitlement, r.due) for r in claims.itertuples()} == {"K2": (1, 1, 1)}


def test_a_yearly_cap_on_the_death_and_disability_lines_cuts_their_sums_insured():
    """凤县助农保's 团体人身意外 (sum insured 50,000 on each line) with a yearly cap of 30,000 on the death line
    and on the disability line (a copy of the document): person 71's death pays min(50,000, 30,000) =
    30,000; person 73's grade-1 disability 50,000 × 100 % = 50,000 → 30,000; person 75's grade-5
    disability 50,000 × 60 % = 30,000 is not cut (30,000 = the cap)."""
    doc = copy.deepcopy(load_product("zhunongbao-fengxian-2025").document)
    for line in doc["lines"]:
        if line["id"] in ("death", "disability"):
            line["caps"] = {"per_year": 30000}
    product = load_product(doc)
    persons, households = f.roster([{"household_no": h} for h in ("D1", "D2", "D3")],
                                   [{"n": 71, "household_no": "D1"}, {"n": 73, "household_no": "D2"},
                                    {"n": 75, "household_no": "D3"}])
    acc = f.accident([(71, "2025-03-01", "death", None, 0), (73, "2025-04-01", "disability", 1, 0),
                      (75, "2025-05-01", "disability", 5, 0)])
    claims = compute_claims(product, persons, households, {"accident": acc})
    got = {(r.line_id, r.unit_id): (r.uncapped, r.entitlement, r.due) for r in claims.itertuples()}
    assert got == {("death", f.pid(71)): (5_000_000, 3_000_000, 3_000_000),
                   ("disability", f.pid(73)): (5_000_000, 3_000_000, 3_000_000),
                   ("disability", f.pid(75)): (3_000_000, 3_000_000, 3_000_000)}


def test_a_covers_household_cap_goes_first_come_by_date_across_its_lines():
    """凤县助农保's 团体人身意外 cover (death + disability) with a per-household cap of 80,000 instead of its
    victims table (a copy of the document).  Household D1: person 81 dies on 1 March (50,000), person 83
    is disabled at grade 1 on 1 April (50,000 × 100 % = 50,000): 100,000 asked, first come by date:
    81 gets 50,000, 83 gets 80,000 − 50,000 = 30,000, and the trace names the cover's cap."""
    doc = copy.deepcopy(load_product("zhunongbao-fengxian-2025").document)
    doc["covers"][0]["caps"] = {"per_household_year": 80000}
    product = load_product(doc)
    persons, households = f.roster([{"household_no": "D1"}],
                                   [{"n": 81, "household_no": "D1"}, {"n": 83, "household_no": "D1", "relation": "配偶"}])
    acc = f.accident([(83, "2025-04-01", "disability", 1, 0), (81, "2025-03-01", "death", None, 0)])
    claims = compute_claims(product, persons, households, {"accident": acc})
    got = {(r.line_id, r.unit_id): (r.entitlement, r.due) for r in claims.itertuples()}
    assert got == {("death", f.pid(81)): (5_000_000, 5_000_000), ("disability", f.pid(83)): (3_000_000, 3_000_000)}
    trace = claims.set_index("line_id").loc["disability", "trace"]
    assert "团体人身意外" in trace and "每户年度封顶 80000" in trace


def test_a_base_one_fen_into_a_band_is_traced_and_a_line_without_a_yearly_cap_names_none():
    """魏县防贫保's illness brackets (warning line 5,000: 50 % to 10,000, 60 % to 20,000) without the line's
    yearly cap (a copy of the document).  Person 11's 10,000.01 self-paid reaches the second band by 0.01:
    (10,000 − 5,000) × 50 % = 2,500.00 + 0.01 × 60 % = 0.006, together 2,500.006 → 2,500.01 (half up to the
    fen); the trace shows both bands and, with no yearly cap, no cap words."""
    doc = copy.deepcopy(load_product("fangpinbao-weixian-2025").document)
    next(line for line in doc["lines"] if line["id"] == "illness").pop("caps", None)
    product = load_product(doc)
    persons, households = f.roster([{"household_no": "A1"}], [{"n": 11, "household_no": "A1"}])
    claims = compute_claims(product, persons, households, {"medical": f.medical([(11, "2025-03-01", 1_000_001)])})
    assert [(r.uncapped, r.due, r.trace) for r in claims.itertuples()] == [
        (250_001, 250_001, "[FPB-130434-2025/illness] 10000.01（1 条） > 预警线 5000.00：(5000.00, 10000.00]×50% = "
                           "2500.00 + (10000.00, 10000.01]×60% = 0.006 = 2500.01；已付 0.00；本次应付 2500.01")]
