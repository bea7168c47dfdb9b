"""The grid of ``compound_distribution`` (issue 17, acceptance 2): ``log2`` alone, the default grid covering
E[S] + 12 sd, refinement of a result that fails its validation (or a warning naming the error), and a product
line given as the mapping a product document writes.

Exact moments are computed here, independently of the code, from the compound Poisson formulas

    E[S] = λ·E[Y],   Var[S] = λ·E[Y²]

with E[Y^k] of the payout per event Y = g(X) by numerical integration of the hand-written schedule g (or, for
ground-up lognormal X, in closed form E[X] = exp(μ + σ²/2), E[X²] = exp(2μ + 2σ²)).

Case B of actuarial.md §2: X ~ lognormal(mean 8,000, CV 1.5); tiers 0.5 on 5k–20k, 0.7 on 20k–50k, 0.9 on
50k–100k, so the most one event pays is 0.5·15,000 + 0.7·30,000 + 0.9·50,000 = 7,500 + 21,000 + 45,000 = 73,500.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from actuarial.aggregate import compound_distribution
from actuarial.compound import CompoundAccuracyWarning, default_bucket, line_of
from products.loader import ProductError

SIGMA2 = math.log1p(1.5**2)  # CV 1.5: σ² = log(1 + CV²)
MU = math.log(8000.0) - SIGMA2 / 2  # mean 8,000 = exp(μ + σ²/2)
SEVERITY = stats.lognorm(math.sqrt(SIGMA2), scale=math.exp(MU))

#: Case B as a product document writes the line (yuan): the cap 73,500 is where the last tier ends (x = 100,000).
LINE_B = {"id": "illness", "peril": "illness", "basis": "person", "start_line": 5000,
          "brackets": [{"upto": 20000, "rate": 0.5}, {"upto": 50000, "rate": 0.7}, {"upto": None, "rate": 0.9}],
          "caps": {"per_year": 73500}}
CAP_B = 73_500.0


def g_b(x: float) -> float:
    """Case B by hand: 0.5 of (x − 5,000) up to 20,000, 0.7 of the part 20k–50k, 0.9 above, at most 73,500."""
    if x <= 5000:
        return 0.0
    paid = 0.5 * (min(x, 20000) - 5000) + 0.7 * max(min(x, 50000) - 20000, 0) + 0.9 * max(x - 50000, 0)
    return min(paid, CAP_B)


def payout_moment(k: int) -> float:
    """E[Y^k] = ∫ g(x)^k f(x) dx over 5k–100k (piece by piece) + 73,500^k · P(X > 100,000)."""
    knots = (5000.0, 20000.0, 50000.0, 100000.0)
    body = sum(integrate.quad(lambda x: g_b(x) ** k * SEVERITY.pdf(x), lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
               for lo, hi in zip(knots, knots[1:]))
    return body + CAP_B**k * float(SEVERITY.sf(100000.0))


def test_case_b_hand_moments_match_section_2():
    """The hand integration reproduces actuarial.md §2 at λ = 1,000: mean 2,470,896.2, sd 226,884.1."""
    assert 1000 * payout_moment(1) == pytest.approx(2_470_896.2, abs=0.1)
    assert math.sqrt(1000 * payout_moment(2)) == pytest.approx(226_884.1, abs=0.1)


def test_lambda_5000_default_grid_is_valid_within_1e_4():
    """λ = 5,000 on case B: the default bucket (250) misses the mean by −1.4e-4, so it is refined until valid."""
    lam = 5000.0
    mean = lam * payout_moment(1)  # E[S] = λE[Y]
    sd = math.sqrt(lam * payout_moment(2))  # Var[S] = λE[Y²]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompoundAccuracyWarning)
        c = compound_distribution({"dist": "poisson", "mean": lam}, SEVERITY, LINE_B)
    assert c.valid
    assert abs(c.mean / mean - 1) < 1e-4 and abs(c.sd / sd - 1) < 1e-4
    assert c.bucket < 250  # finer than the first default (span/2^16 rounded down to 250)
    assert c.pmf.size * c.bucket >= mean + 12 * sd


@pytest.mark.parametrize("log2", [10, 12, 14, 16])
def test_log2_alone_covers_the_span(log2):
    """Ground-up lognormal, λ = 100: log2 alone chooses a bucket whose 2^log2 points cover E[S] + 12 sd."""
    lam = 100.0
    mean = lam * math.exp(MU + SIGMA2 / 2)  # λE[X], E[X] = exp(μ + σ²/2) = 8,000
    sd = math.sqrt(lam * math.exp(2 * MU + 2 * SIGMA2))  # √(λE[X²]), E[X²] = exp(2μ + 2σ²)
    assert mean == pytest.approx(800_000.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = compound_distribution({"dist": "poisson", "mean": lam}, SEVERITY, None, log2=log2)
    assert c.pmf.size == 2**log2
    assert c.pmf.size * c.bucket >= mean + 12 * sd
    if log2 >= 14:
        assert not caught
        assert abs(c.mean / mean - 1) < 1e-4 and abs(c.sd / sd - 1) < 1e-4
    else:  # a grid this short is not accurate enough: it says so, naming the error
        assert c.valid is False
        assert [w.category for w in caught] == [CompoundAccuracyWarning]
        assert "mean rel. error" in str(caught[0].message) and f"{c.bucket:g}" in str(caught[0].message)


def test_log2_alone_on_a_capped_line_at_lambda_5000():
    """log2 = 18 alone on case B at λ = 5,000: valid, within 1e-4 of the hand moments."""
    lam = 5000.0
    c = compound_distribution({"dist": "poisson", "mean": lam}, SEVERITY, LINE_B, log2=18)
    assert c.pmf.size == 2**18
    assert abs(c.mean / (lam * payout_moment(1)) - 1) < 1e-4
    assert abs(c.sd / math.sqrt(lam * payout_moment(2)) - 1) < 1e-4


def test_default_bucket_rule():
    """span 1,473,198: /2^16 = 22.48 → 20 (rounded down; the grid doubles to 2^17 to cover it);
    log2 = 16 → 25 (rounded up: 25·65,536 = 1,638,400 ≥ span); log2 = 10 → 1,438.7 rounded up to 2,000, and
    the cap rule (50,000/64 = 781 → 500) is not applied since 500·1,024 = 512,000 < span."""
    span = 1_473_198.0
    assert default_bucket(span) == 20.0
    assert default_bucket(span, log2=16) == 25.0
    assert default_bucket(span, [50_000.0], log2=10) == 2000.0
    assert default_bucket(span, [50_000.0], log2=12) == 500.0  # 1,473,198/4,096 = 359.7 → 500 ≥ the cap step 500
    # cap step 1,000/64 = 15.6 → 10, but 10·65,536 = 655,360 < span: the covering 25 is kept
    assert default_bucket(span, [1_000.0], log2=16) == 25.0
    assert default_bucket(span, [1_000.0]) == 10.0  # without log2 the cap rule binds (the grid grows instead)


@pytest.mark.parametrize("lam", [5.0, 50.0, 500.0, 5000.0])
def test_default_grid_covers_twelve_sd(lam):
    mean, sd = lam * payout_moment(1), math.sqrt(lam * payout_moment(2))
    c = compound_distribution({"dist": "poisson", "mean": lam}, SEVERITY, LINE_B)
    assert c.pmf.size * c.bucket >= mean + 12 * sd
    assert c.valid


def test_explicit_coarse_bucket_warns():
    with pytest.warns(CompoundAccuracyWarning, match="aggregate mean rel. error"):
        c = compound_distribution({"dist": "poisson", "mean": 1000.0}, SEVERITY, LINE_B, bucket=2000.0)
    assert c.bucket == 2000.0  # the caller's bucket is kept


def test_line_mapping_as_payout():
    """The mapping a product document writes is read as the same line: the same pmf as the loaded Line."""
    line = line_of(LINE_B)
    assert (line.start_line, line.cap_per_year) == (500_000, 7_350_000)  # fen
    freq = {"dist": "poisson", "mean": 200.0}
    from_mapping = compound_distribution(freq, SEVERITY, LINE_B, bucket=50.0)
    from_line = compound_distribution(freq, SEVERITY, line, bucket=50.0)
    np.testing.assert_array_equal(from_mapping.pmf, from_line.pmf)
    assert from_mapping.validation.index[0][0] == "illness"
    assert from_mapping.exact_mean == pytest.approx(200 * payout_moment(1), rel=1e-9)


def test_line_mapping_errors_are_the_products():
    bad = dict(LINE_B, brackets=[{"upto": 4000, "rate": 0.5}])
    with pytest.raises(ProductError, match="must be greater than start_line"):
        compound_distribution({"dist": "poisson", "mean": 10.0}, SEVERITY, bad)
