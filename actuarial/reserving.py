"""Claims development: chain ladder with Mack standard errors, and Bornhuetter–Ferguson.

Sources: T. Mack, "Distribution-free calculation of the standard error of
chain ladder reserve estimates", ASTIN Bulletin 23(2), 1993, 213–225;
R. L. Bornhuetter and R. E. Ferguson, "The actuary and IBNR", PCAS 59, 1972.
Conventions (volume-weighted factors, σ² extrapolation for the last age)
follow chainladder-python's ``Development(sigma_interpolation="mack")``
with ``MackChainladder``; the links, the σ² rules, zero and negative cells
and the tail factor are in :mod:`actuarial.development_factors`, compared
with chainladder-python 0.10.1 on its sample triangles in
``tests/test_reserving_chainladder.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from actuarial.development_factors import estimate_factors, tail_factor

__all__ = [
    "BornhuetterFerguson",
    "ChainLadder",
    "CountDevelopment",
    "bornhuetter_ferguson",
    "chain_ladder",
    "count_development",
]


def _check_triangle(triangle) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative cells as floats and, per origin, the index of its latest observed age.

    NaN = not observed.  Triangles as they come: zero and negative cells, origins whose early ages are missing
    (older origins in data that starts at a later valuation) and holes are accepted; every origin needs at
    least one observed cell, and the latest observed cell of each origin is its diagonal (NaN after it).
    """
    c = np.asarray(triangle, dtype=float)
    if c.ndim != 2:
        raise ValueError(
            f"triangle must be 2-D (origins × development ages), got {c.ndim}-D"
        )
    n_dev = c.shape[1]
    if n_dev < 2:
        raise ValueError("triangle needs at least two development ages")
    if np.isinf(c).any():
        raise ValueError("triangle cells must be finite numbers or NaN (not observed)")
    observed = ~np.isnan(c)
    empty = np.flatnonzero(~observed.any(axis=1))
    if empty.size:
        raise ValueError(f"origin row(s) {empty.tolist()} have no observed cell / 该起始年度没有任何观测值")
    latest_age = n_dev - 1 - np.argmax(observed[:, ::-1], axis=1)
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
        The triangle completed with projected values (before the tail).
    tail : float
        Tail factor beyond the last age (1 without one), included in ``cdf`` and ``ultimate``.
    notes : tuple of str
        What was assumed: ages without links, σ² filled, the tail.
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
    tail: float = 1.0
    notes: tuple[str, ...] = ()

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


def _mack_errors(full: np.ndarray, latest_age: np.ndarray, ultimate: np.ndarray, f: np.ndarray,
                 sigma2: np.ndarray, s_k: np.ndarray) -> tuple[np.ndarray, float]:
    """Mack's standard error per origin and in total (the formulas of :func:`chain_ladder`); a projected cell
    ≤ 0 adds no process variance and a zero S_k no parameter variance."""
    n_dev = full.shape[1]
    ages = np.arange(n_dev - 1)
    future = ages[None, :] >= latest_age[:, None]  # (n_origin, n_dev-1): future ages k ≥ I_i
    ratio = sigma2 / f**2
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_s = np.where(s_k != 0, 1.0 / s_k, 0.0)
        inv_c = np.where(full[:, :-1] > 0, 1.0 / full[:, :-1], 0.0)
    per_cell = ratio[None, :] * (np.nan_to_num(inv_c) + inv_s[None, :])
    mse_i = ultimate**2 * np.where(future, per_cell, 0.0).sum(axis=1)
    param = np.where(future, (2.0 * ratio * inv_s)[None, :], 0.0).sum(axis=1)
    # sort by latest age descending (oldest first) so "j > i" means younger origins
    order = np.argsort(-latest_age, kind="stable")
    u_sorted = ultimate[order]
    younger = np.cumsum(u_sorted[::-1])[::-1] - u_sorted  # Σ_{j after i} Ĉ_{j,n}
    cov = (u_sorted * younger * param[order]).sum()
    return np.sqrt(mse_i), float(np.sqrt(mse_i.sum() + cov))


def chain_ladder(triangle, *, sigma_extrapolation: str = "mack", tail: float | str | None = None,
                 chainladder_compatible: bool = False) -> ChainLadder:
    """Chain ladder with Mack (1993) standard errors.

    Parameters
    ----------
    triangle : array_like, shape (n_origin, n_dev)
        Cumulative amounts or counts; NaN = not observed (after the latest age, or before the first observed
        age of an older origin).  Zero and negative cells are accepted (:mod:`actuarial.development_factors`
        says which links enter the factors).
    sigma_extrapolation : {"mack", "log-linear"}
        How σ² is filled where it cannot be estimated (the last age, an age with one link):
        ``"mack"`` is Mack's (1993) rule below (R ChainLadder's ``est.sigma="Mack"``, chainladder-python's
        ``sigma_interpolation="mack"``); ``"log-linear"`` extrapolates an unweighted least-squares line through
        log σ_k (chainladder-python's default).
    tail : None, a factor ≥ 1, or ``"exponential"`` (curve fit of f − 1, see
        :func:`actuarial.development_factors.tail_factor`).  The ultimates include it; the Mack standard
        errors do not include the tail's own uncertainty (they are those of the development inside the triangle,
        scaled by the tail).
    chainladder_compatible : reproduce chainladder-python's conventions where they differ (zero σ, the Mack
        rule not recursive); see :mod:`actuarial.development_factors`.

    Returns
    -------
    ChainLadder
        ``notes`` says what was assumed (ages without links, σ² filled, the tail).

    Notes
    -----
    With C_{ik} the cumulative amount of origin i at age k, and sums over the links at age k:

    * f_k = Σ_i C_{i,k+1} / Σ_i C_{ik}  (volume-weighted);
    * σ²_k = Σ_i C_{ik} (C_{i,k+1}/C_{ik} − f_k)² / (n_k − 1), and for the last
      age (one link) σ²_{n−1} = min(σ⁴_{n−2}/σ²_{n−3}, σ²_{n−3}, σ²_{n−2});
    * Ĉ_{i,k+1} = Ĉ_{ik} f_k beyond the diagonal, ultimate Ĉ_{i,n}·t (t the tail), IBNR R_i = ultimate − C_{i,I_i};
    * mse(R_i) = Ĉ²_{i,n} Σ_{k=I_i}^{n−1} (σ²_k / f²_k) (1/Ĉ_{ik} + 1/Σ_j C_{jk});
    * mse(R) = Σ_i [ mse(R_i) + Ĉ_{i,n} (Σ_{j>i} Ĉ_{j,n}) Σ_{k=I_i}^{n−1} (2σ²_k/f²_k) / Σ_q C_{qk} ],
      the origins ordered from oldest to youngest (Mack 1993, Corollary to Theorem 3); a projected cell
      Ĉ_{ik} ≤ 0 (zero or negative cells) adds no process variance (1/Ĉ_{ik} taken as 0, as chainladder-python's
      σ/√Ĉ → NaN → 0), so an origin whose latest cell is 0 projects to 0 with no error.
    """
    c, latest_age = _check_triangle(triangle)
    n_origin, n_dev = c.shape
    fit = estimate_factors(c, sigma_extrapolation, chainladder_compatible=chainladder_compatible)
    f, sigma2, s_k = fit.f, fit.sigma2, fit.s_k
    t, tail_note = tail_factor(f, tail)
    cdf = np.append(np.cumprod(f[::-1])[::-1], 1.0) * t

    # complete the triangle from each origin's latest cell (cells before it stay as observed, NaN or not)
    full = c.copy()
    for k in range(n_dev - 1):
        later = np.arange(n_origin)[latest_age <= k]
        full[later, k + 1] = full[later, k] * f[k]
    latest = c[np.arange(n_origin), latest_age]
    ultimate = full[:, -1] * t
    ibnr = ultimate - latest

    if chainladder_compatible:  # its std_err_fill: a filled σ² is divided by the oldest origin's cell, not S_k
        s_k = np.where(fit.estimated, s_k, np.nan_to_num(np.where(c[0, :-1] != 0, c[0, :-1], np.nan)))
    mack_se, mack_se_total = _mack_errors(full, latest_age, ultimate, f, sigma2, s_k)

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
        tail=t,
        notes=fit.notes + ((tail_note,) if tail_note else ()),
    )


def bornhuetter_ferguson(triangle, apriori_ultimate, *, tail: float | str | None = None) -> BornhuetterFerguson:
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
    factor at the latest age of origin i (times the ``tail``, as :func:`chain_ladder`);
    ultimate_i = C_{i,I_i} + IBNR_i.
    """
    c, latest_age = _check_triangle(triangle)
    n_origin = c.shape[0]
    prior = np.broadcast_to(
        np.asarray(apriori_ultimate, dtype=float), (n_origin,)
    ).copy()
    if np.any(~np.isfinite(prior)) or np.any(prior < 0):
        raise ValueError("apriori_ultimate must be finite and non-negative")
    f = estimate_factors(c).f
    cdf_age = np.append(np.cumprod(f[::-1])[::-1], 1.0) * tail_factor(f, tail)[0]
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
