"""``relief synth --county N --years 2023-2024`` (issue 17, item 7): one county over several policy years, the
catalog product rolled to each year (so no row is ``outside_period``), the engine run per year, and the history
files ``relief budget`` reads."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from actuarial.history import read_claims, read_exposure
from claims.synth.history import parse_years, rolled_product_document
from flask_app.cli import relief as cli


def test_parse_years():
    assert parse_years("2021-2025") == [2021, 2022, 2023, 2024, 2025]
    assert parse_years("2024") == [2024]
    with pytest.raises(ValueError, match="2021-2025"):
        parse_years("21-25")
    with pytest.raises(ValueError):
        parse_years("2025-2021")


def test_rolled_product():
    doc = rolled_product_document("fangpinbao-weixian-2025", 2022, "130434")
    assert (doc["year"], doc["code"], doc["name"]) == (2022, "FPB-130434-2022", "魏县防贫保2022")
    assert doc["period"] == {"start": "2022-01-01", "end": "2022-12-31"}


def test_synth_years_writes_a_history(tmp_path):
    out = tmp_path / "hist"
    run = CliRunner().invoke(cli, ["synth", "--county", "400", "--years", "2023-2024", "--out", str(out),
                                   "--quiet"])
    assert run.exit_code == 0, run.output
    for year in (2023, 2024):
        product = yaml.safe_load((out / str(year) / "product.yaml").read_text(encoding="utf-8"))
        assert product["year"] == year
        summary = (out / str(year) / "calc" / "summary.json").read_text(encoding="utf-8")
        assert f"FPB-130434-{year}" in summary
        exceptions = pd.read_csv(out / str(year) / "calc" / "exceptions.csv", encoding="utf-8-sig")
        assert "outside_period" not in set(exceptions.get("reason", []))
    claims = read_claims(out / "history" / "claims.csv")
    exposure = read_exposure(out / "history" / "exposure.csv")
    assert sorted(set(claims["year"])) == [2023, 2024]
    assert exposure["heads"].tolist() == [400, 400]
    # the two years hold different events (reports seeded by year), the same households
    assert (out / "2023" / "households.csv").read_bytes() == (out / "2024" / "households.csv").read_bytes()
    per_year = claims.groupby("year")["paid"].sum()
    assert per_year.loc[2023] != per_year.loc[2024]


def test_years_needs_one_county(tmp_path):
    run = CliRunner().invoke(cli, ["synth", "--people", "400", "--years", "2023-2024", "--out", str(tmp_path)])
    assert run.exit_code != 0 and "--county" in run.output
