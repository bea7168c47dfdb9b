"""The default lag pattern (issue 17, item 3): a history without report lags is developed by default.

The pattern by hand (DESIGN.md §2 step 1, "each month the departments send their lists"): events evenly over the
twelve months, each reported with the next month's list, so by the end of quarter q (0 = January–March) the
events of the first 3·(q + 1) − 1 months are known: F = 2/12, 5/12, 8/12, 11/12, 1 for q = 0 … 4.  The history is
valued at the end of its latest year (q = 3): that year's events × 12/11, the years before × 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actuarial.budget import budget
from actuarial.budget.inputs import Assumptions
from actuarial.budget.lags import default_factors, default_pattern, reported_share
from actuarial.simulation import simulate_history
from products import load_product

PRODUCT = load_product("fangpinbao-weixian-2025")


def test_pattern_by_hand():
    t = default_pattern()
    assert t["lag"].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(t["reported_share"], [2 / 12, 5 / 12, 8 / 12, 11 / 12, 1.0], rtol=1e-15)
    # age-to-ultimate 1/F: 12/2 = 6, 12/5 = 2.4, 12/8 = 1.5, 12/11 = 1.090909, 1
    np.testing.assert_allclose(t["factor"], [6.0, 2.4, 1.5, 12 / 11, 1.0], rtol=1e-15)
    assert reported_share(9) == 1.0
    # a two-month delay (for comparison): by the end of the year 10 of 12 months are known
    assert reported_share(3, delay_months=2) == pytest.approx(10 / 12, rel=1e-15)
    f = default_factors([2021, 2022, 2023, 2024])
    assert f.to_dict() == {2021: 1.0, 2022: 1.0, 2023: 1.0, 2024: pytest.approx(12 / 11, rel=1e-15)}


def _history():
    claims, exposure, _ = simulate_history(3, 4, seed=5, heads=(20_000, 30_000), first_year=2021)
    return claims, exposure


def test_budget_develops_the_latest_year_by_default():
    """Same severity (the pattern touches counts only), so the collective rate of 2024 is × 12/11 and the earlier
    years' rates are unchanged; with ``default_development=False`` nothing is developed (and the note says so)."""
    claims, exposure = _history()
    assert "report_lag" not in claims.columns
    on = budget(claims, exposure, PRODUCT, 2025, assumptions=Assumptions(bootstrap=0, seed=11))
    off = budget(claims, exposure, PRODUCT, 2025, assumptions=Assumptions(bootstrap=0, seed=11,
                                                                             default_development=False))
    r_on, r_off = on.perils[0].frequency.year_rates, off.perils[0].frequency.year_rates
    ratio = (r_on / r_off).to_dict()
    assert ratio[2024] == pytest.approx(12 / 11, rel=1e-12)
    assert all(ratio[y] == pytest.approx(1.0, rel=1e-12) for y in (2021, 2022, 2023))
    assert on.budget_total > off.budget_total
    assert on.default_lags["factor"].iloc[3] == pytest.approx(12 / 11, rel=1e-15) and off.default_lags.empty
    assert any("default lag pattern" in n for n in on.notes)
    assert any("no development applied" in n for n in off.notes)
    assert not any("default lag pattern" in n for n in off.notes)


def test_history_with_lags_uses_its_own():
    """A history that carries report lags is developed by chain ladder on them, never by the default pattern."""
    claims, exposure, _ = simulate_history(3, 4, seed=5, heads=(20_000, 30_000), first_year=2021, report_delay=1.0)
    r = budget(claims, exposure, PRODUCT, 2025, assumptions=Assumptions(bootstrap=0, seed=11))
    assert r.default_lags.empty
    assert not any("default lag pattern" in n for n in r.notes)
    assert any("chain-ladder development" in n for n in r.notes)


def test_cli_option_turns_it_off(tmp_path):
    from click.testing import CliRunner

    from flask_app.cli import relief

    claims, exposure = _history()
    claims.to_csv(tmp_path / "claims.csv", index=False)
    exposure.to_csv(tmp_path / "exposure.csv", index=False)
    base = ["budget", "--claims", str(tmp_path / "claims.csv"), "--exposure", str(tmp_path / "exposure.csv"),
            "--product", "fangpinbao-weixian-2025", "--year", "2025", "--bootstrap", "0", "--no-holdout", "--quiet"]
    on = CliRunner().invoke(relief, [*base, "--out", str(tmp_path / "on")])
    off = CliRunner().invoke(relief, [*base, "--out", str(tmp_path / "off"), "--no-default-lags"])
    assert on.exit_code == 0 and off.exit_code == 0, on.output + off.output
    page = (tmp_path / "on" / "report.html").read_text(encoding="utf-8")
    assert "Default lag pattern" in page and "默认报案进展模式" in page
    lags = pd.read_csv(tmp_path / "on" / "default_lags.csv", encoding="utf-8-sig")
    assert lags["reported_share"].round(6).tolist() == [round(x / 12, 6) for x in (2, 5, 8, 11, 12)]
    assert "Default lag pattern" not in (tmp_path / "off" / "report.html").read_text(encoding="utf-8")
    assert not (tmp_path / "off" / "default_lags.csv").exists()
    assert "no development applied" in off.output
