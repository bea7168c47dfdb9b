"""The budget backtest (actuarial.md §3 G7): the simulator recovers its own inputs, the scores on hand examples,
and a small end-to-end run.  The full-size figures (40 counties × 30 replications) are a separate run, not a test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from actuarial.backtest import naive_budget, pinball_loss, randomized_pit
from actuarial.simulation import BENCH_MU, BENCH_RATE, BENCH_SIGMA, simulate_history


@pytest.fixture(scope="module")
def flat_history():
    """No county or year effects: counts are plain Poisson, so the rate's SE is sqrt(N)/E."""
    return simulate_history(50, 5, seed=7, heads=20_000, county_cv=0.0, year_cv=0.0)


def test_benchmark_severity_constants():
    # lognormal mean 8,000, cv 1.5 (actuarial.md §2): σ² = ln(1 + 2.25) = 1.178655, μ = ln 8000 − σ²/2
    assert BENCH_SIGMA == pytest.approx(math.sqrt(1.178655), rel=1e-6)
    assert BENCH_MU == pytest.approx(8.987197 - 1.178655 / 2, abs=1e-6)


def test_history_frames_have_the_contract_columns(flat_history):
    claims, exposure, truth = flat_history
    assert list(claims.columns) == ["year", "county", "peril", "ground_up", "paid"]
    assert list(exposure.columns) == ["year", "county", "heads"]
    assert set(claims["peril"]) == {"illness"}
    assert claims["county"].str.fullmatch(r"\d{6}").all()
    assert sorted(claims["year"].unique()) == [2020, 2021, 2022, 2023, 2024]
    assert len(exposure) == 50 * 5 and truth.years == (2020, 2021, 2022, 2023, 2024)


def test_exposure_grows_by_the_stated_rate(flat_history):
    _claims, exposure, _truth = flat_history
    heads = exposure.pivot(index="county", columns="year", values="heads")
    # 20,000 × 1.02^t rounded: 20,000, 20,400, 20,808, 21,224.16 → 21,224, 21,648.6432 → 21,649
    assert heads.iloc[0].tolist() == [20_000, 20_400, 20_808, 21_224, 21_649]


def test_claim_rate_is_recovered_within_its_standard_error(flat_history):
    claims, exposure, _truth = flat_history
    n, e = len(claims), exposure["heads"].sum()
    # Poisson total: SE(N/E) = sqrt(N)/E; the stated rate 0.02 must lie within 4 SE
    assert abs(n / e - BENCH_RATE) < 4 * math.sqrt(n) / e


def test_medical_trend_and_severity_are_recovered(flat_history):
    claims, _exposure, _truth = flat_history
    t = (claims["year"] - 2020).to_numpy(dtype=float)
    y = np.log(claims["ground_up"].to_numpy())
    slope, intercept = np.polyfit(t, y, 1)
    resid_sd = float(np.std(y - (intercept + slope * t), ddof=2))
    n = len(y)
    # OLS: SE(slope) = σ / sqrt(Σ(t − t̄)²), SE(intercept) ≈ σ·sqrt(1/n + t̄²/Σ(t − t̄)²), SE(σ̂) ≈ σ/sqrt(2n)
    sxx = float(((t - t.mean()) ** 2).sum())
    assert abs(slope - math.log(1.06)) < 4 * BENCH_SIGMA / math.sqrt(sxx)
    assert abs(intercept - BENCH_MU) < 4 * BENCH_SIGMA * math.sqrt(1 / n + t.mean() ** 2 / sxx)
    assert abs(resid_sd - BENCH_SIGMA) < 4 * BENCH_SIGMA / math.sqrt(2 * n)


def test_paid_is_the_illness_schedule_of_the_ground_up_amount(flat_history):
    claims, _exposure, _truth = flat_history
    x, paid = claims["ground_up"].to_numpy(), claims["paid"].to_numpy()
    # 魏县防贫保2025 illness: nothing up to 5,000; 50% of 5,000–10,000; 60% of 10,000–20,000; 70% above; cap 50,000
    assert (paid[x <= 5000] == 0).all()
    mid = (x > 10_000) & (x <= 20_000)
    assert mid.sum() > 100
    np.testing.assert_allclose(paid[mid], 2_500 + 0.6 * (x[mid] - 10_000), atol=0.0051)
    # the cap is reached at 20,000 + (50,000 − 2,500 − 6,000)/0.7 = 79,285.71…
    assert (paid[x > 79_286] == 50_000).all() and paid.max() == 50_000
    assert np.abs(paid * 100 - np.round(paid * 100)).max() < 1e-6  # whole fen


def test_county_effects_and_the_common_year_shock():
    claims, exposure, truth = simulate_history(400, 3, seed=11, heads=50_000, county_cv=0.25, year_cv=0.0)
    u = truth.county_effect.to_numpy()
    # sample cv of 400 gamma draws with cv 0.25: SE ≈ 0.25·sqrt((1 + 2·0.25²)/(2·400)) ≈ 0.0098 (gamma excess
    # kurtosis 6·cv²); allow 4 SE
    assert abs(u.std(ddof=1) / u.mean() - 0.25) < 0.04
    rate = claims.groupby("county").size() / exposure.groupby("county")["heads"].sum()
    # each county's ~3,000 events make its rate follow r·u_c (Poisson cv ≈ 2%, well below the 25% spread)
    assert np.corrcoef(rate.reindex(truth.county_effect.index).to_numpy(), u)[0, 1] > 0.95

    claims, exposure, truth = simulate_history(100, 4, seed=12, heads=20_000, county_cv=0.0, year_cv=0.3)
    by_year = claims.groupby("year").size() / exposure.groupby("year")["heads"].sum()
    expected = BENCH_RATE * truth.year_shock
    n = claims.groupby("year").size()
    # every county shares v_t: the year's rate is r·v_t within its Poisson SE sqrt(N_t)/E_t
    assert (np.abs(by_year - expected) < 4 * np.sqrt(n) / exposure.groupby("year")["heads"].sum()).all()
    assert truth.year_shock.std() > 0.05  # the shock is there (cv 0.3 on 4 draws)


def test_simulation_is_deterministic_by_seed():
    a = simulate_history(3, 2, seed=5)[0]
    b = simulate_history(3, 2, seed=5)[0]
    c = simulate_history(3, 2, seed=6)[0]
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_pinball_loss_by_hand():
    # level 0.95: under-budget by 20 costs 0.95 × 20 = 19; over-budget by 20 costs 0.05 × 20 = 1; exact costs 0
    np.testing.assert_allclose(pinball_loss([100, 100, 100], [120, 80, 100], 0.95), [19.0, 1.0, 0.0])
    # the expected loss over S uniform on {0, 10, …, 90} at level 0.9 is smallest at B = its 0.9-quantile 80:
    # E L(80) = 0.1·(80+70+…+10+0)/10 + 0.9·(90 − 80)/10 = 0.1·36 + 0.9 = 4.5;
    # E L(60) = 0.1·(60+…+0)/10 + 0.9·(10+20+30)/10 = 2.1 + 5.4 = 7.5
    s = np.arange(0, 100, 10)
    assert pinball_loss(80, s, 0.9).mean() == pytest.approx(4.5)
    assert pinball_loss(60, s, 0.9).mean() == pytest.approx(7.5)
    assert min(range(0, 100, 10), key=lambda b: pinball_loss(b, s, 0.9).mean()) == 80


def test_randomized_pit_by_hand_and_uniform_for_the_true_distribution():
    pmf = np.array([0.2, 0.3, 0.5])  # on 0, 10, 20
    # S = 10 → k = 1: F(0) + v·p_1 = 0.2 + 0.5 × 0.3 = 0.35; S = 0, v = 1 → 0.2; S = 20, v = 1 → 1.0
    assert randomized_pit(pmf, 10.0, 10.0, 0.5) == pytest.approx(0.35)
    assert randomized_pit(pmf, 10.0, 0.0, 1.0) == pytest.approx(0.2)
    assert randomized_pit(pmf, 10.0, 20.0, 1.0) == pytest.approx(1.0)
    assert randomized_pit(pmf, 10.0, 1e6, 0.3) == 1.0  # beyond the grid
    # the PIT of draws from the forecast itself is U(0, 1): a Poisson(3) forecast on the grid 0, 1, 2, …
    from scipy import stats

    rng = np.random.default_rng(1)
    pois = stats.poisson(3.0).pmf(np.arange(40))
    draws = rng.poisson(3.0, 4000)
    pit = np.array([randomized_pit(pois, 1.0, float(s), float(v)) for s, v in zip(draws, rng.random(4000))])
    # KS distance of 4,000 uniform draws: its 99.9% critical value is 1.95/sqrt(4000) ≈ 0.031
    assert stats.kstest(pit, "uniform").statistic < 0.031
    # without randomisation (v = 1, the plain F(S)) the PIT piles up on the atoms and fails the same bound
    plain = np.array([randomized_pit(pois, 1.0, float(s), 1.0) for s in draws])
    assert stats.kstest(plain, "uniform").statistic > 0.031


def test_naive_budget_by_hand():
    claims = pd.DataFrame({"year": [2021, 2022, 2023, 2023, 2020], "county": ["130401"] * 5, "peril": "illness",
                           "ground_up": np.nan, "paid": [100.0, 200.0, 150.0, 150.0, 9_999.0]})
    exposure = pd.DataFrame({"year": [2020, 2021, 2022, 2023], "county": ["130401"] * 4, "heads": [10, 10, 20, 20]})
    heads_next = pd.Series({"130401": 25})
    # years 2021–2023: paid 100 + 200 + 300 = 600 over 10 + 20 + 20 = 50 heads = 12 per head; × 25 heads × 1.3 = 390
    assert naive_budget(claims, exposure, 2024, heads_next, 1.3)["130401"] == pytest.approx(390.0)


def test_a_small_backtest_is_well_formed(tmp_path):
    from actuarial.backtest import BASELINE_LOADINGS, run_backtest

    result = run_backtest(6, 5, 2, level=0.9, seed=3, bootstrap=4)
    scores = result.scores
    assert len(scores) == 2 * 6 and result.n == 12
    assert set(scores["replication"]) == {0, 1} and scores.groupby("replication")["county"].nunique().tolist() == [6, 6]
    assert scores["pit"].between(0, 1).all()
    assert (scores["budget_model"] > 0).all() and (scores["heads"] > 0).all()
    # coverage is the share of S ≤ B, per replication and overall
    assert result.coverage == pytest.approx((scores["actual"] <= scores["budget_model"]).mean())
    assert result.coverage_by_replication.tolist() == pytest.approx(
        [(g["actual"] <= g["budget_model"]).mean() for _r, g in scores.groupby("replication")])
    # central 95% interval of Binomial(12, 0.9): P(X ≥ 9) = 0.0852 + 0.2301 + 0.3766 + 0.2824 = 0.9743, so
    # P(X ≤ 8) = 0.0257 ≥ 0.025 > P(X ≤ 7) ≈ 0.0043: lower end 8; upper end 12 → [8/12, 12/12]
    assert result.coverage_interval == pytest.approx((8 / 12, 1.0))
    summary = result.summary
    assert list(summary.index) == ["model"] + [f"naive_x{x:g}" for x in BASELINE_LOADINGS]
    # naive × 1.3 is exactly 1.3/1.1 times naive × 1.1 in every county, so its budget per head is too
    naive = summary["budget_per_head"]
    assert naive["naive_x1.3"] == pytest.approx(naive["naive_x1.1"] * 1.3 / 1.1)
    assert (summary["pinball_per_head"] >= 0).all()
    assert len(result.portfolio) == 2 and {"budget", "actual", "covered"} <= set(result.portfolio.columns)
    doc = result.to_dict()
    assert doc["county_years"] == 12 and isinstance(doc["passed"], bool)
    path = result.write(tmp_path / "bt")
    assert path.name == "backtest.json" and (tmp_path / "bt" / "counties.csv").is_file()
    assert any(line.startswith("覆盖率 / coverage") for line in result.format_lines())


def test_backtest_command(tmp_path):
    from click.testing import CliRunner

    from flask_app.cli.budget import budget

    out = tmp_path / "bt"
    result = CliRunner().invoke(budget, ["backtest", "--counties", "4", "--years", "4", "--replications", "1",
                                         "--bootstrap", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "覆盖率 / coverage" in result.output and "pinball" in result.output
    doc = __import__("json").loads((out / "backtest.json").read_text(encoding="utf-8"))
    assert doc["counties"] == 4 and doc["county_years"] == 4
