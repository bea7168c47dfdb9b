"""Every line of a product simulated at once, with a common shock between lines (issue 17, item 5), for the
fund backtest (:mod:`actuarial.backtest_fund`).

The known model (:func:`simulate_fund_history`), for county c = 1..C, year t = 0..T−1 and line l of
:data:`FUND_LINES`:

* insured heads E_ct = round(E_c0 · (1 + g)^t), E_c0 uniform in ``heads``, the same for every line;
* ground-up events N_lct ~ Poisson(r_l · u_lc · v_lt · H_ct^[l ∈ S] · E_ct), with the line's county effect
  u_lc ~ Gamma(mean 1, cv ``county_cv``) and year shock v_lt ~ Gamma(mean 1, cv ``year_cv``) (shared by the
  counties, independent between lines), and the **common shock** (共同冲击) H_ct ~ Gamma(mean 1, cv κ =
  ``shock_cv``), drawn once per county-year and multiplying the rate of every line in S = ``shock_lines``
  (default illness and disaster: a flood year raises disaster and illness together).  κ = 0: H ≡ 1, the
  independent lines;
* amounts: a bracket line's ground-up X_l ~ its family with mean m_l·(1 + i_l)^t and cv c_l, paid g_l(X) by the
  product's schedule rounded to the fen; a lump-sum line (升学补助) pays one of its lump sums with the stated
  probabilities (ground_up = paid).

Given u and v, the line totals S_l of one county-year (λ_l = r_l·u_lc·v_lt·E_ct, m_l = E[g_l(X)], q_l =
E[g_l(X)²]) have Var S_l = λ_l·q_l + κ²·λ_l²·m_l² (l ∈ S) and, for two lines k ≠ l in S,
Cov(S_k, S_l) = κ²·λ_k·λ_l·m_k·m_l, so corr(S_k, S_l) = κ²λ_kλ_l m_k m_l / sqrt(Var S_k · Var S_l)
(:func:`shock_correlation`).

Random streams: ``numpy.random.SeedSequence(seed).spawn`` gives the exposure, the shock and each line its own
stream, so the shock changes no other line's draws and κ = 0 reproduces the independent lines exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from actuarial.coverage import PayoutFunction
from actuarial.simulation import DEFAULT_PRODUCT, gamma_effect, resolve_product
from products.model import Product

__all__ = ["FUND_LINES", "SHOCK_LINES", "SimulatedLine", "shock_correlation", "simulate_fund_history"]


@dataclass(frozen=True)
class SimulatedLine:
    """One line of the known model: ground-up events per insured head per year, the first year's amount
    (``family`` lognormal or gamma with ``mean`` and ``cv``; or ``lump_sums`` = ((amount, probability), …))
    and its yearly trend."""

    line_id: str
    rate: float
    mean: float = 0.0
    cv: float = 0.0
    family: str = "lognormal"
    trend: float = 0.0
    lump_sums: tuple[tuple[float, float], ...] = ()

    def amounts(self, rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
        """Ground-up amounts of events in years t (0-based)."""
        if self.lump_sums:
            values = np.array([v for v, _ in self.lump_sums], dtype=float)
            probs = np.array([p for _, p in self.lump_sums], dtype=float)
            return values[rng.choice(values.size, size=t.size, p=probs / probs.sum())]
        cv2 = self.cv**2
        if self.family == "lognormal":
            s2 = math.log1p(cv2)
            x = np.exp(math.log(self.mean) - s2 / 2.0 + math.sqrt(s2) * rng.standard_normal(t.size))
        elif self.family == "gamma":
            x = rng.gamma(1.0 / cv2, self.mean * cv2, t.size)
        else:
            raise ValueError(f"family must be lognormal or gamma, got {self.family!r}")
        return x * (1.0 + self.trend) ** t


#: The lines of the catalog 防贫保 (fangpinbao-weixian-2025): illness as the one-line backtest's benchmark
#: (actuarial.md §2: 0.02 events per head, lognormal mean 8,000, cv 1.5, medical trend 6%); schooling,
#: disaster and school entry as the five-year synthetic county gives them (``relief synth --county 20000
#: --years 2021-2025``, seed 20250101, fitted by ``relief budget``; benchmarks/README.md): schooling 2,390
#: students with a net cost in 100,000 person-years (0.0239 per head), the fitted gamma shape 2.99, scale 2,017
#: (mean 6,030, cv 0.58); disaster 147 household losses (0.00147 per head), the fitted lognormal μ 9.2186,
#: σ 0.9775 (mean 16,270, cv √(e^{σ²} − 1) = 1.25); entry 292 lump sums (0.00292 per head), 60% 本科 2,000,
#: 40% 专科 1,000 (mean 1,603 observed).  The synthetic county has no trend outside medicine.
FUND_LINES: tuple[SimulatedLine, ...] = (
    SimulatedLine("illness", 0.02, 8000.0, 1.5, "lognormal", 0.06),
    SimulatedLine("schooling", 0.0239, 6030.0, 0.578, "gamma"),
    SimulatedLine("disaster", 0.00147, 16270.0, 1.254, "lognormal"),
    SimulatedLine("entry", 0.00292, lump_sums=((2000.0, 0.6), (1000.0, 0.4))),
)
SHOCK_LINES = ("illness", "disaster")


def shock_correlation(lam: Sequence[float], m: Sequence[float], q: Sequence[float], kappa: float) -> float:
    """corr(S_k, S_l) of two shocked lines' totals in one county-year (module docstring): λ the expected events,
    m = E[g(X)], q = E[g(X)²] of each, κ the shock cv."""
    (lk, ll), (mk, ml), (qk, ql) = lam, m, q
    k2 = kappa**2
    cov = k2 * lk * ll * mk * ml
    return cov / math.sqrt((lk * qk + k2 * (lk * mk) ** 2) * (ll * ql + k2 * (ll * ml) ** 2))


def simulate_fund_history(counties: int, years: int, *, seed: int, product: Product | str = DEFAULT_PRODUCT,
                          lines: Sequence[SimulatedLine] = FUND_LINES, heads: tuple[int, int] | int = (10_000, 50_000),
                          exposure_growth: float = 0.02, county_cv: float = 0.25, year_cv: float = 0.10,
                          shock_cv: float = 0.0, shock_lines: Sequence[str] = SHOCK_LINES,
                          first_year: int = 2020) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate every line of ``lines`` (module docstring); returns ``(claims, exposure, shock)``: claims in the
    history format of :mod:`actuarial.history` (year, county, peril = the line id, ground_up, paid; one row per
    ground-up event, paid may be 0), exposure (year, county, heads) and the common shock H (year, county, shock).
    Every line must be a line of ``product`` (bracket lines paid by its schedule)."""
    if counties < 1 or years < 1:
        raise ValueError("counties and years must be ≥ 1 / 县数和年数须 ≥ 1")
    prod = resolve_product(product)
    unknown = sorted(set(shock_lines) - {ln.line_id for ln in lines})
    if unknown:
        raise ValueError(f"共同冲击的责任不在模拟中 / shock lines not simulated: {', '.join(unknown)}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2 + len(lines))]
    rng_e, rng_h = streams[0], streams[1]
    codes = np.asarray([f"{130401 + i:06d}" for i in range(counties)], dtype=object)
    year_arr = np.arange(first_year, first_year + years, dtype=np.int64)
    if isinstance(heads, (int, np.integer)):
        base = np.full(counties, float(heads))
    else:
        base = rng_e.integers(int(heads[0]), int(heads[1]) + 1, counties).astype(float)
    t = np.arange(years)
    expo = np.rint(base[:, None] * (1.0 + exposure_growth) ** t[None, :]).astype(np.int64)  # C × T
    shock = gamma_effect(rng_h, shock_cv, counties * years).reshape(counties, years)
    frames = []
    for line, rng in zip(lines, streams[2:]):
        u = gamma_effect(rng, county_cv, counties)
        v = gamma_effect(rng, year_cv, years)
        lam = line.rate * u[:, None] * v[None, :] * expo
        if line.line_id in shock_lines:
            lam = lam * shock
        counts = rng.poisson(lam)
        ci, ti = np.nonzero(counts >= 0)
        ev_c = np.repeat(ci, counts[ci, ti])
        ev_t = np.repeat(ti, counts[ci, ti])
        ground_up = np.round(line.amounts(rng, ev_t), 2)
        if line.lump_sums:
            paid = ground_up
        else:
            g = PayoutFunction.from_line(prod.line(line.line_id))
            paid = np.floor(np.asarray(g(ground_up)) * 100.0 + 0.5) / 100.0  # half up to the fen
        frames.append(pd.DataFrame({"year": year_arr[ev_t], "county": codes[ev_c], "peril": line.line_id,
                                    "ground_up": ground_up, "paid": paid}))
    ci, ti = np.nonzero(expo >= 0)
    exposure = pd.DataFrame({"year": year_arr[ti], "county": codes[ci], "heads": expo[ci, ti]})
    shocks = pd.DataFrame({"year": year_arr[ti], "county": codes[ci], "shock": shock[ci, ti]})
    return pd.concat(frames, ignore_index=True), exposure, shocks
