"""Builds the real-shaped department files of the corpus (issue 11, acceptance 1).

Run ``python tests/data/corpus/build.py`` from the project root to regenerate every file; the output is
byte-identical from run to run (``tests/test_corpus.py`` checks it), so the committed files are what this
script writes.  Each file imitates how a county department sends its list: title and unit rows above the
header, 合计 rows, GB18030 / UTF-8 with BOM / UTF-16 "Unicode text", Excel with merged titles, serial dates
and IDs stored as numbers, header variants, two ID columns, full-width digits, accounting zeros, re-sends
and refunds.  Every person is synthetic (names 测试甲一 …, resident IDs built by
:func:`tabular.resident_id.make_id`, so their check digits are valid).

:func:`build` returns a description of every file: its department and the lines (sheet rows in Excel)
that hold data rows, so the test can check that each data row is either used or listed in
``exceptions.csv``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font

from tabular.resident_id import check_digit, make_id

HERE = Path(__file__).parent
COUNTY = "130434"
V1, V2 = "130434100200", "130434101201"
FIXED_TIME = dt.datetime(2025, 12, 1, 8, 0, 0)
STAMP = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
ACCOUNTING = '_-* #,##0.00_-;-* #,##0.00_-;_-* "-"??_-;_-@_-'  # Excel's accounting format: 0 shows as " - "
EXCEL_EPOCH = dt.date(1899, 12, 30)


def x_sequence(birth: str) -> int:
    """The first sequence number from 100 whose ID has the check character X (for the Ｘ cases)."""
    return next(n for n in range(100, 1000) if check_digit(f"{COUNTY}{birth}{n:03d}") == "X")


#: The synthetic roster: person key → (birth, sequence, name, household, relation).
PERSONS: dict[str, tuple[str, int, str, str, str]] = {
    "p1": ("19700101", 11, "测试甲一", "H01", "户主"),
    "p2": ("19720202", 12, "测试甲二", "H01", "配偶"),
    "p3": ("20050303", 13, "测试甲三", "H01", "子女"),
    "p4": ("19680404", 21, "测试乙一", "H02", "户主"),
    "p5": ("20060505", 22, "测试乙二", "H02", "子女"),
    "p6": ("19650606", 31, "测试丙一", "H03", "户主"),
    "p7": ("19660707", x_sequence("19660707"), "测试丙二", "H03", "配偶"),
    "p8": ("19580808", 41, "测试丁一", "H04", "户主"),
    "p9": ("19500909", 51, "测试戊一", "H05", "户主"),
    "p10": ("19751010", 61, "测试己一", "H06", "户主"),
    "p11": ("20041111", 62, "测试己二", "H06", "子女"),
}
#: household → (village, natural village, category, per-capita income yuan, members)
HOUSEHOLDS: dict[str, tuple[str, str, str, str, int]] = {
    "H01": (V1, "张庄", "脱贫不稳定户", "5000.00", 3),  # 建档立卡 (seed 000 "建档立卡脱贫户中"): both products
    "H02": (V1, "张庄", "脱贫不稳定户", "4800.00", 2),
    "H03": (V2, "李庄", "低保户", "5500.00", 2),  # covered by both products
    "H04": (V2, "李庄", "突发严重困难户", "7000.00", 1),  # above the 6,000 income line of 魏县
    "H05": (V2, "李庄", "特困供养", "3000.00", 1),  # excluded by both (助农保: 供养方式 blank, maybe 集中供养)
    "H06": (V1, "王庄", "低保户", "3600.00", 2),
}
STRANGER = make_id(COUNTY, "19800101", 999)  # valid ID, not on the roster
PAID = "medical/refund/paid.csv"
#: Files written besides the reports.
OTHER_FILES = ("persons.csv", "households.csv", PAID)


def pid(key: str) -> str:
    birth, seq, *_ = PERSONS[key]
    return make_id(COUNTY, birth, seq)


def name(key: str) -> str:
    return PERSONS[key][2]


def householder(household: str) -> str:
    return next(pid(k) for k, v in PERSONS.items() if v[3] == household and v[4] == "户主")


def full_width(text: str) -> str:
    """ASCII digits and X → full-width (Ｘ), as an IME in full-width mode types them."""
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})


def bad_check(id_no: str) -> str:
    """The same ID with a wrong check character."""
    return id_no[:17] + ("1" if id_no[17] != "1" else "2")


def as_excel_number(id_no: str) -> float:
    """An ID typed into a General cell: Excel keeps 15 significant digits (130434196804040211 → 1.30434196804040E+17)."""
    return float(id_no[:15] + "0" * (len(id_no) - 15))


def legacy_number(id_no: str) -> int:
    """The 15-digit form of an ID born in the 1900s (no "19", no check digit) as a number cell."""
    return int(id_no[:6] + id_no[8:17])


def serial(date: str) -> int:
    """Excel's serial day number of a date (1900 system: 2025-03-11 → 45727)."""
    return (dt.date.fromisoformat(date) - EXCEL_EPOCH).days


# ---- file layouts --------------------------------------------------------------------------------

@dataclass
class Sheet:
    """One table as a person sees it: rows above the header, the header, the data rows, rows below."""

    header: list[str]
    rows: list[list[object]]
    above: list[list[object]] = field(default_factory=list)
    below: list[list[object]] = field(default_factory=list)
    title: str = "Sheet1"
    formats: dict[int, str] = field(default_factory=dict)  # Excel: column index → number format
    not_data: tuple[int, ...] = ()  # positions in ``rows`` of rows that are not data (a 小计 between them)

    @property
    def data_lines(self) -> list[int]:
        first = len(self.above) + 2
        return [first + i for i in range(len(self.rows)) if i not in self.not_data]

    def grid(self, order: list[int] | None = None) -> list[list[object]]:
        cols = order or list(range(len(self.header)))
        width = len(self.header)
        pad = [[*r, *[""] * (width - len(r))] if len(r) < width else r for r in self.above + self.below]
        above, below = pad[:len(self.above)], pad[len(self.above):]
        return ([[r[c] for c in cols] for r in above] + [[self.header[c] for c in cols]]
                + [[r[c] for c in cols] for r in self.rows] + [[r[c] for c in cols] for r in below])


@dataclass(frozen=True)
class CorpusFile:
    department: str
    path: str  # relative to tests/data/corpus
    data_lines: dict[str, list[int]]  # sheet title ("" for a text file) → lines of data rows


@dataclass
class Written:
    """The files one department's builder writes under ``out``, with their descriptions."""

    out: Path
    department: str
    files: list[CorpusFile] = field(default_factory=list)

    def add(self, rel: str, sheets: Sheet | list[Sheet], write: Callable[[Path], None]) -> None:
        """Write ``rel`` with ``write`` and describe its data lines (by sheet title in a workbook)."""
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        sheets = sheets if isinstance(sheets, list) else [sheets]
        excel = rel.endswith(".xlsx")
        self.files.append(CorpusFile(self.department, rel, {(s.title if excel else ""): s.data_lines for s in sheets}))


def write_text(path: Path, sheet: Sheet, *, encoding: str = "utf-8", newline: str = "\n", delimiter: str = ",",
               order: list[int] | None = None) -> None:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline).writerows(sheet.grid(order))
    text = buf.getvalue()
    data = ("\ufeff" + text).encode("utf-16-le") if encoding == "utf-16" else text.encode(encoding)
    path.write_bytes(data)


def write_xlsx(path: Path, sheets: list[Sheet], *, merge_title: bool = True) -> None:
    """Excel as an office PC saves it: a merged, bold title over the table, numbers as numbers.  The zip is
    rewritten with fixed times (openpyxl stamps the save time as the document's modified time) so the bytes
    do not depend on when it was built."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title)
        for row in sheet.grid():
            ws.append([None if v == "" else v for v in row])
        width = len(sheet.header)
        if merge_title and sheet.above:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
            ws.cell(1, 1).font = Font(bold=True, size=14)
            ws.cell(1, 1).alignment = Alignment(horizontal="center")
        last = len(sheet.grid())
        for col, fmt in sheet.formats.items():
            for r in range(len(sheet.above) + 2, last + 1):
                ws.cell(r, col + 1).number_format = fmt
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "relief-engine corpus"
    raw = io.BytesIO()
    wb.save(raw)
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + STAMP, data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6]), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(fixed.getvalue())


# ---- medical (医保结算) ----------------------------------------------------------------------------

MEDICAL = ["结算ID", "身份证号", "姓名", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出",
           "全自费金额", "超限价自费"]
MEDICAL_VARIANT = ["结算流水号", "证件号码", "姓名", "结算时间", "医疗总费用", "统筹基金支付", "大病保险支付", "医疗救助支付",
                   "其他支付", "全自费", "超限价自费费用", "个人自付"]


def med(setl: str, person: str, date: str, total: str, fund: str = "0", big: str = "0", aid: str = "0",
        other: str = "0", own: str = "0", over: str = "0") -> list[object]:
    """A 医保 settlement row in MEDICAL's order (the ID column holds ``person``'s ID, or ``person`` itself
    when it is not a roster key)."""
    return [setl, pid(person) if person in PERSONS else person, name(person) if person in PERSONS else "测试无名",
            date, total, fund, big, aid, other, own, over]


def medical_files(out: Path) -> list[CorpusFile]:
    written = Written(out, "medical")
    add = written.add

    # m01: the plain NHSA export, UTF-8 without BOM; one row per screening outcome
    m01 = Sheet(MEDICAL, [
        med("S0101", "p1", "2025-03-04", "20000.00", "8000.00", "2000.00", "1000.00", "0", "500.00"),
        med("S0102", "p2", "2025-03-10", "6000.00", "3000.00"),
        med("S0103", "p4", "2025-03-15", "30000.00", "10000.00"),
        med("S0104", "p9", "2025-03-16", "20000.00", "5000.00"),
        med("S0105", STRANGER, "2025-03-17", "9000.00", "1000.00"),
        med("S0106", "p8", "2025-03-18", "16000.00", "4000.00"),
        med("S0107", bad_check(pid("p6")), "2025-03-19", "9000.00"),
        med("S0108", "p6", "2024-12-31", "9000.00"),
    ])
    add("medical/m01_plain.csv", m01, lambda p: write_text(p, m01))

    # m02: GB18030 with a title row, a unit row and a blank row above the header; a 合计 row that agrees
    m02 = Sheet(MEDICAL, [
        med("S0201", "p1", "2025-03-05", "15000.00", "6000.00", "1000.00"),
        med("S0202", "p4", "2025-03-06", "7000.00", "1000.00"),
        med("S0203", "p6", "2025-03-07", "12500.50", "2000.00", "0", "500.00"),
    ], above=[["魏县医疗保障局2025年3月结算明细"], ["单位：元"], []],
        below=[["合计", "", "", "", "34500.50", "9000.00", "1000.00", "500.00", "0", "0", "0"]])
    add("medical/m02_title_total_gb18030.csv", m02, lambda p: write_text(p, m02, encoding="gb18030"))

    # m03: UTF-8 with BOM; the 合计 row counts a row the export lost (a truncated file): control total differs
    m03 = Sheet(MEDICAL, [
        med("S0301", "p2", "2025-04-01", "11000.00", "2000.00"),
        med("S0302", "p6", "2025-04-02", "8000.00", "1000.00"),
    ], below=[["合计", "", "", "", "26000.00", "4000.00", "0", "0", "0", "0", "0"]])
    add("medical/m03_total_wrong_bom.csv", m03, lambda p: write_text(p, m03, encoding="utf-8-sig"))

    # m04: the county variant headers (结算流水号, 证件号码, 统筹基金支付, 个人自付 …)
    m04 = Sheet(MEDICAL_VARIANT, [
        [*med("S0401", "p1", "2025-04-11", "18000.00", "6000.00", "2000.00"), "10000.00"],
        [*med("S0402", "p7", "2025-04-12", "9800.00", "1500.00", "0", "300.00"), "8000.00"],
    ])
    add("medical/m04_header_variants.csv", m04, lambda p: write_text(p, m04))

    # m05/m06: both 身份证号 and 证件号码 (the county's own and the NHSA's column)
    two = ["结算ID", "身份证号", "证件号码", "姓名", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助",
           "其他支出", "全自费金额", "超限价自费"]

    def both(row: list[object], second: str | None = None) -> list[object]:
        return [row[0], row[1], second or row[1], *row[2:]]

    m05 = Sheet(two, [both(med("S0501", "p4", "2025-05-02", "13000.00", "2000.00")),
                      both(med("S0502", "p6", "2025-05-03", "6500.00", "500.00"))])
    add("medical/m05_two_ids_agree.csv", m05, lambda p: write_text(p, m05))
    m06 = Sheet(two, [both(med("S0601", "p4", "2025-05-02", "13000.00", "2000.00")),
                      both(med("S0602", "p6", "2025-05-03", "6500.00", "500.00"), pid("p7"))])
    add("medical/m06_two_ids_disagree.csv", m06, lambda p: write_text(p, m06))

    # m07: IDs typed in full width (Ｘ included) or with a zero-width space / NBSP; amounts with NBSP and
    # full-width digits
    m07 = Sheet(MEDICAL, [
        [*med("S0701", "p7", "2025-05-10", "0")[:1], full_width(pid("p7")), name("p7"), "2025-05-10",
         full_width("12000.00"), "2000.00", "0", "0", "0", "0", "0"],
        [*med("S0702", "p1", "2025-05-11", "0")[:1], pid("p1")[:6] + "\u200b" + pid("p1")[6:], name("p1"),
         "2025-05-11", "\u00a09000.00\u00a0", "1000.00", "0", "0", "0", "0", "0"],
        [*med("S0703", "p4", "2025-05-12", "0")[:1], "\u00a0" + pid("p4") + "\u00a0", name("p4"), "2025-05-12",
         "7000.00", "\uff11000.00", "0", "0", "0", "0", "0"],
    ])
    add("medical/m07_fullwidth.csv", m07, lambda p: write_text(p, m07))

    # m08: Excel accounting zeros as text: " - " and "-" where a fund paid nothing
    m08 = Sheet(MEDICAL, [
        med("S0801", "p1", "2025-06-01", "8000.00", "2000.00", " - ", " - ", " - ", " - ", " - "),
        med("S0802", "p6", "2025-06-02", "15000.00", "3000.00", "-", "-", "-", "-", "-"),
    ])
    add("medical/m08_accounting_zero.csv", m08, lambda p: write_text(p, m08))

    # m09: Excel, merged title, serial dates (plain numbers), amounts as numbers in accounting format
    # (a fund that paid nothing shows " - "), one ID stored as a number (Excel kept 15 significant digits)
    money_cols = {i: ACCOUNTING for i in range(4, 11)}
    m09 = Sheet(MEDICAL, [
        ["S0901", pid("p1"), name("p1"), serial("2025-03-11"), 16000.0, 4000.0, 0, 0, 0, 0, 0],
        ["S0902", pid("p6"), name("p6"), serial("2025-03-12"), 10500.25, 2000.0, 500.0, 0, 0, 0, 0],
        ["S0903", as_excel_number(pid("p4")), name("p4"), serial("2025-03-13"), 9000.0, 1000.0, 0, 0, 0, 0, 0],
        ["S0904", pid("p2"), name("p2"), dt.datetime(2025, 3, 14), 7500.0, 0, 0, 0, 0, 0, 0],
    ], above=[["魏县医疗保障局2025年3月结算明细（导出）"]], title="结算明细", formats=money_cols)
    add("medical/m09_excel_title.xlsx", m09, lambda p: write_xlsx(p, [m09]))

    # m10: one workbook, a sheet per month
    m10a = Sheet(MEDICAL, [["S1001", pid("p1"), name("p1"), "2025-03-20", 14000.0, 4000.0, 0, 0, 0, 0, 0]],
                 title="3月")
    m10b = Sheet(MEDICAL, [["S1002", pid("p1"), name("p1"), "2025-04-20", 7000.0, 1000.0, 0, 0, 0, 0, 0],
                           ["S1003", pid("p6"), name("p6"), "2025-04-21", 11000.0, 0, 0, 0, 0, 0, 0]],
                 title="4月")
    add("medical/m10_sheets.xlsx", [m10a, m10b], lambda p: write_xlsx(p, [m10a, m10b]))

    # m11: Excel's "Unicode text" (UTF-16 LE with BOM, tab-separated, CRLF)
    m11 = Sheet(MEDICAL, [
        med("S1101", "p4", "2025-06-05", "21000.00", "5000.00", "1000.00"),
        med("S1102", "p7", "2025-06-06", "5000.01", "0"),
    ])
    add("medical/m11_utf16.txt", m11, lambda p: write_text(p, m11, encoding="utf-16", newline="\r\n", delimiter="\t"))

    # re-sends: April; April again as another office saves it; May with a correction of an April row
    april = Sheet(MEDICAL, [
        med("S1201", "p1", "2025-04-03", "9000.00", "1000.00"),
        med("S1202", "p4", "2025-04-08", "12000.00", "2000.00"),
    ])
    add("medical/resend/2025-04.csv", april, lambda p: write_text(p, april))
    order = [3, 1, 0, 2, 4, 5, 6, 7, 8, 9, 10]
    add("medical/resend/2025-04 (1).csv", april,
        lambda p: write_text(p, april, encoding="gb18030", newline="\r\n", order=order))
    may = Sheet(MEDICAL, [
        med("S1202", "p4", "2025-04-08", "14000.00", "2000.00"),
        med("S1203", "p1", "2025-05-09", "3000.00", "500.00"),
    ])
    add("medical/resend/2025-05_corrected.csv", may, lambda p: write_text(p, may, encoding="utf-8-sig"))

    # refunds: June bills; July brings the three spellings of a refund and an accounting negative
    june = Sheet(MEDICAL, [
        med("S1301", "p1", "2025-06-10", "14000.00", "2000.00"),
        med("S1302", "p4", "2025-06-11", "11000.00", "2000.00"),
        med("S1303", "p6", "2025-06-12", "9000.00", "1000.00"),
        med("S1304", "p7", "2025-06-13", "13000.00", "3000.00"),
    ])
    add("medical/refund/2025-06.csv", june, lambda p: write_text(p, june))
    negative = Sheet(MEDICAL, [med("S1301", "p1", "2025-07-02", "-3000.00", "-1000.00")])
    add("medical/refund/2025-07_negative.csv", negative, lambda p: write_text(p, negative))
    flagged = Sheet([*MEDICAL, "退费标志"], [[*med("T1302", "p4", "2025-07-03", "2500.00", "500.00"), "是"],
                                           [*med("S1305", "p4", "2025-07-04", "1000.00", "0"), "否"]])
    add("medical/refund/2025-07_flag.csv", flagged, lambda p: write_text(p, flagged))
    referenced = Sheet([*MEDICAL, "原结算ID"], [[*med("T1303", "p6", "2025-07-05", "-1500.00", "-500.00"), "S1303"]])
    add("medical/refund/2025-07_reference.csv", referenced, lambda p: write_text(p, referenced))
    parens = Sheet(MEDICAL, [med("S1304", "p7", "2025-07-06", "(4,000.00)", "(1,000.00)", " - ", " - ")])
    add("medical/refund/2025-07_parens.csv", parens, lambda p: write_text(p, parens, encoding="gb18030"))
    # what June's run paid (its entitlements), for the run after the refunds
    write_text(out / PAID, Sheet(["unit_id", "line_id", "paid"], [
        [pid("p1"), "illness", "3700.00"], [pid("p4"), "illness", "2000.00"], [pid("p6"), "illness", "1500.00"],
        [pid("p7"), "illness", "2500.00"]]))

    # m15: a 小计 row between the data rows, a 合计 row, a footer (制表人 …); amounts with thousands
    # separators; an ID ending in a lower-case x
    m15 = Sheet(MEDICAL, [
        [*med("S1501", "p7", "2025-08-01", "12,000.00", "2,000.00")[:1], pid("p7").lower(),
         *med("S1501", "p7", "2025-08-01", "12,000.00", "2,000.00")[2:]],
        ["小计", "", "", "", "12,000.00", "2,000.00", "0", "0", "0", "0", "0"],
        med("S1502", "p4", "2025-08-02", "6,500.00", "500.00"),
    ], below=[["合计", "", "", "", "18,500.00", "2,500.00", "0", "0", "0", "0", "0"],
              ["制表人：测试员", "", "审核人：测试员乙", "", "填报日期：2025-08-31"]], not_data=(1,))
    add("medical/m15_subtotal_footer.csv", m15, lambda p: write_text(p, m15))

    # income scenario: a July bill of a household whose income report (income/) brings it under the line
    july = Sheet(MEDICAL, [med("S1401", "p8", "2025-07-15", "13000.00", "2000.00")])
    add("medical/m14_income_july.csv", july, lambda p: write_text(p, july))
    return written.files


# ---- education (教育) ------------------------------------------------------------------------------

EDUCATION = ["身份证号", "姓名", "学年", "学段", "学费", "住宿费", "教材费", "其他资助", "是否新生"]


def edu(person: str, year: str, level: str, tuition: str, board: str, books: str, aid: str = "0",
        entry: str = "否") -> list[object]:
    return [pid(person), name(person), year, level, tuition, board, books, aid, entry]


def education_files(out: Path) -> list[CorpusFile]:
    written = Written(out, "education")
    add = written.add

    e01 = Sheet(EDUCATION, [
        edu("p3", "2025-2026", "本科", "6000.00", "1500.00", "800.00", "0", "是"),
        edu("p5", "2025", "高中", "3000.00", "1200.00", "300.00"),
        edu("p11", "2025-2026学年", "专科", "7000.00", "2000.00", "1000.00", "500.00", "是"),
        edu("p9", "2025", "本科", "9000.00", "2000.00", "1000.00"),
    ])
    add("education/e01_plain.csv", e01, lambda p: write_text(p, e01))

    # e02: 学期 (a term) instead of 学年, with a title row, GB18030
    e02 = Sheet(["身份证号", "姓名", "学期", "学段", "学费", "住宿费", "教材费"], [
        [pid("p3"), name("p3"), "2025-2026学年第一学期", "本科", "5000.00", "1000.00", "500.00"],
        [pid("p11"), name("p11"), "2025年秋季学期", "专科", "6000.00", "1500.00", "600.00"],
    ], above=[["魏县教育局2025年秋季学期学生费用明细"]])
    add("education/e02_term_gb18030.csv", e02, lambda p: write_text(p, e02, encoding="gb18030"))

    # e03: amounts in 万元 (ten-thousand yuan), as bureaus' summary sheets give them
    e03 = Sheet(["身份证号", "姓名", "学年", "学段", "学费（万元）", "住宿费（万元）", "教材费（万元）"], [
        [pid("p3"), name("p3"), "2025", "本科", "0.65", "0.15", "0.08"],
        [pid("p5"), name("p5"), "2025", "高中", "0.9", "0.1", "0.0125"],
    ])
    add("education/e03_wanyuan.csv", e03, lambda p: write_text(p, e03))

    # e04: Excel with a merged title, aid already received from other schemes (雨露计划 …), amounts as numbers
    e04 = Sheet(EDUCATION, [
        [pid("p3"), name("p3"), "2025-2026", "本科", 8000.0, 2000.0, 1000.0, 3000.0, "是"],
        [pid("p11"), name("p11"), "2025-2026", "专科", 9000.0, 2500.0, 500.0, 0, "否"],
    ], above=[["2025-2026学年 建档立卡学生资助台账"]], title="台账", formats={i: ACCOUNTING for i in range(4, 8)})
    add("education/e04_aid.xlsx", e04, lambda p: write_xlsx(p, [e04]))

    # e05: Excel "Unicode text" (UTF-16, tab)
    e05 = Sheet(EDUCATION, [edu("p5", "2025-2026", "高中", "8000.00", "1500.00", "700.00")])
    add("education/e05_utf16.txt", e05, lambda p: write_text(p, e05, encoding="utf-16", newline="\r\n", delimiter="\t"))

    # e06: one row per fee, told apart by the bureau's record number (记录编号)
    e06 = Sheet(["记录编号", "身份证号", "姓名", "学年", "学段", "学费", "住宿费", "教材费"], [
        ["JY-2025-0001", pid("p5"), name("p5"), "2025-2026", "高中", "6000.00", "0", "0"],
        ["JY-2025-0002", pid("p5"), name("p5"), "2025-2026", "高中", "0", "2000.00", "800.00"],
    ])
    add("education/e06_record_numbers.csv", e06, lambda p: write_text(p, e06))

    # re-sends: the September list; the same list saved again (CRLF, GB18030, columns reordered, new name);
    # October's list correcting one student's tuition
    sept = Sheet(EDUCATION, [
        edu("p3", "2025-2026", "本科", "7000.00", "1500.00", "500.00"),
        edu("p11", "2025-2026", "专科", "6000.00", "2000.00", "1000.00"),
    ])
    add("education/resend/2025-09.csv", sept, lambda p: write_text(p, sept))
    add("education/resend/2025-09 (1).csv", sept,
        lambda p: write_text(p, sept, encoding="gb18030", newline="\r\n", order=[1, 0, 3, 2, 8, 7, 6, 5, 4]))
    octo = Sheet(EDUCATION, [edu("p3", "2025-2026", "本科", "9000.00", "1500.00", "500.00")])
    add("education/resend/2025-10_corrected.csv", octo, lambda p: write_text(p, octo, encoding="utf-8-sig"))
    return written.files


# ---- disaster (应急管理 / 民政) ----------------------------------------------------------------------

DISASTER = ["户编号", "村代码", "受灾日期", "灾害类型", "核定损失", "其他赔偿"]


def dis(household: str, date: str, kind: str, loss: str, other: str = "0") -> list[object]:
    return [household, HOUSEHOLDS[household][0] if household in HOUSEHOLDS else V1, date, kind, loss, other]


def disaster_files(out: Path) -> list[CorpusFile]:
    written = Written(out, "disaster")
    add = written.add

    d01 = Sheet(DISASTER, [
        dis("H01", "2025-07-20", "洪涝", "15000.00", "2000.00"),
        dis("H02", "2025-07-20", "洪涝", "9999.99"),
        dis("H03", "2025-07-21", "风雹", "42000.00", "0"),
        dis("H09", "2025-07-21", "洪涝", "12000.00"),
    ])
    add("disaster/d01_plain.csv", d01, lambda p: write_text(p, d01))

    # d02: keyed by the householder's resident ID instead of a household number
    d02 = Sheet(["户主身份证号", "户主姓名", "受灾日期", "灾害类型", "核定损失"], [
        [householder("H01"), name("p1"), "2025-08-02", "房屋损坏", "18000.00"],
        [householder("H03"), name("p6"), "2025-08-03", "火灾", "11000.50"],
    ])
    add("disaster/d02_householder_id.csv", d02, lambda p: write_text(p, d02))

    # d03: GB18030, title + unit row ("单位：万元"), amounts in 万元
    d03 = Sheet(["户编号", "村代码", "受灾日期", "灾害类型", "核定损失（万元）", "其他赔偿（万元）"], [
        dis("H01", "2025-08-10", "干旱", "1.25", "0"),
        dis("H02", "2025-08-10", "干旱", "2.1", "0.3"),
    ], above=[["魏县应急管理局 2025年8月 农户受灾核定表"], ["单位：万元"]])
    add("disaster/d03_wanyuan_title.csv", d03, lambda p: write_text(p, d03, encoding="gb18030"))

    # d04: Excel, a merged title, serial dates as plain numbers and as date cells, a 合计 row
    d04 = Sheet(DISASTER, [
        ["H02", V1, serial("2025-09-01"), "洪涝", 16000.0, 1000.0],
        ["H03", V2, dt.datetime(2025, 9, 2), "洪涝", 12000.0, 0],
    ], above=[["2025年9月 洪涝灾害损失核定"]], below=[["合计", "", "", "", 28000.0, 1000.0]], title="核定",
        formats={4: ACCOUNTING, 5: ACCOUNTING})
    add("disaster/d04_serial_dates.xlsx", d04, lambda p: write_xlsx(p, [d04]))

    # d05: two losses of one household on one day, told apart by the report number (灾情编号)
    d05 = Sheet([*DISASTER, "灾情编号"], [[*dis("H03", "2025-10-10", "房屋损坏", "6000.00"), "ZQ-2025-017"],
                                      [*dis("H03", "2025-10-10", "房屋损坏", "5000.00"), "ZQ-2025-018"]])
    add("disaster/d05_report_numbers.csv", d05, lambda p: write_text(p, d05))

    # re-sends: the case, a household at 9,999.99 (under the 10,000 line) sent again in October
    sept = Sheet(DISASTER, [dis("H02", "2025-09-15", "洪涝", "9999.99"), dis("H01", "2025-09-15", "洪涝", "12000.00")])
    add("disaster/resend/2025-09.csv", sept, lambda p: write_text(p, sept))
    octo = Sheet(DISASTER, [*sept.rows, dis("H03", "2025-10-05", "风雹", "10500.00")])
    add("disaster/resend/2025-10.csv", octo, lambda p: write_text(p, octo, encoding="utf-8-sig", newline="\r\n"))
    nov = Sheet(DISASTER, [dis("H01", "2025-09-15", "洪涝", "14000.00")])
    add("disaster/resend/2025-11_corrected.csv", nov, lambda p: write_text(p, nov))
    return written.files


# ---- accident (公安 / 医院; 凤县 助农保) -------------------------------------------------------------

ACCIDENT = ["身份证号", "姓名", "事故日期", "类型", "伤残等级", "医疗费用"]


def acc(person: str, date: str, kind: str, grade: str = "", cost: str = "0") -> list[object]:
    return [pid(person), name(person), date, kind, grade, cost]


def accident_files(out: Path) -> list[CorpusFile]:
    written = Written(out, "accident")
    add = written.add

    a01 = Sheet(ACCIDENT, [
        acc("p6", "2025-05-01", "死亡"),
        acc("p10", "2025-05-02", "伤残", "3"),
        acc("p7", "2025-05-03", "住院", "", "12345.67"),
        acc("p9", "2025-05-04", "死亡"),
        acc("p4", "2025-05-05", "伤残", ""),
    ])
    add("accident/a01_plain.csv", a01, lambda p: write_text(p, a01))

    # a02: GB18030, a title row, grades in Chinese numerals (三级, 伤残十级, 第五级)
    a02 = Sheet(ACCIDENT, [
        acc("p1", "2025-06-01", "伤残", "三级"),
        acc("p4", "2025-06-02", "残疾", "伤残十级"),
        acc("p10", "2025-06-03", "伤残", "第五级"),
    ], above=[["凤县公安局 2025年上半年 意外事故统计"]])
    add("accident/a02_grades_gb18030.csv", a02, lambda p: write_text(p, a02, encoding="gb18030"))

    # a03: Excel, serial dates, an 18-digit ID stored as a number (digits lost) and a legacy 15-digit one
    # (GB 11643-1989: no century, no check digit) stored as a number, which keeps every digit
    a03 = Sheet(ACCIDENT, [
        [pid("p2"), name("p2"), serial("2025-07-01"), "住院", None, 8000.5],
        [as_excel_number(pid("p11")), name("p11"), serial("2025-07-02"), "住院", None, 3000.0],
        [legacy_number(pid("p10")), name("p10"), serial("2025-07-03"), "住院", None, 2000.0],
    ], above=[["意外伤害住院名单"]], title="住院", formats={5: ACCOUNTING})
    add("accident/a03_serial_dates.xlsx", a03, lambda p: write_xlsx(p, [a03]))

    # a04: one household, three victims (the case): two deaths and a grade-1 disability
    a04 = Sheet(ACCIDENT, [
        acc("p1", "2025-09-01", "身故"),
        acc("p2", "2025-09-01", "死亡"),
        acc("p3", "2025-09-03", "伤残", "一级"),
    ])
    add("accident/a04_three_victims.csv", a04, lambda p: write_text(p, a04))

    # re-send: August's list, then the same list as Excel "Unicode text"
    aug = Sheet(ACCIDENT, [acc("p4", "2025-08-01", "住院", "", "6000.00"), acc("p1", "2025-08-02", "死亡")])
    add("accident/resend/2025-08.csv", aug, lambda p: write_text(p, aug))
    add("accident/resend/2025-08_unicode.txt", aug,
        lambda p: write_text(p, aug, encoding="utf-16", newline="\r\n", delimiter="\t"))
    return written.files


# ---- income (人社 / 乡村振兴) ------------------------------------------------------------------------

INCOME = ["户编号", "统计日期", "家庭人均纯收入"]


def income_files(out: Path) -> list[CorpusFile]:
    written = Written(out, "income")
    i01 = Sheet(INCOME, [["H04", "2025-06-30", "5200.00"], ["H03", "2025-06-30", "5600.00"]])
    written.add("income/i01_plain.csv", i01, lambda p: write_text(p, i01))
    i02 = Sheet(INCOME, list(i01.rows), above=[["2025年二季度 监测户收入核查"]])
    written.add("income/i02_resend_title.csv", i02, lambda p: write_text(p, i02, encoding="gb18030", newline="\r\n"))
    return written.files


# ---- roster ----------------------------------------------------------------------------------------

def roster_files(out: Path) -> None:
    persons = Sheet(["身份证号", "姓名", "户编号", "与户主关系"],
                    [[pid(k), v[2], v[3], v[4]] for k, v in PERSONS.items()])
    households = Sheet(["户编号", "村代码", "自然村", "户类型", "家庭人均纯收入", "家庭人口数"],
                       [[h, *v] for h, v in HOUSEHOLDS.items()])
    write_text(out / "persons.csv", persons, encoding="utf-8-sig")
    write_text(out / "households.csv", households, encoding="utf-8-sig")


def build(out: Path = HERE) -> list[CorpusFile]:
    """Write the roster and every report file under ``out``; the files' descriptions."""
    roster_files(out)
    return [*medical_files(out), *education_files(out), *disaster_files(out), *accident_files(out),
            *income_files(out)]


if __name__ == "__main__":
    written = build()
    print(f"{len(written)} report files + persons.csv, households.csv in {HERE}")
