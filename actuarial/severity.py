"""Severity (赔案金额分布) by maximum likelihood: left truncation, right censoring, log-linear trend, AIC.

Method (actuarial.md §3 step 3; Klugman, Panjer & Willmot, *Loss Models*, ch. 11–13).  The data are
ground-up amounts x_i in yuan (医疗费用 etc.) of year t_i, reported only above the threshold d
(起付线/左截断, ``truncation``) and possibly right-censored (右删失: the true amount is ≥ the recorded
u_i, e.g. when only "reached the cap" is known).  Each family is a scale family with a log-linear trend
in the scale,

    s_t = s · exp(β (t − t0)),        t0 = ``base_year``,

so every amount grows by the factor e^β − 1 a year (the reported ``trend``).  The log-likelihood is

    ℓ(θ) = Σ_uncensored [log f(x_i; t_i) − log S(d; t_i)] + Σ_censored [log S(u_i; t_i) − log S(d; t_i)]

(the −log S(d; t) terms vanish when d = 0).  Families and their parameters on the unconstrained
scale θ (so that a normal approximation around the MLE is sensible):

===========  ==================================  ==========================================
family       θ                                   frozen ``scipy.stats`` distribution in year t
===========  ==================================  ==========================================
lognormal    (mu, log_sigma[, trend])            ``lognorm(σ, scale=exp(μ + β(t − t0)))``
gamma        (log_shape, log_scale[, trend])     ``gamma(α, scale=θ·exp(β(t − t0)))``
lomax        (log_alpha, log_scale[, trend])     ``lomax(α, scale=λ·exp(β(t − t0)))`` (Pareto II)
===========  ==================================  ==========================================

The MLE starts from (log-)moment estimates on the detrended amounts, is found by L-BFGS-B inside a
wide box (gamma/Lomax shape 1e-3 … 1e4, lognormal σ 1e-3 … 50, |β| ≤ 1), polished by Newton steps on a central-difference Hessian (a
Nelder–Mead restart when that fails), and its covariance is the inverse observed information
cov(θ̂) = H⁻¹, H = −∇²ℓ(θ̂).  A family is ``converged`` when ℓ is finite, the estimate is inside the
box, H is positive definite and the Newton decrement gᵀH⁻¹g is below 1e-4; the best family is the
converged one with the smallest AIC = 2k − 2ℓ.  An MLE on the box edge is a boundary solution (e.g.
a gamma shape → 0 or a Lomax α → ∞ on data it does not fit) and is reported with converged = False.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from actuarial.severity_likelihood import SeverityData, maximum_likelihood, shape_logscale_beta

__all__ = ["FAMILIES", "SeverityComparison", "SeverityFit", "fit_severity"]

FAMILIES = ("lognormal", "gamma", "lomax")

#: θ names (without the trend) and natural parameter names of each family.
_THETA_NAMES = {
    "lognormal": ("mu", "log_sigma"),
    "gamma": ("log_shape", "log_scale"),
    "lomax": ("log_alpha", "log_scale"),
}
_NATURAL_NAMES = {
    "lognormal": ("mu", "sigma"),
    "gamma": ("shape", "scale"),
    "lomax": ("alpha", "scale"),
}
_SCIPY_NAME = {"lognormal": "lognorm", "gamma": "gamma", "lomax": "lomax"}

# ---------------------------------------------------------------------------------------------- fit
@dataclass(frozen=True, eq=False)
class SeverityFit:
    """One fitted severity family (see the module docstring for θ and the likelihood).

    ``params`` gives the natural parameters at ``base_year`` and ``trend`` = e^β − 1 (the annual growth
    rate of every amount; the fixed ``trend_rate`` when one was imposed, 0 without trend).
    ``table`` reports each natural parameter with its standard error by the delta method from
    ``cov`` (σ = e^{log σ} ⇒ se(σ) = σ·se(log σ); trend = e^β − 1 ⇒ se = e^β·se(β)), next to the
    θ-scale estimate and SE.
    """

    family: str
    names: tuple[str, ...]
    theta: np.ndarray
    cov: np.ndarray
    loglik: float
    n: int
    k: int
    base_year: float
    truncation: float
    has_trend: bool
    converged: bool = True
    message: str = ""
    fixed_trend: float = 0.0  # β imposed when ``trend_rate`` was given (has_trend is then False)
    n_censored: int = 0

    # -------------------------------------------------------------------- summaries
    @property
    def aic(self) -> float:
        """Akaike information criterion 2k − 2ℓ."""
        return 2.0 * self.k - 2.0 * self.loglik

    @property
    def se(self) -> np.ndarray:
        """Standard errors of θ: sqrt(diag(cov))."""
        return np.sqrt(np.diag(self.cov))

    @property
    def beta(self) -> float:
        """Continuous annual trend β of the log scale (fitted, imposed, or 0)."""
        return float(self.theta[2]) if self.has_trend else float(self.fixed_trend)

    @property
    def params(self) -> dict[str, float]:
        """Natural parameters at ``base_year`` plus ``trend`` (annual rate e^β − 1)."""
        shape, log_scale, beta = shape_logscale_beta(self.family, self.theta, self.has_trend, self.fixed_trend)
        first, second = _NATURAL_NAMES[self.family]
        if self.family == "lognormal":
            out = {first: float(log_scale), second: float(shape)}
        else:
            out = {first: float(shape), second: float(math.exp(log_scale))}
        out["trend"] = float(math.expm1(beta))
        return out

    @property
    def table(self) -> pd.DataFrame:
        """One row per natural parameter: estimate and delta-method se, with θ-scale name, value and se."""
        se = self.se
        params = self.params
        first, second = _NATURAL_NAMES[self.family]
        rows = []
        for i, name in enumerate((first, second)):
            theta_name = self.names[i]
            est = params[name]
            # identity for μ, exp for the log-parameters: d exp(v)/dv = exp(v)
            d = 1.0 if theta_name == "mu" else est
            rows.append((name, est, abs(d) * se[i], theta_name, float(self.theta[i]), se[i]))
        if self.has_trend:
            rows.append(("trend", params["trend"], math.exp(self.theta[2]) * se[2], "trend",
                         float(self.theta[2]), se[2]))
        else:
            rows.append(("trend", params["trend"], 0.0, "", float(self.fixed_trend), 0.0))
        frame = pd.DataFrame(rows, columns=["parameter", "estimate", "se", "theta_name", "theta", "theta_se"])
        return frame.set_index("parameter")

    # -------------------------------------------------------------------- distributions
    def frozen(self, year: float | None = None, theta: np.ndarray | None = None) -> Any:
        """Frozen ``scipy.stats`` distribution of the ground-up amount X in ``year`` (default base_year).

        The scale is s·exp(β (year − base_year)); ``theta`` (same layout as :attr:`theta`, e.g. a row of
        :meth:`sample_theta`) replaces the MLE.
        """
        from scipy import stats

        th = self.theta if theta is None else np.asarray(theta, dtype=float)
        if th.shape != self.theta.shape:
            raise ValueError(f"theta must have shape {self.theta.shape}, got {th.shape}")
        shape, log_scale, beta = shape_logscale_beta(self.family, th, self.has_trend, self.fixed_trend)
        dt = 0.0 if year is None else float(year) - self.base_year
        dist = getattr(stats, _SCIPY_NAME[self.family])
        return dist(shape, scale=math.exp(log_scale + beta * dt))

    def sample_theta(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """(size, k) draws from N(θ̂, cov): parametric bootstrap of the parameters (actuarial.md §3 step 7)."""
        if not np.all(np.isfinite(self.cov)):
            raise ValueError(
                f"{self.family} 拟合未收敛，无法抽样参数 / the {self.family} fit did not converge; "
                "cannot sample its parameters"
            )
        return rng.multivariate_normal(self.theta, self.cov, size=int(size), method="cholesky")


@dataclass(frozen=True, eq=False)
class SeverityComparison:
    """All fitted families, the AIC-best converged one, and a comparison table (index = family)."""

    fits: dict[str, SeverityFit]
    best: SeverityFit
    table: pd.DataFrame


# --------------------------------------------------------------------------------------- entry point
def _params_text(fit: SeverityFit) -> str:
    p = fit.params
    first, second = _NATURAL_NAMES[fit.family]
    return f"{first}={p[first]:.6g}, {second}={p[second]:.6g}, trend={p['trend']:.2%}"


def fit_severity(amounts, *, years=None, truncation: float = 0.0, censored=None, families=FAMILIES,
                 trend: bool | None = None, base_year: float | None = None,
                 trend_rate: float | None = None) -> SeverityComparison:
    """Fit lognormal / gamma / Lomax severities by MLE and compare them by AIC.

    Parameters
    ----------
    amounts : array_like
        Ground-up amounts in yuan (1-D, finite, all > ``truncation``; > 0 when there is no truncation).
    years : array_like, optional
        Year of each amount (the trend covariate).
    truncation : float
        Left-truncation point d (报案门槛/起付线): only amounts above d are in the data.  0 = none.
    censored : array_like of bool, optional
        True where the amount is a right-censoring point (the true amount is ≥ it).
    families : sequence of str
        Subset of :data:`FAMILIES`.
    trend : bool or None
        Fit a log-linear trend β.  None: fit it when ``years`` has ≥ 3 distinct values.
    base_year : float, optional
        t0, where the trend term is 0.  Default: the last year of ``years`` (so ``frozen(base_year + 1)``
        is next year), or 0 without years.
    trend_rate : float, optional
        Impose a known annual trend i (β = log(1 + i), not a free parameter; ``has_trend`` is False and
        ``params["trend"]`` = i).  Cannot be combined with ``trend=True``.

    Returns
    -------
    SeverityComparison
        ``best`` is the converged family with the smallest AIC = 2k − 2ℓ; ``table`` has one row per
        family: loglik, k, aic, delta_aic (to the best), converged, params.

    Raises
    ------
    ValueError
        Empty input, NaN/inf, amounts ≤ truncation, mismatched lengths, unknown family, or no family
        converged (messages in Chinese and English).
    """
    x, d, cens = _checked_amounts(amounts, truncation, censored)
    families = tuple(families)
    unknown = [f for f in families if f not in FAMILIES]
    if not families or unknown:
        raise ValueError(f"未知的分布族 {unknown} / unknown severity families {unknown}; choose from {FAMILIES}")
    t, t0, has_trend, fixed_beta = _trend_setup(x, years, base_year, trend, trend_rate)
    dt = t - t0
    data = SeverityData(x, cens, dt, d)
    fits = {fam: _fit_family(fam, x, dt, data, has_trend, fixed_beta, t0, d) for fam in families}
    return _comparison(fits)


def _checked_amounts(amounts, truncation: float, censored) -> tuple[np.ndarray, float, np.ndarray]:
    """(x, d, censored flags) checked: x 1-D, finite, all > d ≥ 0; flags boolean of x's shape (default none
    censored); at least two uncensored amounts."""
    x = np.asarray(amounts, dtype=float)
    if x.ndim != 1:
        x = x.ravel()
    if x.size == 0:
        raise ValueError("金额为空，无法拟合 / no amounts to fit")
    if not np.all(np.isfinite(x)):
        raise ValueError("金额含缺失值或无穷大 / amounts contain NaN or infinite values")
    d = float(truncation)
    if not (math.isfinite(d) and d >= 0):
        raise ValueError(f"截断点须为非负有限数 / truncation must be a finite number >= 0, got {truncation!r}")
    if np.any(x <= d):
        bad = int(np.sum(x <= d))
        raise ValueError(
            f"有 {bad} 个金额不大于截断点 {d:g} 元 / {bad} amounts are not above the truncation point {d:g} yuan"
        )
    if censored is None:
        cens = np.zeros(x.size, dtype=bool)
    else:
        cens_raw = np.asarray(censored)
        if cens_raw.shape != x.shape:
            raise ValueError(f"删失标记长度不符 / censored has shape {cens_raw.shape}, amounts {x.shape}")
        if cens_raw.dtype != bool and not np.all(np.isin(cens_raw, (0, 1))):
            raise ValueError("删失标记须为真/假 / censored must be boolean")
        cens = cens_raw.astype(bool)
    if int(np.sum(~cens)) < 2:
        raise ValueError("至少需要两个未删失的金额 / need at least two uncensored amounts")
    return x, d, cens


def _trend_setup(x: np.ndarray, years, base_year: float | None, trend: bool | None,
                 trend_rate: float | None) -> tuple[np.ndarray, float, bool, float]:
    """(years t, base year t0, has_trend, fixed β): t0 = ``base_year`` or the last year (0 without years);
    β imposed = log(1 + ``trend_rate``) when given, else fitted when ``trend`` (None: ≥ 3 distinct years)."""
    if years is None:
        t = np.zeros(x.size)
        n_years = 1
        t0 = 0.0 if base_year is None else float(base_year)
    else:
        t = np.asarray(years, dtype=float).ravel()
        if t.shape != x.shape:
            raise ValueError(f"年度长度不符 / years has shape {t.shape}, amounts {x.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError("年度含缺失值 / years contain NaN")
        n_years = np.unique(t).size
        t0 = float(t.max()) if base_year is None else float(base_year)
    if trend_rate is not None:
        if trend:
            raise ValueError("不能同时估计并固定趋势 / trend=True and trend_rate cannot be combined")
        if not (math.isfinite(float(trend_rate)) and float(trend_rate) > -1):
            raise ValueError(f"趋势率须大于 -1 / trend_rate must be > -1, got {trend_rate!r}")
        return t, t0, False, math.log1p(float(trend_rate))
    has_trend = (n_years >= 3) if trend is None else bool(trend)
    if has_trend and n_years < 2:
        raise ValueError("估计趋势至少需要两个年度 / fitting a trend needs at least two distinct years")
    return t, t0, has_trend, 0.0


def _fit_family(family: str, x: np.ndarray, dt: np.ndarray, data: SeverityData, has_trend: bool,
                fixed_beta: float, base_year: float, d: float) -> SeverityFit:
    """One family fitted by :func:`actuarial.severity_likelihood.maximum_likelihood`."""
    mle = maximum_likelihood(family, x, dt, data, has_trend, fixed_beta)
    names = _THETA_NAMES[family] + (("trend",) if has_trend else ())
    return SeverityFit(
        family=family, names=names, theta=mle.theta, cov=mle.cov, loglik=mle.loglik, n=data.n,
        k=mle.theta.size, base_year=float(base_year), truncation=float(d), has_trend=has_trend,
        converged=mle.converged, message=mle.message, fixed_trend=float(fixed_beta),
        n_censored=int(data.x_c.size),
    )


def _comparison(fits: dict[str, SeverityFit]) -> SeverityComparison:
    """The converged family with the smallest AIC = 2k − 2ℓ, and the table of every family's loglik, k, aic,
    delta_aic = AIC − AIC_best, converged, params; no family converged raises ValueError."""
    ok = [f for f in fits.values() if f.converged]
    if not ok:
        raise ValueError(
            "所有分布族的极大似然估计均未收敛 / maximum likelihood did not converge for any family: "
            + "; ".join(f"{f.family}: {f.message}" for f in fits.values())
        )
    best = min(ok, key=lambda f: f.aic)
    table = pd.DataFrame(
        {
            "loglik": [f.loglik for f in fits.values()],
            "k": [f.k for f in fits.values()],
            "aic": [f.aic for f in fits.values()],
            "delta_aic": [f.aic - best.aic for f in fits.values()],
            "converged": [f.converged for f in fits.values()],
            "params": [_params_text(f) for f in fits.values()],
        },
        index=pd.Index(list(fits), name="family"),
    )
    return SeverityComparison(fits=fits, best=best, table=table)
