"""ARCHITECTURE.md's recipe "Adding a department", followed for a toy department at run time.

The recipe edits three files: ``products/model.py`` (``SOURCES``: whose rows the report holds; ``PERILS``:
the peril whose lines read it), ``claims/reports/departments.py`` (the department's ``Spec`` and its
derivation) and ``claims/reports/aliases.yaml`` (its headers; here given inline in the Spec instead).
This test makes the same three entries with monkeypatch (restored afterwards) for 牲畜死亡 (livestock
deaths, one row per dead animal, keyed by household) and runs a product with one livestock line over a
hand-made roster and file.  All people are synthetic.
"""

from __future__ import annotations

import copy

import factories as f
import numpy as np
import pandas as pd
import pytest

from claims import run_calculation
from claims.reports import read_report
from claims.reports.columns import Col, Spec, completed
from claims.reports.departments import SPECS
from products import ProductError, load_product
from products.model import PERILS, SOURCES

DEPARTMENT = "livestock"


def net_loss(rows: pd.DataFrame, raw: pd.DataFrame, problems) -> pd.DataFrame:
    """``net_loss = max(0, loss − compensation)`` (the general reader's form)."""
    rows = rows.copy()
    rows["net_loss"] = (rows["loss"] - rows["compensation"]).clip(lower=0).astype("int64")
    return rows


def net_loss_plain(out: dict[str, object], cells) -> np.ndarray:
    """The same on the fast path's arrays; nothing refuses a row."""
    out["net_loss"] = np.maximum(out["loss"] - out["compensation"], 0)
    return np.ones(len(out["net_loss"]), dtype=bool)


@pytest.fixture
def livestock(monkeypatch):
    """The recipe's three entries, made at run time."""
    # 1. products/model.py: whose rows, and the peril reading them
    monkeypatch.setitem(SOURCES, DEPARTMENT, "household")
    monkeypatch.setitem(PERILS, DEPARTMENT, {"kind": "bracket", "source": DEPARTMENT, "measure": "net_loss",
                                             "measures": ("net_loss", "loss"), "zh": "牲畜死亡"})
    # 2. claims/reports/departments.py: the Spec (3. its headers, inline instead of aliases.yaml)
    spec = Spec(
        columns={
            "household_no": Col("key", ["户编号"]),
            "death_date": Col("date", ["死亡日期"]),
            "animal": Col("required_text", ["畜种"]),
            "loss": Col("money", ["损失金额"]),
            "compensation": Col("money_or_zero", ["其他补偿"]),
        },
        required=("household_no", "death_date", "animal", "loss"),
        event_date="death_date",
        label="农业农村（牲畜死亡）",
        derive=net_loss,
        plain=net_loss_plain,
        derived={"net_loss": "int64"},
        identity=("household_no", "death_date", "animal"),
    )
    monkeypatch.setitem(SPECS, DEPARTMENT, completed(DEPARTMENT, spec))


def product(basis: str = "household"):
    """防贫保 with one line: 50% of a household's net livestock loss above 5,000, at most 10,000 a year."""
    doc = copy.deepcopy(load_product("fangpinbao-weixian-2025").document)
    doc["lines"] = [{"id": "livestock", "peril": DEPARTMENT, "basis": basis, "name": "牲畜死亡", "measure": "net_loss",
                     "start_line": 5000, "brackets": [{"upto": None, "rate": "0.5"}], "caps": {"per_year": 10000}}]
    doc.pop("covers", None)
    return load_product(doc)


FILE = ("户编号,死亡日期,畜种,损失金额,其他补偿\n"
        "L1,2025-03-10,牛,18000.00,2000.00\n"
        'L1,2025-08-01,羊,"1,500.00",\n'  # not a plain amount: this row goes to the general reader
        "L2,2025-05-05,猪,4000.00,0\n"
        "L9,2025-05-06,猪,9000.00,0\n")  # not on the roster


def test_a_toy_department_added_by_the_recipe_is_read_screened_and_paid(livestock):
    persons, households = f.roster([{"household_no": "L1"}, {"household_no": "L2"}],
                                   [{"n": 1, "household_no": "L1"}, {"n": 2, "household_no": "L2"}])
    read = read_report(FILE.encode("utf-8"), DEPARTMENT, file_name="livestock.csv")
    assert read.rows["net_loss"].tolist() == [1_600_000, 150_000, 400_000, 900_000]  # fen
    # the fast path (3 plain rows, 1 by the general reader) and the general reader alone agree
    general = read_report(FILE.encode("utf-8"), DEPARTMENT, file_name="livestock.csv", fast=False)
    pd.testing.assert_frame_equal(read.rows, general.rows)
    assert SPECS[DEPARTMENT].key == "household_no"  # the unit, from products.model.SOURCES

    result = run_calculation(product(), persons, households, {DEPARTMENT: [read.rows]})
    claims = result.claims.set_index("unit_id")
    # L1: net losses (18,000 − 2,000) + (1,500 − 0) = 17,500; (17,500 − 5,000) × 50% = 6,250 ≤ 10,000
    assert claims.loc["L1", "base"] == 1_750_000
    assert claims.loc["L1", "due"] == 625_000
    # L2: 4,000 − 0 = 4,000 ≤ the 5,000 start line: nothing due
    assert "L2" not in claims.index or claims.loc["L2", "due"] == 0
    # L9 is not on the roster: an exception, never a claim
    assert "L9" not in claims.index
    assert result.exceptions["reason"].tolist() == ["unknown_household"]


def test_the_products_refuse_a_person_line_on_the_toy_household_report(livestock):
    with pytest.raises(ProductError, match="livestock reports are per household"):
        product(basis="person")
