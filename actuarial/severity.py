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

#: Newton decrement gᵀH⁻¹g (log-likelihood units) below which a fit counts as converged.
_DECREMENT_TOL = 1e-4


def _shape_logscale_beta(family: str, theta: np.ndarray, has_trend: bool, fixed_beta: float):
    """(scipy shape parameter, log of the scale at t0, β) from θ."""
    if family == "lognormal":
        shape, log_scale = math.exp(theta[1]), theta[0]
    else:
        shape, log_scale = math.exp(theta[0]), theta[1]
    beta = theta[2] if has_trend else fixed_beta
    return shape, log_scale, beta


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
        shape, log_scale, beta = _shape_logscale_beta(self.family, self.theta, self.has_trend, self.fixed_trend)
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
        shape, log_scale, beta = _shape_logscale_beta(self.family, th, self.has_trend, self.fixed_trend)
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


# --------------------------------------------------------------------------------------- likelihood
class _Data:
    """Amounts split into uncensored/censored parts, with year offsets t − t0 and the truncation groups."""

    def __init__(self, x: np.ndarray, censored: np.ndarray, dt: np.ndarray, d: float):
        self.x_u, self.dt_u = x[~censored], dt[~censored]
        self.x_c, self.dt_c = x[censored], dt[censored]
        self.logx_u, self.logx_c = np.log(self.x_u), np.log(self.x_c)
        self.sum_logx_u = float(self.logx_u.sum())
        self.d = d
        # −Σ_i log S(d; t_i) only depends on the year: evaluate once per distinct year, times its count.
        self.dt_groups, self.group_counts = np.unique(dt, return_counts=True)
        self.n = x.size


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _gamma_logsf(y: np.ndarray, a: float) -> np.ndarray:
    """log S of the standard gamma(a) at y.

    log Q(a, y) from ``special.gammaincc`` while Q is a normal float (relative precision); below
    1e-280, where Q (and ``stats.gamma.logsf``, which takes its log) underflows, the asymptotic series
    Γ(a, y) ≈ y^(a−1) e^(−y) Σ_k (a−1)(a−2)…(a−k)/y^k (Abramowitz & Stegun 6.5.32), with y > 600 there.
    """
    from scipy import special

    q = special.gammaincc(a, y)
    with np.errstate(divide="ignore"):
        out = np.log(q)
    tiny = q < 1e-280
    if np.any(tiny):
        yt = y[tiny]
        term, series = np.ones_like(yt), np.ones_like(yt)
        for k in range(1, 12):
            term = term * (a - k) / yt
            series += term
        out[tiny] = (a - 1.0) * np.log(yt) - yt - special.gammaln(a) + np.log(series)
    return out


def _loglik(family: str, theta: np.ndarray, data: _Data, has_trend: bool, fixed_beta: float) -> float:
    """ℓ(θ) of the module docstring, vectorised over the amounts.

    The log densities are written out (they are exact and cheap) and the log survival functions use
    scipy's stable forms: lognormal log S = ``special.log_ndtr(−z)`` (what ``stats.norm.logsf``
    evaluates), gamma log S = log Q(a, y) (``special.gammaincc``, ``stats.gamma.logsf`` in the far tail), Lomax log S = −α log1p(x/λ) (exact).  Written
    out rather than calling ``stats.<dist>.logpdf`` with array scales because the optimiser evaluates
    ℓ a few hundred times and the generic calls are 3–6× slower; the test suite checks ℓ against
    ``scipy.stats`` directly.  Sums avoid ``@`` (a BLAS call whose threads are slow on a busy machine).
    """
    from scipy import special

    shape, log_scale, beta = _shape_logscale_beta(family, theta, has_trend, fixed_beta)
    if not (np.isfinite(shape) and shape > 0 and np.isfinite(log_scale) and np.isfinite(beta)):
        return -math.inf
    ls_u = log_scale + beta * data.dt_u
    ls_c = log_scale + beta * data.dt_c
    ls_g = log_scale + beta * data.dt_groups
    total = 0.0
    with np.errstate(all="ignore"):
        if family == "lognormal":
            sigma = shape
            z_u = (data.logx_u - ls_u) / sigma
            total += -0.5 * float((z_u * z_u).sum()) - data.x_u.size * (math.log(sigma) + _HALF_LOG_2PI) - data.sum_logx_u
            if data.x_c.size:
                total += float(special.log_ndtr(-(data.logx_c - ls_c) / sigma).sum())
            if data.d > 0:
                log_s_d = special.log_ndtr(-(math.log(data.d) - ls_g) / sigma)
                total -= float((data.group_counts * log_s_d).sum())
        elif family == "gamma":
            a = shape
            logy_u = data.logx_u - ls_u
            total += float((a - 1.0) * logy_u.sum() - np.exp(logy_u).sum() - ls_u.sum()) - data.x_u.size * special.gammaln(a)
            if data.x_c.size:
                total += float(_gamma_logsf(np.exp(data.logx_c - ls_c), a).sum())
            if data.d > 0:
                total -= float((data.group_counts * _gamma_logsf(data.d * np.exp(-ls_g), a)).sum())
        else:  # lomax: f = (α/λ)(1 + x/λ)^−(α+1), S = (1 + x/λ)^−α
            c = shape
            l1p_u = np.log1p(np.exp(data.logx_u - ls_u))
            total += data.x_u.size * math.log(c) - float(ls_u.sum()) - (c + 1.0) * float(l1p_u.sum())
            if data.x_c.size:
                total += -c * float(np.log1p(np.exp(data.logx_c - ls_c)).sum())
            if data.d > 0:
                total -= float((data.group_counts * (-c * np.log1p(data.d * np.exp(-ls_g)))).sum())
    return total if math.isfinite(total) else -math.inf


def _hessian(f, x: np.ndarray, rel_step: float = 1e-4) -> tuple[float, np.ndarray, np.ndarray]:
    """Value, central-difference gradient and Hessian of f at x (h_i = rel_step·max(1, |x_i|)).

    Hand-written because scipy has no public numerical Hessian for a scalar function of a few
    parameters: ``scipy.differentiate.hessian`` needs a vectorised f and spends hundreds of
    evaluations on Richardson extrapolation, while this needs 1 + 2k + 2k(k − 1) (19 for k = 3).
    Errors: O(h²) truncation, O(ε|f|/h²) rounding — about 1e-7 relative for f = −ℓ/n.
    """
    k = x.size
    h = rel_step * np.maximum(1.0, np.abs(x))
    f0 = f(x)
    fp, fm = np.empty(k), np.empty(k)
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        fp[i], fm[i] = f(x + e), f(x - e)
    grad = (fp - fm) / (2 * h)
    hess = np.empty((k, k))
    hess[np.diag_indices(k)] = (fp - 2 * f0 + fm) / h**2
    for i in range(k):
        for j in range(i + 1, k):
            ei, ej = np.zeros(k), np.zeros(k)
            ei[i], ej[j] = h[i], h[j]
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = v
    return f0, grad, hess


def _start(family: str, x: np.ndarray, dt: np.ndarray, has_trend: bool, fixed_beta: float) -> np.ndarray:
    """Starting θ from (log-)moments of the detrended amounts (censoring and truncation ignored).

    β₀: least-squares slope of log x on t − t0.  Lognormal: μ₀, σ₀ = mean and sd of log y.  Gamma:
    Minka's approximation α₀ = (3 − s + √((s − 3)² + 24 s)) / (12 s), s = log ȳ − mean log y, scale ȳ/α₀.
    Lomax: λ₀ = median y, α₀ = 1 / mean log(1 + y/λ₀) (the MLE of α given λ).
    """
    logx = np.log(x)
    if has_trend and np.ptp(dt) > 0:
        beta = float(np.polyfit(dt, logx, 1)[0])
    else:
        beta = fixed_beta
    logy = logx - beta * dt
    y = np.exp(logy)
    if family == "lognormal":
        sd = float(np.std(logy)) if y.size > 1 else 1.0
        theta = [float(np.mean(logy)), math.log(max(sd, 1e-3))]
    elif family == "gamma":
        s = max(float(math.log(np.mean(y)) - np.mean(logy)), 1e-6)
        alpha = (3 - s + math.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
        theta = [math.log(alpha), math.log(float(np.mean(y)) / alpha)]
    else:
        lam = float(np.median(y))
        alpha = 1.0 / max(float(np.mean(np.log1p(y / lam))), 1e-6)
        theta = [math.log(alpha), math.log(lam)]
    if has_trend:
        theta.append(beta)
    return np.array(theta, dtype=float)


#: Box for the optimiser on the θ scale (shape 1e-3 … 1e4, σ ≤ 50, |β| ≤ 1): an MLE on the box edge is a
#: boundary solution (e.g. a gamma shape → 0 on truncated lognormal data) and is reported as not converged.
_LOG_SHAPE_BOUNDS = (math.log(1e-3), math.log(1e4))
_BETA_BOUNDS = (-1.0, 1.0)


def _bounds(family: str, theta0: np.ndarray, has_trend: bool) -> list[tuple[float, float]]:
    scale_slot = 0 if family == "lognormal" else 1
    shape_slot = 1 - scale_slot
    b = [(None, None)] * theta0.size
    b[shape_slot] = _LOG_SHAPE_BOUNDS if family != "lognormal" else (math.log(1e-3), math.log(50.0))
    b[scale_slot] = (theta0[scale_slot] - 30.0, theta0[scale_slot] + 30.0)
    if has_trend:
        b[2] = _BETA_BOUNDS
    return b


def _newton_polish(nll, theta: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Newton steps θ ← θ − H⁻¹g on the central-difference Hessian of −ℓ/n (at most 6).

    Returns the final θ, cov = H⁻¹/n at the last Hessian (None when H is not positive definite or not
    finite) and the last Newton decrement n·gᵀH⁻¹g (log-likelihood units; inf on failure).
    """
    cov, decrement = None, math.inf
    for _ in range(6):
        f0, g, hess = _hessian(nll, theta)
        if not (math.isfinite(f0) and np.all(np.isfinite(hess)) and np.all(np.isfinite(g))):
            return theta, None, math.inf
        try:
            np.linalg.cholesky(hess)  # positive definite ⇔ a strict local minimum of −ℓ
        except np.linalg.LinAlgError:
            return theta, None, math.inf
        step = np.linalg.solve(hess, g)
        decrement = float(g @ step) * n
        cov = np.linalg.inv(hess) / n  # ∇²(−ℓ) = n·∇²(−ℓ/n)
        if decrement < 1e-12:
            break
        trial = theta - step
        if not nll(trial) <= f0:
            break
        theta = trial
    return theta, cov, decrement


def _fit_family(family: str, x: np.ndarray, dt: np.ndarray, data: _Data, has_trend: bool,
                fixed_beta: float, base_year: float, d: float) -> SeverityFit:
    from scipy import optimize

    n = data.n

    def nll(th: np.ndarray) -> float:  # −ℓ/n, O(1) so that tolerances are scale-free
        v = _loglik(family, th, data, has_trend, fixed_beta)
        return -v / n if math.isfinite(v) else math.inf

    theta0 = _start(family, x, dt, has_trend, fixed_beta)
    bounds = _bounds(family, theta0, has_trend)
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    theta0 = np.clip(theta0, lo + 1e-6, hi - 1e-6)
    messages: list[str] = []

    def at_bound(th: np.ndarray) -> bool:
        return bool(np.any(th - lo < 1e-4) or np.any(hi - th < 1e-4))

    theta, cov, decrement = theta0, None, math.inf
    with np.errstate(all="ignore"):
        # 1. quasi-Newton in the box (forward-difference gradient: cheap; precision comes from step 2)
        res = optimize.minimize(nll, theta0, method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-13, "gtol": 1e-8, "maxiter": 500})
        messages.append(f"L-BFGS-B: {res.message}")
        if math.isfinite(res.fun) and res.fun <= nll(theta0):
            theta = np.asarray(res.x, dtype=float)
        # 2. Newton polish (quadratic convergence, and the Hessian for the covariance)
        if not at_bound(theta):
            theta, cov, decrement = _newton_polish(nll, theta, n)
        # 3. fallback: derivative-free restart, then polish again
        if (cov is None or decrement >= _DECREMENT_TOL) and not at_bound(theta):
            nm = optimize.minimize(nll, theta, method="Nelder-Mead", bounds=bounds,
                                   options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 4000})
            messages.append(f"Nelder-Mead: {nm.message}")
            if math.isfinite(nm.fun) and nm.fun <= nll(theta):
                theta = np.asarray(nm.x, dtype=float)
            if not at_bound(theta):
                theta, cov, decrement = _newton_polish(nll, theta, n)
    if at_bound(theta):
        messages.append("estimate on the parameter box edge (boundary solution)")
    converged = cov is not None and decrement < _DECREMENT_TOL and not at_bound(theta)
    if not converged:
        messages.append(f"Newton decrement {decrement:.3g}" if cov is not None else "Hessian not positive definite")
        cov = np.full((theta.size, theta.size), np.nan)
    loglik = _loglik(family, theta, data, has_trend, fixed_beta)
    names = _THETA_NAMES[family] + (("trend",) if has_trend else ())
    return SeverityFit(
        family=family, names=names, theta=theta, cov=cov, loglik=float(loglik), n=n, k=theta.size,
        base_year=float(base_year), truncation=float(d), has_trend=has_trend,
        converged=bool(converged and math.isfinite(loglik)), message="; ".join(messages),
        fixed_trend=float(fixed_beta), n_censored=int(data.x_c.size),
    )


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
    families = tuple(families)
    unknown = [f for f in families if f not in FAMILIES]
    if not families or unknown:
        raise ValueError(f"未知的分布族 {unknown} / unknown severity families {unknown}; choose from {FAMILIES}")

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
        has_trend, fixed_beta = False, math.log1p(float(trend_rate))
    else:
        has_trend = (n_years >= 3) if trend is None else bool(trend)
        fixed_beta = 0.0
        if has_trend and n_years < 2:
            raise ValueError("估计趋势至少需要两个年度 / fitting a trend needs at least two distinct years")
    dt = t - t0
    data = _Data(x, cens, dt, d)

    fits = {fam: _fit_family(fam, x, dt, data, has_trend, fixed_beta, t0, d) for fam in families}
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
