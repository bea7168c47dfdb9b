"""The insured roster: Chinese headers, CSV and Excel, every bad line listed, whole roster refused."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from products.roster import (
    RosterError,
    check_roster,
    load_households,
    load_persons,
    normalise_households,
    normalise_persons,
)
from tabular.files import TableError
from tabular.resident_id import make_id

A = make_id("130434", "19800101", 11)
B = make_id("130434", "19850615", 22)
C = make_id("130434", "19900220", 33)


def csv_file(header: list[str], rows: list[list], encoding: str = "utf-8") -> io.BytesIO:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    return io.BytesIO(text.getvalue().encode(encoding))


PERSON_HEADER = ["身份证号", "姓名", "户编号", "与户主关系"]
HOUSEHOLD_HEADER = ["户编号", "行政村代码", "自然村", "户类别", "家庭人均纯收入", "家庭人口数"]


def test_persons_with_chinese_headers():
    persons = load_persons(csv_file(PERSON_HEADER, [[A, "张三", "H1", "户主"], [B, "李四", "H1", ""]]),
                           "persons.csv")
    assert persons.columns.tolist() == ["id_no", "name", "household_no", "relation", "source_file", "source_line"]
    assert persons["id_no"].tolist() == [A, B]
    assert persons["household_no"].tolist() == ["H1", "H1"]
    assert persons["relation"].iloc[0] == "户主" and pd.isna(persons["relation"].iloc[1])
    assert persons["source_line"].tolist() == [2, 3]
    assert persons["source_file"].tolist() == ["persons.csv"] * 2


def test_fifteen_digit_id_is_stored_as_eighteen():
    persons = load_persons(csv_file(["公民身份号码", "姓名", "户号"], [["110105491231002", "王五", "H9"]]), "p.csv")
    assert persons["id_no"].tolist() == ["11010519491231002X"]


def test_households_amounts_in_fen_and_types():
    households = load_households(csv_file(HOUSEHOLD_HEADER, [
        ["H1", "130434100200", "张庄", "边缘易致贫户", "4,800.50", "3"],
        ["H2", "130434100201", "", "脱贫不稳定户", "12000", "1"],
    ]), "households.csv")
    assert households["per_capita_income"].tolist() == [480_050, 1_200_000]  # 4800.50 yuan, 12000 yuan
    assert households["per_capita_income"].dtype == "int64" and households["members"].dtype == "int64"
    assert households["members"].tolist() == [3, 1]
    assert households["village_code"].tolist() == ["130434100200", "130434100201"]
    assert pd.isna(households["natural_village"].iloc[1])


def test_households_from_excel_with_numeric_cells(tmp_path):
    path = tmp_path / "户表.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(HOUSEHOLD_HEADER)
    wb.active.append(["H1", 130434100200, "张庄", "边缘易致贫户", 4800.5, 3])  # numbers as Excel keeps them
    wb.save(path)
    households = load_households(path)
    assert households["village_code"].tolist() == ["130434100200"]  # 12 digits: exact as a number
    assert households["per_capita_income"].tolist() == [480_050]
    assert households["members"].tolist() == [3]
    assert households["source_file"].tolist() == ["户表.xlsx"]


def test_every_bad_person_line_is_listed():
    rows = [
        [A, "张三", "H1", "户主"],  # line 2 good
        [A[:-1] + ("0" if A[-1] != "0" else "1"), "甲", "H1", ""],  # line 3 check digit
        [B, "李四", "", ""],  # line 4 blank household
        [A, "张三", "H1", ""],  # line 5 duplicate of line 2
        ["", "赵六", "H1", ""],  # line 6 blank ID
        [C, "", "H1", ""],  # line 7 blank name
    ]
    with pytest.raises(RosterError) as caught:
        load_persons(csv_file(PERSON_HEADER, rows), "persons.csv")
    message = str(caught.value)
    assert "persons.csv line 3: 身份证号校验位错误 / resident ID check digit is wrong" in message
    assert "persons.csv line 4: 必填项为空 / required value is empty" in message
    assert "persons.csv line 5: 身份证号重复 / duplicate resident ID" in message and "第 2 行" in message
    assert "persons.csv line 6: 身份证号为空 / resident ID is empty" in message
    assert "persons.csv line 7: 必填项为空 / required value is empty（列 name" in message
    assert caught.value.problems["line"].tolist() == [3, 4, 5, 6, 7]
    assert isinstance(caught.value, ValueError)


def test_more_than_fifty_bad_lines_are_summarised():
    rows = [["", f"人{i}", "H1", ""] for i in range(60)]
    with pytest.raises(RosterError) as caught:
        normalise_persons(pd.DataFrame(rows, columns=["id_no", "name", "household_no", "relation"]))
    message = str(caught.value)
    assert "persons line 51:" in message  # the 50th bad row is on line 51 (first data row = line 2)
    assert "persons line 52:" not in message
    assert "... and 10 more" in message  # 60 − 50
    assert len(caught.value.lines) == 60


def test_every_bad_household_line_is_listed():
    frame = pd.DataFrame({
        "household_no": ["H1", "H2", "H3", "H1", "H5", "H6"],
        "village_code": ["130434100200", "13043410020", "130434100200", "130434100200", "130434100200",
                         "130434100200"],
        "category": ["边缘易致贫户"] * 6,
        "per_capita_income": [5000, 5000, "", 5000, "-1", "12.345"],
        "members": [3, 3, 3, 3, 0, "2.5"],
    })
    with pytest.raises(RosterError) as caught:
        normalise_households(frame)
    problems = caught.value.problems
    assert list(zip(problems["line"], problems["reason"])) == [
        (3, "bad_village_code"),  # 11 digits
        (4, "amount_missing"),  # blank income is an error
        (5, "duplicate_household"),  # H1 again
        (6, "amount_negative"),
        (6, "bad_count"),  # 0 members
        (7, "amount_precision"),  # 12.345 yuan
        (7, "bad_count"),  # 2.5 members
    ]


def test_normalise_takes_yuan_and_numbers_lines():
    persons = normalise_persons(pd.DataFrame({"id_no": [A], "name": ["张三"], "household_no": ["H1"]}))
    households = normalise_households(pd.DataFrame({
        "household_no": ["H1"], "village_code": ["130434100200"], "natural_village": ["张庄"],
        "category": ["边缘易致贫户"], "per_capita_income": [5000], "members": [1]}))
    assert households["per_capita_income"].tolist() == [500_000]  # 5000 yuan
    assert persons["source_line"].tolist() == [2] and persons["source_file"].tolist() == ["persons"]
    check_roster(persons, households)  # consistent: no error


def test_person_in_unknown_household_is_refused():
    persons = normalise_persons(pd.DataFrame({"id_no": [A, B], "name": ["张三", "李四"],
                                              "household_no": ["H1", "H9"]}), "persons.csv")
    households = normalise_households(pd.DataFrame({
        "household_no": ["H1"], "village_code": ["130434100200"], "category": ["边缘易致贫户"],
        "per_capita_income": [5000], "members": [1]}), "households.csv")
    with pytest.raises(RosterError) as caught:
        check_roster(persons, households)
    assert "persons.csv line 3: 户编号不在户表中 / household number is not in the household list" in str(caught.value)
    assert caught.value.problems["line"].tolist() == [3]


def test_missing_column_names_canonical_and_chinese_headers():
    with pytest.raises(TableError) as caught:
        load_persons(csv_file(["身份证号", "姓名"], [[A, "张三"]]), "persons.csv")
    assert caught.value.file == "persons.csv"
    assert "household_no" in caught.value.message and "户编号" in caught.value.message
    assert "家庭编号" in caught.value.message


def test_id_stored_as_excel_number_refuses_roster(tmp_path):
    path = tmp_path / "persons.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(PERSON_HEADER)
    wb.active.append([A, "张三", "H1", "户主"])
    wb.active.append([int(B), "李四", "H1", "配偶"])
    wb.save(path)
    with pytest.raises(RosterError) as caught:
        load_persons(path)
    assert caught.value.problems[["line", "reason"]].values.tolist() == [[3, "id_as_number"]]
