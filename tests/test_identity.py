"""Record identity in ``relief calc``: a re-sent record counts once, a correction replaces what it corrects,
the same file given twice is named; byte-level variants of a file (CRLF, GB18030, column order, file name)
are the same records (claims.reports.identity).

Seed (魏县 work plan, ../shared/seeds/001_d248a509f1250166.txt): "因灾自付超过1万元为预警线" — the disaster line pays
the part above 10,000.00 (100 %, ≤ 30,000 a year in the 魏县 catalog product).
"""

from __future__ import annotations

import io
import json

import factories as f
import pandas as pd
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.engine.compute import run_calculation
from claims.reports import read_report
from claims.reports.identity import content_digests, reconcile, record_keys
from flask_app.cli import relief
from products import load_product

FPB = load_product("fangpinbao-weixian-2025")
DISASTER = ["户编号", "受灾日期", "灾害类型", "核定损失"]


def write_roster(tmp_path):
    """Three households under the income line (5,000 < 6,000), one person each."""
    (tmp_path / "persons.csv").write_text(
        "身份证号,姓名,户编号,与户主关系\n" + "".join(f"{f.pid(n)},测试{n},H{n},户主\n" for n in (1, 2, 3)),
        encoding="utf-8-sig")
    (tmp_path / "households.csv").write_text(
        "户编号,村代码,自然村,户类别,家庭人均纯收入,家庭人口数\n"
        + "".join(f"H{n},130434100200,张庄,边缘易致贫户,5000.00,1\n" for n in (1, 2, 3)), encoding="utf-8-sig")


def disaster_csv(rows: list[tuple], header: list[str] = DISASTER, newline: str = "\n") -> str:
    return newline.join([",".join(header), *(",".join(str(c) for c in r) for r in rows)]) + newline


def calc(tmp_path, *reports: str, paid: str | None = None):
    out = tmp_path / "out"
    args = ["calc", "--product", "fangpinbao-weixian-2025", "--persons", str(tmp_path / "persons.csv"),
            "--households", str(tmp_path / "households.csv"), "--out", str(out), "--quiet"]
    for report in reports:
        args += ["--report", report]
    if paid:
        args += ["--paid", paid]
    result = CliRunner().invoke(relief, args)
    assert result.exit_code == 0, result.output
    claims = pd.read_csv(out / "claims.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    exceptions = pd.read_csv(out / "exceptions.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return claims, exceptions, summary


def disaster_claims(claims: pd.DataFrame) -> dict[str, tuple[str, str, str]]:
    d = claims[claims["line_id"] == "disaster"]
    return {r.unit_id: (r.base, r.entitlement, r.due) for r in d.itertuples()}


def test_unchanged_re_send_in_october_pays_nothing_more(tmp_path):
    write_roster(tmp_path)
    folder = tmp_path / "disaster"
    folder.mkdir()
    (folder / "2025-09.csv").write_text(disaster_csv([("H1", "2025-08-20", "洪涝", "9999.99")]), encoding="utf-8")
    (folder / "2025-10.csv").write_text(disaster_csv([("H1", "2025-08-20", "洪涝", "9999.99")]), encoding="utf-8")
    claims, ex, summary = calc(tmp_path, f"disaster={folder}")
    # counted once: base 9,999.99 ≤ the 10,000.00 line → nothing to pay (counted twice: 19,999.98 → 9,999.98)
    assert disaster_claims(claims) == {"H1": ("9999.99", "0.00", "0.00")}
    assert ex[["file", "line", "reason", "severity"]].values.tolist() == [
        ["disaster/2025-10.csv", "2", "resent", "info"]]
    assert ex["detail"].iloc[0] == "与 disaster/2025-09.csv 第 2 行相同 / same as disaster/2025-09.csv line 2"
    assert summary["exceptions_by_severity"] == {"error": 0, "warning": 0, "info": 1}


def test_the_same_file_given_twice_is_counted_once_and_named(tmp_path):
    write_roster(tmp_path)
    path = tmp_path / "sept.csv"
    path.write_text(disaster_csv([("H1", "2025-08-20", "洪涝", "15000.00"), ("H2", "2025-08-21", "风雹", "10500.00")]),
                    encoding="utf-8")
    claims, ex, _ = calc(tmp_path, f"disaster={path}", f"disaster={path}")
    # H1: 15,000.00 − 10,000.00 = 5,000.00 × 100 %; H2: 10,500.00 − 10,000.00 = 500.00
    # (twice: 30,000.00 → 20,000.00 and 21,000.00 → 11,000.00)
    assert disaster_claims(claims) == {"H1": ("15000.00", "5000.00", "5000.00"), "H2": ("10500.00", "500.00", "500.00")}
    assert ex[["line", "reason", "severity"]].values.tolist() == [["0", "same_file", "info"]]
    assert "counted once" in ex["detail"].iloc[0] and str(path) in ex["detail"].iloc[0]


ROWS = [("H1", "2025-08-20", "洪涝", "15000.00"), ("H2", "2025-08-21", "风雹", "10500.00"),
        ("H3", "2025-09-02", "洪涝", "8000.00")]


def variants() -> dict[str, tuple[str, bytes]]:
    """The same three records as bytes of several shapes: (file name, content)."""
    plain = disaster_csv(ROWS)
    reordered = disaster_csv([(r[3], r[0], r[2], r[1]) for r in ROWS], ["核定损失", "户编号", "灾害类型", "受灾日期"])
    return {
        "crlf": ("crlf.csv", disaster_csv(ROWS, newline="\r\n").encode("utf-8")),
        "gb18030": ("gbk.csv", plain.encode("gb18030")),
        "bom": ("bom.csv", plain.encode("utf-8-sig")),
        "reordered columns": ("reordered.csv", reordered.encode("utf-8")),
        "renamed": ("renamed-2025-10.csv", plain.encode("utf-8")),
        "extra newline": ("newline.csv", (plain + "\n").encode("utf-8")),
    }


def test_byte_level_variants_of_a_re_send_give_identical_claims(tmp_path):
    write_roster(tmp_path)
    first = tmp_path / "sept.csv"
    first.write_text(disaster_csv(ROWS), encoding="utf-8")
    alone, _, _ = calc(tmp_path, f"disaster={first}")
    # H1 5,000.00, H2 500.00, H3 8,000.00 ≤ 10,000.00 → 0
    assert disaster_claims(alone) == {"H1": ("15000.00", "5000.00", "5000.00"), "H2": ("10500.00", "500.00", "500.00"),
                                      "H3": ("8000.00", "0.00", "0.00")}
    for what, (name, data) in variants().items():
        (tmp_path / name).write_bytes(data)
        claims, ex, _ = calc(tmp_path, f"disaster={first}", f"disaster={tmp_path / name}")
        assert disaster_claims(claims) == disaster_claims(alone), what
        # every row of the variant repeats sept.csv: a re-send, each row naming its first place
        assert ex[["file", "line", "reason", "severity"]].values.tolist() == [
            [name, str(line), "resent", "info"] for line in (2, 3, 4)], what
        assert ex["detail"].tolist() == [f"与 sept.csv 第 {n} 行相同 / same as sept.csv line {n}" for n in (2, 3, 4)]


def test_a_correction_supersedes_the_earlier_row_with_a_warning(tmp_path):
    write_roster(tmp_path)
    folder = tmp_path / "disaster"
    folder.mkdir()
    (folder / "2025-09.csv").write_text(disaster_csv([("H1", "2025-08-20", "洪涝", "12000.00"),
                                                      ("H2", "2025-08-21", "风雹", "10500.00")]), encoding="utf-8")
    # October: H1's loss re-assessed at 13,500.50, H2 re-sent unchanged
    (folder / "2025-10.csv").write_text(disaster_csv([("H1", "2025-08-20", "洪涝", "13500.50"),
                                                      ("H2", "2025-08-21", "风雹", "10500.00")]), encoding="utf-8")
    claims, ex, _ = calc(tmp_path, f"disaster={folder}")
    # H1: the later 13,500.50 counts alone → 3,500.50 (both: 25,500.50 → 15,500.50); H2 once → 500.00
    assert disaster_claims(claims) == {"H1": ("13500.50", "3500.50", "3500.50"), "H2": ("10500.00", "500.00", "500.00")}
    got = ex.sort_values(["reason"])[["file", "line", "reason", "severity"]].values.tolist()
    assert got == [["disaster/2025-10.csv", "2", "corrected", "warning"], ["disaster/2025-10.csv", "3", "resent", "info"],
                   ["disaster/2025-09.csv", "2", "superseded", "info"]]
    detail = ex.set_index("reason").loc["corrected", "detail"]
    assert "disaster/2025-09.csv 第 2 行" in detail and "核定损失(assessed_loss) 12000.00 → 13500.50" in detail
    assert "corrects disaster/2025-09.csv line 2" in detail


def test_education_re_sent_in_gb18030_is_counted_once(tmp_path):
    write_roster(tmp_path)
    header = "身份证号,姓名,学年,学段,学费,住宿费,教材费\n"
    row = f"{f.pid(1)},测试1,2025-2026,本科,6000,2500,500.50\n"
    (tmp_path / "edu-09.csv").write_text(header + row, encoding="utf-8")
    (tmp_path / "edu-10.csv").write_bytes((header + row).replace("\n", "\r\n").encode("gb18030"))
    claims, ex, _ = calc(tmp_path, f"education={tmp_path / 'edu-09.csv'}", f"education={tmp_path / 'edu-10.csv'}")
    school = claims[claims["line_id"] == "schooling"].set_index("unit_id")
    # 6,000 + 2,500 + 500.50 = 9,000.50 − 8,000.00 = 1,000.50 × 80 % = 800.40 (twice: 18,001.00 → 8,000.80)
    assert (school.loc[f.pid(1), "base"], school.loc[f.pid(1), "due"]) == ("9000.50", "800.40")
    assert ex[["file", "line", "reason"]].values.tolist() == [["edu-10.csv", "2", "resent"]]


def test_keys_and_digests_ignore_provenance_and_tell_a_refund_apart():
    rows = read_report(
        ("结算ID,身份证号,结算日期,医疗费总额,统筹基金支出,大病保险,医疗救助,其他支出,全自费金额,超限价自费\n"
         f"S1,{f.pid(1)},2025-03-01,2000.00,1000.00,0,0,0,0,0\n"
         f"S1,{f.pid(1)},2025-03-05,-2000.00,-1000.00,0,0,0,0,0\n").encode(), "medical", file_name="a.csv").rows
    keys = record_keys("medical", rows)
    assert keys.iloc[0] != keys.iloc[1]  # the reversal is its own record
    moved = rows.assign(source_file="b.csv", source_line=[7, 8])
    assert content_digests("medical", moved).tolist() == content_digests("medical", rows).tolist()
    assert reconcile("medical", [rows, moved]).rows["source_file"].tolist() == ["a.csv", "a.csv"]


# ---- property: any split of the same records into files, in any order, with re-sends -----------------

PERSONS, HOUSEHOLDS = f.roster([{"household_no": f"H{n}"} for n in range(1, 5)],
                               [{"n": n, "household_no": f"H{n}"} for n in range(1, 5)])
RECORDS = [  # (department, csv row); losses and self-paid amounts around the 10,000 / 5,000 lines
    ("disaster", "H1,2025-03-01,洪涝,6000.00"), ("disaster", "H1,2025-05-01,洪涝,5000.00"),
    ("disaster", "H2,2025-04-01,风雹,10000.01"), ("disaster", "H3,2025-06-01,洪涝,9999.99"),
    ("medical", f"S1,{f.pid(1)},2025-02-01,4000.00,1000.00,0,0,0,0,0"),
    ("medical", f"S2,{f.pid(1)},2025-06-01,5000.00,1000.00,0,0,0,0,0"),
    ("medical", f"S3,{f.pid(2)},2025-03-01,9000.00,2000.00,0,0,0,0,0"),
    ("medical", f"S4,{f.pid(4)},2025-07-01,5000.01,0,0,0,0,0,0"),
]
HEADERS = {"disaster": ",".join(DISASTER),
           "medical": "结算ID,身份证号,结算日期,医疗费总额,统筹基金支出,大病保险,医疗救助,其他支出,全自费金额,超限价自费"}


def run(files: list[tuple[str, str, list[int]]]) -> pd.DataFrame:
    """files: (department, name, record numbers) read and run in the given order."""
    reports: dict[str, list[pd.DataFrame]] = {}
    for dept, name, numbers in files:
        text = HEADERS[dept] + "\n" + "".join(RECORDS[i][1] + "\n" for i in numbers)
        reports.setdefault(dept, []).append(read_report(io.BytesIO(text.encode()), dept, file_name=name).rows)
    claims = run_calculation(FPB, PERSONS, HOUSEHOLDS, reports).claims
    return claims[["line_id", "unit_id", "base", "entitlement", "due"]].reset_index(drop=True)


# every record once, in one file per department:
#   disaster H1 6,000 + 5,000 = 11,000 → 1,000.00; H2 10,000.01 → 0.01; H3 9,999.99 → 0
#   illness person 1: 3,000 + 4,000 = 7,000 → 2,000 × 50 % = 1,000.00; person 2: 7,000 → 1,000.00;
#   person 4: 5,000.01 → 0.01 × 50 % = 0.005 → 0.01 (half up)
EXPECTED = {("disaster", "H1"): 100_000, ("disaster", "H2"): 1, ("disaster", "H3"): 0,
            ("illness", f.pid(1)): 100_000, ("illness", f.pid(2)): 100_000, ("illness", f.pid(4)): 1}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 2), min_size=len(RECORDS), max_size=len(RECORDS)),  # file of each record
       st.lists(st.integers(0, len(RECORDS) - 1), max_size=4),  # records re-sent in a last file
       st.randoms(use_true_random=False))
def test_any_split_and_order_of_files_gives_the_same_claims(file_of, resent, rnd):
    files = []
    for dept in ("disaster", "medical"):
        for k in range(3):
            numbers = [i for i, (d, _) in enumerate(RECORDS) if d == dept and file_of[i] == k]
            if numbers:
                files.append((dept, f"{dept}-{k}.csv", numbers))
        again = [i for i in resent if RECORDS[i][0] == dept]
        if again:
            files.append((dept, f"{dept}-resent.csv", again))
    rnd.shuffle(files)
    claims = run(files)
    got = {(r.line_id, r.unit_id): r.entitlement for r in claims.itertuples()}
    assert got == EXPECTED
