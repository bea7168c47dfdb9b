"""Age-to-age factors of a cumulative triangle, Mack's σ², the rules filling the σ² that cannot be estimated,
and the tail factor (进展因子, 尾部因子).  Used by :mod:`actuarial.reserving`.

Links.  The link of origin i at age k is the pair x = C_{ik}, y = C_{i,k+1} with both observed (not NaN) and
both non-zero: a zero cumulative cell says nothing about development (0·f = 0 for every f), and a link into a
zero from a non-zero cell is as uninformative about the factor of a positive amount.  This is
chainladder-python's treatment too (it stores zeros as missing).  Negative cells are links like any other.

* f_k = Σ y / Σ x over the links at age k (volume-weighted); S_k = Σ x;
* σ²_k = Σ (y − f_k x)² / x / (n_k − 1) with n_k links (Mack 1993); not estimable when n_k ≤ 1 or when it
  comes out negative (negative cells: chainladder-python takes √ of it and gets NaN).
* An age without any link gets f_k = 1 and σ²_k = 0, and a note says so (chainladder-python: NaN factor).

σ² that cannot be estimated are filled (``sigma_extrapolation``):

* ``"mack"``: σ²_k = min(σ⁴_{k−1}/σ²_{k−2}, σ²_{k−2}, σ²_{k−1}) (Mack 1993 for the last age), applied from the
  youngest age on so that a filled σ² feeds the next one; σ²_1 = σ²_0 when only the first is known; else 0.
* ``"log-linear"``: an unweighted least-squares line through log σ_k against k + 1 over the positive σ²,
  extrapolated to the missing ages.  With fewer than two positive σ² there is no line: Mack's rule is used
  instead and a note says so (chainladder-python leaves them NaN, i.e. 0 in its standard errors).

``chainladder_compatible=True`` reproduces chainladder-python 0.10.1 (``Development(sigma_interpolation=…)``)
where its conventions differ: the Mack rule from the estimated σ only (not recursive; an age it cannot fill
gets 0), and in the log-linear fit a zero σ taken as 1e-320 (log ≈ −736.8, so one zero σ pulls the line down
by hundreds of log units), with fewer than two points the missing σ² set to 0.

Tail (``tail``): a given factor ≥ 1, or ``"exponential"``: OLS of log(f_k − 1) on k + 1 over the factors above
1.00001, the tail t = Π_{x=n}^{n+99} (1 + exp(a + b·x)) over 100 ages beyond the n observed ones
(chainladder-python's ``TailCurve(curve="exponential")`` defaults).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Factors", "estimate_factors", "tail_factor"]

SIGMA_METHODS = ("mack", "log-linear")
#: chainladder-python's stand-in for a zero σ in logarithms.
_TINY_SIGMA = 1e-320
#: Factors at or below this are left out of the exponential tail fit (chainladder's ``reg_threshold``).
TAIL_THRESHOLD = 1.00001
#: Ages beyond the triangle the exponential tail multiplies over.
TAIL_PERIODS = 100


@dataclass(frozen=True, eq=False)
class Factors:
    """f_k, σ²_k (filled), S_k = Σ x over the links, n_k links per age, which σ² were estimated (not filled)
    and notes on what was assumed."""

    f: np.ndarray
    sigma2: np.ndarray
    s_k: np.ndarray
    n_k: np.ndarray
    estimated: np.ndarray
    notes: tuple[str, ...]


def _links(c: np.ndarray) -> np.ndarray:
    """Mask of the usable links (origin i, age k): C_{ik}, C_{i,k+1} observed and non-zero."""
    lhs, rhs = c[:, :-1], c[:, 1:]
    return ~np.isnan(lhs) & ~np.isnan(rhs) & (lhs != 0) & (rhs != 0)


def estimate_factors(c: np.ndarray, sigma_extrapolation: str = "mack", *,
                     chainladder_compatible: bool = False) -> Factors:
    """Volume-weighted f_k, Mack σ²_k (filled by the chosen rule) and S_k of the cumulative triangle ``c``."""
    if sigma_extrapolation not in SIGMA_METHODS:
        raise ValueError(f"sigma_extrapolation must be one of {SIGMA_METHODS}, got {sigma_extrapolation!r}")
    use = _links(c)
    x, y = np.where(use, c[:, :-1], 0.0), np.where(use, c[:, 1:], 0.0)
    n_k = use.sum(axis=0)
    s_k = x.sum(axis=0)
    notes: list[str] = []
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(n_k > 0, y.sum(axis=0) / s_k, 1.0)
        resid = np.where(use, (y - f * x) ** 2 / np.where(use, x, 1.0), 0.0).sum(axis=0)
        sigma2 = np.where(n_k > 1, resid / (n_k - 1), np.nan)
    sigma2[sigma2 < 0] = np.nan  # negative cells can make it negative: not estimable
    for k in np.flatnonzero(n_k == 0):
        notes.append(f"age {k}: no link between non-zero cells; factor 1 assumed / 第 {k} 期无可用链比，因子取 1")
        sigma2[k] = 0.0
    missing = np.isnan(sigma2)
    if missing.any():
        if sigma_extrapolation == "log-linear":
            sigma2 = _log_linear(sigma2, notes, chainladder_compatible)
        else:
            sigma2 = _mack_fill(sigma2, chainladder_compatible)
        filled = ", ".join(str(k) for k in np.flatnonzero(missing))
        notes.append(f"σ² of age(s) {filled} not estimable (≤ 1 link or negative): filled by the "
                     f"{sigma_extrapolation} rule / 方差参数按规则外推")
    return Factors(f=f, sigma2=sigma2, s_k=s_k, n_k=n_k, estimated=~missing, notes=tuple(notes))


def _mack_fill(sigma2: np.ndarray, chainladder_compatible: bool) -> np.ndarray:
    """Mack's rule σ²_k = min(σ⁴_{k−1}/σ²_{k−2}, σ²_{k−2}, σ²_{k−1}) where σ²_k is NaN (see the module notes)."""
    source = sigma2.copy()
    out = sigma2.copy()
    for k in np.flatnonzero(np.isnan(sigma2)):
        base = source if chainladder_compatible else out  # chainladder: from the estimated σ² only
        if k >= 2 and not np.isnan(base[k - 2]) and not np.isnan(base[k - 1]):
            a, b = base[k - 2], base[k - 1]
            out[k] = min(b**2 / a if a > 0 else 0.0, a, b)
        elif k == 1 and not chainladder_compatible and not np.isnan(out[0]):
            out[k] = out[0]
        else:
            out[k] = 0.0
    return out


def _log_linear(sigma2: np.ndarray, notes: list[str], chainladder_compatible: bool) -> np.ndarray:
    """Fill NaN σ² from the OLS line of log σ_k on k + 1 (zero σ: left out, or 1e-320 when compatible)."""
    ages = np.arange(sigma2.size) + 1.0
    sigma = np.sqrt(sigma2)
    if chainladder_compatible:
        known = ~np.isnan(sigma)
        log_sigma = np.log(np.where(sigma == 0, _TINY_SIGMA, sigma))
    else:
        known = ~np.isnan(sigma) & (sigma > 0)
        log_sigma = np.log(np.where(known, sigma, 1.0))
    if known.sum() < 2:
        if chainladder_compatible:
            return np.where(np.isnan(sigma2), 0.0, sigma2)
        notes.append("log-linear σ needs two positive σ²; Mack's rule used instead / 正方差不足两个，改用 Mack 规则")
        return _mack_fill(sigma2, False)
    xs, ys = ages[known], log_sigma[known]
    slope = ((xs - xs.mean()) * (ys - ys.mean())).sum() / ((xs - xs.mean()) ** 2).sum()
    intercept = ys.mean() - slope * xs.mean()
    fill = np.exp(2.0 * (intercept + slope * ages))
    return np.where(np.isnan(sigma2), fill, sigma2)


def tail_factor(f: np.ndarray, tail: float | str | None) -> tuple[float, str | None]:
    """The tail factor beyond the last age and a note: 1 (None), the given factor, or the exponential curve."""
    if tail is None:
        return 1.0, None
    if isinstance(tail, str):
        if tail != "exponential":
            raise ValueError(f"tail must be a factor ≥ 1, 'exponential' or None, got {tail!r}")
        ages = np.arange(f.size) + 1.0
        keep = f > TAIL_THRESHOLD
        if keep.sum() < 2:
            raise ValueError(f"exponential tail needs two factors above {TAIL_THRESHOLD}, the triangle has "
                             f"{int(keep.sum())} / 尾部拟合需要至少两个大于 1 的进展因子")
        xs, ys = ages[keep], np.log(f[keep] - 1.0)
        slope = ((xs - xs.mean()) * (ys - ys.mean())).sum() / ((xs - xs.mean()) ** 2).sum()
        if not slope < 0:
            raise ValueError(f"exponential tail: f − 1 does not decay with age (slope {slope:.4g}); give the tail "
                             "factor instead / 进展因子未随期数衰减，请直接给定尾部因子")
        intercept = ys.mean() - slope * xs.mean()
        beyond = np.arange(f.size + 1, f.size + 1 + TAIL_PERIODS, dtype=float)
        value = float(np.prod(1.0 + np.exp(intercept + slope * beyond)))
        return value, (f"tail {value:.6f}: exponential decay of f − 1 (log(f − 1) = {intercept:.4f} "
                       f"{slope:+.4f}·age, {TAIL_PERIODS} ages beyond the triangle) / 尾部因子按指数衰减外推")
    value = float(tail)
    if not (np.isfinite(value) and value >= 1.0):
        raise ValueError(f"tail factor must be a finite number ≥ 1, got {tail!r}")
    return value, f"tail {value:g} given / 给定尾部因子"
