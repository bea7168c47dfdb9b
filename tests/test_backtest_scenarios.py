"""The misspecified variants of the simulated history (issue 17, item 5): amounts from another family with the
same mean and cv as the lognormal benchmark (mean 8,000, cv 1.5), and reporting delays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actuarial.backtest import run_backtest
from actuarial.simulation import simulate_history

MEAN, CV = 8000.0, 1.5


def first_year(family: str) -> np.ndarray:
    claims, _, _ = simulate_history(1, 1, seed=17, heads=2_000_000, county_cv=0.0, year_cv=0.0,
                                    severity_family=family)
    return claims["ground_up"].to_numpy(float)  # ≈ 40,000 events (rate 0.02)


def test_gamma_has_the_benchmark_mean_and_cv():
    x = first_year("gamma")
    se = MEAN * CV / math.sqrt(x.size)  # standard error of the mean
    assert abs(x.mean() - MEAN) < 4 * se
    assert x.std() / x.mean() == pytest.approx(CV, rel=0.05)
    # gamma shape 1/cv² = 0.444…: P(X ≤ 1,000) = regularised lower gamma, far above the lognormal's
    from scipy import stats

    assert (x <= 1000).mean() == pytest.approx(stats.gamma.cdf(1000, 1 / CV**2, scale=MEAN * CV**2), abs=0.01)


def test_lomax_has_the_benchmark_mean_and_median():
    """α = 2cv²/(cv² − 1) = 4.5/1.25 = 3.6, scale = 8,000·2.6 = 20,800; median 20,800·(2^{1/3.6} − 1)."""
    x = first_year("lomax")
    assert abs(x.mean() - MEAN) < 4 * MEAN * CV / math.sqrt(x.size)
    median = 20_800 * (2 ** (1 / 3.6) - 1)
    assert np.median(x) == pytest.approx(median, rel=0.03)


def test_report_lags():
    claims, _, _ = simulate_history(2, 3, seed=5, heads=20_000, report_delay=2.0)
    lag = claims["report_lag"].to_numpy()
    assert lag.min() >= 0
    # event quarter U{0..3} (mean 1.5) + geometric delay with mean 2 (numpy's geometric counts from 1: p = 1/3)
    assert lag.mean() == pytest.approx(1.5 + 2.0, abs=0.1)
    with pytest.raises(ValueError, match="severity_family"):
        simulate_history(1, 1, seed=1, severity_family="weibull")


def test_backtest_with_delays_fits_on_reported_claims_only():
    """One replication with reporting delays runs end to end (the fit sees only claims reported before the
    scored year, and develops them)."""
    r = run_backtest(4, 5, 1, bootstrap=2, seed=3, report_delay=2.0)
    assert r.n == 4 and 0.0 <= r.coverage <= 1.0
