"""Cross-department duplicates (pure): an accident hospitalisation and a medical settlement of the same
person, the settlement 0…window_days days on or after the accident, are the same event."""

from __future__ import annotations

import pandas as pd
from factories import accident, medical, pid

from claims.lifecycle.duplicates import COLUMNS, cross_department_duplicates


def test_pairs_within_the_window_only():
    med = medical([(1, "2025-03-01", 900000), (1, "2025-03-31", 100000), (1, "2025-04-01", 100000),
                   (1, "2025-02-27", 100000), (2, "2025-03-01", 900000), (3, "2025-03-01", 900000)])
    acc = accident([(1, "2025-03-01", "hospital", None, 500000),   # person 1: same day … day 30 in, day 31 out
                    (2, "2025-03-01", "disability", 5, 0),        # not a hospitalisation
                    (4, "2025-03-01", "hospital", None, 100)])    # no settlement of person 4
    out = cross_department_duplicates(med, acc)
    assert list(out.columns) == COLUMNS
    # S1 (day 0) and S2 (day 30) pair; S3 (day 31) and S4 (2 days before the accident) do not
    assert out["setl_id"].tolist() == ["S00000001", "S00000002"]
    assert set(out["id_no"]) == {pid(1)}
    assert out["accident_file"].tolist() == ["accident.csv"] * 2 and out["accident_line"].tolist() == [2, 2]
    assert out["medical_date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-03-01", "2025-03-31"]
    assert "S00000001" in out["detail"].iloc[0] and "accident.csv line 2" in out["detail"].iloc[0]
    assert "疑似跨部门重复" in out["detail"].iloc[0]


def test_window_is_a_parameter():
    med = medical([(1, "2025-03-11", 900000)])
    acc = accident([(1, "2025-03-01", "hospital", None, 0)])
    assert len(cross_department_duplicates(med, acc, window_days=10)) == 1
    assert len(cross_department_duplicates(med, acc, window_days=9)) == 0


def test_empty_or_missing_inputs():
    med = medical([(1, "2025-03-01", 900000)])
    acc = accident([(1, "2025-03-01", "death", None, 0)])
    for a, b in [(None, acc), (med, None), (med.iloc[:0], acc), (med, acc.iloc[:0]), (med, acc)]:
        out = cross_department_duplicates(a, b)
        assert len(out) == 0 and list(out.columns) == COLUMNS


def test_each_pair_once_for_several_accidents():
    med = medical([(1, "2025-03-05", 900000)])
    acc = accident([(1, "2025-03-01", "hospital", None, 0), (1, "2025-03-03", "hospital", None, 0)])
    out = cross_department_duplicates(med, acc)
    assert out["accident_date"].dt.strftime("%m-%d").tolist() == ["03-01", "03-03"]
    assert isinstance(out, pd.DataFrame) and out["accident_line"].tolist() == [2, 3]
