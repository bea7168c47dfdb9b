"""Counties × years simulated from a known model, for the backtest (:mod:`actuarial.backtest`) and the tests.

The known model (:func:`simulate_history`), for county c = 1..C and year t = 0..T−1:

* insured heads (参保人数) E_ct = round(E_c0 · (1 + g)^t), E_c0 drawn uniformly in ``heads`` (exposure growth g);
* ground-up events (one per person-year with a medical expense) N_ct ~ Poisson(r · u_c · v_t · E_ct), with
  the county effect u_c ~ Gamma(mean 1, cv ``county_cv``) and a year shock v_t ~ Gamma(mean 1, cv ``year_cv``)
  shared by every county (so the counties of one year are not independent);
* ground-up amount X ~ lognormal(μ + t·log(1 + i), σ) with the medical trend i (医疗费用增长率);
* paid = g(X), the product line's schedule (:class:`actuarial.coverage.PayoutFunction`, the same schedule every
  year: the thresholds are fixed, so the paid layer grows faster than the ground-up amount), rounded to the fen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from actuarial.coverage import PayoutFunction
from products import load_product
from products.model import Product

__all__ = ["BENCH_MU", "BENCH_RATE", "BENCH_SIGMA", "DEFAULT_PRODUCT", "SimulationTruth", "gamma_effect",
           "resolve_product", "simulate_history"]

#: Lognormal with mean 8,000 yuan and cv 1.5 (actuarial.md §2 benchmark B): σ² = log(1 + 1.5²), μ = log 8000 − σ²/2.
BENCH_SIGMA = math.sqrt(math.log(1.0 + 1.5**2))
BENCH_MU = math.log(8000.0) - BENCH_SIGMA**2 / 2.0
#: Ground-up illness events per insured head per year (1,000 per 50,000, actuarial.md §2).
BENCH_RATE = 0.02
DEFAULT_PRODUCT = "fangpinbao-weixian-2025"


def gamma_effect(rng: np.random.Generator, cv: float, size: int) -> np.ndarray:
    """Gamma draws with mean 1 and coefficient of variation cv (shape 1/cv², scale cv²); ones when cv = 0."""
    if cv <= 0.0:
        return np.ones(size)
    return rng.gamma(1.0 / cv**2, cv**2, size)


def resolve_product(product: Product | str) -> Product:
    """A product version: loaded from the catalog when given by name."""
    return load_product(product) if isinstance(product, str) else product


@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """The known model behind a simulated history (what the fit should recover)."""

    counties: tuple[str, ...]
    years: tuple[int, ...]
    line_id: str
    claim_rate: float  # r: ground-up events per head per year before the effects
    mu: float  # lognormal μ in the first year
    sigma: float
    medical_trend: float  # i
    exposure_growth: float  # g
    county_cv: float
    year_cv: float
    county_effect: pd.Series = field(repr=False)  # u_c by county
    year_shock: pd.Series = field(repr=False)  # v_t by year
    payout: PayoutFunction = field(repr=False)

    def severity(self, year: int) -> Any:
        """Frozen scipy lognormal of X in ``year``: μ_t = μ + (year − first year)·log(1 + i)."""
        from scipy import stats

        mu_t = self.mu + (year - self.years[0]) * math.log1p(self.medical_trend)
        return stats.lognorm(self.sigma, scale=math.exp(mu_t))

    def mean_payout(self, year: int) -> float:
        """E[g(X_year)]: exact expected payout per ground-up event (coverage.PayoutFunction.mean)."""
        return self.payout.mean(self.severity(year))

    def expected_events(self, exposure: pd.DataFrame, *, with_year_shock: bool = False) -> pd.Series:
        """E[N_ct | u_c] = r·u_c·E_ct (× v_t when ``with_year_shock``), indexed by (year, county)."""
        e = exposure.set_index(["year", "county"])["heads"].astype(float)
        u = self.county_effect.reindex(e.index.get_level_values("county")).to_numpy()
        out = self.claim_rate * u * e
        if with_year_shock:
            out = out * self.year_shock.reindex(e.index.get_level_values("year")).to_numpy()
        return out


def simulate_history(counties: int, years: int, *, seed: int, heads: tuple[int, int] | int = (10_000, 50_000),
                     claim_rate: float = BENCH_RATE, medical_trend: float = 0.06, exposure_growth: float = 0.02,
                     county_cv: float = 0.25, year_cv: float = 0.10,
                     severity: tuple[float, float] = (BENCH_MU, BENCH_SIGMA),
                     product: Product | str = DEFAULT_PRODUCT, line_id: str = "illness",
                     first_year: int = 2020, severity_family: str = "lognormal",
                     report_delay: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame, SimulationTruth]:
    """Simulate a claims history (历史理赔) of ``counties`` × ``years`` from the known model of the module docstring.

    Returns ``(claims, exposure, truth)``: ``claims`` in the history format of :mod:`actuarial.history`
    (year, county, peril = the line id, ground_up and paid in yuan, one row per ground-up event, paid may be 0),
    ``exposure`` (year, county, heads) and the :class:`SimulationTruth`.  Vectorised: one Poisson draw per
    county-year and one lognormal draw per event.  Deterministic by ``seed``.

    Misspecified variants for the backtest (the budget assumes neither): ``severity_family`` "gamma" or "lomax"
    draws X from that family with the lognormal's mean and cv (gamma: shape 1/cv², scale mean·cv²; Lomax (cv > 1):
    α = 2cv²/(cv² − 1), scale mean·(α − 1)), trended alike; ``report_delay`` > 0 adds ``report_lag`` (quarters from
    the start of the policy year to the report: the event's quarter + a geometric delay with that mean).
    """
    if counties < 1 or years < 1:
        raise ValueError("counties and years must be ≥ 1 / 县数和年数须 ≥ 1")
    prod = resolve_product(product)
    g = PayoutFunction.from_line(prod.line(line_id))
    rng = np.random.default_rng(seed)
    codes = tuple(f"{130401 + i:06d}" for i in range(counties))  # 6-digit division-like codes
    year_list = tuple(range(first_year, first_year + years))
    if isinstance(heads, (int, np.integer)):
        base_heads = np.full(counties, int(heads), dtype=float)
    else:
        lo, hi = heads
        base_heads = rng.integers(int(lo), int(hi) + 1, counties).astype(float)
    u = gamma_effect(rng, county_cv, counties)
    v = gamma_effect(rng, year_cv, years)
    t = np.arange(years)
    exposure_ct = np.rint(base_heads[:, None] * (1.0 + exposure_growth) ** t[None, :]).astype(np.int64)  # C × T
    lam = claim_rate * u[:, None] * v[None, :] * exposure_ct
    counts = rng.poisson(lam)  # C × T
    ci, ti = np.nonzero(counts >= 0)  # every cell, row-major (county, year)
    reps = counts[ci, ti]
    ev_c = np.repeat(ci, reps)
    ev_t = np.repeat(ti, reps)
    mu, sigma = severity
    x = np.exp(mu + ev_t * math.log1p(medical_trend) + sigma * rng.standard_normal(ev_c.size))
    if severity_family != "lognormal":
        x = _other_family(rng, severity_family, mu, sigma, ev_c.size) * (1.0 + medical_trend) ** ev_t
    ground_up = np.round(x, 2)
    paid = np.floor(np.asarray(g(ground_up)) * 100.0 + 0.5) / 100.0  # half-up to the fen, as the engine rounds
    claims = pd.DataFrame({
        "year": np.asarray(year_list, dtype=np.int64)[ev_t],
        "county": np.asarray(codes, dtype=object)[ev_c],
        "peril": line_id,
        "ground_up": ground_up,
        "paid": paid,
    })
    if report_delay > 0:
        quarter = rng.integers(0, 4, ev_c.size)
        claims["report_lag"] = quarter + rng.geometric(1.0 / (1.0 + report_delay), ev_c.size) - 1
    exposure = pd.DataFrame({
        "year": np.asarray(year_list, dtype=np.int64)[ti],
        "county": np.asarray(codes, dtype=object)[ci],
        "heads": exposure_ct[ci, ti],
    })
    truth = SimulationTruth(
        counties=codes, years=year_list, line_id=line_id, claim_rate=claim_rate, mu=mu, sigma=sigma,
        medical_trend=medical_trend, exposure_growth=exposure_growth, county_cv=county_cv, year_cv=year_cv,
        county_effect=pd.Series(u, index=pd.Index(codes, name="county")),
        year_shock=pd.Series(v, index=pd.Index(year_list, name="year")), payout=g)
    return claims, exposure, truth


def _other_family(rng: np.random.Generator, family: str, mu: float, sigma: float, size: int) -> np.ndarray:
    """Amounts of the first year from ``family`` with the mean exp(μ + σ²/2) and cv √(e^{σ²} − 1) of the
    lognormal(μ, σ)."""
    mean, cv2 = math.exp(mu + sigma**2 / 2.0), math.expm1(sigma**2)
    if family == "gamma":
        return rng.gamma(1.0 / cv2, mean * cv2, size)
    if family == "lomax":
        if not cv2 > 1.0:
            raise ValueError("a Lomax with this mean needs cv > 1")
        alpha = 2.0 * cv2 / (cv2 - 1.0)
        return (mean * (alpha - 1.0)) * rng.pareto(alpha, size)  # numpy's pareto is the Lomax (Pareto II)
    raise ValueError(f"severity_family must be lognormal, gamma or lomax, got {family!r}")
