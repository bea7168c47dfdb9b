"""An independent check of the FFT compound by Monte Carlo (:func:`simulate_annual_payouts`,
:func:`monte_carlo_summary`): each year's events are thinned at the trigger (only paying events are drawn,
X | X > trigger by the inverse cdf), with sectioning standard errors for mean, VaR and TVaR.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from actuarial.compound import Peril, as_perils
from actuarial.coverage import PayoutFunction
from products.model import Line

__all__ = ["monte_carlo_summary", "simulate_annual_payouts"]


#: Paid events drawn per chunk of :func:`simulate_annual_payouts` (memory: a few float64 arrays of this length).
MC_CHUNK_EVENTS = 2_000_000


def _paid_sampler(severity: Any, payout: Any) -> tuple[float, Callable[[np.ndarray], np.ndarray]]:
    """(p, draw): p = S_X(trigger), the probability that an event pays, and draw(u) = g(X) for
    X | X > trigger from uniforms u on (0, 1), by the inverse cdf of the truncated distribution:
    X = S_X⁻¹(u·p) (then S_X(X) = u·p < p, i.e. X > trigger).
    """
    if isinstance(payout, Line):
        payout = PayoutFunction.from_line(payout)
    if payout is None:
        trigger, g = -np.inf, None
    else:
        trigger = float(getattr(payout, "trigger", -np.inf))
        g = payout
    p = 1.0 if trigger == -np.inf else float(severity.sf(trigger))
    name = getattr(getattr(severity, "dist", None), "name", None)
    if name == "lognorm" and not severity.args[1:] and set(severity.kwds) <= {"scale"}:
        # scipy's lognorm isf, scale·exp(σ·Φ⁻¹(1 − q)) = scale·exp(−σ·Φ⁻¹(q)), without its per-call
        # argument checks on arrays of millions of draws.
        from scipy import special

        sig, scale = float(severity.args[0]), float(severity.kwds.get("scale", 1.0))

        def isf(q: np.ndarray) -> np.ndarray:
            return scale * np.exp(-sig * special.ndtri(q))
    else:
        isf = severity.isf
    if isinstance(g, PayoutFunction) and math.isfinite(g.max_payout):
        xs, ys, _tail = g._knots  # g is linear between its knots above the trigger, flat beyond the last

        def draw(u: np.ndarray) -> np.ndarray:
            return np.interp(isf(u * p), xs, ys)
    elif g is None:

        def draw(u: np.ndarray) -> np.ndarray:
            return isf(u * p)
    else:

        def draw(u: np.ndarray) -> np.ndarray:
            return np.asarray(g(isf(u * p)), dtype=float)

    return p, draw


def simulate_annual_payouts(
    perils: Sequence[Mapping[str, Any] | Sequence[Any] | Peril],
    years: int,
    *,
    seed: int | None = None,
    chunk_events: int = MC_CHUNK_EVENTS,
) -> np.ndarray:
    """Monte Carlo of the annual payout total S of independent perils (年度赔付总额模拟), thinned at the trigger.

    Only paid events are drawn: per peril and year N' ~ Poisson(λ·p) with p = S_X(trigger) (for the
    negative binomial, Λ ~ Gamma(1/c², scale c²λ) per year and N' | Λ ~ Poisson(Λ·p): thinning a mixed
    Poisson count is exact), then X | X > trigger = S_X⁻¹(U·p) and the payout g(X).  Years are done in
    chunks of about ``chunk_events`` paid events; the stream of ``np.random.default_rng(seed)`` is
    used chunk by chunk, peril by peril (counts, then uniforms), so a seed and chunk size fix the result.

    Returns
    -------
    np.ndarray of ``years`` annual totals in yuan (float; the engine's fen rounding is ignored).
    """
    specs = as_perils(perils)
    years = int(years)
    if years < 1:
        raise ValueError(f"years must be >= 1, got {years}")
    samplers = [_paid_sampler(pr.severity, pr.payout) for pr in specs]
    paid_per_year = sum(pr.frequency.mean * p for pr, (p, _draw) in zip(specs, samplers))
    per_chunk = max(1, min(years, int(chunk_events // max(paid_per_year, 1.0))))
    rng = np.random.default_rng(seed)
    totals = np.zeros(years)
    for start in range(0, years, per_chunk):
        m = min(per_chunk, years - start)
        for pr, (p, draw) in zip(specs, samplers):
            f = pr.frequency
            if f.cv == 0.0:
                counts = rng.poisson(f.mean * p, m)
            else:
                c2 = f.cv**2
                counts = rng.poisson(rng.gamma(1.0 / c2, c2 * f.mean, m) * p)
            pay = draw(rng.random(int(counts.sum())))
            # annual sums by differences of the running sum (a year with no paid event gets 0)
            running = np.concatenate(([0.0], np.cumsum(pay)))
            ends = np.cumsum(counts)
            totals[start : start + m] += running[ends] - running[ends - counts]
    return totals


def monte_carlo_summary(totals: np.ndarray, levels: Sequence[float] = (0.90, 0.95, 0.99, 0.995), *,
                        sections: int = 100) -> pd.DataFrame:
    """Mean, VaR_p and TVaR_p of simulated annual totals with their Monte Carlo standard errors.

    Notes
    -----
    Estimates use the whole sample: mean; VaR_p = the lower empirical quantile s_(⌈np⌉);
    TVaR_p = VaR_p + mean((s − VaR_p)+)/(1 − p) (Acerbi–Tasche, as :meth:`Compound.tvar`).
    Standard errors by **sectioning** (Asmussen & Glynn, *Stochastic Simulation*, §III.5a): the
    sample is cut into ``sections`` consecutive blocks of m = ⌊n/sections⌋ years, the estimator is
    recomputed on each block, and SE = sd(block estimates)/√sections.  For the mean this is the
    batch-means SE; for quantiles it needs no density estimate (the asymptotic √(p(1−p)/n)/f(q)
    would).  Rows: ``mean``, ``VaR 0.9``…, ``TVaR 0.9``…; columns ``estimate``, ``se``.
    """
    s = np.asarray(totals, dtype=float)
    levels = tuple(float(p) for p in levels)
    m = s.size // sections
    if m < 2:
        raise ValueError(f"need at least {2 * sections} simulated years for {sections} sections")
    blocks = s[: m * sections].reshape(sections, m)

    def risk(x: np.ndarray) -> np.ndarray:  # x: (k, m) → (k, 1 + 2·len(levels))
        x = np.sort(x, axis=-1)
        k = x.shape[-1]
        out = [x.mean(axis=-1)]
        vars_ = [x[..., max(math.ceil(k * p) - 1, 0)] for p in levels]
        out += vars_
        out += [q + np.maximum(x - q[..., None], 0.0).mean(axis=-1) / (1.0 - p) for q, p in zip(vars_, levels)]
        return np.stack(out, axis=-1)

    estimate = risk(s[None, :])[0]
    se = risk(blocks).std(axis=0, ddof=1) / math.sqrt(sections)
    index = ["mean"] + [f"VaR {p:g}" for p in levels] + [f"TVaR {p:g}" for p in levels]
    return pd.DataFrame({"estimate": estimate, "se": se}, index=index)
