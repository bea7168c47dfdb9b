"""Bühlmann–Straub credibility (frequency credibility across counties).

Source: H. Bühlmann and A. Gisler, *A Course in Credibility Theory and its
Applications* (Springer, 2005), ch. 4; estimator conventions follow
``actuar::cm()`` / ``bstraub()`` (Goulet et al.), in particular the
truncation of a non-positive between variance and the Bichsel–Straub
iterative (pseudo-)estimator.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["BuhlmannStraub", "buhlmann_straub"]

_METHODS = ("unbiased", "iterative")


@dataclass(frozen=True, eq=False)
class BuhlmannStraub:
    """Fitted Bühlmann–Straub model (one value per unit where an array).

    Attributes
    ----------
    collective : float
        Collective premium m̂ = Σ z_c r̄_c / Σ z_c (the weighted mean r̄_w when â = 0).
    between_variance : float
        â, the variance of the hypothetical means (0 when the estimate is ≤ 0).
    within_variance : float
        ŝ², the expected process variance per unit of weight.
    z : ndarray
        Credibility factors z_c = w_c / (w_c + ŝ²/â).
    premiums : ndarray
        Credibility premiums z_c r̄_c + (1 − z_c) m̂.
    unit_means : ndarray
        Weighted unit means r̄_c = Σ_t w_ct r_ct / w_c.
    unit_weights : ndarray
        w_c = Σ_t w_ct.
    n_periods : ndarray
        Number of periods with data per unit, n_c.
    method : str
        ``"unbiased"`` or ``"iterative"``.
    iterations : int
        Iterations used by the iterative estimator (0 for ``"unbiased"``).
    """

    collective: float
    between_variance: float
    within_variance: float
    z: np.ndarray
    premiums: np.ndarray
    unit_means: np.ndarray
    unit_weights: np.ndarray
    n_periods: np.ndarray
    method: str
    iterations: int = 0
    units: tuple = field(default=())

    @property
    def k(self) -> float:
        """Bühlmann's credibility constant ŝ²/â (inf when â = 0)."""
        if self.between_variance <= 0:
            return math.inf
        return self.within_variance / self.between_variance

    def describe(self) -> pd.DataFrame:
        """One row per unit: weight, periods, unit mean, z and premium."""
        index = list(self.units) if self.units else list(range(len(self.z)))
        return pd.DataFrame(
            {
                "weight": self.unit_weights,
                "periods": self.n_periods,
                "unit_mean": self.unit_means,
                "z": self.z,
                "premium": self.premiums,
            },
            index=pd.Index(index, name="unit"),
        )


def _check(ratios, weights, need_within: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.asarray(ratios, dtype=float)
    w = np.asarray(weights, dtype=float)
    if r.ndim != 2:
        raise ValueError(
            f"ratios must be a 2-D array (units × periods), got {r.ndim}-D"
        )
    if w.shape != r.shape:
        raise ValueError(f"weights shape {w.shape} differs from ratios shape {r.shape}")
    mask = ~(np.isnan(r) | np.isnan(w))
    if np.any(w[mask] < 0):
        raise ValueError("weights must be non-negative")
    mask &= w > 0
    n = mask.sum(axis=1)
    if r.shape[0] < 2:
        raise ValueError("need at least two units")
    if np.any(n == 0):
        raise ValueError(f"units without data: {np.flatnonzero(n == 0).tolist()}")
    if need_within and np.sum(n - 1) <= 0:
        raise ValueError(
            "need at least one unit with two or more periods to estimate ŝ²"
        )
    return np.where(mask, r, 0.0), np.where(mask, w, 0.0), mask


def buhlmann_straub(
    ratios,
    weights,
    method: str = "unbiased",
    *,
    tol: float = math.sqrt(np.finfo(float).eps),
    maxit: int = 100,
    units=None,
    within_variance: float | None = None,
) -> BuhlmannStraub:
    """Bühlmann–Straub credibility premiums.

    Parameters
    ----------
    ratios : array_like, shape (C, T)
        Ratios r_ct (e.g. claims per head) of unit c in period t; NaN = no data.
    weights : array_like, shape (C, T)
        Weights w_ct (e.g. insured heads); NaN or 0 = no data.
    method : {"unbiased", "iterative"}
        Estimator of the between variance â.
    tol, maxit : float, int
        Relative tolerance and iteration cap of the iterative estimator
        (actuar's defaults).
    units : sequence, optional
        Unit labels for :meth:`BuhlmannStraub.describe`.
    within_variance : float, optional
        ŝ² to use instead of the estimate below (e.g. ŝ² = m̂ for Poisson counts when no unit has two
        periods); then one period per unit is enough.

    Returns
    -------
    BuhlmannStraub

    Notes
    -----
    With w_c = Σ_t w_ct, w = Σ_c w_c, r̄_c = Σ_t w_ct r_ct / w_c,
    r̄_w = Σ_c w_c r̄_c / w and n_c the number of periods with data:

    * within variance  ŝ² = Σ_c Σ_t w_ct (r_ct − r̄_c)² / Σ_c (n_c − 1);
    * between variance (unbiased)
      â = (Σ_c w_c (r̄_c − r̄_w)² − (C − 1) ŝ²) / (w − Σ_c w_c² / w);
    * credibility factor z_c = w_c / (w_c + ŝ²/â);
    * collective premium m̂ = Σ_c z_c r̄_c / Σ_c z_c;
    * premium P_c = z_c r̄_c + (1 − z_c) m̂.

    The iterative (Bichsel–Straub) pseudo-estimator solves the fixed point
    â = Σ_c z_c (r̄_c − m̂)² / (C − 1), with z_c and m̂ recomputed from â at
    each step, starting from the unbiased estimate, until the relative change
    is below ``tol``. As in actuar, a non-positive â is set to 0, and then
    z_c = 0 and m̂ = r̄_w.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    r, w, mask = _check(ratios, weights, need_within=within_variance is None)
    n_c = mask.sum(axis=1)
    w_c = w.sum(axis=1)
    w_tot = w_c.sum()
    rbar_c = (w * r).sum(axis=1) / w_c
    rbar_w = (w_c * rbar_c).sum() / w_tot
    s2 = _within_variance(r, w, rbar_c, n_c) if within_variance is None else float(within_variance)
    a = _between_variance(w_c, rbar_c, rbar_w, s2)
    iterations = 0
    if method == "iterative":
        a, iterations = _bichsel_straub(a, s2, w_c, rbar_c, rbar_w, tol, maxit)
    a, z, m = _credibility(a, s2, w_c, rbar_c, rbar_w)
    return BuhlmannStraub(
        collective=m, between_variance=a, within_variance=s2, z=z, premiums=z * rbar_c + (1.0 - z) * m,
        unit_means=rbar_c, unit_weights=w_c, n_periods=n_c, method=method, iterations=iterations,
        units=tuple(units) if units is not None else (),
    )


def _within_variance(r: np.ndarray, w: np.ndarray, rbar_c: np.ndarray, n_c: np.ndarray) -> float:
    """ŝ² = Σ_c Σ_t w_ct (r_ct − r̄_c)² / Σ_c (n_c − 1)."""
    return float((w * (r - rbar_c[:, None]) ** 2).sum() / (n_c - 1).sum())


def _between_variance(w_c: np.ndarray, rbar_c: np.ndarray, rbar_w: float, s2: float) -> float:
    """The unbiased â = (Σ_c w_c (r̄_c − r̄_w)² − (C − 1) ŝ²) / (w − Σ_c w_c² / w) (may be ≤ 0)."""
    w_tot = w_c.sum()
    return float(((w_c * (rbar_c - rbar_w) ** 2).sum() - (w_c.size - 1) * s2) / (w_tot - (w_c**2).sum() / w_tot))


def _bichsel_straub(a: float, s2: float, w_c: np.ndarray, rbar_c: np.ndarray, rbar_w: float, tol: float,
                    maxit: int) -> tuple[float, int]:
    """(â, iterations) of the iterative pseudo-estimator: the fixed point â = Σ_c z_c (r̄_c − m̂)² / (C − 1),
    z_c = w_c / (w_c + ŝ²/â), m̂ = Σ_c z_c r̄_c / Σ_c z_c, from ``a`` (or Σ_c w_c (r̄_c − r̄_w)² / w, else 1, when
    ``a`` ≤ 0) until the relative change is below ``tol``; 0 when â collapses below ``tol``·â."""
    n_units = w_c.size
    w_tot = w_c.sum()
    iterations = 0
    if a <= 0:  # any positive start converges to the same fixed point
        a = float((w_c * (rbar_c - rbar_w) ** 2).sum() / w_tot) or 1.0
    while True:
        iterations += 1
        z = w_c / (w_c + s2 / a)
        m = (z * rbar_c).sum() / z.sum()
        a_new = float((z * (rbar_c - m) ** 2).sum() / (n_units - 1))
        if a_new <= tol * a:  # collapses to 0: no between-unit variance
            return 0.0, iterations
        converged = abs(a_new - a) / a < tol
        a = a_new
        if converged:
            return a, iterations
        if iterations >= maxit:
            warnings.warn(
                f"iterative estimator did not converge in {maxit} iterations",
                RuntimeWarning,
                stacklevel=3,  # the caller of buhlmann_straub
            )
            return a, iterations


def _credibility(a: float, s2: float, w_c: np.ndarray, rbar_c: np.ndarray,
                 rbar_w: float) -> tuple[float, np.ndarray, float]:
    """(â, z, m̂): z_c = w_c / (w_c + ŝ²/â), m̂ = Σ_c z_c r̄_c / Σ_c z_c; with â ≤ 0: â = 0, z_c = 0, m̂ = r̄_w."""
    if a > 0:
        z = w_c / (w_c + s2 / a)
        return a, z, float((z * rbar_c).sum() / z.sum())
    return 0.0, np.zeros(w_c.size), float(rbar_w)
