"""Department files as counties send them (issue 11, "layouts"): title rows above the header, 合计 rows
as control totals, NHSA and county header variants, two ID columns, full-width and zero-width
characters, accounting zeros and brackets, Excel serial dates, school terms, amounts in 万元, Chinese
disability grades, aid from other schemes, several sheets, UTF-16 and GB18030 text.  Every file is built
here the way an export writes it; every expected amount is worked out by hand in a comment.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from claims.reports import REASONS, ReportFileError, read_report
from tabular.resident_id import make_id

A = make_id("130434", "19800101", 11)  # 130434198001010114
B = make_id("130434", "19850615", 22)  # 130434198506150227
X = make_id("110105", "19491231", 2)  # 11010519491231002X: an ID ending in X
STUDENT = make_id("130434", "20080301", 41)

MED = ["结算ID", "身份证号", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出", "全自费金额",
       "超限价自费"]


def xlsx(*sheets: tuple[str, list[list]], merge: str | None = None) -> bytes:
    """A workbook with the given sheets (name, rows as Excel stores them: numbers stay numbers)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets:
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if merge:
            ws.merge_cells(merge)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def text(rows: list[list], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n", delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def found(read, *columns: str) -> list[tuple]:
    return list(read.rows[["source_line", *columns]].itertuples(index=False, name=None))


def exceptions(read) -> list[tuple]:
    return list(read.exceptions[["line", "reason", "severity"]].itertuples(index=False, name=None))


# --- header row, control totals, footer ------------------------------------------------------------
TITLE = ["XX县医疗保障局2025年3月结算明细"]
S1 = ["S1", A, "2025-03-04", 10000, 4000, 1000, 500, 0, 200, 0]
S2 = ["S2", B, "2025-03-05", 2345.67, 1000, 0, 0, 0, 0, 0]
# S1: self_paid = 10000 − 4000 − 1000 − 500 − 0 = 4500.00 yuan = 450000 fen; policy = 4500 − 200 = 4300.00
# S2: self_paid = 2345.67 − 1000 = 1345.67 = 134567 fen; policy the same
# 合计 of 医疗费总额 = 10000 + 2345.67 = 12345.67; of 统筹基金支出 = 4000 + 1000 = 5000


def test_title_rows_above_the_header_are_skipped_and_the_line_is_named():
    data = xlsx(("明细", [TITLE, ["单位：元"], [], MED, S1, S2]), merge="A1:J1")
    read = read_report(data, "medical", file_name="医保2025年3月.xlsx")
    assert found(read, "setl_id", "self_paid", "policy_self_paid") == [(5, "S1", 450_000, 430_000),
                                                                        (6, "S2", 134_567, 134_567)]
    assert exceptions(read) == [(4, "header_row", "info")]
    assert "第 4 行" in read.exceptions["detail"].iloc[0] and "line 4" in read.exceptions["detail"].iloc[0]
    assert read.rows_read == 2


def test_header_on_line_one_gives_no_note():
    read = read_report(text([MED, S1]), "medical", file_name="m.csv")
    assert read.exceptions.empty


def test_missing_column_message_names_the_header_line_its_headers_and_only_what_is_missing():
    header = [h for h in MED if h != "医疗救助"]
    rows = [TITLE, header, [c for c, h in zip(S1, MED, strict=True) if h != "医疗救助"]]
    with pytest.raises(ReportFileError) as caught:
        read_report(text(rows), "medical", file_name="m.csv")
    message = caught.value.message
    assert "第 2 行" in message and "line 2" in message
    assert "结算ID、身份证号、结算日期" in message  # the headers found there
    assert "missing required column maf_pay" in message
    assert "missing required column" not in message.replace("missing required column maf_pay", "")


def test_control_total_that_matches_is_noted_and_never_counted_as_a_claim_row():
    total = ["合计", "", "", 12345.67, 5000, 1000, 500, 0, 200, 0]  # sums worked out above
    read = read_report(xlsx(("明细", [TITLE, MED, S1, S2, total, ["制表人：张三", "", "审核人：李四"]])), "medical",
                       file_name="m.xlsx")
    assert [r[1] for r in found(read, "setl_id")] == ["S1", "S2"]
    assert exceptions(read) == [(2, "header_row", "info"), (5, "control_total_ok", "info"),
                                (6, "footer_row", "info")]
    assert read.rows_read == 2


def test_control_total_of_a_truncated_export_is_a_file_warning_naming_column_and_both_amounts():
    # the export lost S2: the 合计 row still says 12345.67 and 5000.00, the data rows sum to 10000 and 4000
    total = ["总计", "", "", "12,345.67", "5,000.00", "1,000.00", "500.00", "0", "200", "0"]
    read = read_report(text([MED, S1, total], encoding="gb18030"), "medical", file_name="m.csv")
    assert found(read, "setl_id", "self_paid") == [(2, "S1", 450_000)]
    assert exceptions(read) == [(3, "control_total_mismatch", "warning")]
    detail = read.exceptions["detail"].iloc[0]
    assert "医疗费总额" in detail and "12345.67" in detail and "10000.00" in detail
    assert "统筹基金支出" in detail and "5000.00" in detail and "4000.00" in detail
    assert "大病保险" not in detail  # 1000 = 1000: only the columns that differ are named


def test_fast_reader_hands_a_file_with_a_total_row_to_the_general_reader():
    total = ["合计", "", "", "12345.67", "5000", "1000", "500", "0", "200", "0"]
    data = text([MED, [str(c) for c in S1], [str(c) for c in S2], total])
    fast, general = (read_report(data, "medical", file_name="m.csv", fast=f) for f in (True, False))
    pd.testing.assert_frame_equal(fast.rows, general.rows)
    pd.testing.assert_frame_equal(fast.exceptions, general.exceptions)
    assert exceptions(fast) == [(4, "control_total_ok", "info")]


# --- header variants -------------------------------------------------------------------------------
def test_nhsa_and_county_header_variants():
    header = ["结算流水号", "公民身份证号", "费用结算时间", "医疗费用总额", "统筹基金支付", "大病保险基金支付",
              "医疗救助基金支付", "其他基金支付", "自费金额", "超限价费用", "个人自付"]
    # 个人自付 (self-pay inside the policy scope) is not 个人负担总金额: it must not be read as psn_part_amt,
    # so its 999.00 (≠ self_paid 4500.00) gives no psn_part_mismatch warning
    row = ["S1", A, "2025-03-04", "10000", "4000", "1000", "500", "0", "200", "0", "999.00"]
    read = read_report(text([header, row]), "medical", file_name="m.csv")
    assert found(read, "setl_id", "hifp_pay", "fulamt_ownpay_amt", "self_paid") == [(2, "S1", 400_000, 20_000,
                                                                                       450_000)]
    assert read.rows["psn_part_amt"].isna().all()
    assert read.exceptions.empty


def test_two_id_columns_agreeing_blank_or_disagreeing():
    header = ["结算ID", "身份证号", "证件号码", *MED[2:]]
    amounts = ["2025-03-04", "100", "0", "0", "0", "0", "0", "0"]
    rows = [header,
            ["S1", X, X.lower(), *amounts],  # the same ID once normalised (x → X)
            ["S2", "", B, *amounts],  # one blank: the other is used
            ["S3", A, B, *amounts]]  # both filled, different people
    read = read_report(text(rows), "medical", file_name="m.csv")
    assert found(read, "setl_id", "id_no") == [(2, "S1", X), (3, "S2", B)]
    assert exceptions(read) == [(4, "id_columns_disagree", "error")]
    detail = read.exceptions["detail"].iloc[0]
    assert A in detail and B in detail and "身份证号/证件号码" in detail


def test_full_width_and_zero_width_characters_are_normalised():
    full_width = A.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    x_full = X[:-1] + "ｘ"
    rows = [MED,
            ["S1", full_width, "２０２５－０３－０４", "１０００", "0", "0", "0", "0", "0", "0"],
            ["S2", "\u200b" + x_full + "\u00a0", "2025-03-04", "1,000.00", "0", "0", "0", "0", "0", "0"],
            ["S3", "\ufeff" + B[:6] + "\u200d" + B[6:], "2025-03-04", "5", "0", "0", "0", "0", "0", "0"]]
    read = read_report(text(rows), "medical", file_name="m.csv")
    # 1000 yuan = 100000 fen; 5 yuan = 500 fen
    assert found(read, "id_no", "medfee_sumamt") == [(2, A, 100_000), (3, X, 100_000), (4, B, 500)]
    assert read.rows["setl_date"].tolist() == [pd.Timestamp("2025-03-04")] * 3
    assert read.exceptions.empty


# --- numbers and dates -----------------------------------------------------------------------------
def test_accounting_zero_brackets_and_excel_serial_dates():
    rows = [MED,
            # " - " is Excel's accounting zero; 45352 days after 1899-12-30 is 2024-03-01 (2024-01-01 is serial
            # 45292, + 31 days of January + 29 of February 2024 = 45352)
            ["S1", A, 45352, 1000, 400, " - ", " - ", "-", 0, 0],
            ["S2", B, "45352", 500, 0, 0, 0, 0, 0, 0]]  # the same serial written as text
    read = read_report(xlsx(("Sheet1", rows)), "medical", file_name="m.xlsx")
    # S1: self_paid = 1000 − 400 − 0 − 0 − 0 = 600.00 yuan = 60000 fen
    assert found(read, "setl_id", "setl_date", "self_paid") == [(2, "S1", pd.Timestamp("2024-03-01"), 60_000),
                                                                (3, "S2", pd.Timestamp("2024-03-01"), 50_000)]
    assert read.exceptions.empty
    # accounting brackets are a negative amount: refused in a column that cannot be negative (tuition)
    rows = [EDU, [STUDENT, "2025", "", "高中", "(1,234.00)", " - ", "100", ""]]
    read = read_report(text(rows), "education", file_name="e.csv")
    assert exceptions(read) == [(2, "amount_negative", "error")]


EDU = ["身份证号", "学年", "学期", "学段", "学费", "住宿费", "教材费", "已享受资助"]


def test_school_terms_place_the_cost_in_a_policy_year():
    """S4: "支付学费、住宿费、教科书本费等基本费用较高的,超出部分可实施教育特别救助" — the cost of a term
    belongs to the year the term starts: autumn (第一学期) on 1 September, spring (第二学期) on 1 March."""
    rows = [EDU,
            [STUDENT, "2025-2026", "第一学期", "高中", "3000", "500", "100", "600"],
            [STUDENT, "2025-2026", "第二学期", "高中", "3000", "500", "100", "0"],
            [STUDENT, "2025-2026学年第二学期", "", "高中", "1000", "0", "0", "0"],
            [STUDENT, "2026年秋季学期", "", "高中", "1000", "0", "0", "0"],
            [STUDENT, "2025-2026", "寒假", "高中", "1000", "0", "0", "0"]]
    read = read_report(text(rows), "education", file_name="e.csv")
    # net_cost = tuition + accommodation + textbooks − other aid (已享受资助):
    # line 2: 3000 + 500 + 100 − 600 = 3000.00 = 300000 fen; line 3: 3600.00 = 360000 fen
    assert found(read, "school_year", "event_date", "net_cost") == [
        (2, 2025, pd.Timestamp("2025-09-01"), 300_000),
        (3, 2025, pd.Timestamp("2026-03-01"), 360_000),
        (4, 2025, pd.Timestamp("2026-03-01"), 100_000),
        (5, 2026, pd.Timestamp("2026-09-01"), 100_000)]
    assert exceptions(read) == [(6, "bad_term", "error")]


def test_a_term_with_its_year_stands_in_for_the_school_year():
    rows = [["身份证号", "学期", "学段", "学费", "住宿费", "教材费"],
            [STUDENT, "2025年春季学期", "高中", "1000", "0", "0"],  # spring 2025 ends school year 2024-2025
            [STUDENT, "第一学期", "高中", "1000", "0", "0"]]  # no year at all: refused, saying what to write
    read = read_report(text(rows, encoding="utf-16", delimiter="\t"), "education", file_name="e.txt")
    assert found(read, "school_year", "event_date") == [(2, 2024, pd.Timestamp("2025-03-01"))]
    assert exceptions(read) == [(3, "bad_school_year", "error")]
    assert "2025年秋季学期" in REASONS["bad_school_year"]


DIS = ["户编号", "受灾日期", "灾害类型", "核定损失（万元）", "保险理赔"]


def test_amounts_in_wan_yuan_by_header_or_unit_row():
    # 1.2345 万元 = 12,345.00 yuan = 1,234,500 fen; 保险理赔 is in 元: 345.00 yuan = 34,500 fen
    # net_loss = 1,234,500 − 34,500 = 1,200,000 fen (12,000.00 yuan)
    read = read_report(text([DIS, ["H1", "2025-07-01", "洪涝", "1.2345", "345"]]), "disaster", file_name="d.csv")
    assert found(read, "assessed_loss", "other_compensation", "net_loss") == [(2, 1_234_500, 34_500, 1_200_000)]
    assert exceptions(read) == [(1, "unit_wan", "info")]
    # a unit row above the header scales every money column: 2.5 万元 = 2,500,000 fen; 0.1 万元 = 100,000 fen
    # (民政救助 is the other_compensation column here)
    rows = [["2025年7月洪涝受灾户核定表"], ["单位：万元"], ["户编号", "受灾日期", "灾害类型", "核定损失", "民政救助"],
            ["H2", "2025-07-01", "洪涝", 2.5, 0.1]]
    read = read_report(xlsx(("Sheet1", rows)), "disaster", file_name="d.xlsx")
    assert found(read, "assessed_loss", "other_compensation", "net_loss") == [(4, 2_500_000, 100_000, 2_400_000)]
    assert [r[1] for r in exceptions(read)] == ["header_row", "unit_wan"]


def test_fast_reader_leaves_a_wan_yuan_file_to_the_general_reader():
    data = text([DIS, ["H1", "2025-07-01", "洪涝", "1.5", "0"]])
    fast, general = (read_report(data, "disaster", file_name="d.csv", fast=f) for f in (True, False))
    pd.testing.assert_frame_equal(fast.rows, general.rows)
    assert fast.rows["assessed_loss"].tolist() == [1_500_000]  # 1.5 万元 = 15,000 yuan


@pytest.mark.parametrize("written, grade", [("一级", 1), ("十级", 10), ("伤残一级", 1), ("Ⅰ级", 1), ("Ⅹ级", 10),
                                            ("叁级", 3), ("三级伤残", 3), ("３级", 3), ("第7级", 7)])
def test_disability_grades_in_chinese_and_roman_numerals(written, grade):
    rows = [["身份证号", "事故日期", "事故类型", "伤残等级"], [A, "2025-05-01", "伤残", written]]
    read = read_report(text(rows), "accident", file_name="a.csv")
    assert read.rows["grade"].tolist() == [grade]


def test_disability_grade_out_of_range_is_refused():
    rows = [["身份证号", "事故日期", "事故类型", "伤残等级"], [A, "2025-05-01", "伤残", "十一级"]]
    read = read_report(text(rows), "accident", file_name="a.csv")
    assert exceptions(read) == [(2, "bad_grade", "error")]


# --- several sheets, encodings ---------------------------------------------------------------------
def test_every_matching_sheet_is_read_and_the_others_are_named():
    march = [TITLE, MED, S1]
    april = [MED, ["S9", B, "2025-04-02", 300, 100, 0, 0, 0, 0, 0]]  # self_paid = 300 − 100 = 200.00
    notes = [["说明"], ["本表由县医保局导出"]]
    read = read_report(xlsx(("3月", march), ("说明", notes), ("4月", april)), "medical", file_name="医保.xlsx")
    assert list(read.rows[["source_file", "source_line", "self_paid"]].itertuples(index=False, name=None)) == [
        ("医保.xlsx!3月", 3, 450_000), ("医保.xlsx!4月", 2, 20_000)]
    got = list(read.exceptions[["file", "line", "reason", "severity"]].itertuples(index=False, name=None))
    assert got == [("医保.xlsx!说明", 1, "sheet_skipped", "info"), ("医保.xlsx!3月", 2, "header_row", "info")]
    assert "说明" in read.exceptions["detail"].iloc[0] and "missing required column" in read.exceptions["detail"].iloc[0]
    assert read.exceptions["detail"].iloc[1].startswith("工作表“3月” / sheet \"3月\": ")  # a line alone is ambiguous


def test_a_workbook_without_a_matching_sheet_is_refused_naming_each_sheet():
    with pytest.raises(ReportFileError) as caught:
        read_report(xlsx(("甲", [["说明"]]), ("乙", [["备注"]])), "medical", file_name="x.xlsx")
    assert "甲" in caught.value.message and "乙" in caught.value.message


@pytest.mark.parametrize("encoding, delimiter", [("utf-8", ","), ("utf-8-sig", ","), ("gb18030", ","),
                                                 ("utf-16", "\t"), ("utf-16", ",")])
@pytest.mark.parametrize("title", [False, True])
def test_text_encodings(encoding, delimiter, title):
    rows = [*([TITLE] if title else []), MED, ["S1", A, "2025-03-04", "10000", "4000", "1000", "500", "0", "200", "0"]]
    read = read_report(text(rows, encoding, delimiter), "medical", file_name="m.txt")
    # as worked out for S1 above, on the line after the header
    assert found(read, "setl_id", "self_paid") == [(2 + title, "S1", 450_000)]


def test_every_layout_reason_is_bilingual():
    for code in ("header_row", "subtotal_row", "footer_row", "unit_wan", "control_total_mismatch", "control_total_ok",
                 "sheet_skipped", "id_columns_disagree", "bad_term"):
        zh, _, en = REASONS[code].partition(" / ")
        assert zh and en


# --- disaster lists keyed by the householder's ID --------------------------------------------------
def test_disaster_list_keyed_by_householder_id_finds_the_household_on_the_roster():
    from claims import run_calculation
    from products import load_product

    product = load_product("fangpinbao-weixian-2025")  # disaster: 100% of the loss above 10,000, cap 30,000
    persons = pd.DataFrame({"id_no": [A, B, X], "name": ["张三", "李四", "王五"], "household_no": ["H1", "H1", "H2"],
                            "relation": ["户主", "配偶", "户主"]})
    households = pd.DataFrame({"household_no": ["H1", "H2"], "village_code": ["130434100200"] * 2,
                               "natural_village": ["张庄"] * 2, "category": ["边缘易致贫户"] * 2,
                               "per_capita_income": [500_000, 500_000], "members": [2, 1]})
    rows = [["户编号", "户主身份证号", "受灾日期", "灾害类型", "核定损失"],
            ["", A, "2025-07-01", "洪涝", "20000"],  # A heads H1
            ["", B, "2025-07-01", "洪涝", "30000"],  # B is on the roster but not a head (配偶)
            ["", make_id("130434", "19700101", 99), "2025-07-01", "洪涝", "30000"],  # not on the roster
            ["H2", "", "2025-07-02", "洪涝", "15000"]]  # keyed by household number as usual
    read = read_report(text(rows), "disaster", file_name="d.csv")
    assert read.exceptions.empty
    result = run_calculation(product, persons, households, {"disaster": read.rows})
    due = dict(zip(result.claims["unit_id"], result.claims["due"], strict=True))
    # H1: (20,000 − 10,000) × 100% = 10,000.00 = 1,000,000 fen; H2: (15,000 − 10,000) × 100% = 500,000 fen
    assert due == {"H1": 1_000_000, "H2": 500_000}
    refused = result.exceptions[result.exceptions["reason"] == "unknown_householder"]
    assert refused["line"].tolist() == [3, 4]
    assert B in refused["detail"].iloc[0]


def test_database_import_of_a_list_keyed_by_householder_id(db, tmp_path):
    from factories import pid
    from sqlalchemy import select
    from test_imports import PRODUCT, write_roster

    from claims.lifecycle.database import transaction
    from claims.lifecycle.imports import import_report
    from claims.lifecycle.models import Claim, ImportException
    from claims.lifecycle.registry import create_policy, register_product
    from claims.lifecycle.roster_store import store_roster
    from claims.lifecycle.transitions import SYSTEM
    from products import load_product
    from products.roster import check_roster, load_households, load_persons

    _, factory = db
    persons, households = write_roster(tmp_path)  # H1: persons 1 (户主) and 2 (配偶); H2: 3; H3: 4
    p, h = load_persons(persons), load_households(households)
    check_roster(p, h)
    with transaction(factory) as s:
        policy_id = create_policy(s, register_product(s, load_product(PRODUCT)), 1000).id
        store_roster(s, p, h)
    rows = [["户主身份证号", "受灾日期", "灾害类型", "核定损失"],
            [pid(1), "2025-07-01", "洪涝", "20000"],  # heads H1
            [pid(2), "2025-07-01", "洪涝", "30000"]]  # on the roster, but not a head
    result = import_report(factory, policy_id, "disaster", text(rows), actor=SYSTEM, file_name="d.csv")
    assert (result.rows_read, result.rows_stored, result.rows_exception) == (2, 1, 1)
    with factory() as s:
        claims = [(c.unit_id, c.amount) for c in s.scalars(select(Claim).where(Claim.line_id == "disaster"))]
        reasons = [(e.line, e.reason) for e in s.scalars(select(ImportException))]
    # FPB disaster: 100% of the loss above 10,000: H1 (20,000 − 10,000) × 100% = 10,000.00
    assert [(u, str(a)) for u, a in claims] == [("H1", "10000.00")]
    assert reasons == [(3, "unknown_householder")]


def test_roster_under_a_title_row():
    from products.roster import load_persons

    rows = [["2025年防贫监测对象名单"], [], ["身份证号", "姓名", "户编号", "与户主关系"], [A, "张三", "H1", "户主"],
            [B, "李四", "H1", "配偶"]]
    persons = load_persons(io.BytesIO(xlsx(("名单", rows))), file_name="persons.xlsx")
    assert persons["id_no"].tolist() == [A, B]
    assert persons["household_no"].tolist() == ["H1", "H1"]


def test_an_id_excel_stored_as_a_number_is_kept_only_when_every_digit_is_there():
    full = make_id("130434", "19751010", 61)
    legacy = int(full[:6] + full[8:17])  # GB 11643-1989: no century, no check digit; 15 digits fit a float
    rows = [["身份证号", "事故日期", "事故类型", "医疗费用"],
            [legacy, 45841, "住院", 2000],  # 45841 = 2025-07-03 (45292 = 2024-01-01, + 366 + 183)
            [int(A), 45841, "住院", 100]]  # 18 digits: Excel keeps 15, the last three are lost
    read = read_report(xlsx(("Sheet1", rows)), "accident", file_name="a.xlsx")
    # the legacy ID becomes 18 characters: "19" before the year and the computed check digit
    assert found(read, "id_no", "event_date", "medical_cost") == [(2, full, pd.Timestamp("2025-07-03"), 200_000)]
    assert exceptions(read) == [(3, "id_as_number", "error")]
