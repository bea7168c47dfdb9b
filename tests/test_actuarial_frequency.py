"""Frequency credibility (actuarial.md §3 steps 4–5): Bühlmann–Straub rates per unit, parameter and year cvs.

Every expected value is worked out by hand in the comments (Bühlmann & Gisler, *A Course in Credibility
Theory*, ch. 4, for the estimators) or is the simulation's true parameter.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from actuarial.frequency import FrequencyFit, fit_frequency

NAN = np.nan

# 3 counties × 4 years; county C has no data in year 4.
#            claims N_ct            heads E_ct              rates r_ct = N/E
# A:  2,  4,  2,  4        100, 100, 100, 100        .02, .04, .02, .04
# B:  8,  8, 12, 12        200, 200, 200, 200        .04, .04, .06, .06
# C:  7,  9,  8,  –        100, 100, 100,   –        .07, .09, .08,  –
COUNTS = np.array([[2, 4, 2, 4], [8, 8, 12, 12], [7, 9, 8, NAN]], dtype=float)
HEADS = np.array([[100, 100, 100, 100], [200, 200, 200, 200], [100, 100, 100, NAN]], dtype=float)
UNITS = ["A", "B", "C"]
YEARS = [2021, 2022, 2023, 2024]


def test_hand_computed_buhlmann_straub_example():
    fit = fit_frequency(COUNTS, HEADS, units=UNITS, years=YEARS)
    # w_c = ΣE: 400, 800, 300 (w = 1500); r̄_c = ΣN/ΣE: 12/400 = .03, 40/800 = .05, 24/300 = .08
    # ŝ² = ΣΣ E (r − r̄_c)² / Σ(n_c − 1)
    #    = [100·(.01²·4) + 200·(.01²·4) + 100·(.01² + .01² + 0)] / (3 + 3 + 2) = (.04 + .08 + .02)/8 = .0175
    s2 = 0.14 / 8
    # r̄_w = 76/1500 = .050667;  Σ w_c (r̄_c − r̄_w)² = 400·.020667² + 800·.000667² + 300·.029333² = .429333
    # w − Σ w_c²/w = 1500 − (400² + 800² + 300²)/1500 = 1500 − 593.333 = 906.667
    # â = (.429333 − 2·.0175)/906.667 = .394333/906.667 = 4.34926e-4
    rbar_w = 76 / 1500
    between = (400 * (0.03 - rbar_w) ** 2 + 800 * (0.05 - rbar_w) ** 2 + 300 * (0.08 - rbar_w) ** 2
               - 2 * s2) / (1500 - (400**2 + 800**2 + 300**2) / 1500)
    assert between == pytest.approx(4.34926e-4, rel=1e-5)
    # K = ŝ²/â = 40.2367;  z_c = w_c/(w_c + K) = .908602, .952113, .881739
    k = s2 / between
    z = np.array([400 / (400 + k), 800 / (800 + k), 300 / (300 + k)])
    np.testing.assert_allclose(z, [0.908602, 0.952113, 0.881739], atol=1e-6)
    # m̂ = Σ z r̄ / Σ z = (.908602·.03 + .952113·.05 + .881739·.08)/2.742454 = .053019
    m = (z[0] * 0.03 + z[1] * 0.05 + z[2] * 0.08) / z.sum()
    assert m == pytest.approx(0.053019, abs=1e-6)
    # λ̂ = z r̄ + (1 − z) m̂ = .032104, .050145, .076809
    rate = z * np.array([0.03, 0.05, 0.08]) + (1 - z) * m
    np.testing.assert_allclose(rate, [0.032104, 0.050145, 0.076809], atol=1e-6)

    assert fit.within_variance == pytest.approx(s2, rel=1e-12)
    assert fit.between_variance == pytest.approx(between, rel=1e-12)
    np.testing.assert_allclose(fit.z, z, rtol=1e-12)
    assert fit.collective == pytest.approx(m, rel=1e-12)
    np.testing.assert_allclose(fit.rate, rate, rtol=1e-12)
    # parameter cv = sqrt((1 − z) â)/λ̂:  A: sqrt(.091398·4.34926e-4)/.032104 = .19639
    np.testing.assert_allclose(fit.parameter_cv, np.sqrt((1 - z) * between) / rate, rtol=1e-12)
    assert fit.parameter_cv[0] == pytest.approx(0.19639, abs=1e-5)
    # the unweighted mean of the credibility rates is m̂ (Σ z_c (r̄_c − m̂) = 0 by the definition of m̂)
    assert fit.rate.mean() == pytest.approx(m, rel=1e-12)
    # year rates R_t = ΣN/ΣE: 17/400, 21/400, 22/400, 16/300 → sample var 3.19e-5 < Poisson part
    # mean(R)/mean(ΣE) = .050833/375 = 1.36e-4, so the systemic part is 0 and the cv is the floor
    np.testing.assert_allclose(fit.year_rates.to_numpy(), [17 / 400, 21 / 400, 22 / 400, 16 / 300])
    assert fit.year_cv == 0.0
    assert fit_frequency(COUNTS, HEADS, year_cv_floor=0.1).year_cv == 0.1
    np.testing.assert_allclose(fit.mixing_cv(), fit.parameter_cv)

    table = fit.table
    assert list(table.index) == UNITS and list(fit.years) == YEARS
    assert list(table.columns) == ["years", "heads", "claims", "raw_rate", "z", "rate", "parameter_cv"]
    assert table["years"].tolist() == [4, 4, 3]
    assert table["heads"].tolist() == [400, 800, 300] and table["claims"].tolist() == [12, 40, 24]
    np.testing.assert_allclose(table["raw_rate"], [0.03, 0.05, 0.08])
    assert fit.credibility is not None and fit.credibility.method == "unbiased"


def test_long_frame_gives_the_same_fit():
    rows = [
        {"county": u, "year": y, "claims": COUNTS[i, j], "heads": HEADS[i, j]}
        for i, u in enumerate(UNITS) for j, y in enumerate(YEARS) if not np.isnan(COUNTS[i, j])
    ]
    frame = pd.DataFrame(rows)
    long = fit_frequency(frame)
    wide = fit_frequency(COUNTS, HEADS)
    assert list(long.units) == UNITS and list(long.years) == YEARS
    np.testing.assert_allclose(long.rate, wide.rate, rtol=1e-14)
    # canonical names, and two rows of the same county-year are added up
    split = pd.concat([frame.assign(claims=frame.claims / 2, heads=frame.heads / 2)] * 2)
    canonical = split.rename(columns={"county": "unit", "claims": "count"})
    np.testing.assert_allclose(fit_frequency(canonical).rate, wide.rate, rtol=1e-12)
    # wide DataFrames carry their labels
    wide_frame = fit_frequency(pd.DataFrame(COUNTS, index=UNITS, columns=YEARS),
                               pd.DataFrame(HEADS, index=UNITS, columns=YEARS))
    assert list(wide_frame.units) == UNITS and list(wide_frame.years) == YEARS


def test_iterative_method_is_passed_through():
    fit = fit_frequency(COUNTS, HEADS, method="iterative")
    assert fit.credibility.method == "iterative" and fit.credibility.iterations > 0
    # fixed point of the Bichsel–Straub estimator: â = Σ z_c (r̄_c − m̂)² / (C − 1)
    rbar = np.array([0.03, 0.05, 0.08])
    assert fit.between_variance == pytest.approx(
        np.sum(fit.z * (rbar - fit.collective) ** 2) / 2, rel=1e-6)


def test_single_unit():
    # one county, N = 10, 12, 8 on 1000 heads a year: λ̂ = 30/3000 = .01, z = 1,
    # ŝ² = 1000·(0² + .002² + .002²)/(3 − 1) = .004, parameter cv = sqrt(1/ΣN) = sqrt(1/30) = .182574
    fit = fit_frequency([[10, 12, 8]], [[1000, 1000, 1000]], units=["430102"])
    assert fit.rate.tolist() == [pytest.approx(0.01)]
    assert fit.z.tolist() == [1.0] and fit.collective == pytest.approx(0.01)
    assert math.isnan(fit.between_variance) and fit.credibility is None
    assert fit.within_variance == pytest.approx(0.004)
    assert fit.parameter_cv[0] == pytest.approx(math.sqrt(1 / 30))
    # year rates .010, .012, .008: sample var 4e-6 < Poisson part .01/1000 = 1e-5 → 0
    assert fit.year_cv == 0.0
    assert fit.expected_count(2000).tolist() == [pytest.approx(20.0)]
    # 1-D input = one unit's years; a single year: ŝ² is not estimable
    one_year = fit_frequency([5.0], [500.0])
    assert one_year.rate[0] == pytest.approx(0.01) and math.isnan(one_year.within_variance)
    assert fit_frequency([[0, 0]], [[100, 100]]).parameter_cv.tolist() == [0.0]


def test_year_cv_on_a_constructed_series_and_no_between_variance():
    # two counties with 4000 and 6000 heads every year and the same rate each year:
    # ΣN_t = 400, 500, 600, 500 on ΣE_t = 10,000 → R_t = .04, .05, .06, .05
    counts = np.array([[160, 200, 240, 200], [240, 300, 360, 300]], dtype=float)
    heads = np.array([[4000] * 4, [6000] * 4], dtype=float)
    fit = fit_frequency(counts, heads)
    # mean R = .05; sample var = (.01² + 0 + .01² + 0)/3 = 6.6667e-5; Poisson part .05/10,000 = 5e-6
    # var_year = 6.1667e-5 → cv = sqrt(6.1667e-5)/.05 = .0078528/.05 = .157056
    assert fit.year_cv == pytest.approx(math.sqrt(2e-4 / 3 - 0.05 / 10_000) / 0.05, rel=1e-12)
    assert fit.year_cv == pytest.approx(0.157056, abs=1e-6)
    assert fit_frequency(counts, heads, year_cv_floor=0.2).year_cv == 0.2
    assert fit_frequency(counts[:, :2], heads[:, :2]).year_cv == 0.0   # < 3 years: the floor
    # both counties have r̄ = .05: Σ w_c (r̄_c − r̄)² = 0 so â = (0 − ŝ²)/… < 0 → â = 0, z = 0, λ̂ = m̂ = .05
    assert fit.between_variance == 0.0
    assert fit.z.tolist() == [0.0, 0.0]
    np.testing.assert_allclose(fit.rate, [0.05, 0.05])
    assert fit.parameter_cv.tolist() == [0.0, 0.0]
    np.testing.assert_allclose(fit.mixing_cv(), [0.157056, 0.157056], atol=1e-6)
    assert any("â ≤ 0" in note for note in fit.notes)


def test_every_unit_with_one_year_uses_poisson_within_variance():
    # N = 10, 20, 60 on 1000 heads each (one year): r̄ = .01, .02, .06; ŝ² = m̂ = r̄_w = .03 (Poisson–gamma)
    # â = (1000·(.02² + .01² + .03²) − 2·.03)/(3000 − 3·1000²/3000) = (1.4 − .06)/2000 = 6.7e-4
    # z = 1000/(1000 + .03/6.7e-4) = 1000/1044.776 = .957143 (equal weights: m̂ = .03)
    fit = fit_frequency([[10], [20], [60]], [[1000], [1000], [1000]])
    a = 1.34 / 2000
    z = 1000 / (1000 + 0.03 / a)
    assert fit.within_variance == pytest.approx(0.03)
    assert fit.between_variance == pytest.approx(a)
    np.testing.assert_allclose(fit.z, [z] * 3)
    np.testing.assert_allclose(fit.rate, z * np.array([0.01, 0.02, 0.06]) + (1 - z) * 0.03)
    assert fit.credibility.method == "poisson-gamma" and fit.notes


def test_a_unit_with_one_year_is_credibility_weighted():
    # county D with a single year joins the 3 × 4 example: it adds nothing to ŝ² (n_D − 1 = 0)
    counts = np.vstack([COUNTS, [NAN, NAN, NAN, 3]])
    heads = np.vstack([HEADS, [NAN, NAN, NAN, 50]])
    fit = fit_frequency(counts, heads)
    assert fit.within_variance == pytest.approx(0.14 / 8)
    k = fit.within_variance / fit.between_variance
    assert fit.z[3] == pytest.approx(50 / (50 + k))
    assert fit.table["years"].tolist() == [4, 4, 3, 1]


def test_recovery_on_simulated_poisson_gamma_counts():
    # 40 counties × 6 years; county rate λ_c ~ gamma(mean .05, cv .3); N_ct ~ Poisson(λ_c E_ct)
    rng = np.random.default_rng(20260101)
    n_units, n_years, mean, cv = 40, 6, 0.05, 0.3
    lam = rng.gamma(1 / cv**2, mean * cv**2, n_units)
    heads = rng.integers(200, 2000, (n_units, n_years)).astype(float)
    counts = rng.poisson(lam[:, None] * heads).astype(float)
    fit = fit_frequency(counts, heads)
    # SE of the mean of λ̂ ≈ sqrt(Var λ / C + E[λ]/ΣE) = sqrt((.05·.3)²/40 + .05/264,000) = .00238
    se = math.sqrt((mean * cv) ** 2 / n_units + mean / heads.sum())
    assert abs(fit.rate.mean() - mean) < 3 * se
    # Poisson within variance per head is λ, so ŝ² estimates E[λ] = .05; ŝ² averages C(T − 1) = 200
    # squared residuals, each ≈ λ·χ²₁, relative SE ≈ sqrt(2/200) = .1
    assert abs(fit.within_variance - mean) < 3 * mean * math.sqrt(2 / (n_units * (n_years - 1)))
    assert fit.between_variance > 0 and np.all((fit.z > 0) & (fit.z < 1))
    # credibility pulls every raw rate towards m̂
    raw = counts.sum(axis=1) / heads.sum(axis=1)
    assert np.all(np.abs(fit.rate - fit.collective) <= np.abs(raw - fit.collective) + 1e-15)
    heads_next = pd.Series(heads[:, -1], index=fit.units)
    np.testing.assert_allclose(fit.expected_count(heads_next), fit.rate * heads[:, -1])


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([[1, -2]], [[10, 10]]), {}, "不能为负.*non-negative"),
        (([[1, 2]], [[10, 10, 10]]), {}, "heads shape"),
        (([[1, 2], [NAN, NAN]], [[10, 10], [NAN, NAN]]), {"units": ["a", "b"]}, r"units without any data: \['b'\]"),
        (([[1, 2]], [[10, 10]]), {"method": "bayes"}, "method must be"),
        ((pd.DataFrame({"unit": ["a"], "year": [2024], "count": [1]}),), {}, "missing column 'heads'"),
        (([[1, 2]],), {}, "heads is required"),
        (([[1, 2]], [[10, np.inf]]), {}, "infinite"),
        (([[1, 2]], [[10, 10]]), {"units": ["a", "b"]}, "2 unit labels for 1"),
    ],
)
def test_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_frequency(*args, **kwargs)


def test_expected_count_checks_units():
    fit = fit_frequency(COUNTS, HEADS, units=UNITS)
    with pytest.raises(ValueError, match="heads missing for units"):
        fit.expected_count(pd.Series([1.0, 2.0], index=["A", "B"]))
    with pytest.raises(ValueError, match="one value per unit"):
        fit.expected_count([1.0, 2.0])
    assert isinstance(fit, FrequencyFit)
