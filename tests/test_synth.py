"""The synthetic county generator: consistent roster, valid IDs, exact money, determinism by seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from claims.synth import MEDICAL_COLUMNS, MEDICAL_HEADERS_ZH, synth_county
from tabular.resident_id import validate_ids

PEOPLE = 5_000
BOM = b"\xef\xbb\xbf"


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def fen(column: pd.Series) -> np.ndarray:
    """Yuan text with exactly two decimals → int fen, without float."""
    text = column.astype(str)
    assert text.str.fullmatch(r"\d+\.\d{2}").all(), text[~text.str.fullmatch(r"\d+\.\d{2}")].head()
    return (text.str.replace(".", "", regex=False)).astype("int64").to_numpy()


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("county")
    stages: list[str] = []
    manifest = synth_county(out, PEOPLE, progress=lambda stage, done, total: stages.append(stage))
    assert "roster" in stages and "medical" in stages
    return out, manifest


def test_counts_and_manifest(county):
    out, manifest = county
    persons, households = read(out / "persons.csv"), read(out / "households.csv")
    assert len(persons) == PEOPLE == manifest["people"]
    assert len(households) == manifest["households"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    for dept in ("medical", "education", "disaster", "accident", "income"):
        info = manifest["departments"][dept]
        assert info["files"], dept
        assert sum(len(read(out / f)) for f in info["files"]) == info["rows"]
        assert all(not Path(f).is_absolute() for f in info["files"])
    assert manifest["departments"]["education"]["files"] == ["education/2025-09.csv"]
    assert manifest["departments"]["income"]["files"] == ["income/2025-12.csv"]
    assert manifest["villages"] >= 1


def test_roster_ids_households_villages(county):
    out, _ = county
    persons, households = read(out / "persons.csv"), read(out / "households.csv")
    check = validate_ids(persons["id_no"])
    assert check.reason.isna().all(), check.reason.value_counts()
    assert persons["id_no"].is_unique
    sex_digit = persons["id_no"].str.slice(16, 17).astype(int)
    assert 0.3 < (sex_digit % 2).mean() < 0.7  # both sexes
    assert (persons["id_no"].str.slice(0, 6) == "130434").mean() > 0.9
    assert households["household_no"].is_unique
    assert persons["household_no"].isin(households["household_no"]).all()
    counts = persons.groupby("household_no").size()
    members = households.set_index("household_no")["members"].astype(int)
    assert (counts.reindex(members.index).fillna(0).astype(int) == members).all()
    assert members.between(1, 7).all() and 2.8 < members.mean() < 3.6
    heads = persons[persons["relation"] == "户主"].groupby("household_no").size()
    assert (heads.reindex(members.index) == 1).all()
    assert households["village_code"].str.fullmatch(r"130434\d{6}").all()
    assert set(households["category"]) <= {"脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "稳定脱贫户", "一般农户",
                                          "特困供养", "低保户"}
    income = fen(households["per_capita_income"])
    assert (income < 600_000).any() and (income > 1_000_000).any()
    assert (out / "persons.csv").read_bytes().startswith(BOM)


def test_medical_money_is_exact(county):
    out, manifest = county
    med = pd.concat([read(out / f) for f in manifest["departments"]["medical"]["files"]], ignore_index=True)
    assert list(med.columns) == [MEDICAL_HEADERS_ZH[c] for c in MEDICAL_COLUMNS]
    med = med.rename(columns={v: k for k, v in MEDICAL_HEADERS_ZH.items()})
    amounts = {c: fen(med[c]) for c in MEDICAL_COLUMNS[4:]}  # fen() also proves non-negative, two decimals
    a = amounts
    psn = a["medfee_sumamt"] - a["hifp_pay"] - a["hifmi_pay"] - a["maf_pay"] - a["oth_pay"]
    assert (amounts["psn_part_amt"] == psn).all()
    assert (amounts["psn_part_amt"] >= amounts["fulamt_ownpay_amt"] + amounts["overlmt_selfpay"]).all()
    assert med["setl_id"].is_unique and med["setl_id"].str.fullmatch(r"S\d{12}").all()
    persons = read(out / "persons.csv")
    assert med["id_no"].isin(persons["id_no"]).all()
    for f in manifest["departments"]["medical"]["files"]:
        month = Path(f).stem  # 2025-MM
        assert read(out / f)["结算日期"].str.startswith(month + "-").all()
    yearly = pd.Series(amounts["psn_part_amt"]).groupby(med["id_no"].to_numpy()).sum()
    share = (yearly > 500_000).sum() / PEOPLE
    assert 0.005 <= share <= 0.06, share


def test_other_reports_are_well_formed(county):
    out, manifest = county
    persons, households = read(out / "persons.csv"), read(out / "households.csv")
    d = manifest["departments"]
    edu = read(out / d["education"]["files"][0])
    assert edu["id_no"].isin(persons["id_no"]).all() and edu["id_no"].is_unique
    for c in ("tuition", "accommodation", "textbooks", "other_aid"):
        fen(edu[c])
    assert set(edu["level"]) <= {"高中", "中职", "专科", "本科"} and set(edu["entry"]) <= {"0", "1"}
    dis = pd.concat([read(out / f) for f in d["disaster"]["files"]], ignore_index=True)
    assert dis["household_no"].isin(households["household_no"]).all()
    assert (fen(dis["other_compensation"]) <= fen(dis["assessed_loss"])).all()
    acc = pd.concat([read(out / f) for f in d["accident"]["files"]], ignore_index=True)
    assert acc["id_no"].isin(persons["id_no"]).all()
    assert set(acc["kind"]) <= {"death", "disability", "hospital"}
    assert (acc["grade"][acc["kind"] == "disability"].astype(int).between(1, 10)).all()
    assert (acc["grade"][acc["kind"] != "disability"] == "").all()
    fen(acc["medical_cost"][acc["kind"] == "hospital"])
    assert (acc["medical_cost"][acc["kind"] != "hospital"] == "").all()
    inc = read(out / d["income"]["files"][0])
    assert inc["household_no"].isin(households["household_no"]).all()
    assert (fen(inc["per_capita_income"]) < 600_000).any()


def test_deterministic_by_seed(county, tmp_path):
    out, _ = county
    again = tmp_path / "again"
    synth_county(again, PEOPLE)
    assert files(again) == files(out)
    other = tmp_path / "other"
    synth_county(other, PEOPLE, seed=7)
    differ, base = files(other), files(out)
    assert differ["persons.csv"] != base["persons.csv"]
    assert differ["households.csv"] != base["households.csv"]
    assert json.loads(differ["manifest.json"])["seed"] == 7


# --- the CLI: province mode and progress on a terminal ------------------------------------------------

def invoke(args: list[str]):
    from click.testing import CliRunner

    from flask_app.cli import relief

    return CliRunner().invoke(relief, args)


def test_synth_province_cli_and_progress(tmp_path):
    # 3,000 people, 4,000 rows in files of at most 1,500 rows: one county (400,000 per county), ⌈4,000 /
    # 1,500⌉ = 3 chunks
    args = ["synth", "--people", "3000", "--medical-rows", "4000", "--chunk-rows", "1500", "--format", "csv"]
    quiet = invoke([*args, "--out", str(tmp_path / "a")])
    assert quiet.exit_code == 0, quiet.output
    assert "medical: 4,000" in quiet.output and "3 个文件 / files" in quiet.output
    assert "…" not in quiet.stderr  # CliRunner is not a terminal: no progress line
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["departments"]["medical"]["files"] == [f"medical/130102-00{k}.csv" for k in range(3)]
    shown = invoke([*args, "--out", str(tmp_path / "b"), "--progress"])
    assert shown.exit_code == 0, shown.output
    assert "\r… medical 4,000/4,000 (100 %)" in shown.stderr  # one updating line, rows written so far
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert invoke(["synth", "--out", str(tmp_path / "c")]).exit_code == 2  # neither --county nor --people


def test_calc_and_import_progress_only_when_asked_or_on_a_terminal(tmp_path):
    county = tmp_path / "county"
    synth_county(county, 2_000, seed=4)
    calc = ["calc", "--product", "fangpinbao-weixian-2025", "--persons", str(county / "persons.csv"),
            "--households", str(county / "households.csv"), "--report", f"medical={county / 'medical'}"]
    plain = invoke([*calc, "--out", str(tmp_path / "o1")])
    assert plain.exit_code == 0, plain.output
    assert plain.stderr == ""
    shown = invoke([*calc, "--out", str(tmp_path / "o2"), "--progress"])
    assert shown.exit_code == 0, shown.output
    assert "reading reports 12/12 medical/2025-12.csv" in shown.stderr and "rows read" in shown.stderr
    assert "computing claims" in shown.stderr and shown.stderr.endswith("\n")
    assert plain.stdout.splitlines()[1:4] == shown.stdout.splitlines()[1:4]  # the same summary

    url = f"sqlite:///{tmp_path / 'relief.db'}"
    assert invoke(["db", "upgrade", "--database", url]).exit_code == 0
    setup = invoke(["setup", "--product", "fangpinbao-weixian-2025", "--framed-heads", "2000", "--persons",
                    str(county / "persons.csv"), "--households", str(county / "households.csv"), "--database", url])
    assert setup.exit_code == 0, setup.output
    first = invoke(["import", "--department", "medical", str(county / "medical" / "2025-01.csv"), "--database", url])
    assert first.exit_code == 0, first.output
    assert first.stderr == ""
    second = invoke(["import", "--department", "medical", str(county / "medical" / "2025-02.csv"), "--database", url,
                     "--progress"])
    assert second.exit_code == 0, second.output
    assert "rows read" in second.stderr and "recomputing" in second.stderr
