"""Coverage: g(x) of a bracket line, its inverse, and exact moments of g(X).

Acceptance 1 of issue 5 (actuarial.md §3, G1 inputs): the exact moments E[g(X)^k] agree with direct
numerical integration (scipy.integrate.quad of g(x)^k f(x) split at the breakpoints) to 1e-8
relative, for lognormal, gamma and Lomax severities on the catalog illness line.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, stats

from actuarial.coverage import PayoutFunction
from products import load_product
from products.model import Bracket, Line
from products.schedule import bracket_entitlement


@pytest.fixture(scope="module")
def illness() -> Line:
    return load_product("fangpinbao-weixian-2025").line("illness")


def _lognorm(mean: float, cv: float):
    s2 = np.log1p(cv * cv)
    return stats.lognorm(np.sqrt(s2), scale=mean * np.exp(-s2 / 2))


SEVERITIES = {
    "lognormal": _lognorm(8000.0, 1.5),
    "gamma": stats.gamma(0.8, scale=10_000.0),
    "lomax": stats.lomax(2.5, scale=12_000.0),
}


def _quad_moment(g: PayoutFunction, sev, k: int) -> float:
    top = float(g.breakpoints[-1])
    total = 0.0
    if np.isfinite(g.x_cap):  # beyond x_cap g is the constant cap: ∫ cap^k f = cap^k S(x_cap)
        pts = list(g.breakpoints)
        total += g.cap**k * sev.sf(g.x_cap)
    else:  # the open tail, split by decades for quad
        pts = list(g.breakpoints) + [top * 10.0**j for j in (1, 2, 3)] + [np.inf]
    for lo, hi in itertools.pairwise(pts):
        val, _ = integrate.quad(lambda x: g(x) ** k * sev.pdf(x), lo, hi, epsabs=0.0, epsrel=1e-13, limit=400)
        total += val
    return total


def test_from_line_reads_the_product_schedule(illness):
    g = PayoutFunction.from_line(illness)
    # catalog: 起付线 5000, 50% to 10k, 60% to 20k, 70% above, cap 50,000 yuan
    assert g.trigger == 5000.0 and g.cap == 50_000.0
    np.testing.assert_allclose(g.rate, [0.5, 0.6, 0.7])
    x_cap = 20_000 + (50_000 - 2500 - 6000) / 0.7
    np.testing.assert_allclose(g.breakpoints, [5000.0, 10_000.0, 20_000.0, x_cap])
    assert g.x_cap == pytest.approx(x_cap) and g.max_payout == 50_000.0 and g.y_min == 0.0


def test_g_matches_the_engine_schedule_in_fen(illness):
    """One schedule: the float g agrees with products.schedule (integer fen, rounded) to the fen."""
    g = PayoutFunction.from_line(illness)
    rng = np.random.default_rng(5)
    base_fen = np.concatenate([rng.integers(0, 15_000_000, 20_000), [0, 499_999, 500_000, 500_001, 1_000_000,
                                                                      2_000_000, 7_928_571, 7_928_572]])
    engine = bracket_entitlement(base_fen, illness).entitlement / 100.0
    np.testing.assert_allclose(g(base_fen / 100.0), engine, atol=0.005 + 1e-9, rtol=0)


def test_g_scalar_and_vector(illness):
    g = PayoutFunction.from_line(illness)
    assert g(5000.0) == 0.0 and g(10_000.0) == 2500.0 and g(1e9) == 50_000.0
    assert isinstance(g(12_000.0), float)
    assert g(np.array([[4000.0, 20_000.0]])).shape == (1, 2)


@pytest.mark.parametrize("name", sorted(SEVERITIES))
def test_exact_moments_against_quadrature(illness, name):
    g = PayoutFunction.from_line(illness)
    sev = SEVERITIES[name]
    exact = g.moments(sev, (1, 2, 3))
    for k, value in zip((1, 2, 3), exact):
        ref = _quad_moment(g, sev, k)
        assert abs(value / ref - 1) < 1e-8, (name, k, value, ref)
    assert g.moments(sev, 1) == pytest.approx(exact[0], rel=1e-15)
    assert g.var(sev) == pytest.approx(exact[1] - exact[0] ** 2, rel=1e-12)


@pytest.mark.parametrize("line_id", ["illness", "schooling", "disaster"])
def test_lomax_closed_form_on_every_catalog_line(line_id):
    """Lomax partial moments via T = X/(λ + X) ~ Beta(1, α) against quadrature of g(x)^k f(x), for a heavy tail
    (α = 2.4: no third moment of X, but g is capped), a light one and an almost exponential one."""
    g = PayoutFunction.from_line(load_product("fangpinbao-weixian-2025").line(line_id))
    for alpha, scale in ((2.4, 11_700.0), (3.5, 2_000.0), (40.0, 300_000.0)):
        sev = stats.lomax(alpha, scale=scale)
        for k, value in zip((1, 2, 3), g.moments(sev, (1, 2, 3))):
            assert value == pytest.approx(_quad_moment(g, sev, k), rel=1e-9), (alpha, k)


def test_lev_is_the_limited_moment(illness):
    g = PayoutFunction.from_line(illness)
    sev = SEVERITIES["lognormal"]
    kinks = [10_000, 20_000, 32_857.142857]
    ref, _ = integrate.quad(lambda x: min(g(x), 10_000.0) * sev.pdf(x), 5000, 1e7, points=kinks,
                            limit=400, epsabs=0, epsrel=1e-12)
    ref += 10_000.0 * sev.sf(1e7)
    assert g.lev(sev, 10_000.0) == pytest.approx(ref, rel=1e-8)
    assert g.lev(sev, 1e12) == pytest.approx(g.mean(sev), rel=1e-14)


def test_inverse_round_trips(illness):
    g = PayoutFunction.from_line(illness)
    y = np.linspace(1.0, 49_999.0, 1001)
    np.testing.assert_allclose(g(g.inverse(y)), y, rtol=1e-12)
    x = np.linspace(5000.5, g.x_cap - 0.5, 1001)
    np.testing.assert_allclose(g.inverse(g(x)), x, rtol=1e-12)
    assert g.inverse(-1.0) == -np.inf
    assert g.inverse(0.0) == 5000.0  # F_Y(0) = F_X(trigger): the atom at 0
    assert g.inverse(50_000.0) == np.inf  # the atom at the cap
    sev = SEVERITIES["gamma"]
    assert g.cdf(0.0, sev) == pytest.approx(sev.cdf(5000.0))
    assert g.sf(49_999.999, sev) == pytest.approx(sev.sf(g.x_cap), rel=1e-6)


def _line(**kw) -> Line:
    base = {"id": "t", "peril": "illness", "basis": "person", "name": "t", "kind": "bracket", "source": "medical"}
    base.update(kw)
    return Line(**base)


def test_atom_at_trigger_above_start_line():
    """预警线 above the 起付线: g jumps at the trigger, F_Y is flat on [0, g(trigger+))."""
    line = _line(start_line=300_000, trigger=500_000, brackets=(Bracket(300_000, None, 5000),), cap_per_year=2_000_000)
    g = PayoutFunction.from_line(line)
    assert g.y_min == 1000.0 and g.start_line == 3000.0
    assert g(5000.0) == 0.0 and g(5000.01) == pytest.approx(1000.005)
    np.testing.assert_array_equal(g.inverse(np.array([0.0, 500.0, 999.99])), [5000.0] * 3)
    assert g.inverse(1000.0) == 5000.0 and g.inverse(1500.0) == pytest.approx(6000.0)
    sev = SEVERITIES["lognormal"]
    ref = _quad_moment(g, sev, 1), _quad_moment(g, sev, 2)
    np.testing.assert_allclose(g.moments(sev, (1, 2)), ref, rtol=1e-8)


def test_uncapped_open_line_and_generic_family():
    line = _line(start_line=800_000, trigger=800_000, brackets=(Bracket(800_000, None, 8000),))
    g = PayoutFunction.from_line(line)
    assert g.max_payout == np.inf and g.x_cap == np.inf
    assert g.inverse(800.0) == pytest.approx(9000.0)
    sev = stats.weibull_min(0.9, scale=6000.0)  # no closed form: quadrature path
    np.testing.assert_allclose(g.moments(sev, (1, 2)), [_quad_moment(g, sev, 1), _quad_moment(g, sev, 2)], rtol=1e-8)


def test_rejects_non_bracket_line():
    line = load_product("fangpinbao-weixian-2025").line("entry")
    with pytest.raises(ValueError, match="bracket"):
        PayoutFunction.from_line(line)
