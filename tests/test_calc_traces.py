"""``relief calc --traces none|kept|all`` and ``--format parquet`` (issue 16), on files written by hand.

Two people in the catalog 防贫保: person 1 with self-paid 9,000.00 + 7,345.67 = 16,345.67 in the year (over
the 5,000 line: due 6,307.40), person 2 with 3,000.00 (a claim row with a base, nothing due).
"""

from __future__ import annotations

import factories as f
import pandas as pd
import pytest
from click.testing import CliRunner

from flask_app.cli import relief

MEDICAL = "结算ID,身份证号,姓名,结算日期,医疗费总额,统筹基金支出,大病保险,医疗救助,其他支出,全自费金额,超限价自费,个人负担总金额\n"


@pytest.fixture
def county(tmp_path):
    (tmp_path / "persons.csv").write_text(
        f"身份证号,姓名,户编号,与户主关系\n{f.pid(1)},张三丰,H1,户主\n{f.pid(2)},李四,H2,户主\n", encoding="utf-8-sig")
    (tmp_path / "households.csv").write_text(
        "户编号,村代码,自然村,户类别,家庭人均纯收入,家庭人口数\n"
        "H1,130434100200,张庄,边缘易致贫户,5000.00,1\nH2,130434100200,李家沟,脱贫不稳定户,4800.00,1\n",
        encoding="utf-8-sig")
    # person 1: 20,000.00 − 8,000.00 − 2,000.00 − 1,000.00 = 9,000.00; 12,345.67 − 5,000.00 = 7,345.67
    # person 2: 5,000.00 − 2,000.00 = 3,000.00
    (tmp_path / "medical.csv").write_text(
        MEDICAL + f"S1,{f.pid(1)},张三丰,2025-01-15,20000.00,8000.00,2000.00,1000.00,0,500.00,0,9000.00\n"
        f"S2,{f.pid(1)},张三丰,2025-03-02,12345.67,5000.00,0,0,0,0,0,7345.67\n"
        f"S3,{f.pid(2)},李四,2025-03-09,5000.00,2000.00,0,0,0,0,0,3000.00\n", encoding="utf-8-sig")
    return tmp_path


def calc(county, *extra):
    args = ["calc", "--product", "fangpinbao-weixian-2025", "--persons", str(county / "persons.csv"),
            "--households", str(county / "households.csv"), "--report", f"medical={county / 'medical.csv'}",
            "--out", str(county / "out"), "--quiet", *extra]
    result = CliRunner().invoke(relief, args)
    assert result.exit_code == 0, result.output
    return county / "out"


def claims_of(out) -> pd.DataFrame:
    return pd.read_csv(out / "claims.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig").set_index("unit_id")


@pytest.mark.parametrize(("mode", "traced"), [("all", {1, 2}), ("kept", {1}), ("none", set())])
def test_traces_mode_chooses_the_claims_with_a_trace(county, mode, traced):
    claims = claims_of(calc(county, "--traces", mode))
    # person 1: 5,000 × 50% + 6,345.67 × 60% = 2,500.00 + 3,807.402 = 6,307.40 due; person 2: 3,000.00, none
    assert claims.loc[f.pid(1), ["base", "due"]].tolist() == ["16345.67", "6307.40"]
    assert claims.loc[f.pid(2), ["base", "due"]].tolist() == ["3000.00", "0.00"]
    has_trace = {n for n in (1, 2) if claims.loc[f.pid(n), "trace"] != ""}
    assert has_trace == traced
    if 1 in traced:
        assert "本次应付 6307.40" in claims.loc[f.pid(1), "trace"]


def test_the_default_is_no_trace_in_the_same_columns(county):
    default = (calc(county) / "claims.csv").read_bytes()
    assert default == (calc(county, "--traces", "none") / "claims.csv").read_bytes()
    assert default.decode("utf-8-sig").split("\n")[0].split(",")[10] == "trace"


def test_parquet_holds_the_cells_of_the_csv_files(county):
    csv_out = calc(county)
    expected = {name: pd.read_csv(csv_out / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
                for name in ("claims", "claim_sources", "exceptions")}
    for name in expected:
        (csv_out / f"{name}.csv").rename(csv_out / f"{name}.old.csv")
    out = calc(county, "--format", "parquet")
    assert not (out / "claims.csv").exists()
    for name, frame in expected.items():
        got = pd.read_parquet(out / f"{name}.parquet").astype(object)
        assert got.equals(frame.astype(object)), name
    assert got.shape[0] == len(expected["exceptions"])
