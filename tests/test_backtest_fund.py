"""The fund backtest (issue 17, item 5): every line simulated at once, a common shock between lines, and the
fund's budget (sum over lines) scored.  Seeded checks of the mechanics; the full-size coverage figures are runs
recorded in benchmarks/README.md, not tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from actuarial.backtest_fund import county_fund_predictive, run_fund_backtest
from actuarial.coverage import PayoutFunction
from actuarial.simulation_lines import FUND_LINES, shock_correlation, simulate_fund_history
from products import load_product

LINES = {ln.line_id: ln for ln in FUND_LINES}
PRODUCT = load_product("fangpinbao-weixian-2025")


def test_the_lines_are_the_catalog_products_lines():
    assert [ln.line_id for ln in FUND_LINES] == [line.id for line in PRODUCT.lines]  # illness, schooling, disaster, entry


def test_zero_shock_is_the_independent_lines_exactly():
    """κ = 0 and a shock applied to no line give the same history to the fen; a shock on illness and disaster
    leaves schooling, entry and the exposure untouched (each has its own random stream)."""
    base, expo, h0 = simulate_fund_history(6, 4, seed=11, shock_cv=0.0)
    none, expo2, _ = simulate_fund_history(6, 4, seed=11, shock_cv=0.4, shock_lines=())
    pd.testing.assert_frame_equal(base, none)
    pd.testing.assert_frame_equal(expo, expo2)
    assert (h0["shock"] == 1.0).all()
    shocked, expo3, h = simulate_fund_history(6, 4, seed=11, shock_cv=0.4)
    pd.testing.assert_frame_equal(expo, expo3)
    for line in ("schooling", "entry"):
        pd.testing.assert_frame_equal(base[base["peril"] == line].reset_index(drop=True),
                                      shocked[shocked["peril"] == line].reset_index(drop=True))
    assert len(shocked[shocked["peril"] == "illness"]) != len(base[base["peril"] == "illness"])
    assert len(h) == 6 * 4 and h["shock"].std() > 0


def test_paid_follows_each_lines_schedule():
    claims, _, _ = simulate_fund_history(3, 2, seed=5, heads=20_000)
    dis = claims[claims["peril"] == "disaster"]
    # 因灾防贫: 100% of the loss above 10,000, at most 30,000 (catalog weixian 2025, 潜江 2019 [S7])
    expect = np.floor(np.clip(dis["ground_up"].to_numpy() - 10_000, 0, 30_000) * 100 + 0.5) / 100
    np.testing.assert_array_equal(dis["paid"].to_numpy(), expect)
    school = claims[claims["peril"] == "schooling"]
    # 因学防贫: 80% above 8,000, at most 30,000
    expect = np.floor(np.clip((school["ground_up"].to_numpy() - 8_000) * 0.8, 0, 30_000) * 100 + 0.5) / 100
    np.testing.assert_allclose(school["paid"].to_numpy(), expect, atol=0.0051)
    entry = claims[claims["peril"] == "entry"]
    assert set(entry["paid"]) <= {1000.0, 2000.0} and (entry["paid"] == entry["ground_up"]).all()


def test_line_rates_and_amounts_are_as_stated():
    """No county or year effect, no shock: each line's events per head and mean amount within 4 SE of its table."""
    claims, exposure, _ = simulate_fund_history(20, 1, seed=8, heads=50_000, county_cv=0.0, year_cv=0.0)
    e = float(exposure["heads"].sum())  # 1,000,000 heads
    for ln in FUND_LINES:
        x = claims.loc[claims["peril"] == ln.line_id, "ground_up"].to_numpy(float)
        assert abs(x.size / e - ln.rate) < 4 * math.sqrt(x.size) / e  # Poisson SE of the rate: sqrt(N)/E
        if ln.lump_sums:
            # 60% 本科 2,000 / 40% 专科 1,000: mean 1,600, sd 1,000·sqrt(0.24) = 489.9
            assert abs(x.mean() - 1600.0) < 4 * 489.9 / math.sqrt(x.size)
        else:
            assert abs(x.mean() - ln.mean) < 4 * ln.mean * ln.cv / math.sqrt(x.size)


def test_shock_raises_the_correlation_of_line_totals_to_the_formula():
    """4,000 counties, one year, 20,000 heads each, κ = 0.3 on illness and disaster, no other effect.

    Exact moments of the payouts (PayoutFunction.moments on the lognormals of FUND_LINES): illness m = 2,513.05,
    q = 4.434e7; disaster m = 6,367.64, q = 1.338e8; λ = 400 and 29.4, so
    ρ = 0.09·400·29.4·2,513.05·6,367.64 / sqrt((400·4.434e7 + 0.09·(400·2,513.05)²)(29.4·1.338e8 + 0.09·(29.4·6,367.64)²))
      = 0.6102.
    Monte Carlo error: the bootstrap SE of the sample correlation (200 resamples of the 4,000 counties, ≈ 0.010,
    near the normal-theory (1 − ρ²)/√n = 0.0099; over 14 other seeds r − ρ was −2.2 to +2.9 bootstrap SEs, mean
    +0.15); the test allows 4 SE.  With
    κ = 0 the correlation is 0 within 4/√n (the SE of a correlation of independent variables)."""
    def lognormal(ln):
        s2 = math.log1p(ln.cv**2)
        return stats.lognorm(math.sqrt(s2), scale=math.exp(math.log(ln.mean) - s2 / 2))

    ill, dis = LINES["illness"], LINES["disaster"]
    mi, qi = PayoutFunction.from_line(PRODUCT.line("illness")).moments(lognormal(ill), (1, 2))
    md, qd = PayoutFunction.from_line(PRODUCT.line("disaster")).moments(lognormal(dis), (1, 2))
    rho = shock_correlation((400.0, 29.4), (mi, md), (qi, qd), 0.3)
    assert rho == pytest.approx(0.6102, abs=5e-4)

    def totals(kappa: float) -> tuple[np.ndarray, np.ndarray]:
        claims, _, _ = simulate_fund_history(4000, 1, seed=23, heads=20_000, county_cv=0.0, year_cv=0.0,
                                             shock_cv=kappa, lines=(ill, dis))
        s = claims.pivot_table(index="county", columns="peril", values="paid", aggfunc="sum", fill_value=0.0)
        return s["illness"].to_numpy(), s["disaster"].to_numpy()

    x, y = totals(0.3)
    r = float(np.corrcoef(x, y)[0, 1])
    idx = np.random.default_rng(1).integers(0, x.size, (200, x.size))
    se = float(np.std([np.corrcoef(x[i], y[i])[0, 1] for i in idx]))
    assert 0.005 < se < 0.02
    assert abs(r - rho) < 4 * se
    x0, y0 = totals(0.0)
    assert abs(float(np.corrcoef(x0, y0)[0, 1])) < 4 / math.sqrt(4000)


def test_fund_backtest_scores_the_sum_over_lines():
    """One small replication end to end: four lines scored together, the portfolio total is the counties' sum."""
    r = run_fund_backtest(3, 4, 1, bootstrap=2, seed=3)
    s = r.scores
    assert r.n == 3 and set(s["county"]) == {"130401", "130402", "130403"}
    assert r.portfolio["actual"].iloc[0] == pytest.approx(s["actual"].sum(), rel=1e-12)
    assert (s["budget_model"] > s["mean"]).all() and s["pit"].between(0, 1).all()


def test_county_fund_plug_in_mean_is_the_sum_of_the_lines_means():
    """draws = 0: each county's fund compound has the mean Σ_l λ_lc·E[g_l(X)] (bracket lines: the credibility
    rate × next year's heads × the exact payout mean of the fitted severity) + the entry line's claims per head ×
    heads × its mean trended amount, to the grid's accuracy (1e-3 relative)."""
    from actuarial.budget import budget
    from actuarial.budget.fit import experience_line
    from actuarial.budget.inputs import Assumptions

    claims, exposure, _ = simulate_fund_history(3, 4, seed=9)
    fit_c, fit_e = claims[claims["year"] < 2023], exposure[exposure["year"] < 2023]
    heads = exposure[exposure["year"] == 2023].set_index("county")["heads"]
    a = Assumptions(expense_ratio=0.0, principle="var", bootstrap=0, default_development=False)
    res = budget(fit_c, fit_e, PRODUCT, 2023, heads=int(heads.sum()), assumptions=a)
    assert sorted(p.line_id for p in res.perils) == ["disaster", "illness", "schooling"]
    assert list(res.experience_lines["line_id"]) == ["entry"]
    preds = county_fund_predictive(res, PRODUCT, fit_c, fit_e, 2023, heads, rng=np.random.default_rng(0), draws=0)
    entry = experience_line(PRODUCT.line("entry"), fit_c[fit_c["peril"] == "entry"], fit_e, 1.0, 2023, a,
                            np.random.default_rng(0), [])
    for county, e in heads.items():
        exact = entry.events * e * entry.amounts.moment(1)
        for p in res.perils:
            rate = dict(zip(p.frequency.units, np.asarray(p.frequency.rate, dtype=float)))[county]
            g = PayoutFunction.from_line(PRODUCT.line(p.line_id))
            exact += rate * e * float(g.moments(p.severity.best.frozen(2023), (1,))[0])
        assert preds[county].mean == pytest.approx(exact, rel=1e-3)


def test_backtest_command_all_lines(tmp_path):
    from click.testing import CliRunner

    from flask_app.cli.budget import budget

    out = tmp_path / "bt"
    result = CliRunner().invoke(budget, ["backtest", "--all-lines", "--line-shock-cv", "0.3", "--counties", "3",
                                         "--years", "4", "--replications", "1", "--bootstrap", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out / "counties.csv")
    assert len(scores) == 3 and "覆盖率 / coverage" in result.output
    bad = CliRunner().invoke(budget, ["backtest", "--line-shock-cv", "0.3"])
    assert bad.exit_code == 2 and "--line-shock-cv needs --all-lines" in bad.output
    bad = CliRunner().invoke(budget, ["backtest", "--all-lines", "--severity-family", "gamma"])
    assert bad.exit_code == 2 and "不能与" in bad.output
