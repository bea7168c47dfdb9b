"""Claims development: chain ladder with Mack standard errors, and Bornhuetter–Ferguson.

Sources: T. Mack, "Distribution-free calculation of the standard error of
chain ladder reserve estimates", ASTIN Bulletin 23(2), 1993, 213–225;
R. L. Bornhuetter and R. E. Ferguson, "The actuary and IBNR", PCAS 59, 1972.
Conventions (volume-weighted factors, σ² extrapolation for the last age)
follow chainladder-python's ``Development(sigma_interpolation="mack")``
with ``MackChainladder``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "BornhuetterFerguson",
    "ChainLadder",
    "CountDevelopment",
    "bornhuetter_ferguson",
    "chain_ladder",
    "count_development",
]


def _check_triangle(triangle) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(triangle, dtype=float)
    if c.ndim != 2:
        raise ValueError(
            f"triangle must be 2-D (origins × development ages), got {c.ndim}-D"
        )
    n_dev = c.shape[1]
    if n_dev < 2:
        raise ValueError("triangle needs at least two development ages")
    observed = ~np.isnan(c)
    if not observed[:, 0].all():
        raise ValueError("every origin needs a value at the first development age")
    # observed cells must form a prefix of each row (no holes, NaN only after the diagonal)
    latest_age = observed.sum(axis=1) - 1
    prefix = np.arange(n_dev)[None, :] <= latest_age[:, None]
    if not np.array_equal(observed, prefix):
        raise ValueError(
            "NaN may appear only after the latest observed age of each origin"
        )
    if np.any(c[observed] <= 0):
        raise ValueError("cumulative amounts must be positive")
    return c, latest_age


@dataclass(frozen=True, eq=False)
class ChainLadder:
    """Chain-ladder projection with Mack (1993) standard errors.

    Attributes
    ----------
    ldf : ndarray, shape (n_dev − 1,)
        Volume-weighted age-to-age factors f_k.
    cdf : ndarray, shape (n_dev,)
        Age-to-ultimate factors Π_{j≥k} f_j (1 at the last age).
    sigma2 : ndarray, shape (n_dev − 1,)
        Mack's σ²_k, the last one extrapolated.
    latest : ndarray
        Latest observed cumulative amount per origin.
    latest_age : ndarray
        Index of the latest observed age per origin.
    ultimate, ibnr, mack_se : ndarray
        Per origin.
    ibnr_total, mack_se_total : float
        Over all origins (the total SE includes the covariance terms).
    full_triangle : ndarray
        The triangle completed with projected values.
    """

    ldf: np.ndarray
    cdf: np.ndarray
    sigma2: np.ndarray
    latest: np.ndarray
    latest_age: np.ndarray
    ultimate: np.ndarray
    ibnr: np.ndarray
    ibnr_total: float
    mack_se: np.ndarray
    mack_se_total: float
    full_triangle: np.ndarray

    def describe(self) -> pd.DataFrame:
        """Per-origin table: latest, age-to-ultimate factor, ultimate, IBNR, Mack SE, CV."""
        with np.errstate(invalid="ignore", divide="ignore"):
            cv = np.where(self.ibnr > 0, self.mack_se / self.ibnr, np.nan)
        return pd.DataFrame(
            {
                "latest": self.latest,
                "cdf": self.cdf[self.latest_age],
                "ultimate": self.ultimate,
                "ibnr": self.ibnr,
                "mack_se": self.mack_se,
                "cv": cv,
            },
            index=pd.RangeIndex(len(self.latest), name="origin"),
        )


@dataclass(frozen=True, eq=False)
class BornhuetterFerguson:
    """Bornhuetter–Ferguson completion: IBNR_i = U⁰_i (1 − 1/CDF_i)."""

    cdf: np.ndarray  # age-to-ultimate factor per origin
    latest: np.ndarray
    apriori_ultimate: np.ndarray
    ultimate: np.ndarray
    ibnr: np.ndarray
    ibnr_total: float

    def describe(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "latest": self.latest,
                "cdf": self.cdf,
                "apriori_ultimate": self.apriori_ultimate,
                "ultimate": self.ultimate,
                "ibnr": self.ibnr,
            },
            index=pd.RangeIndex(len(self.latest), name="origin"),
        )


_SIGMA_METHODS = ("mack", "log-linear")


def _factors(
    c: np.ndarray, sigma_extrapolation: str = "mack"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Volume-weighted f_k, Mack σ²_k and the column sums S_k = Σ_{i: C_{i,k+1} known} C_{ik}."""
    lhs, rhs = c[:, :-1], c[:, 1:]
    both = ~np.isnan(rhs)  # C_{i,k} is then known too
    n_k = both.sum(axis=0)
    if np.any(n_k == 0):
        raise ValueError(
            "every development age needs at least one observed age-to-age link"
        )
    s_k = np.where(both, lhs, 0.0).sum(axis=0)
    f = np.where(both, rhs, 0.0).sum(axis=0) / s_k
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.where(both, lhs * (rhs / np.where(both, lhs, 1.0) - f) ** 2, 0.0).sum(
            axis=0
        )
        sigma2 = np.where(n_k > 1, dev / (n_k - 1), np.nan)
    missing = np.isnan(sigma2)
    if sigma_extrapolation == "log-linear" and missing.any() and (~missing).sum() >= 2:
        # chainladder-python's default: OLS of log σ_k on k over the estimable ages
        known = np.flatnonzero(~missing & (sigma2 > 0))
        slope, intercept = np.polyfit(known + 1.0, 0.5 * np.log(sigma2[known]), 1)
        fill = np.flatnonzero(missing)
        sigma2[fill] = np.exp(2.0 * (intercept + slope * (fill + 1.0)))
        return f, sigma2, s_k
    # Mack (1993): extrapolate σ² where it cannot be estimated (one link only)
    for k in np.flatnonzero(missing):
        if k >= 2:
            a, b = sigma2[k - 2], sigma2[k - 1]
            sigma2[k] = min(b**2 / a if a > 0 else 0.0, a, b)
        elif k == 1 and not np.isnan(sigma2[0]):
            sigma2[k] = sigma2[0]
        # else: left NaN — the Mack standard errors are then NaN too
    return f, sigma2, s_k


def chain_ladder(triangle, *, sigma_extrapolation: str = "mack") -> ChainLadder:
    """Chain ladder with Mack (1993) standard errors.

    Parameters
    ----------
    triangle : array_like, shape (n_origin, n_dev)
        Cumulative amounts; row i holds ages 0 … I_i, NaN after the latest age.
    sigma_extrapolation : {"mack", "log-linear"}
        How σ² is filled where it cannot be estimated (the last age):
        ``"mack"`` is Mack's (1993) rule below (R ChainLadder's
        ``est.sigma="Mack"``, chainladder-python's ``sigma_interpolation="mack"``);
        ``"log-linear"`` extrapolates an unweighted least-squares line through
        log σ_k (chainladder-python's default ``sigma_interpolation="log-linear"``).

    Returns
    -------
    ChainLadder

    Notes
    -----
    With C_{ik} the cumulative amount of origin i at age k, and sums over the
    origins i where C_{i,k+1} is observed:

    * f_k = Σ_i C_{i,k+1} / Σ_i C_{ik}  (volume-weighted);
    * σ²_k = Σ_i C_{ik} (C_{i,k+1}/C_{ik} − f_k)² / (n_k − 1), and for the last
      age (one link) σ²_{n−1} = min(σ⁴_{n−2}/σ²_{n−3}, σ²_{n−3}, σ²_{n−2});
    * Ĉ_{i,k+1} = Ĉ_{ik} f_k beyond the diagonal, ultimate Ĉ_{i,n}, IBNR R_i = Ĉ_{i,n} − C_{i,I_i};
    * mse(R_i) = Ĉ²_{i,n} Σ_{k=I_i}^{n−1} (σ²_k / f²_k) (1/Ĉ_{ik} + 1/Σ_j C_{jk});
    * mse(R) = Σ_i [ mse(R_i) + Ĉ_{i,n} (Σ_{j>i} Ĉ_{j,n}) Σ_{k=I_i}^{n−1} (2σ²_k/f²_k) / Σ_q C_{qk} ],
      the origins ordered from oldest to youngest (Mack 1993, Corollary to Theorem 3).
    """
    if sigma_extrapolation not in _SIGMA_METHODS:
        raise ValueError(
            f"sigma_extrapolation must be one of {_SIGMA_METHODS}, got {sigma_extrapolation!r}"
        )
    c, latest_age = _check_triangle(triangle)
    n_origin, n_dev = c.shape
    f, sigma2, s_k = _factors(c, sigma_extrapolation)
    cdf = np.append(np.cumprod(f[::-1])[::-1], 1.0)

    # complete the triangle
    full = c.copy()
    for k in range(n_dev - 1):
        missing = np.isnan(full[:, k + 1])
        full[missing, k + 1] = full[missing, k] * f[k]
    latest = c[np.arange(n_origin), latest_age]
    ultimate = full[:, -1]
    ibnr = ultimate - latest

    # Mack standard errors: future ages k ≥ I_i of each origin
    ages = np.arange(n_dev - 1)
    future = ages[None, :] >= latest_age[:, None]  # (n_origin, n_dev-1)
    ratio = sigma2 / f**2
    per_cell = ratio[None, :] * (1.0 / full[:, :-1] + 1.0 / s_k[None, :])
    mse_i = ultimate**2 * np.where(future, per_cell, 0.0).sum(axis=1)
    mack_se = np.sqrt(mse_i)

    param = np.where(future, (2.0 * ratio / s_k)[None, :], 0.0).sum(axis=1)
    # sort by latest age descending (oldest first) so "j > i" means younger origins
    order = np.argsort(-latest_age, kind="stable")
    u_sorted = ultimate[order]
    younger = np.cumsum(u_sorted[::-1])[::-1] - u_sorted  # Σ_{j after i} Ĉ_{j,n}
    cov = (u_sorted * younger * param[order]).sum()
    mack_se_total = float(np.sqrt(mse_i.sum() + cov))

    return ChainLadder(
        ldf=f,
        cdf=cdf,
        sigma2=sigma2,
        latest=latest,
        latest_age=latest_age,
        ultimate=ultimate,
        ibnr=ibnr,
        ibnr_total=float(ibnr.sum()),
        mack_se=mack_se,
        mack_se_total=mack_se_total,
        full_triangle=full,
    )


def bornhuetter_ferguson(triangle, apriori_ultimate) -> BornhuetterFerguson:
    """Bornhuetter–Ferguson ultimate with chain-ladder development pattern.

    Parameters
    ----------
    triangle : array_like, shape (n_origin, n_dev)
        Cumulative triangle as for :func:`chain_ladder`.
    apriori_ultimate : float or array_like, shape (n_origin,)
        A priori expected ultimate U⁰_i (e.g. exposure × expected claims per head).

    Notes
    -----
    IBNR_i = U⁰_i (1 − 1/CDF_i) with CDF_i the chain-ladder age-to-ultimate
    factor at the latest age of origin i; ultimate_i = C_{i,I_i} + IBNR_i.
    """
    c, latest_age = _check_triangle(triangle)
    n_origin = c.shape[0]
    prior = np.broadcast_to(
        np.asarray(apriori_ultimate, dtype=float), (n_origin,)
    ).copy()
    if np.any(~np.isfinite(prior)) or np.any(prior < 0):
        raise ValueError("apriori_ultimate must be finite and non-negative")
    f, _, _ = _factors(c)
    cdf_age = np.append(np.cumprod(f[::-1])[::-1], 1.0)
    cdf = cdf_age[latest_age]
    latest = c[np.arange(n_origin), latest_age]
    ibnr = prior * (1.0 - 1.0 / cdf)
    return BornhuetterFerguson(
        cdf=cdf,
        latest=latest,
        apriori_ultimate=prior,
        ultimate=latest + ibnr,
        ibnr=ibnr,
        ibnr_total=float(ibnr.sum()),
    )


# ---------------------------------------------------------------------------------------- claim counts
@dataclass(frozen=True, eq=False)
class CountDevelopment:
    """Chain-ladder completion of claim counts reported so far, by origin (accident/policy) year.

    ``table`` (index: origin year): ``reported`` (claims reported by the valuation quarter), ``ultimate``,
    ``factor`` = ultimate / reported (报案进展因子, 1 for a mature year) and ``mack_se`` (of the ultimate).
    ``triangle`` is the cumulative count triangle (origins × quarterly ages), ``fit`` the chain ladder.
    """

    table: pd.DataFrame
    triangle: pd.DataFrame
    fit: ChainLadder
    valuation: tuple[int, int]  # (year, quarter 1–4) of the latest report in the data


def count_development(origin, lag) -> CountDevelopment:
    """Count triangle by origin year and quarterly report lag, completed by chain ladder (Mack SE).

    ``origin``: the policy year of each claim; ``lag``: quarters from the start of that year to the
    report (0 = reported in the year's first quarter, 4 = in the next year's first quarter …).
    The valuation quarter is the latest report in the data, V = max(4·origin + lag); origin y is
    observed for ages q ≤ V − 4y, so the cumulative triangle C[y, q] = #{claims of y with lag ≤ q} has
    NaN below the diagonal.  Ages run to the oldest origin's last observed age (no tail beyond it).
    """
    origin = np.asarray(origin, dtype=np.int64)
    lag = np.asarray(lag, dtype=np.int64)
    if origin.shape != lag.shape or origin.size == 0:
        raise ValueError("origin and lag must be non-empty arrays of one length / 年度与滞后须等长且非空")
    if (lag < 0).any():
        raise ValueError("report lags must be ≥ 0 quarters / 报案滞后季度不能为负")
    years = np.arange(origin.min(), origin.max() + 1)
    valuation = int((4 * origin + lag).max())
    last_age = valuation - 4 * years  # per origin
    ages = np.arange(int(last_age.max()) + 1)
    counts = np.zeros((years.size, ages.size))
    np.add.at(counts, (origin - years[0], np.minimum(lag, ages[-1])), 1.0)
    triangle = np.cumsum(counts, axis=1)
    triangle[ages[None, :] > last_age[:, None]] = np.nan
    fit = chain_ladder(triangle)
    reported = fit.latest
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(reported > 0, fit.ultimate / reported, 1.0)
    table = pd.DataFrame({"reported": reported, "ultimate": fit.ultimate, "factor": factor,
                          "mack_se": fit.mack_se}, index=pd.Index(years, name="origin"))
    return CountDevelopment(table=table, triangle=pd.DataFrame(triangle, index=table.index,
                                                                columns=pd.Index(ages, name="age_quarters")),
                            fit=fit, valuation=(valuation // 4, valuation % 4 + 1))
