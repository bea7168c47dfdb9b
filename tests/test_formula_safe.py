"""Formula injection (issue 13, item 3): every exported text cell stays text, amounts stay numbers.

A cell whose text begins with ``= + - @``, tab or CR is read as a formula by spreadsheet programs (OWASP
"CSV Injection"); each writer puts a ``'`` in front of such a text cell (:mod:`tabular.safe_cells`) and
leaves amount cells as numbers.  Driven through the real writers: ``relief calc`` (claims.csv,
exceptions.csv, claim_sources.csv), ``relief payout export`` (bank.csv, bank.xlsx), the import page's
exceptions download and the budget's CSV files.  All people are synthetic.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import factories as f
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select
from test_notices import VILLAGE, seed
from test_pages_claims import MARCH, app, login, medical_bytes, upload  # noqa: F401 - app is a fixture

from actuarial.report import write_numbers
from claims.engine.output import MONEY
from claims.lifecycle.database import transaction
from claims.lifecycle.models import ImportBatch
from claims.lifecycle.notices import close_due, post_notice
from claims.lifecycle.payouts import BANK_COLUMNS, BANK_NUMBERS, build_batch
from claims.lifecycle.store import Household, Person
from flask_app import db as web_db
from flask_app.cli import relief
from tabular.safe_cells import formula_safe, formula_safe_frame, formula_safe_text

HYPERLINK = '=HYPERLINK("http://evil.example","x")'
EVIL = [HYPERLINK, "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HARMLESS = ["张三", "", "x=1", "'=already quoted", "1-2", " =leading space"]


def read_csv(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def assert_no_formula(rows: list[list[str]], numeric: set[str]) -> None:
    """No text cell of the file begins with a formula character; the numeric columns parse as numbers."""
    header, *body = rows
    for row in body:
        for name, cell in zip(header, row, strict=True):
            if name in numeric:
                Decimal(cell)  # a number: -12.00 stays -12.00
            else:
                assert cell[:1] not in TRIGGERS, (name, cell)


# ------------------------------------------------------------------------------------------ the rule

def test_one_cell():
    for value in EVIL:
        assert formula_safe_text(value) == "'" + value
    for value in [*HARMLESS, 12, -12.5, Decimal("-1.00"), None]:
        assert formula_safe_text(value) == value


def test_a_column_as_series_arrow_or_list():
    values = [*EVIL, *HARMLESS]
    expected = ["'" + v for v in EVIL] + HARMLESS
    assert formula_safe(pd.Series(values, dtype=object)).tolist() == expected
    assert formula_safe(pd.Series(values, dtype="string")).tolist() == expected
    assert formula_safe(pd.Series([*values, None, np.nan], dtype=object)).tolist()[:-2] == expected
    assert formula_safe(pa.array([*values, None])).to_pylist() == [*expected, None]
    assert formula_safe(pa.chunked_array([values[:3], values[3:]], type=pa.large_string())).to_pylist() == expected
    assert formula_safe([*values, -5]) == [*expected, -5]
    numbers = pd.Series([-12.0, 3.5])
    assert formula_safe(numbers) is numbers
    quiet = pd.Series(HARMLESS, dtype=object)
    assert formula_safe(quiet) is quiet  # nothing to change: the same object back, no copy


def test_a_frame_leaves_the_amount_columns_alone():
    frame = pd.DataFrame({"name": EVIL, "amount": ["-12.00"] * 6, "count": range(-3, 3)})
    out = formula_safe_frame(frame, numeric={"amount"})
    assert out["name"].tolist() == ["'" + v for v in EVIL]
    assert out["amount"].tolist() == ["-12.00"] * 6 and out["count"].tolist() == list(range(-3, 3))
    assert frame["name"].tolist() == EVIL  # the input is not changed


# ------------------------------------------------------------------------------------------ relief calc

MEDICAL = ["结算ID", "身份证号", "姓名", "结算日期", "医疗费总额", "统筹基金支出", "大病保险", "医疗救助", "其他支出",
           "全自费金额", "超限价自费", "个人负担总金额"]


def write_table(path, header, rows):
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_relief_calc_files(tmp_path):
    """Household numbers and natural villages that look like formulas, a report file named like one, a
    refund row (a negative amount) and an ID that is a formula (an exception row)."""
    households = [v if v[:1] not in "\t\r" else v + str(i) for i, v in enumerate(EVIL)]  # unique after trimming
    write_table(tmp_path / "persons.csv", ["身份证号", "姓名", "户编号", "与户主关系"],
                [[f.pid(i + 1), name, hh, "户主"] for i, (name, hh) in enumerate(zip(EVIL, households, strict=True))])
    write_table(tmp_path / "households.csv", ["户编号", "村代码", "自然村", "户类别", "家庭人均纯收入", "家庭人口数"],
                [[hh, "130434100200", name, "边缘易致贫户", "5000.00", "1"]
                 for name, hh in zip(EVIL, households, strict=True)])
    report = write_table(tmp_path / "@SUM(A1).csv", MEDICAL, [
        *[[f"S{i}", f.pid(i + 1), "x", "2025-01-15", "20000.00", "8000.00", "2000.00", "1000.00", "0", "500.00", "0",
           "9000.00"] for i in range(len(EVIL))],
        ["S9", HYPERLINK, "x", "2025-01-15", "20000.00", "8000.00", "0", "0", "0", "0", "0", "12000.00"],
        ["S10", f.pid(1), "x", "2025-01-20", "-500.00", "0", "0", "0", "0", "0", "0", "-500.00"]])
    out = tmp_path / "out"
    result = CliRunner().invoke(relief, [
        "calc", "--product", "fangpinbao-weixian-2025", "--persons", str(tmp_path / "persons.csv"),
        "--households", str(tmp_path / "households.csv"), "--report", f"medical={report}", "--out", str(out)])
    assert result.exit_code == 0, result.output

    claims = read_csv((out / "claims.csv").read_bytes())
    assert_no_formula(claims, MONEY)
    by_unit = {r[3]: dict(zip(claims[0], r, strict=True)) for r in claims[1:]}
    first = by_unit[f.pid(1)]
    assert first["household_no"] == first["natural_village"] == "'" + HYPERLINK
    assert [by_unit[f.pid(i)]["household_no"] for i in (2, 3, 4)] == ["'+1", "'-2+3", "'@SUM(A1)"]
    assert first["base"] == "8500.00"  # 9,000.00 less the 500.00 refund: the amount columns are numbers

    sources = read_csv((out / "claim_sources.csv").read_bytes())
    assert_no_formula(sources, {"amount"})
    assert ["'@SUM(A1).csv", "-500.00"] in [[r[2], r[4]] for r in sources[1:]]  # negative amount: no quote

    exceptions = read_csv((out / "exceptions.csv").read_bytes())
    assert_no_formula(exceptions, {"line"})
    row = dict(zip(exceptions[0], exceptions[1], strict=True))
    assert (row["file"], row["reason"]) == ("'@SUM(A1).csv", "id_format") and HYPERLINK in row["detail"]


# ------------------------------------------------------------------------------------------ the bank file

@pytest.fixture
def evil_batch(db, db_url):
    """Six payable claims whose household heads carry the formula names; two accounts start with - and @."""
    _, factory = db
    sd = seed(factory, ("1200.50", "800.01", "333.33", "0.01", "99.99", "12.00"))
    heads = ["张三", "欧阳小锋", "司马光", "孙七", "吴九", "冯一"]
    with transaction(factory) as s:
        for head, evil in zip(heads, EVIL, strict=True):
            s.scalar(select(Person).where(Person.id_no == sd.ids[head])).name = evil
        for hh, account in (("H0000", "-6217000000000000000"), ("H0001", "@6217000000000000001")):
            s.scalar(select(Household).where(Household.household_no == hh)).bank_account = account
        post_notice(s, sd.policy_id, VILLAGE, sd.county, posted_on=dt.date(2025, 3, 1))
    with transaction(factory) as s:
        close_due(s, today=dt.date(2025, 3, 12))
    with transaction(factory) as s:
        batch_id = build_batch(s, sd.policy_id, "2025-03", sd.insurer).id
    return db_url, batch_id


def export(db_url: str, batch_id: int, path) -> None:
    result = CliRunner().invoke(relief, ["payout", "export", "--batch", str(batch_id), "--out", str(path),
                                         "--database", db_url])
    assert result.exit_code == 0, result.output


def test_bank_csv(evil_batch, tmp_path):
    db_url, batch_id = evil_batch
    export(db_url, batch_id, tmp_path / "bank.csv")
    rows = read_csv((tmp_path / "bank.csv").read_bytes())
    assert rows[0] == BANK_COLUMNS
    assert_no_formula(rows, BANK_NUMBERS)
    assert sorted(r[1] for r in rows[1:]) == sorted("'" + v for v in EVIL)
    assert {"'-6217000000000000000", "'@6217000000000000001"} <= {r[3] for r in rows[1:]}
    assert sorted(r[4] for r in rows[1:]) == sorted(["1200.50", "800.01", "333.33", "0.01", "99.99", "12.00"])


def test_bank_xlsx(evil_batch, tmp_path):
    db_url, batch_id = evil_batch
    export(db_url, batch_id, tmp_path / "bank.xlsx")
    ws = load_workbook(tmp_path / "bank.xlsx").active
    names, accounts = [], []
    for row in ws.iter_rows(min_row=2):
        for cell in row[1:4]:  # name, masked ID, account: text cells, never formulas
            assert cell.data_type == "s" and not cell.value.startswith(TRIGGERS), cell.value
        for cell in (row[0], row[4], row[5], row[6]):  # number, amount, batch, claim: numeric cells
            assert cell.data_type == "n" and isinstance(cell.value, int | float), cell.value
        names.append(row[1].value)
        accounts.append(row[3].value)
    # an XML reader turns a CR in cell text into LF (XML line-end normalisation); the ' stays in front
    assert sorted(names) == sorted("'" + v.replace("\r", "\n") for v in EVIL)
    assert {"'-6217000000000000000", "'@6217000000000000001"} <= set(accounts)
    assert sum(Decimal(str(r[4].value)) for r in ws.iter_rows(min_row=2)) == Decimal("2445.84")


# ------------------------------------------------------------------------------------------ the web download

def test_import_exceptions_download(app):  # noqa: F811 - the fixture imported above
    client = login(app, "ins")
    name = HYPERLINK.replace('"', "'").replace("/", "_") + ".csv"  # what a browser can send as a file name
    page = upload(client, medical_bytes([*MARCH, ("S5", "=1+2", "2025-03-11", 8000)]), name=name)
    assert page.status_code == 200
    with app.app_context():
        batch = web_db.session().scalar(select(ImportBatch))
    assert batch.file_name.startswith("=HYPERLINK(")
    response = client.get(f"/imports/{batch.id}/exceptions.csv")
    assert response.status_code == 200
    rows = read_csv(response.data)
    assert_no_formula(rows, {"行号 line"})
    assert len(rows) > 1 and {r[0] for r in rows[1:]} == {"'" + batch.file_name}


# ------------------------------------------------------------------------------------------ the budget CSVs

def test_budget_csv_files(tmp_path):
    """The budget's CSV files (written by actuarial.report.write_numbers) with labels that look like formulas."""
    premiums = pd.DataFrame({"label": [HYPERLINK], "total": [-12.5], "risk_premium": [-10.0]},
                            index=pd.Index(["var"], name="principle"))
    severity = SimpleNamespace(table=pd.DataFrame({"family": ["lognormal"], "aic": [-3.0], "params": ["-mu=1"]}),
                               best=SimpleNamespace(family="lognormal"))
    result = SimpleNamespace(
        premiums=premiums, band=pd.DataFrame({"p": [0.5], "total": [-1.0]}),
        experience=pd.DataFrame({"year": [2025], "peril": ["@illness"], "paid": [-500.0]}),
        perils=[SimpleNamespace(line_id="+line", name="-2+3", severity=severity)], whatif=None,
        to_dict=lambda: {"ok": True},
        # what budget.json's comparison with the current premium reads (actuarial.report_premium)
        heads=1, assumptions=SimpleNamespace(principle="var"), prob_exceed=0.5, budget_total=-12.5,
        budget_per_head=-12.5, predictive=SimpleNamespace(mean=-1.0, grid=[0.0, 10.0], pmf=[0.5, 0.5], prob_exceed=lambda amount: 0.5))
    paths = write_numbers(result, tmp_path)
    for name, label in (("premiums.csv", "'" + HYPERLINK), ("experience.csv", "'@illness")):
        rows = read_csv(paths[name].read_bytes())
        assert label in rows[1]
        assert "-12.5" in rows[1] or "-500.0" in rows[1]  # numbers: no quote, even when negative
    severity_rows = read_csv(paths["severity.csv"].read_bytes())
    row = dict(zip(severity_rows[0], severity_rows[1], strict=True))
    assert (row["line_id"], row["line_name"], row["params"], row["aic"]) == ("'+line", "'-2+3", "'-mu=1", "-3.0")
