"""The roster's fast path (pyarrow + the array kernels of tabular.plain) gives the general reader's frames
and the general reader's RosterError exactly; speed is measured in benchmarks/engine.py, not here."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
import test_roster as cases

from claims.synth import synth_province
from products.roster import RosterError, _fast_households, _fast_persons, load_households, load_persons
from tabular.files import TableError
from tabular.resident_id import make_id


def read_both(load, source, file_name=None):
    """(fast, general) results: a frame, or ("refused", type, problems/message) for an error."""
    out = []
    for fast in (True, False):
        data = io.BytesIO(source) if isinstance(source, bytes) else source
        try:
            out.append(load(data, file_name, fast=fast))
        except RosterError as exc:
            out.append(("refused", "roster", exc.problems.to_dict("list"), str(exc)))
        except TableError as exc:
            out.append(("refused", "table", exc.file, exc.message))
    return out


def assert_same(load, source, file_name=None):
    fast, general = read_both(load, source, file_name)
    if isinstance(fast, tuple) or isinstance(general, tuple):
        assert fast == general
    else:
        pd.testing.assert_frame_equal(fast, general)
    return fast


@pytest.fixture(scope="module")
def roster(tmp_path_factory):
    """200,000 people in households, CSV and Parquet, from the province generator."""
    out = {}
    for fmt in ("csv", "parquet"):
        root = tmp_path_factory.mktemp(fmt)
        synth_province(root, 200_000, 1_000, seed=17, fmt=fmt, other_departments=False)
        out[fmt] = root
    return out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_200k_roster_fast_equals_general(roster, fmt):
    persons_path, households_path = roster[fmt] / f"persons.{fmt}", roster[fmt] / f"households.{fmt}"
    persons = assert_same(load_persons, persons_path.read_bytes(), persons_path.name)
    assert len(persons) == 200_000 and persons["id_no"].is_unique
    assert persons["source_line"].tolist()[:3] == [2, 3, 4]
    if fmt == "csv":  # the fast path answers these files (Parquet stores members as numbers: general reader)
        assert _fast_persons(persons_path, persons_path.name) is not None
        assert _fast_households(households_path, households_path.name) is not None
    households = assert_same(load_households, households_path.read_bytes(), households_path.name)
    assert households["household_no"].is_unique and households["per_capita_income"].dtype == "int64"
    assert households["members"].sum() == 200_000  # every person belongs to one household


P = ["id_no", "name", "household_no", "relation"]
H = ["household_no", "village_code", "natural_village", "category", "per_capita_income", "members", "bank_account"]


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    return text.getvalue().encode("utf-8")


def plain_persons(k: int) -> list[list[str]]:
    return [[make_id("130434", "19800101", i), f"人{i}", f"H{i // 3}", "户主" if i % 3 == 0 else ""]
            for i in range(k)]


def plain_households(k: int) -> list[list[str]]:
    return [[f"H{i}", "130434100200", "东庄" if i % 2 else "", "边缘易致贫户", f"{4000 + i}.50", "3",
             "" if i % 2 else f"62179{i:010d}"] for i in range(k)]


def test_cells_that_are_not_plain_but_fine_read_the_same():
    """Rows the fast path leaves to the general code (15-digit ID, padded name, ="…" wrapper, 4,800.50,
    3人) among plain rows: the roster loads, with the general reader's values in line order."""
    persons = plain_persons(20)
    persons[3] = ["110105491231002", "王五", "H1", ""]  # legacy 15 digits → 11010519491231002X
    persons[7][1] = " 张三 "
    persons[11][2] = '="H3"'
    read = assert_same(load_persons, csv_bytes(P, persons), "persons.csv")
    assert _fast_persons(csv_bytes(P, persons), "persons.csv") is not None  # answered by the mixed path
    row = read.set_index("source_line")
    assert row.loc[5, "id_no"] == "11010519491231002X" and row.loc[9, "name"] == "张三"
    assert row.loc[13, "household_no"] == "H3" and read["source_line"].tolist() == list(range(2, 22))

    households = plain_households(20)
    households[4][4] = "4,800.50"
    households[6][5] = "3人"
    households[8][5] = "03"
    read = assert_same(load_households, csv_bytes(H, households), "households.csv")
    assert _fast_households(csv_bytes(H, households), "households.csv") is not None
    row = read.set_index("source_line")
    assert row.loc[6, "per_capita_income"] == 480_050  # 4,800.50 yuan = 480,050 fen
    assert row.loc[8, "members"] == 3 and row.loc[10, "members"] == 3
    assert row.loc[2, "per_capita_income"] == 400_050  # line 2 = household 0: 4000.50 yuan
    assert pd.isna(row.loc[3, "bank_account"]) and row.loc[2, "bank_account"] == "621790000000000"


def test_bad_person_lines_among_plain_rows_give_the_general_error():
    """test_roster's bad persons (check digit, blank household, repeated ID, blank ID, blank name) inside
    a file of plain rows: the same RosterError, every line listed."""
    rows = plain_persons(30)
    a = rows[0][0]
    rows[5][0] = a[:-1] + ("0" if a[-1] != "0" else "1")  # line 7: check digit
    rows[9][2] = ""  # line 11: blank household
    rows[14][0] = a  # line 16: repeats line 2's ID
    rows[20][0] = ""  # line 22: blank ID
    rows[25][1] = ""  # line 27: blank name
    fast = assert_same(load_persons, csv_bytes(P, rows), "persons.csv")
    assert fast[0] == "refused"
    assert fast[2]["line"] == [7, 11, 16, 22, 27]
    assert fast[2]["reason"] == ["id_check_digit", "missing_value", "duplicate_id", "id_missing", "missing_value"]


def test_a_repeated_id_alone_is_found():
    rows = plain_persons(50)
    rows[40][0] = rows[2][0]  # line 42 repeats line 4
    fast = assert_same(load_persons, csv_bytes(P, rows), "persons.csv")
    assert list(zip(fast[2]["line"], fast[2]["reason"])) == [(42, "duplicate_id")]
    assert "第 4 行" in fast[3]


def test_bad_household_lines_among_plain_rows_give_the_general_error():
    rows = plain_households(30)
    rows[1][1] = "13043410020"  # line 3: 11 digits
    rows[2][4] = ""  # line 4: blank income
    rows[3][0] = "H0"  # line 5: repeats line 2
    rows[4][4] = "-1"  # line 6: negative
    rows[5][4] = "12.345"  # line 7: three decimals
    rows[5][5] = "2.5"  # line 7: not a whole number
    fast = assert_same(load_households, csv_bytes(H, rows), "households.csv")
    assert list(zip(fast[2]["line"], fast[2]["reason"])) == [
        (3, "bad_village_code"), (4, "amount_missing"), (5, "duplicate_household"), (6, "amount_negative"),
        (7, "amount_precision"), (7, "bad_count")]


def test_a_normalised_household_number_that_repeats_a_plain_one():
    rows = plain_households(10)
    rows[7][0] = " H2"  # padded: not plain; stripped it is line 4's H2
    fast = assert_same(load_households, csv_bytes(H, rows), "households.csv")
    assert list(zip(fast[2]["line"], fast[2]["reason"])) == [(9, "duplicate_household")]


@pytest.mark.parametrize("name", ["every bad person line", "persons with chinese headers", "fifteen digit id",
                                  "households amounts", "missing column"])
def test_roster_cases_read_the_same(name):
    """The small files of tests/test_roster.py: the same frames or the same errors both ways."""
    if name == "every bad person line":
        a, b, c = cases.A, cases.B, cases.C
        rows = [[a, "张三", "H1", "户主"], [a[:-1] + ("0" if a[-1] != "0" else "1"), "甲", "H1", ""],
                [b, "李四", "", ""], [a, "张三", "H1", ""], ["", "赵六", "H1", ""], [c, "", "H1", ""]]
        source, load = cases.csv_file(cases.PERSON_HEADER, rows), load_persons
    elif name == "persons with chinese headers":
        source = cases.csv_file(cases.PERSON_HEADER, [[cases.A, "张三", "H1", "户主"], [cases.B, "李四", "H1", ""]])
        load = load_persons
    elif name == "fifteen digit id":
        source, load = cases.csv_file(["公民身份号码", "姓名", "户号"], [["110105491231002", "王五", "H9"]]), load_persons
    elif name == "households amounts":
        source = cases.csv_file(cases.HOUSEHOLD_HEADER, [
            ["H1", "130434100200", "张庄", "边缘易致贫户", "4,800.50", "3"],
            ["H2", "130434100201", "", "脱贫不稳定户", "12000", "1"]])
        load = load_households
    else:
        source, load = cases.csv_file(["身份证号", "姓名"], [[cases.A, "张三"]]), load_persons
    assert_same(load, source.getvalue(), "roster.csv")
