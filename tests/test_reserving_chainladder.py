"""Chain ladder, Mack and the exponential tail on triangles as they come, against chainladder-python 0.10.1.

The triangles in ``tests/data/triangles/`` are chainladder-python's bundled samples (see the README there for
sources and licence); ``reference.json`` was written once by ``benchmarks/chainladder_reference.py`` with
chainladder 0.10.1 (``Development(sigma_interpolation=…)`` + ``MackChainladder``, and ``TailCurve(curve=
"exponential")``).  They cover: clean cumulative triangles (RAA, ABC, GenIns), a claim-count triangle whose
older origins miss their early ages (XYZ reported counts) with zero σ² at late ages, zero cells (CLRD Golden
Bear other liability: paid 4 → 0 → … → 1), and negative cumulative cells (CLRD American Contractors, Louisiana
Medical Mutual).

Comparison: every array to 1e-8 of its own scale (``rtol=1e-8, atol=1e-8·max|ref|``: a σ of 1e-161 next to one
of 8 is 0 at that scale); chainladder's NaN σ and SE are 0 in its own sums (``nan_to_num``) and compared as 0.
With ``chainladder_compatible=True`` every triangle and both σ rules agree.  In the default conventions three
cases differ, each checked by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from actuarial.reserving import bornhuetter_ferguson, chain_ladder, count_development

DATA = Path(__file__).parent / "data" / "triangles"
REFERENCE = json.loads((DATA / "reference.json").read_text(encoding="utf-8"))["triangles"]
NAMES = sorted(REFERENCE)
#: (triangle, σ rule) where this project's default conventions differ from chainladder's (tests below).
DIFFER = {("xyz_reported_counts", "log-linear"), ("clrd_zero_golden_bear_othliab", "log-linear"),
          ("clrd_negative_louisiana_medmal", "log-linear")}


def load(name: str) -> np.ndarray:
    return pd.read_csv(DATA / f"{name}.csv", index_col="origin").to_numpy(float)


def close(ours, ref) -> None:
    ref = np.nan_to_num(np.array([np.nan if v is None else v for v in np.atleast_1d(ref)], dtype=float))
    ours = np.atleast_1d(np.asarray(ours, dtype=float))
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-8 * np.max(np.abs(ref)))


def test_the_data_is_what_the_readme_says():
    assert len(NAMES) == 9
    xyz = load("xyz_reported_counts")
    assert np.isnan(xyz[0, :3]).all() and xyz[0, 3] == 634  # 1998: first observed at 48 months
    bear = load("clrd_zero_golden_bear_othliab")
    assert bear[0, :6].tolist() == [4, 0, 0, 0, 0, 1]  # zero cumulative cells
    assert (load("clrd_negative_american_contractors_othliab") < 0).sum() == 3


@pytest.mark.parametrize("sigma", ["mack", "log-linear"])
@pytest.mark.parametrize("name", NAMES)
def test_chainladder_compatible_matches(name, sigma):
    ref = REFERENCE[name][sigma]
    r = chain_ladder(load(name), sigma_extrapolation=sigma, chainladder_compatible=True)
    close(r.ldf, ref["ldf"])
    close(np.sqrt(r.sigma2), ref["sigma"])
    close(r.ultimate, ref["ultimate"])
    close(r.ibnr, ref["ibnr"])
    close(r.mack_se, ref["mack_se"])
    close(r.mack_se_total, ref["mack_se_total"])


@pytest.mark.parametrize("sigma", ["mack", "log-linear"])
@pytest.mark.parametrize("name", NAMES)
def test_default_conventions_match_or_differ_where_documented(name, sigma):
    ref = REFERENCE[name][sigma]
    r = chain_ladder(load(name), sigma_extrapolation=sigma)
    close(r.ldf, ref["ldf"])  # factors and ultimates never differ
    close(r.ultimate, ref["ultimate"])
    if (name, sigma) in DIFFER:
        return
    close(np.sqrt(r.sigma2), ref["sigma"])
    close(r.mack_se, ref["mack_se"])
    close(r.mack_se_total, ref["mack_se_total"])


def test_zero_sigma_is_left_out_of_the_log_linear_fit():
    """XYZ counts: σ² = 0 at ages 7 and 8 (every link ratio there is 1); the last σ² (one link) is filled from
    the least-squares line of log σ_k on k + 1 over ages 0–6 only (chainladder takes log 1e-320 ≈ −736.8 for
    the zeros and its line gives σ ≈ 0)."""
    r = chain_ladder(load("xyz_reported_counts"), sigma_extrapolation="log-linear")
    assert r.sigma2[7] == pytest.approx(0.0, abs=1e-20) and r.sigma2[8] == pytest.approx(0.0, abs=1e-20)
    ages = np.arange(1.0, 8.0)
    slope, intercept = np.polyfit(ages, 0.5 * np.log(r.sigma2[:7]), 1)
    assert r.sigma2[9] == pytest.approx(np.exp(2 * (intercept + slope * 10.0)), rel=1e-10)
    assert r.sigma2[9] > 1e-4  # a σ of the size of its neighbours, not 1e-300
    assert any("log-linear" in n for n in r.notes)


def test_golden_bear_log_linear_differs_only_by_the_zero_sigma():
    """Golden Bear: σ²_7 = 0; with it left out, σ²_8 is filled from ages 0–6 and the SE of the origins
    still developing at age 8 grow; chainladder's 1e-320 stand-in gives σ_8 ≈ 2e-161."""
    c = load("clrd_zero_golden_bear_othliab")
    ours, compat = chain_ladder(c, sigma_extrapolation="log-linear"), chain_ladder(
        c, sigma_extrapolation="log-linear", chainladder_compatible=True)
    assert np.sqrt(compat.sigma2[8]) < 1e-150
    slope, intercept = np.polyfit(np.arange(1.0, 8.0), 0.5 * np.log(ours.sigma2[:7]), 1)
    assert ours.sigma2[8] == pytest.approx(np.exp(2 * (intercept + slope * 9.0)), rel=1e-10)
    np.testing.assert_allclose(ours.sigma2[:8], compat.sigma2[:8], rtol=1e-12, atol=1e-12)


def test_louisiana_filled_sigma_uses_the_column_sum():
    """Louisiana medmal, age 0: σ²_0 from Σ(y − f x)²/x/(n − 1) is negative (negative cells), so it is filled
    (log-linear).  Mack's parameter term is σ²_0/f_0² · Ĉ²/S_0 with S_0 the column sum of the links; chainladder
    divides a filled σ² by the oldest origin's cell C_00 instead.  Only the youngest origin (the one still at
    age 0) develops through age 0, so only its mse differs, by U² σ²_0/f_0² (1/S_0 − 1/C_00)."""
    c = load("clrd_negative_louisiana_medmal")
    ours = chain_ladder(c, sigma_extrapolation="log-linear")
    compat = chain_ladder(c, sigma_extrapolation="log-linear", chainladder_compatible=True)
    np.testing.assert_allclose(ours.mack_se[:-1], compat.mack_se[:-1], rtol=1e-12)
    s0 = sum(c[i, 0] for i in range(c.shape[0] - 1) if c[i, 0] != 0 and c[i, 1] != 0)  # links at age 0
    u = ours.ultimate[-1]
    extra = u**2 * ours.sigma2[0] / ours.ldf[0] ** 2 * (1 / s0 - 1 / c[0, 0])
    assert ours.mack_se[-1] ** 2 - compat.mack_se[-1] ** 2 == pytest.approx(extra, rel=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_exponential_tail_matches(name):
    ref = REFERENCE[name]["tail_exponential"]
    r = chain_ladder(load(name), tail="exponential")
    assert r.tail == pytest.approx(ref["tail"], rel=1e-8)
    close(r.ultimate, ref["ultimate"])
    assert any("exponential decay" in n for n in r.notes)


def test_tail_by_hand_on_raa():
    """RAA: log(f_k − 1) on k + 1 = 1…9 by least squares, t = Π_{x=10}^{109} (1 + exp(a + b·x))."""
    r0 = chain_ladder(load("raa"))
    a_b = np.polyfit(np.arange(1.0, 10.0), np.log(r0.ldf - 1), 1)
    t = np.prod([1 + np.exp(a_b[1] + a_b[0] * x) for x in range(10, 110)])
    r = chain_ladder(load("raa"), tail="exponential")
    assert r.tail == pytest.approx(t, rel=1e-12)
    np.testing.assert_allclose(r.ultimate, r0.ultimate * t, rtol=1e-12)
    given = chain_ladder(load("raa"), tail=1.05)
    np.testing.assert_allclose(given.ultimate, r0.ultimate * 1.05, rtol=1e-12)
    bf = bornhuetter_ferguson(load("raa"), 20_000.0, tail=1.05)
    assert bf.ibnr[0] == pytest.approx(20_000.0 * (1 - 1 / 1.05))  # oldest origin: only the tail is left


def test_tail_refusals_are_precise():
    with pytest.raises(ValueError, match="≥ 1"):
        chain_ladder(load("raa"), tail=0.9)
    flat = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, np.nan], [1.0, np.nan, np.nan]])
    with pytest.raises(ValueError, match="two factors above"):
        chain_ladder(flat, tail="exponential")


def test_log_linear_without_two_positive_sigmas_falls_back_to_mack():
    """Three origins: σ²_0 from two links, σ²_1 from one link: no line through one point.  Mack's rule then
    gives σ²_1 = σ²_0 (the second age copies the first), and a note says so.
    f_0 = (110 + 230)/(100 + 200) = 340/300; σ²_0 = [(110 − f·100)²/100 + (230 − f·200)²/200] / 1."""
    c = np.array([[100.0, 110.0, 115.0], [200.0, 230.0, np.nan], [300.0, np.nan, np.nan]])
    r = chain_ladder(c, sigma_extrapolation="log-linear")
    f0 = 340 / 300
    s2 = (110 - f0 * 100) ** 2 / 100 + (230 - f0 * 200) ** 2 / 200
    assert r.sigma2[0] == pytest.approx(s2, rel=1e-12)
    assert r.sigma2[1] == pytest.approx(s2, rel=1e-12)
    assert any("Mack's rule used instead" in n for n in r.notes)
    zero = np.array([[100.0, 110.0, 110.0], [200.0, 220.0, np.nan], [300.0, np.nan, np.nan]])  # σ²_0 = 0
    r = chain_ladder(zero, sigma_extrapolation="log-linear")
    np.testing.assert_allclose(r.sigma2, [0.0, 0.0], atol=1e-20)  # 0 up to the rounding of f = 1.1
    assert r.mack_se_total < 1e-10


def test_count_triangle_with_zeros_and_an_age_without_links():
    """Claim counts: no claim reported in the first quarter of any year, so age 0 has no link between non-zero
    cells: f_0 = 1 is assumed (noted); the latest year, still at age 0 with 0 claims, projects to 0."""
    c = np.array([[0.0, 3.0, 5.0, 5.0], [0.0, 4.0, 6.0, np.nan], [0.0, 2.0, np.nan, np.nan], [0.0] + [np.nan] * 3])
    r = chain_ladder(c)
    assert r.ldf[0] == 1.0 and any("no link" in n for n in r.notes)
    assert r.ldf[1] == pytest.approx((5 + 6) / (3 + 4))
    assert r.ultimate[3] == 0.0 and r.mack_se[3] == 0.0
    assert r.ultimate[2] == pytest.approx(2 * 11 / 7 * 1.0)  # 2 · f_1 · f_2, f_2 = 5/5
    dev = count_development([2021] * 5 + [2022] * 3, [1, 1, 2, 5, 6, 2, 3, 3])
    assert dev.table["reported"].tolist() == [5.0, 3.0]


def test_refusals_name_the_problem():
    with pytest.raises(ValueError, match="no observed cell"):
        chain_ladder(np.array([[1.0, 2.0], [np.nan, np.nan]]))
    with pytest.raises(ValueError, match="finite"):
        chain_ladder(np.array([[1.0, np.inf], [1.0, np.nan]]))
