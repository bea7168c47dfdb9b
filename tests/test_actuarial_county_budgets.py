"""Per-county budgets when several counties pool (issue 17, item 6): Bühlmann–Straub credibility on the loss
cost per head, Z = P/(P + k), k = s²/a, the pool's budget split by credible rate × next year's heads.

The textbook case is Example 9.6.3 of E. W. Frees (ed.), *Loss Data Analytics* (open text, ch. 9 "Experience
Rating Using Credibility Theory", §9.6 nonparametric estimation, Bühlmann–Straub model), two policyholders:

    A: claims 0, 2, 2, 3 with 1, 2, 2, 2 insured vehicles (years 1–4)
    B: claims –, 0, 1, 2 with 0, 2, 3, 4 insured vehicles

for which the book gives EPV = 11/30 = 0.3667, VHM = 0.1757, K = 2.0871, Z_A = 0.7703, Z_B = 0.8118 and, with the
exposure-weighted mean x̄ = 5/8 as complement, μ̂_A = 0.9139, μ̂_B = 0.3882.  The project's complement is the
credibility-weighted mean m̂ = Σ Z r̄ / Σ Z, the one the same chapter's "Balancing credibility estimators" derives
(M̂ = Σ m_i (1 − Z_i) X̄_i / Σ m_i (1 − Z_i), and m_i (1 − Z_i) = K·Z_i); the rates with it are worked out below.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from actuarial.budget import budget
from actuarial.budget.counties import county_budgets
from actuarial.budget.inputs import Assumptions
from actuarial.simulation import simulate_history
from products import load_product

A, B = "130401", "130402"
YEARS = (2021, 2022, 2023, 2024)
CLAIMS = {A: (0, 2, 2, 3), B: (0, 0, 1, 2)}
HEADS = {A: (1, 2, 2, 2), B: (0, 2, 3, 4)}  # B has no vehicle in year 1: no data that year


def textbook_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The example as a claims history (one row per claim, paid 1 yuan: the loss cost is the claim frequency)."""
    rows = [{"year": y, "county": c, "paid": 1.0} for c, counts in CLAIMS.items() for y, n in zip(YEARS, counts)
            for _ in range(n)]
    exposure = pd.DataFrame([{"year": y, "county": c, "heads": float(h)} for c, hs in HEADS.items()
                             for y, h in zip(YEARS, hs)])
    return pd.DataFrame(rows), exposure


def test_loss_data_analytics_example_9_6_3():
    history, exposure = textbook_frames()
    heads_next = pd.Series({A: 2.0, B: 4.0})
    notes: list[str] = []
    t = county_budgets(history, exposure, heads_next, 100.0, notes).set_index("county")

    # r̄_A = 7/7 = 1, r̄_B = 3/9 = 1/3; P_A = 7, P_B = 9 (B's year 1 has no vehicle: n_A = 4, n_B = 3)
    np.testing.assert_allclose(t["own_rate"], [1.0, 1 / 3], rtol=1e-15)
    assert t["heads"].tolist() == [7.0, 9.0] and t["years"].tolist() == [4, 3]
    # EPV: A: 1·(0 − 1)² + 2·0² + 2·0² + 2·(1.5 − 1)² = 1.5;  B: 2·(0 − 1/3)² + 3·0² + 4·(1/2 − 1/3)² = 1/3
    #      s² = (1.5 + 1/3)/((4 − 1) + (3 − 1)) = 11/30 = 0.3667 (the book)
    s2 = 11 / 30
    assert t.attrs["within"] == pytest.approx(s2, rel=1e-12)
    # VHM: x̄ = 10/16 = 5/8;  [7·(3/8)² + 9·(1/3 − 5/8)² − (2 − 1)·11/30] / [16 − (7² + 9²)/16]
    #      = (63/64 + 441/576 − 11/30)/(16 − 130/16) = (1.75 − 0.366667)/7.875 = 0.175661 (the book: 0.1757)
    vhm = (7 * (3 / 8) ** 2 + 9 * (1 / 3 - 5 / 8) ** 2 - s2) / (16 - (7**2 + 9**2) / 16)
    assert vhm == pytest.approx(0.175661, abs=1e-6)
    assert round(t.attrs["between"], 4) == 0.1757
    # K = s²/VHM = 2.0873 (the book, from the rounded 0.3667/0.1757: 2.0871)
    k = s2 / vhm
    assert t.attrs["k"] == pytest.approx(k, rel=1e-12) and k == pytest.approx(2.0871, abs=3e-4)
    # Z_A = 7/(7 + K) = 0.770302, Z_B = 9/(9 + K) = 0.811736 (the book, from its rounded K 2.0871: 0.7703, 0.8118)
    z = np.array([7 / (7 + k), 9 / (9 + k)])
    np.testing.assert_allclose(t["z"], z, rtol=1e-12)
    np.testing.assert_allclose(t["z"], [0.7703, 0.8118], atol=1e-4)
    # the book's rates with x̄ = 5/8 as complement: 0.7703·1 + 0.2297·5/8 = 0.9139; 0.8118/3 + 0.1882·5/8 = 0.3882
    book = z * np.array([1.0, 1 / 3]) + (1 - z) * 5 / 8
    np.testing.assert_allclose(book, [0.9139, 0.3882], atol=1e-4)
    # the project's balanced complement m̂ = (0.770302·1 + 0.811736/3)/(0.770302 + 0.811736) = 0.657937
    m = (z[0] * 1 + z[1] / 3) / z.sum()
    assert m == pytest.approx(0.657937, abs=1e-6) and t.attrs["pooled"] == pytest.approx(m, rel=1e-12)
    # credible rates 0.770302 + 0.229698·0.657937 = 0.921429;  0.270579 + 0.188264·0.657937 = 0.394445
    rate = z * np.array([1.0, 1 / 3]) + (1 - z) * m
    np.testing.assert_allclose(rate, [0.921429, 0.394445], atol=1e-6)
    np.testing.assert_allclose(t["credible_rate"], rate, rtol=1e-12)
    # balance: 7·0.921429 + 9·0.394445 = 10 claims, the history's total
    assert 7 * rate[0] + 9 * rate[1] == pytest.approx(10.0, rel=1e-12)
    # budget 100 split by rate × next heads: 2·0.921429 = 1.842858 and 4·0.394445 = 1.577780 → 53.875 and 46.125
    share = np.array([2 * rate[0], 4 * rate[1]])
    np.testing.assert_allclose(t["budget_total"], 100 * share / share.sum(), rtol=1e-12)
    np.testing.assert_allclose(t["budget_total"], [53.875, 46.125], atol=1e-3)
    np.testing.assert_allclose(t["budget_per_head"], t["budget_total"] / [2.0, 4.0], rtol=1e-15)
    assert any("Bühlmann–Straub" in n for n in notes)


def test_new_county_gets_the_pooled_rate_and_one_county_its_own():
    history, exposure = textbook_frames()
    t = county_budgets(history, exposure, pd.Series({A: 2.0, B: 4.0, "130403": 5.0}), 100.0, []).set_index("county")
    # no history: Z = 0, the credible rate is m̂ (0.657937 above)
    assert t.loc["130403", "z"] == 0.0 and t.loc["130403", "heads"] == 0.0
    assert t.loc["130403", "credible_rate"] == pytest.approx(t.attrs["pooled"], rel=1e-15)
    assert t["budget_total"].sum() == pytest.approx(100.0, rel=1e-12)
    only_a = county_budgets(history[history["county"] == A], exposure[exposure["county"] == A],
                            pd.Series({A: 2.0}), 80.0, notes := [])
    assert only_a["budget_total"].tolist() == [80.0] and only_a["credible_rate"].tolist() == [1.0]
    assert any("one county" in n for n in notes)


PRODUCT = load_product("fangpinbao-weixian-2025")


def test_budget_by_county_splits_the_pool():
    """budget(..., by_county=True) on 3 simulated counties: the county budgets add up to the pool's budget and the
    credible rates keep the history's total (Σ_c P_c·rate_c = Σ paid)."""
    claims, exposure, _ = simulate_history(3, 4, seed=5, heads=(20_000, 30_000), first_year=2021)
    r = budget(claims, exposure, PRODUCT, 2025, assumptions=Assumptions(bootstrap=0, seed=11), by_county=True)
    t = r.county_budgets
    assert len(t) == 3 and t["budget_total"].sum() == pytest.approx(float(r.budget_total), rel=1e-12)
    assert ((t["z"] > 0) & (t["z"] < 1)).all()
    assert (t["heads"] * t["credible_rate"]).sum() == pytest.approx(claims["paid"].sum(), rel=1e-9)
    assert json.loads(json.dumps(r.to_dict()))["county_budgets"][0]["county"] == t["county"].iloc[0]
    assert any("county budgets by Bühlmann–Straub" in n for n in r.notes)
    plain = budget(claims, exposure, PRODUCT, 2025, assumptions=Assumptions(bootstrap=0, seed=11))
    assert plain.county_budgets.empty and plain.budget_total == r.budget_total


def test_cli_by_county_writes_the_table(tmp_path):
    from click.testing import CliRunner

    from flask_app.cli import relief

    claims, exposure, _ = simulate_history(3, 4, seed=5, heads=(20_000, 30_000), first_year=2021)
    claims.to_csv(tmp_path / "claims.csv", index=False)
    exposure.to_csv(tmp_path / "exposure.csv", index=False)
    out = tmp_path / "report"
    run = CliRunner().invoke(relief, ["budget", "--claims", str(tmp_path / "claims.csv"), "--exposure",
                                      str(tmp_path / "exposure.csv"), "--product", "fangpinbao-weixian-2025",
                                      "--year", "2025", "--out", str(out), "--bootstrap", "0", "--no-holdout",
                                      "--by-county", "--quiet"])
    assert run.exit_code == 0, run.output
    table = pd.read_csv(out / "county_budgets.csv", encoding="utf-8-sig", dtype={"county": str})
    assert sorted(table["county"]) == sorted(set(claims["county"]))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Per-county budgets" in page and "分县预算" in page
