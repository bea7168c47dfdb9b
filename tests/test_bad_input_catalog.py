"""A catalog of malformed department reports.  Each variant puts one bad row (or a whole-file problem)
between good rows; the test asserts the exact reason code on the exact line and that every good row
survives with its exact amounts in fen (worked out by hand below).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from claims.reports import DEPARTMENTS, EXCEPTION_COLUMNS, REASONS, ReportFileError, read_report
from tabular.files import TableError
from tabular.resident_id import make_id

A = make_id("130434", "19800101", 11)  # 130434198001010114
B = make_id("130434", "19850615", 22)  # 130434198506150227
C = make_id("130434", "19900220", 33)  # 130434199002200336
BAD_BIRTH = make_id("130434", "19801332", 5)  # correct check digit, month 13


def csv_bytes(header: list[str], rows: list[list], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n", delimiter=delimiter).writerows([header, *rows])
    return text.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    for row in [header, *rows]:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- medical ---------------------------------------------------------------------------------------
MED = ["结算ID", "身份证号", "姓名", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出",
       "全自费金额", "超限价自费"]
MED1 = ["S1", A, "张三", "2025-03-04", "1000.00", "500", "100", "50", "0", "20", "10"]
MED2 = ["S2", B, "李四", "2025/3/5", "2,345.67", "1,000.00", "", "", "", "", ""]
# MED1: self_paid = 1000 − 500 − 100 − 50 − 0 = 350.00 yuan = 35000 fen; policy = 350 − 20 − 10 = 320.00 = 32000
# MED2: self_paid = 2345.67 − 1000.00 (blank components are 0) = 1345.67 = 134567 fen; policy the same
MED_GOOD = [(2, "S1", 35_000, 32_000), (4, "S2", 134_567, 134_567)]


def med(bad: list, header: list[str] = MED) -> bytes:
    return csv_bytes(header, [MED1, bad, MED2])


def bad_med(**cells) -> list:
    """A medical row for C (total 300, statutory fund 100) with some cells replaced."""
    row = dict(zip(MED, ["S3", C, "王五", "2025-03-06", "300", "100", "", "", "", "", ""]))
    row.update({MED[int(k[1:])]: v for k, v in cells.items()})
    return list(row.values())


# --- education -------------------------------------------------------------------------------------
EDU = ["身份证号", "姓名", "学年", "学段", "学费", "住宿费", "教材费", "其他资助", "是否新生"]
EDU1 = [A, "张三", "2025-2026", "本科", "5000", "1200", "300.50", "2000", "是"]
EDU2 = [B, "李四", "2025学年", "高中", "3,000", "", "", "4000", "否"]
# EDU1: net = 5000 + 1200 + 300.50 − 2000 = 4500.50 yuan = 450050 fen
# EDU2: net = max(0, 3000 + 0 + 0 − 4000) = 0
EDU_GOOD = [(2, A, 450_050, 2025, True), (4, B, 0, 2025, False)]

# --- accident --------------------------------------------------------------------------------------
ACC = ["身份证号", "姓名", "事故日期", "事故类型", "伤残等级", "医疗费用"]
ACC1 = [A, "张三", "2025年3月4日", "死亡", "", ""]
ACC2 = [B, "李四", "20250305", "伤残", "三级", "1,234.56"]
ACC_GOOD = [(2, "death", pd.NA, 0), (4, "disability", 3, 123_456)]  # 1234.56 yuan = 123456 fen

# --- disaster --------------------------------------------------------------------------------------
DIS = ["户编号", "受灾日期", "灾害类型", "核定损失", "其他赔偿"]
DIS1 = ["H1", "2025-07-01", "洪涝", "20,000", "5000.50"]
DIS2 = ["H2", "2025/7/2", "火灾", "800", ""]
# DIS1: net = 20000 − 5000.50 = 14999.50 yuan = 1499950 fen; DIS2: 800 − 0 = 80000 fen
DIS_GOOD = [(2, "H1", 1_499_950), (4, "H2", 80_000)]

# --- income ----------------------------------------------------------------------------------------
INC = ["户编号", "统计日期", "家庭人均纯收入"]
INC1 = ["H1", "2025-06-30", "4,800.00"]
INC2 = ["H2", "2025/6/30", "12000"]
INC_GOOD = [(2, "H1", 480_000), (4, "H2", 1_200_000)]

GOOD_COLUMNS = {
    "medical": ["source_line", "setl_id", "self_paid", "policy_self_paid"],
    "education": ["source_line", "id_no", "net_cost", "school_year", "entry"],
    "accident": ["source_line", "kind", "grade", "medical_cost"],
    "disaster": ["source_line", "household_no", "net_loss"],
    "income": ["source_line", "household_no", "per_capita_income"],
}


@dataclass
class Case:
    name: str
    department: str
    data: Callable[[], bytes]
    file_name: str = "report.csv"
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, severity)
    good: list[tuple] = field(default_factory=list)
    refused: list[str] | None = None  # substrings of the ReportFileError message


CASES = [
    Case("missing required column", "medical",
         lambda: csv_bytes([h for h in MED if h != "医疗费总额"], [MED1[:4] + MED1[5:]]),
         refused=["medfee_sumamt", "医疗费总额", "医疗总费用", "缺少必需列", "missing required column"]),
    Case("two required columns missing", "income", lambda: csv_bytes(["户编号"], [["H1"]]),
         refused=["as_of", "统计日期", "per_capita_income", "家庭人均纯收入"]),
    Case("ID stored as an Excel number", "medical",
         lambda: xlsx_bytes(MED, [MED1, bad_med(c1=int(C)), MED2]), file_name="医保.xlsx",
         bad=[(3, "id_as_number", "error")], good=MED_GOOD),
    Case("ID in scientific notation", "medical", lambda: med(bad_med(c1="1.30434E+17")),
         bad=[(3, "id_as_number", "error")], good=MED_GOOD),
    Case("bad check digit", "medical", lambda: med(bad_med(c1=C[:-1] + "9")),
         bad=[(3, "id_check_digit", "error")], good=MED_GOOD),
    Case("bad birth date inside the ID", "medical", lambda: med(bad_med(c1=BAD_BIRTH)),
         bad=[(3, "id_birth_date", "error")], good=MED_GOOD),
    Case("blank ID", "medical", lambda: med(bad_med(c1="")), bad=[(3, "id_missing", "error")], good=MED_GOOD),
    Case("ID too short", "medical", lambda: med(bad_med(c1=C[:16])), bad=[(3, "id_format", "error")], good=MED_GOOD),
    Case("non-numeric amount", "medical", lambda: med(bad_med(c5="一百")),
         bad=[(3, "amount_not_numeric", "error")], good=MED_GOOD),
    # a negative amount is a refund only when every amount of the row is negative (or none is)
    Case("a negative fund payment among positive amounts", "medical", lambda: med(bad_med(c6="-5")),
         bad=[(3, "refund_mixed_signs", "error")], good=MED_GOOD),
    Case("three-decimal amount", "medical", lambda: med(bad_med(c4="300.005")),
         bad=[(3, "amount_precision", "error")], good=MED_GOOD),
    Case("blank total", "medical", lambda: med(bad_med(c4="")), bad=[(3, "amount_missing", "error")], good=MED_GOOD),
    Case("blank settlement ID", "medical", lambda: med(bad_med(c0="")),
         bad=[(3, "missing_value", "error")], good=MED_GOOD),
    Case("bad date", "medical", lambda: med(bad_med(c3="2025-02-30")), bad=[(3, "bad_date", "error")], good=MED_GOOD),
    Case("date as free text", "medical", lambda: med(bad_med(c3="三月初")), bad=[(3, "bad_date", "error")],
         good=MED_GOOD),
    # a repeated setl_id is read: re-send or correction is judged over all files of a run (reports.identity)
    # row 3: self_paid = 300 − 100 = 200.00 = 20000 fen, policy the same
    Case("repeated setl_id (both rows read)", "medical", lambda: med(bad_med(c0="S1")),
         bad=[], good=[MED_GOOD[0], (3, "S1", 20_000, 20_000), MED_GOOD[1]]),
    # 300 − 100 − 250 = −50 < 0
    Case("fund payments exceed the total", "medical", lambda: med(bad_med(c6="250")),
         bad=[(3, "components_exceed_total", "error")], good=MED_GOOD),
    # self_paid = 300 − 100 = 200 ≥ 0, but policy = 200 − 150 − 60 = −10 < 0
    Case("self-paid items exceed the self-paid amount", "medical", lambda: med(bad_med(c9="150", c10="60")),
         bad=[(3, "components_exceed_total", "error")], good=MED_GOOD),
    # psn_part 250.00 vs self_paid 300 − 100 = 200.00: off by 5000 fen > 1 → warning, row kept with 20000
    Case("psn_part mismatch is a warning", "medical",
         lambda: csv_bytes(MED + ["个人负担总金额"], [MED1 + ["350.00"], bad_med() + ["250.00"], MED2 + [""]]),
         bad=[(3, "psn_part_mismatch", "warning")],
         good=[MED_GOOD[0], (3, "S3", 20_000, 20_000), MED_GOOD[1]]),
    Case("unquoted comma in an amount shifts the row", "medical",
         lambda: csv_bytes(MED, [MED1, ["S3", C, "王五", "2025-03-06", "1", "300.00", "100", "", "", "", "", ""], MED2]),
         bad=[(3, "extra_fields", "error")], good=MED_GOOD),
    Case("GB18030-encoded CSV", "medical", lambda: csv_bytes(MED, [MED1, bad_med(), MED2], "gb18030"),
         good=[MED_GOOD[0], (3, "S3", 20_000, 20_000), MED_GOOD[1]]),  # 300 − 100 = 200.00
    Case("UTF-8 with BOM", "medical", lambda: csv_bytes(MED, [MED1, bad_med(), MED2], "utf-8-sig"),
         good=[MED_GOOD[0], (3, "S3", 20_000, 20_000), MED_GOOD[1]]),
    Case("undecodable bytes", "medical", lambda: med(bad_med()) + b"\xff\xfe\xff\n",
         refused=["无法识别的文件编码", "cannot decode file as UTF-8 or GB18030"]),
    Case("empty file", "medical", lambda: b"", refused=["文件为空", "file is empty"]),
    Case("only blank lines", "medical", lambda: b"\n\r\n  \n", refused=["文件为空", "file is empty"]),
    Case("unknown department", "pharmacy", lambda: med(bad_med()), refused=["pharmacy", "未知部门", "unknown department"]),
    Case("fully blank rows are skipped, line numbers stay true", "medical",
         lambda: csv_bytes(MED, [MED1, [], [""] * len(MED), ["  "] + [""] * (len(MED) - 1), MED2]),
         good=[(2, "S1", 35_000, 32_000), (6, "S2", 134_567, 134_567)]),
    Case("English canonical headers, units and full-width brackets", "medical",
         lambda: csv_bytes(["setl_id", "ID_NO", "姓名", "结算时间", "医疗费总额（元）", "统筹基金支出(元)", "大病保险支付",
                            "医疗救助基金支出", "其他支付", "全自费", "超限价自费费用"], [MED1, bad_med(), MED2]),
         good=[MED_GOOD[0], (3, "S3", 20_000, 20_000), MED_GOOD[1]]),
    Case("quoted newline inside a cell keeps later line numbers true", "medical",
         lambda: csv_bytes(MED, [MED1[:2] + ["张\n三"] + MED1[3:], bad_med(c6="250"), MED2]),
         bad=[(4, "components_exceed_total", "error")],  # record 1 spans lines 2–3
         good=[(2, "S1", 35_000, 32_000), (5, "S2", 134_567, 134_567)]),
    Case("every row ends with an empty field (exporter habit)", "medical",
         lambda: csv_bytes(MED, [MED1 + [""], bad_med(c3="2025-13-01") + [""], MED2 + [""]]),
         bad=[(3, "bad_date", "error")], good=MED_GOOD),
    Case("tab-separated .txt", "medical", lambda: csv_bytes(MED, [MED1, bad_med(c1=""), MED2], delimiter="\t"),
         file_name="report.txt", bad=[(3, "id_missing", "error")], good=MED_GOOD),
    # two ID columns are reconciled row by row (tests/test_layouts.py); a third is one too many
    Case("three headers for one column", "medical",
         lambda: csv_bytes(MED + ["身份证号码", "证件号码"], [MED1 + [A, A], MED2 + [B, B]]),
         refused=["id_no", "身份证号", "身份证号码", "证件号码", "matches several headers"]),
    Case("bad school year", "education", lambda: csv_bytes(EDU, [EDU1, [C, "王五", "2025-2027", "本科", "1", "", "", "", ""],
                                                                 EDU2]),
         bad=[(3, "bad_school_year", "error")], good=EDU_GOOD),
    Case("bad entry flag", "education", lambda: csv_bytes(EDU, [EDU1, [C, "王五", "2025", "本科", "1", "", "", "", "也许"],
                                                                EDU2]),
         bad=[(3, "bad_flag", "error")], good=EDU_GOOD),
    Case("blank school level", "education", lambda: csv_bytes(EDU, [EDU1, [C, "王五", "2025", " ", "1", "", "", "", ""],
                                                                    EDU2]),
         bad=[(3, "missing_level", "error")], good=EDU_GOOD),
    Case("accident disability without grade", "accident",
         lambda: csv_bytes(ACC, [ACC1, [C, "王五", "2025-03-06", "伤残", "", "100"], ACC2]),
         bad=[(3, "bad_grade", "error")], good=ACC_GOOD),
    Case("accident disability grade 11", "accident",
         lambda: csv_bytes(ACC, [ACC1, [C, "王五", "2025-03-06", "残疾", "11", ""], ACC2]),
         bad=[(3, "bad_grade", "error")], good=ACC_GOOD),
    Case("bad accident kind", "accident",
         lambda: csv_bytes(ACC, [ACC1, [C, "王五", "2025-03-06", "溺水", "", ""], ACC2]),
         bad=[(3, "bad_kind", "error")], good=ACC_GOOD),
    Case("disaster without assessed loss", "disaster",
         lambda: csv_bytes(DIS, [DIS1, ["H3", "2025-07-03", "风雹", "", "100"], DIS2]),
         bad=[(3, "amount_missing", "error")], good=DIS_GOOD),
    Case("disaster household number Excel lost digits", "disaster",
         lambda: csv_bytes(DIS, [DIS1, ["1.30434E+15", "2025-07-03", "风雹", "100", ""], DIS2]),
         bad=[(3, "key_as_number", "error")], good=DIS_GOOD),
    Case("income blank", "income", lambda: csv_bytes(INC, [INC1, ["H3", "2025-06-30", ""], INC2]),
         bad=[(3, "amount_missing", "error")], good=INC_GOOD),
    Case("income with bad date", "income", lambda: csv_bytes(INC, [INC1, ["H3", "6月底", "100"], INC2]),
         bad=[(3, "bad_date", "error")], good=INC_GOOD),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case):
    assert len(CASES) >= 18
    source = io.BytesIO(case.data())
    if case.refused is not None:
        with pytest.raises(ReportFileError) as caught:
            read_report(source, case.department, file_name=case.file_name)
        assert caught.value.file == case.file_name
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, TableError)
        for part in case.refused:
            assert part in caught.value.message
        assert str(caught.value).startswith(case.file_name + ": ")
        return

    read = read_report(source, case.department, file_name=case.file_name)
    ex = read.exceptions
    assert ex.columns.tolist() == EXCEPTION_COLUMNS
    assert list(zip(ex["line"], ex["reason"], ex["severity"])) == case.bad
    assert set(ex["file"]) <= {case.file_name}
    assert set(ex["reason"]) <= set(REASONS)
    assert all(" / " in d for d in ex["detail"])  # bilingual detail

    got = [tuple(None if pd.isna(v) else v for v in row)
           for row in read.rows[GOOD_COLUMNS[case.department]].itertuples(index=False)]
    want = [tuple(None if v is pd.NA else v for v in row) for row in case.good]
    assert got == want
    errors = int((ex["severity"] == "error").sum())
    assert len(read.rows) + errors == read.rows_read  # nothing dropped silently
    assert (read.rows["source_file"] == case.file_name).all()


def test_cell_detail_names_column_and_value():
    read = read_report(io.BytesIO(med(bad_med(c5="一百"))), "medical", file_name="m.csv")
    detail = read.exceptions["detail"].iloc[0]
    assert "统筹基金支出(hifp_pay)" in detail and "“一百”" in detail
    assert "金额不是数字" in detail and "amount is not a number" in detail


def test_row_with_several_problems_appears_once():
    read = read_report(io.BytesIO(med(bad_med(c1="", c3="x", c4="abc"))), "medical", file_name="m.csv")
    ex = read.exceptions
    assert ex[["line", "reason", "severity"]].values.tolist() == [[3, "id_missing", "error"]]
    assert ex["detail"].iloc[0].count("；") == 2  # three problems joined
    assert read.rows["setl_id"].tolist() == ["S1", "S2"]


def test_psn_part_within_one_fen_is_not_a_warning():
    # self_paid = 300 − 100 = 200.00; 200.01 is 1 fen away: tolerated
    data = csv_bytes(MED + ["个人负担"], [bad_med() + ["200.01"]])
    read = read_report(io.BytesIO(data), "medical", file_name="m.csv")
    assert read.exceptions.empty
    assert read.rows["psn_part_amt"].tolist() == [20_001]
    assert read.rows["self_paid"].tolist() == [20_000]


def test_medical_dtypes_and_columns():
    read = read_report(io.BytesIO(med(bad_med())), "medical", file_name="m.csv")
    rows = read.rows
    assert rows.columns.tolist() == [
        "setl_id", "id_no", "name", "setl_date", "medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay",
        "fulamt_ownpay_amt", "overlmt_selfpay", "psn_part_amt", "refund", "orig_setl_id", "med_type", "self_paid",
        "policy_self_paid", "source_file", "source_line"]
    assert rows["setl_date"].dtype == "datetime64[ns]"
    assert rows["setl_date"].tolist() == [pd.Timestamp("2025-03-04"), pd.Timestamp("2025-03-06"),
                                          pd.Timestamp("2025-03-05")]
    for col in ["medfee_sumamt", "hifp_pay", "self_paid", "policy_self_paid", "source_line"]:
        assert rows[col].dtype == "int64"
    assert str(rows["psn_part_amt"].dtype) == "Int64" and rows["psn_part_amt"].isna().all()
    assert rows["medfee_sumamt"].tolist() == [100_000, 30_000, 234_567]


def test_education_event_date_is_first_of_september():
    read = read_report(io.BytesIO(csv_bytes(EDU, [EDU1, EDU2])), "education", file_name="e.csv")
    assert read.rows["event_date"].tolist() == [pd.Timestamp("2025-09-01")] * 2
    assert read.rows["event_date"].dtype == "datetime64[ns]"
    assert read.rows["level"].tolist() == ["本科", "高中"]


def test_dates_in_every_accepted_form():
    forms = ["2025-03-04", "2025/3/4", "20250304", "2025年3月4日", "2025-03-04 10:22:01"]
    rows = [[f"S{i}", A, "", form, "1", "", "", "", "", "", ""] for i, form in enumerate(forms)]
    read = read_report(io.BytesIO(csv_bytes(MED, rows)), "medical", file_name="m.csv")
    assert read.exceptions.empty
    assert read.rows["setl_date"].tolist() == [pd.Timestamp("2025-03-04")] * len(forms)


def test_excel_date_cells_and_numbers(tmp_path):
    path = tmp_path / "acc.xlsx"
    path.write_bytes(xlsx_bytes(ACC, [[A, "张三", dt.datetime(2025, 3, 4, 15, 30), "住院", None, 88.8],
                                      [B, "李四", dt.date(2025, 3, 5), "伤残", 2, None]]))
    read = read_report(path, "accident")
    assert read.file == "acc.xlsx"
    assert read.rows["event_date"].tolist() == [pd.Timestamp("2025-03-04"), pd.Timestamp("2025-03-05")]
    assert read.rows["medical_cost"].tolist() == [8_880, 0]  # 88.8 yuan; blank → 0
    assert read.rows["kind"].tolist() == ["hospital", "disability"]
    assert read.rows["grade"].tolist()[1] == 2 and str(read.rows["grade"].dtype) == "Int64"


def test_xlsx_with_chinese_headers_reads_like_csv(tmp_path):
    rows_csv = [MED1, bad_med(), MED2]
    # the same rows as an Excel user keeps them: amounts and dates as native cells
    rows_xlsx = [
        ["S1", A, "张三", dt.datetime(2025, 3, 4), 1000, 500, 100, 50, 0, 20, 10],
        ["S3", C, "王五", dt.datetime(2025, 3, 6), 300, 100, None, None, None, None, None],
        ["S2", B, "李四", dt.datetime(2025, 3, 5), 2345.67, 1000.0, None, None, None, None, None],
    ]
    (tmp_path / "m.csv").write_bytes(csv_bytes(MED, rows_csv))
    (tmp_path / "m.xlsx").write_bytes(xlsx_bytes(MED, rows_xlsx))
    from_csv = read_report(tmp_path / "m.csv", "medical")
    from_xlsx = read_report(tmp_path / "m.xlsx", "medical")
    assert from_csv.exceptions.empty and from_xlsx.exceptions.empty
    assert from_xlsx.rows_read == from_csv.rows_read == 3
    pd.testing.assert_frame_equal(from_csv.rows.drop(columns="source_file"), from_xlsx.rows.drop(columns="source_file"))
    assert from_xlsx.rows["self_paid"].tolist() == [35_000, 20_000, 134_567]


def test_xlsx_blank_rows_keep_sheet_row_numbers(tmp_path):
    path = tmp_path / "inc.xlsx"
    path.write_bytes(xlsx_bytes(INC, [INC1, [None, None, None], [None, None, None], INC2]))
    read = read_report(path, "income")
    assert read.rows["source_line"].tolist() == [2, 5]
    assert read.rows["per_capita_income"].tolist() == [480_000, 1_200_000]
    assert read.rows_read == 2


def test_parquet_and_path_names(tmp_path):
    frame = pd.DataFrame({"household_no": ["H1", "H2"], "as_of": ["2025-06-30", "2025-06-30"],
                          "per_capita_income": ["4800", None]})
    path = tmp_path / "income.parquet"
    frame.to_parquet(path)
    read = read_report(Path(path), "income")
    assert read.rows["per_capita_income"].tolist() == [480_000]
    assert read.exceptions[["file", "line", "reason"]].values.tolist() == [["income.parquet", 3, "amount_missing"]]


def test_read_table_keeps_csv_text_exactly():
    from tabular.sheets import read_table
    data = csv_bytes([" 姓名 ", "\ufeff金额", "备注"], [["NA", "0012", ""], ["null", "1e5", " x "]])
    table = read_table(io.BytesIO(data), file_name="t.csv")
    assert table.columns.tolist() == ["姓名", "金额", "备注", "source_file", "source_line", "source_extra"]
    assert table["姓名"].tolist() == ["NA", "null"]
    assert table["金额"].tolist() == ["0012", "1e5"]
    assert table["备注"].tolist() == ["", " x "]
    assert table["source_line"].tolist() == [2, 3]


def test_departments_and_header_only_file():
    assert DEPARTMENTS == ("medical", "education", "disaster", "accident", "income", "agriculture")
    read = read_report(io.BytesIO(csv_bytes(INC, [])), "income", file_name="i.csv")
    assert read.rows_read == 0 and read.rows.empty and read.exceptions.empty
    assert read.rows["per_capita_income"].dtype == "int64"
