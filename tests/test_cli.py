"""The ``relief`` CLI end to end: files written by hand → claims.csv with amounts checked by hand."""

from __future__ import annotations

import json

import factories as f
import pandas as pd
from click.testing import CliRunner

from flask_app.cli import relief

MEDICAL_ZH = "结算ID,身份证号,姓名,结算日期,医疗费总额,统筹基金支出,大病保险,医疗救助,其他支出,全自费金额,超限价自费,个人负担总金额\n"


def write_county(tmp_path):
    """Two households; person 1 has two settlements in January and March, person 3 one bad row."""
    (tmp_path / "persons.csv").write_text(
        "身份证号,姓名,户编号,与户主关系\n"
        f"{f.pid(1)},张三丰,H1,户主\n{f.pid(3)},李四,H2,户主\n", encoding="utf-8-sig")
    (tmp_path / "households.csv").write_text(
        "户编号,村代码,自然村,户类别,家庭人均纯收入,家庭人口数\n"
        "H1,130434100200,张庄,边缘易致贫户,5000.00,1\nH2,130434100200,李家沟,脱贫不稳定户,4800.00,1\n",
        encoding="utf-8-sig")
    med = tmp_path / "medical"
    med.mkdir()
    # person 1, January: total 20,000.00 − 统筹 8,000.00 − 大病 2,000.00 − 救助 1,000.00 = self-paid 9,000.00
    (med / "2025-01.csv").write_text(
        MEDICAL_ZH + f"S1,{f.pid(1)},张三丰,2025-01-15,20000.00,8000.00,2000.00,1000.00,0,500.00,0,9000.00\n",
        encoding="utf-8-sig")
    # person 1, March: total 12,345.67 − 统筹 5,000.00 = 7,345.67 (year to date 16,345.67);
    # person 3: a non-numeric total → exception, not fatal
    (med / "2025-03.csv").write_text(
        MEDICAL_ZH + f"S2,{f.pid(1)},张三丰,2025-03-02,12345.67,5000.00,0,0,0,0,0,7345.67\n"
        f"S3,{f.pid(3)},李四,2025-03-09,abc,0,0,0,0,0,0,0\n", encoding="gb18030")
    return tmp_path


def calc(tmp_path, *extra):
    args = ["calc", "--product", "fangpinbao-weixian-2025", "--persons", str(tmp_path / "persons.csv"),
            "--households", str(tmp_path / "households.csv"), "--report", f"medical={tmp_path / 'medical'}",
            "--out", str(tmp_path / "out"), *extra]
    return CliRunner().invoke(relief, args)


def test_calc_from_files_with_chinese_headers(tmp_path):
    write_county(tmp_path)
    result = calc(tmp_path)
    assert result.exit_code == 0, result.output
    claims = pd.read_csv(tmp_path / "out" / "claims.csv", dtype=str, encoding="utf-8-sig")
    row = claims.set_index("unit_id").loc[f.pid(1)]
    # base 9,000.00 + 7,345.67 = 16,345.67 → 5,000 × 50% + 6,345.67 × 60% = 2,500 + 3,807.402 = 6,307.40
    assert (row["base"], row["entitlement"], row["paid_before"], row["due"]) == ("16345.67", "6307.40", "0.00", "6307.40")
    assert row["village_code"] == "130434100200" and row["household_no"] == "H1"
    ex = pd.read_csv(tmp_path / "out" / "exceptions.csv", dtype=str, encoding="utf-8-sig")
    assert ex[["file", "line", "reason"]].values.tolist() == [["medical/2025-03.csv", "3", "amount_not_numeric"]]
    sources = pd.read_csv(tmp_path / "out" / "claim_sources.csv", dtype=str, encoding="utf-8-sig")
    assert sources[["source_file", "source_line", "amount"]].values.tolist() == [
        ["medical/2025-01.csv", "2", "9000.00"], ["medical/2025-03.csv", "2", "7345.67"]]
    assert "本次应付合计 / total due now: ¥6,307.40" in result.output
    assert "amount_not_numeric: 1" in result.output


def test_calc_with_paid_pays_only_the_increment(tmp_path):
    write_county(tmp_path)
    # January alone paid 9,000 → (4,000 × 50%) = 2,000.00; now due 6,307.40 − 2,000.00 = 4,307.40
    (tmp_path / "paid.csv").write_text(f"unit_id,line_id,paid\n{f.pid(1)},illness,2000.00\n", encoding="utf-8")
    result = calc(tmp_path, "--paid", str(tmp_path / "paid.csv"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["total_entitlement"], summary["total_paid_before"], summary["total_due"]) == (630_740, 200_000, 430_740)


def test_calc_refuses_a_file_missing_a_column(tmp_path):
    write_county(tmp_path)
    (tmp_path / "medical" / "2025-04.csv").write_text(f"结算ID,身份证号\nS9,{f.pid(1)}\n", encoding="utf-8")
    result = calc(tmp_path)
    assert result.exit_code == 2
    assert "医疗费总额" in result.output and "medfee_sumamt" in result.output


def test_calc_reports_a_bad_product_by_field(tmp_path):
    write_county(tmp_path)
    (tmp_path / "p.yaml").write_text("schema: 1\ncode: X\n", encoding="utf-8")
    result = CliRunner().invoke(relief, ["calc", "--product", str(tmp_path / "p.yaml"), "--persons",
                                         str(tmp_path / "persons.csv"), "--households", str(tmp_path / "households.csv"),
                                         "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "family: missing data for required field" in result.output.lower()


def test_synth_then_calc_end_to_end(tmp_path):
    runner = CliRunner()
    out = runner.invoke(relief, ["synth", "--county", "3000", "--out", str(tmp_path / "county")])
    assert out.exit_code == 0, out.output
    county = tmp_path / "county"
    args = ["calc", "--product", "fangpinbao-weixian-2025", "--persons", str(county / "persons.csv"),
            "--households", str(county / "households.csv"), "--out", str(tmp_path / "out"), "--json", "--traces", "all"]
    for dept in ("medical", "education", "disaster", "accident", "income"):
        args += ["--report", f"{dept}={county / dept}"]
    result = runner.invoke(relief, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    manifest = json.loads((county / "manifest.json").read_text(encoding="utf-8"))
    # every report row is either used by a claim or listed as an exception — nothing lost
    sources = pd.read_csv(tmp_path / "out" / "claim_sources.csv", dtype=str, encoding="utf-8-sig")
    ex = pd.read_csv(tmp_path / "out" / "exceptions.csv", dtype=str, encoding="utf-8-sig")
    used = set(zip(sources["source_file"], sources["source_line"]))
    listed = set(zip(ex.loc[ex["severity"] != "warning", "file"], ex.loc[ex["severity"] != "warning", "line"]))
    assert summary["rows_read_total"] == sum(d["rows"] for d in manifest["departments"].values())
    assert len(used | listed) == summary["rows_read_total"]
    assert not used & listed
    claims = pd.read_csv(tmp_path / "out" / "claims.csv", dtype=str, encoding="utf-8-sig")
    assert set(claims["line_id"]) <= {"illness", "schooling", "disaster", "entry"}
    assert claims["trace"].str.startswith("[FPB-130434-2025/").all()


def test_year_runs_and_reconciles(tmp_path):
    result = CliRunner().invoke(relief, ["year", "--people", "2000", "--out", str(tmp_path / "year")])
    assert result.exit_code == 0, result.output
    assert "equals the yearly run" in result.output
    assert (tmp_path / "year" / "results" / "claims.csv").exists()


def test_demo_builds_the_web_demo_data(tmp_path):
    result = CliRunner().invoke(relief, ["demo", "--people", "3000", "--out", str(tmp_path / "demo"), "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "2025-03-05" in result.output
    for username in ("ins1", "sup1", "county1", "town1", "clerk1", "act1", "admin"):
        assert username in result.output
    assert (tmp_path / "demo" / "relief.db").exists()
    # the demo's API tokens are shown (they were made and never shown): each opens the API
    from flask_app import create_app

    lines = result.output.split("API tokens", 1)[1].splitlines()[1:]
    tokens = [line.split()[1] for line in lines if line.startswith("  ")]
    assert len(tokens) == 3
    # served as `relief demo` serves it: on the demo's clock (its tokens run 90 days from 2025-03-05)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo' / 'relief.db'}", "SECRET_KEY": "t",
                      "RELIEF_TODAY": "2025-03-05"})
    for token in tokens:
        r = app.test_client().get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
    app.extensions["relief_engine"].dispose()


def test_help_lists_the_commands():
    result = CliRunner().invoke(relief, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "serve", "calc", "year", "synth", "db", "import", "claims", "notice", "payout", "fund"):
        assert command in result.output
