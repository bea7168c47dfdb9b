"""The severity likelihood and its maximisation (the model and the method: :mod:`actuarial.severity`).

    ℓ(θ) = Σ_uncensored [log f(x_i; t_i) − log S(d; t_i)] + Σ_censored [log S(u_i; t_i) − log S(d; t_i)]

:func:`maximum_likelihood` finds θ̂ for one family: (log-)moment start, L-BFGS-B in the parameter box,
Newton polish on a central-difference Hessian (a Nelder–Mead restart when that fails); cov(θ̂) = H⁻¹,
H = −∇²ℓ(θ̂); converged when ℓ is finite, θ̂ is inside the box, H is positive definite and the Newton
decrement gᵀH⁻¹g < ``DECREMENT_TOL``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Newton decrement gᵀH⁻¹g (log-likelihood units) below which a fit counts as converged.
DECREMENT_TOL = 1e-4


def shape_logscale_beta(family: str, theta: np.ndarray, has_trend: bool, fixed_beta: float):
    """(scipy shape parameter, log of the scale at t0, β) from θ: lognormal θ = (μ, log σ[, β]) gives
    (σ, μ, β); gamma and Lomax θ = (log shape, log scale[, β]) give (shape, log scale, β); β = ``fixed_beta``
    without a fitted trend."""
    if family == "lognormal":
        shape, log_scale = math.exp(theta[1]), theta[0]
    else:
        shape, log_scale = math.exp(theta[0]), theta[1]
    beta = theta[2] if has_trend else fixed_beta
    return shape, log_scale, beta


class SeverityData:
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


def _loglik(family: str, theta: np.ndarray, data: SeverityData, has_trend: bool, fixed_beta: float) -> float:
    """ℓ(θ) of the module docstring, vectorised over the amounts.

    The log densities are written out (they are exact and cheap) and the log survival functions use
    scipy's stable forms: lognormal log S = ``special.log_ndtr(−z)`` (what ``stats.norm.logsf``
    evaluates), gamma log S = log Q(a, y) (``special.gammaincc``, ``stats.gamma.logsf`` in the far tail),
    Lomax log S = −α log1p(x/λ) (exact).  Written out rather than calling ``stats.<dist>.logpdf`` with array
    scales because the optimiser evaluates ℓ a few hundred times and the generic calls are 3–6× slower; the test suite checks ℓ against
    ``scipy.stats`` directly.  Sums avoid ``@`` (a BLAS call whose threads are slow on a busy machine).
    """
    from scipy import special

    shape, log_scale, beta = shape_logscale_beta(family, theta, has_trend, fixed_beta)
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
    beta = float(np.polyfit(dt, logx, 1)[0]) if has_trend and np.ptp(dt) > 0 else fixed_beta
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


@dataclass(frozen=True, eq=False)
class MaximumLikelihood:
    """θ̂ of one family, cov(θ̂) = H⁻¹ (NaN when not converged), ℓ(θ̂), and how the search went."""

    theta: np.ndarray
    cov: np.ndarray
    loglik: float
    converged: bool
    message: str


def maximum_likelihood(family: str, x: np.ndarray, dt: np.ndarray, data: SeverityData, has_trend: bool,
                       fixed_beta: float) -> MaximumLikelihood:
    """Maximise ℓ(θ) of ``family`` (module docstring): minimise −ℓ/n by L-BFGS-B in the box, polish by
    Newton, restart by Nelder–Mead when the decrement stays ≥ ``DECREMENT_TOL``; an estimate within 1e-4 of
    the box edge is a boundary solution (not converged)."""
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
        if (cov is None or decrement >= DECREMENT_TOL) and not at_bound(theta):
            nm = optimize.minimize(nll, theta, method="Nelder-Mead", bounds=bounds,
                                   options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 4000})
            messages.append(f"Nelder-Mead: {nm.message}")
            if math.isfinite(nm.fun) and nm.fun <= nll(theta):
                theta = np.asarray(nm.x, dtype=float)
            if not at_bound(theta):
                theta, cov, decrement = _newton_polish(nll, theta, n)
    if at_bound(theta):
        messages.append("estimate on the parameter box edge (boundary solution)")
    converged = cov is not None and decrement < DECREMENT_TOL and not at_bound(theta)
    if not converged:
        messages.append(f"Newton decrement {decrement:.3g}" if cov is not None else "Hessian not positive definite")
        cov = np.full((theta.size, theta.size), np.nan)
    loglik = _loglik(family, theta, data, has_trend, fixed_beta)
    return MaximumLikelihood(theta, cov, float(loglik), bool(converged and math.isfinite(loglik)),
                             "; ".join(messages))
