"""Claims history and exposure readers: history layout (English and Chinese headers), the engine's
claims.csv, a bad file, Parquet, and the database reader."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from db_factories import add_policy, claim

from actuarial.history import claims_from_database, read_claims, read_exposure
from claims.lifecycle.database import transaction
from claims.lifecycle.store import Policy, ProductVersion
from tabular.files import TableError


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_history_layout_with_english_headers(tmp_path):
    path = write(tmp_path, "history.csv",
                 "year,county,peril,ground_up,paid\n"
                 "2023,130434,illness,12000.50,3500.25\n"
                 "2024,130434100200,schooling,,800\n")
    out = read_claims(path)
    assert list(out.columns[:5]) == ["year", "county", "peril", "ground_up", "paid"]
    assert out["year"].tolist() == [2023, 2024]
    assert out["county"].tolist() == ["130434", "130434"]  # a 12-digit village code keeps its county part
    assert out["peril"].tolist() == ["illness", "schooling"]
    assert out.loc[0, "ground_up"] == 12000.50 and out.loc[0, "paid"] == 3500.25
    assert np.isnan(out.loc[1, "ground_up"])  # blank = unknown
    assert out["source_line"].tolist() == [2, 3]
    assert out["year"].dtype == np.int64 and out["paid"].dtype == np.float64


def test_history_layout_with_chinese_headers_in_excel(tmp_path):
    frame = pd.DataFrame({"年度": [2024, 2025], "区划代码": ["130434", "130435"], "责任": ["illness", "disaster"],
                          "费用(元)": [8000, 25000.5], "赔付金额": [1500, 15000.5]})
    path = tmp_path / "历史.xlsx"
    frame.to_excel(path, index=False)
    out = read_claims(path)
    assert out[["year", "county", "peril"]].values.tolist() == [[2024, "130434", "illness"],
                                                                [2025, "130435", "disaster"]]
    assert out["ground_up"].tolist() == [8000.0, 25000.5]
    assert out["paid"].tolist() == [1500.0, 15000.5]


def test_engine_claims_csv(tmp_path):
    path = write(tmp_path, "claims.csv",
                 "product_code,line_id,unit_type,unit_id,household_no,village_code,base,entitlement,first_event\n"
                 "FPB-130434-2025,illness,person,U1,H1,130434100200,12000.00,4600.00,2025-03-04\n"
                 "FPB-130434-2025,disaster,household,H2,H2,130434100201,0.00,0.00,\n"
                 "FPB-130434-2025,schooling,person,U3,H3,130435100200,9000.00,800.00,2025-09-01\n")
    out = read_claims(path)
    # the disaster row has base 0: nothing happened on the line, dropped
    assert out["peril"].tolist() == ["illness", "schooling"]
    assert out["year"].tolist() == [2025, 2025]
    assert out["county"].tolist() == ["130434", "130435"]
    assert out["ground_up"].tolist() == [12000.0, 9000.0]
    assert out["paid"].tolist() == [4600.0, 800.0]
    assert out["source_line"].tolist() == [2, 4]


def test_parquet_history(tmp_path):
    frame = pd.DataFrame({"year": [2024], "county": ["130434"], "peril": ["illness"], "ground_up": [7000.0],
                          "paid": [1000.0]})
    path = tmp_path / "h.parquet"
    frame.to_parquet(path)
    out = read_claims(path)
    assert out.loc[0, ["year", "county", "peril", "ground_up", "paid"]].tolist() == [2024, "130434", "illness",
                                                                                      7000.0, 1000.0]


def test_missing_column_is_a_bilingual_error_with_the_file_name(tmp_path):
    path = write(tmp_path, "bad_history.csv", "year,county,ground_up\n2024,130434,100\n")
    with pytest.raises(TableError) as info:
        read_claims(path)
    text = str(info.value)
    assert "bad_history.csv" in text
    assert "缺少必需列 peril" in text and "missing required column peril" in text
    assert "责任" in text  # the accepted Chinese header is named


def test_bad_cells_name_the_lines(tmp_path):
    path = write(tmp_path, "cells.csv", "年度,区划代码,责任,赔付\n2024,130434,illness,100\n24,1304,illness,abc\n")
    with pytest.raises(TableError, match=r"cells\.csv.*第 3 行.*line\(s\) 3"):
        read_claims(path)
    path = write(tmp_path, "money.csv", "年度,区划代码,责任,赔付\n2024,130434,illness,1.234\n")
    with pytest.raises(TableError, match=r"money\.csv.*第 2 行.*两位小数.*line\(s\) 2.*decimals"):
        read_claims(path)


def test_exposure_with_chinese_headers_sums_repeated_rows(tmp_path):
    path = write(tmp_path, "exposure.csv", "年度,区划代码,参保人数\n2024,130434,\"50,000\"\n2024,130434,1000\n"
                                           "2025,130434,52000\n")
    out = read_exposure(path)
    # 2024: 50,000 + 1,000 = 51,000
    assert out.values.tolist() == [[2024, "130434", 51000], [2025, "130434", 52000]]
    bad = write(tmp_path, "exposure_bad.csv", "year,county\n2024,130434\n")
    with pytest.raises(TableError, match=r"exposure_bad\.csv.*参保人数.*missing required column heads"):
        read_exposure(bad)


def test_claims_from_the_database(db):
    _, factory = db
    with transaction(factory) as s:
        pv, pol = add_policy(s)  # 2025, county 130434, 100 heads
        pv2 = ProductVersion(code="P24", family="fangpinbao", name="p", county="130434", year=2024,
                             digest="e" * 64, document={})
        other = ProductVersion(code="Z", family="zhunongbao", name="z", county="130434", year=2025,
                               digest="f" * 64, document={})
        s.add_all([pv2, other])
        s.flush()
        pol24 = Policy(product_version_id=pv2.id, county="130434", year=2024, framed_heads=80,
                       premium_per_head=Decimal("50.00"), premium_total=Decimal("4000.00"), settlement_rule={},
                       period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 12, 31))
        polz = Policy(product_version_id=other.id, county="130434", year=2025, framed_heads=7,
                      premium_per_head=Decimal("10.00"), premium_total=Decimal("70.00"), settlement_rule={},
                      period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 12, 31))
        s.add_all([pol24, polz])
        s.flush()
        s.add_all([
            claim(pv, pol, 1, "3500.00", base=Decimal("12000.00")),
            claim(pv, pol, 2, "0.00", base=Decimal("0.00")),  # nothing on the line: dropped
            claim(pv, pol, 3, "900.00", base=Decimal("9000.00"), state="rejected"),  # refused: left out
            claim(pv2, pol24, 4, "800.00", base=Decimal("9000.00"), line_id="schooling", peril="schooling",
                  village_code="130435100200"),
            claim(other, polz, 5, "1.00", base=Decimal("2.00")),
        ])
    with factory() as s:
        claims, exposure = claims_from_database(s, "fangpinbao")
    assert claims[["year", "county", "peril", "ground_up", "paid"]].values.tolist() == [
        [2024, "130435", "schooling", 9000.0, 800.0],
        [2025, "130434", "illness", 12000.0, 3500.0],
    ]
    assert exposure.values.tolist() == [[2024, "130434", 80], [2025, "130434", 100]]
    with factory() as s:
        claims, exposure = claims_from_database(s, "P")  # one version by its code
        everything, all_exposure = claims_from_database(s)
    assert claims["year"].tolist() == [2025] and exposure["heads"].tolist() == [100]
    assert len(everything) == 3
    # 2025: 100 (防贫保) + 7 (助农保) heads in county 130434
    assert all_exposure.values.tolist() == [[2024, "130434", 80], [2025, "130434", 107]]


def test_report_lag_column_is_read_in_quarters(tmp_path):
    path = write(tmp_path, "history.csv",
                 "年度,区划代码,责任,费用,赔付,报案滞后季度\n"
                 "2023,130434,illness,12000,3500,0\n"
                 "2023,130434,illness,9000,2000,5\n"
                 "2024,130434,illness,7000,1000,\n")
    out = read_claims(path)
    assert out["report_lag"].tolist()[:2] == [0, 5]
    assert pd.isna(out["report_lag"].iloc[2])  # blank: no development information for that claim
    bad = write(tmp_path, "bad.csv", "年度,区划代码,责任,赔付,报案滞后季度\n2023,130434,illness,3500,-1\n")
    with pytest.raises(TableError, match=r"第 2 行.*report_lag.*line\(s\) 2"):
        read_claims(bad)
