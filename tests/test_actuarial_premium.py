"""Premium principles on a four-point distribution computed by hand (actuarial.md §3 step 6)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from actuarial.compound import Compound
from actuarial.premium import PRINCIPLES, band, premium_table


def four_points() -> Compound:
    """S on {0, 100, 200, 300} with P = 0.5, 0.3, 0.15, 0.05 (cdf 0.5, 0.8, 0.95, 1)."""
    pmf = np.array([0.5, 0.3, 0.15, 0.05])
    # E[S] = 0.3·100 + 0.15·200 + 0.05·300 = 30 + 30 + 15 = 75
    # E[S²] = 0.3·10⁴ + 0.15·4·10⁴ + 0.05·9·10⁴ = 3,000 + 6,000 + 4,500 = 13,500; Var = 13,500 − 75² = 7,875
    return Compound(pmf=pmf, bucket=100.0, exact_mean=75.0, exact_sd=math.sqrt(7875.0),
                    severity_table=pd.DataFrame(), perils=())


def test_every_principle_by_hand():
    dist = four_points()
    table = premium_table(dist, heads=10, expense_ratio=0.25, theta=0.10, kappa=1.0, level=0.90,
                          coc_rate=0.06, coc_level=0.99)
    assert list(table.index) == list(PRINCIPLES)
    assert list(table.columns) == ["label", "risk_premium", "total", "per_head", "prob_exceed"]
    assert table.loc["var", "label"] == "VaR 分位数原则 / value at risk"
    sd = math.sqrt(7875.0)  # 88.741…
    risk = {
        "expected_value": 1.10 * 75.0,  # (1 + θ)E[S] = 82.5
        "standard_deviation": 75.0 + sd,  # E[S] + κσ = 163.741…
        # VaR_0.9: F(100) = 0.8 < 0.9 ≤ F(200) = 0.95 → 200
        "var": 200.0,
        # TVaR_0.9 = 200 + E[(S − 200)+]/0.1 = 200 + 0.05·100/0.1 = 250 (= mean of the quantiles above 0.9:
        # ½·200 + ½·300)
        "tvar": 250.0,
        # q_0.99 = 300, TVaR_0.99 = 300 + 0 = 300; CoC = 75 + 0.06·(300 − 75) = 75 + 13.5 = 88.5
        "cost_of_capital": 88.5,
    }
    for key, value in risk.items():
        assert table.loc[key, "risk_premium"] == pytest.approx(value, rel=1e-12)
        # expense loading: total = R / (1 − 0.25); per head = total / 10
        assert table.loc[key, "total"] == pytest.approx(value / 0.75, rel=1e-12)
        assert table.loc[key, "per_head"] == pytest.approx(value / 0.75 / 10, rel=1e-12)
    # totals: EV 110, SD 218.3, VaR 266.7, TVaR 333.3, CoC 118 → P(S > total):
    # 110 and 118 → P(S ∈ {200, 300}) = 0.2; 218.3 and 266.7 → P(S = 300) = 0.05; 333.3 → 0
    expected_exceed = {"expected_value": 0.20, "standard_deviation": 0.05, "var": 0.05, "tvar": 0.0,
                       "cost_of_capital": 0.20}
    for key, value in expected_exceed.items():
        assert table.loc[key, "prob_exceed"] == pytest.approx(value, abs=1e-12)


def test_no_expenses_is_the_risk_premium():
    table = premium_table(four_points(), heads=1, expense_ratio=0.0, level=0.90)
    assert np.allclose(table["total"], table["risk_premium"])
    # default θ = 0.10 and κ = 1: EV = 82.5
    assert table.loc["expected_value", "total"] == pytest.approx(82.5)


def test_band_quantiles_per_head():
    out = band(four_points(), heads=4, probs=(0.1, 0.6, 0.9))
    # q_0.1 = 0 (F(0) = 0.5); q_0.6 = 100 (F(0) = 0.5 < 0.6 ≤ 0.8); q_0.9 = 200
    assert out.index.name == "p"
    assert list(out["total"]) == [0.0, 100.0, 200.0]
    assert list(out["per_head"]) == [0.0, 25.0, 50.0]


def test_bad_arguments_are_refused_bilingually():
    with pytest.raises(ValueError, match="费用率.*expense ratio"):
        premium_table(four_points(), heads=10, expense_ratio=1.0)
    with pytest.raises(ValueError, match="参保人数.*heads"):
        premium_table(four_points(), heads=0)
    with pytest.raises(ValueError, match="level"):
        premium_table(four_points(), heads=10, level=1.0)
