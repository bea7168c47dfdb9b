"""Coverage: the payout function g(x) of a bracket line, its inverse, and exact moments of g(X).

The schedule itself (起付线 + 阶梯 + 封顶) is defined once, in :mod:`products.schedule`, in integer fen.
:meth:`PayoutFunction.from_line` reads the same :class:`products.model.Line` through
:func:`products.schedule.bracket_bounds` and only converts it to yuan floats for the maths:

    g(x) = min(cap, Σ_k rate_k · clamp(x − lower_k, 0, width_k))    if x > trigger, else 0

(the engine rounds each payout half-up to the fen; the maths ignores that ≤ 0.005 yuan).

Above the trigger g is continuous, piecewise linear and non-decreasing; it reaches the cap at
``x_cap`` and is constant beyond.  Two atoms of Y = g(X) follow for a continuous X:

* at 0, with mass F_X(trigger);
* at the cap, with mass S_X(x_cap).

If ``start_line < trigger`` (a 预警线 above the 起付线), g jumps at the trigger from 0 to
``y_min = g(trigger+) > 0``: Y then has no mass on (0, y_min) and F_Y is flat there.

Exact moments follow Loss Models (Klugman, Panjer & Willmot), ch. 8: on each linear piece
(l, u] write g(x) = c + s·(x − l) with c = g(l+) ≥ 0, expand (c + s(x − l))^k binomially and
integrate the partial moments ∫_l^u (x − l)^j f(x) dx (all terms are non-negative: no cancellation).
The cap region adds cap^k · S_X(x_cap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from math import comb
from typing import Any

import numpy as np

from products.model import RATE_SCALE, Line
from products.schedule import bracket_bounds

FEN_PER_YUAN = 100
_QUAD = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}


@dataclass(frozen=True)
class PayoutFunction:
    """Tiered payout g(x) in yuan: brackets (lower, width, rate), a trigger and a per-event cap.

    Build it with :meth:`from_line`; the fields are yuan floats (``width`` = inf for an open bracket,
    ``cap`` = inf for no cap).
    """

    lower: np.ndarray
    width: np.ndarray
    rate: np.ndarray
    trigger: float
    cap: float
    start_line: float = 0.0
    name: str = ""

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_line(cls, line: Line) -> PayoutFunction:
        """The payout function of a ``bracket`` line of a product (amounts fen → yuan, rate_e4 → rate)."""
        if line.kind != "bracket":
            raise ValueError(f"line {line.id!r} is of kind {line.kind!r}; only 'bracket' lines have a payout function")
        if not line.brackets:
            raise ValueError(f"line {line.id!r} has no brackets")
        lower, width, rate_e4 = bracket_bounds(line)
        open_width = np.iinfo(np.int64).max
        width_yuan = np.where(width == open_width, np.inf, width.astype(float) / FEN_PER_YUAN)
        cap = np.inf if line.cap_per_year is None else line.cap_per_year / FEN_PER_YUAN
        return cls(
            lower=lower.astype(float) / FEN_PER_YUAN,
            width=width_yuan,
            rate=rate_e4.astype(float) / RATE_SCALE,
            trigger=line.trigger / FEN_PER_YUAN,
            cap=float(cap),
            start_line=line.start_line / FEN_PER_YUAN,
            name=line.id,
        )

    # ------------------------------------------------------------------ evaluation
    def uncapped(self, x: Any) -> np.ndarray:
        """Σ_k rate_k · clamp(x − lower_k, 0, width_k), ignoring trigger and cap."""
        x = np.asarray(x, dtype=float)
        parts = np.minimum(np.maximum(x[..., None] - self.lower, 0.0), self.width)
        return parts @ self.rate

    def __call__(self, x: Any) -> np.ndarray | float:
        """g(x), vectorised over float yuan."""
        xa = np.asarray(x, dtype=float)
        y = np.where(xa > self.trigger, np.minimum(self.uncapped(xa), self.cap), 0.0)
        return float(y) if np.ndim(x) == 0 else y

    # ------------------------------------------------------------------ geometry
    @cached_property
    def _knots(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Knots (x_i, y_i = g(x_i+)) from the trigger to the last breakpoint, and the slope beyond it."""
        return _knots(self)

    @property
    def breakpoints(self) -> np.ndarray:
        """The x where g changes slope or jumps: trigger, bracket ends above it, and the cap point x_cap."""
        return self._knots[0].copy()

    @property
    def x_cap(self) -> float:
        """Smallest x at which g reaches the cap (inf if it never does)."""
        xs, ys, _tail = self._knots
        if np.isfinite(self.cap) and ys[-1] >= self.cap:
            return float(xs[-1])
        return np.inf

    @property
    def y_min(self) -> float:
        """g(trigger+): the smallest positive payout (> 0 only if start_line < trigger)."""
        return float(self._knots[1][0])

    @property
    def max_payout(self) -> float:
        """sup g: the cap, or the bounded top of the schedule, or inf."""
        _xs, ys, tail = self._knots
        return float(ys[-1]) if tail == 0.0 else np.inf

    def pieces(self) -> list[tuple[float, float, float, float]]:
        """Linear pieces (l, u, c, s) above the trigger: g(x) = c + s·(x − l) on (l, u]."""
        xs, ys, tail = self._knots
        out = []
        for i in range(len(xs) - 1):
            s = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
            out.append((float(xs[i]), float(xs[i + 1]), float(ys[i]), float(s)))
        if tail > 0.0:
            out.append((float(xs[-1]), np.inf, float(ys[-1]), float(tail)))
        return out

    def inverse(self, y: Any) -> np.ndarray | float:
        """g⁻¹(y) = sup{x : g(x) ≤ y}, so that F_Y(y) = F_X(g⁻¹(y)) for a continuous X.

        * y < 0 → −inf;  0 ≤ y < y_min → trigger (the atom of Y at 0 is F_X(trigger); if
          start_line < trigger, g jumps at the trigger and F_Y is flat on [0, y_min));
        * y_min ≤ y < max_payout → the point on the increasing piece (right end of a flat piece);
        * y ≥ max_payout → +inf (the atom at the cap).
        """
        xs, ys, tail = self._knots
        ya = np.atleast_1d(np.asarray(y, dtype=float))
        out = np.empty_like(ya)
        i = np.searchsorted(ys, ya, side="right") - 1  # last knot with y_i <= y
        below = ya < 0.0
        low = (ya >= 0.0) & (i < 0)
        inner = (i >= 0) & (i < len(xs) - 1)
        last = i == len(xs) - 1
        out[below] = -np.inf
        out[low] = self.trigger
        ii = i[inner]
        out[inner] = xs[ii] + (ya[inner] - ys[ii]) * (xs[ii + 1] - xs[ii]) / (ys[ii + 1] - ys[ii])
        if tail > 0.0:
            out[last] = xs[-1] + (ya[last] - ys[-1]) / tail
        else:
            out[last] = np.inf
        return float(out[0]) if np.ndim(y) == 0 else out

    # ------------------------------------------------------------------ distribution of Y = g(X)
    def cdf(self, y: Any, severity: Any) -> np.ndarray:
        """F_Y(y) = F_X(g⁻¹(y)) for a frozen continuous ``scipy.stats`` severity."""
        return severity.cdf(np.asarray(self.inverse(np.asarray(y, dtype=float))))

    def sf(self, y: Any, severity: Any) -> np.ndarray:
        """S_Y(y) = S_X(g⁻¹(y)) (computed on the survival side for tail precision)."""
        return severity.sf(np.asarray(self.inverse(np.asarray(y, dtype=float))))

    def moments(self, severity: Any, k: int | Sequence[int] = (1, 2)) -> np.ndarray | float:
        """Exact raw moments E[g(X)^k] for a frozen continuous ``scipy.stats`` distribution.

        Notes
        -----
        Σ over linear pieces (l, u] of Σ_j C(k, j) c^(k−j) s^j ∫_l^u (x − l)^j f(x) dx, plus
        cap^k · S_X(x_cap).  Lognormal and gamma (loc 0) use closed-form partial moments
        ∫_l^u x^j f = E[X^j]·P_j(l < X ≤ u) (lognormal: μ + jσ²; gamma: shape α + j), expanded from
        g = (c − s·l) + s·x; any other family uses ``severity.expect`` on each finite interval
        (adaptive quadrature at relative tolerance 1e-13) for the centred form.
        """
        ks = np.atleast_1d(np.asarray(k, dtype=int))
        out = np.array([_moment(self, severity, int(kk)) for kk in ks])
        return float(out[0]) if np.ndim(k) == 0 else out

    def lev(self, severity: Any, limit: float) -> float:
        """E[min(g(X), limit)]: the limited expected value of the payout (for limit ≤ max_payout)."""
        limited = PayoutFunction(self.lower, self.width, self.rate, self.trigger, min(self.cap, float(limit)),
                                 self.start_line, self.name)
        return float(limited.moments(severity, 1))

    def mean(self, severity: Any) -> float:
        return float(self.moments(severity, 1))

    def var(self, severity: Any) -> float:
        m1, m2 = self.moments(severity, (1, 2))
        return float(m2 - m1 * m1)


def _knots(g: PayoutFunction) -> tuple[np.ndarray, np.ndarray, float]:
    ends = g.lower + g.width
    cand = np.concatenate([[g.trigger], g.lower, ends[np.isfinite(ends)]])
    xs = np.unique(cand[(cand >= g.trigger) & np.isfinite(cand)])
    ys = np.minimum(g.uncapped(xs), g.cap)
    # slope beyond the last knot: the rates of the open brackets
    tail = float(g.rate[~np.isfinite(g.width)].sum())
    if np.isfinite(g.cap):
        hit = np.nonzero(g.uncapped(xs) >= g.cap)[0]
        if hit.size:  # the cap is reached inside a segment: insert x_cap and cut the rest
            j = int(hit[0])
            if j == 0:
                raise ValueError("the cap is reached at the trigger: g is constant")
            u0, u1 = g.uncapped(xs[j - 1]), g.uncapped(xs[j])
            xc = xs[j - 1] + (g.cap - u0) * (xs[j] - xs[j - 1]) / (u1 - u0)
            xs = np.append(xs[:j], xc)
            ys = np.append(ys[:j], g.cap)
            tail = 0.0
        elif tail > 0.0:  # reached in the open tail
            xc = xs[-1] + (g.cap - ys[-1]) / tail
            xs = np.append(xs, xc)
            ys = np.append(ys, g.cap)
            tail = 0.0
    return xs, ys, tail


def _partial_moment(severity: Any, lo: float, hi: float, j: int) -> float:
    """∫_lo^hi (x − lo)^j f(x) dx by adaptive quadrature (``severity.expect``)."""
    if j == 0:
        return float(severity.sf(lo) - severity.sf(hi)) if np.isfinite(hi) else float(severity.sf(lo))
    return float(severity.expect(lambda x: (x - lo) ** j, lb=lo, ub=hi, conditional=False, **_QUAD))


def _between(lo_sf: float, hi_sf: float, lo_cdf: float, hi_cdf: float) -> float:
    """P(lo < Z ≤ hi) from whichever of cdf/sf is the smaller (no loss of precision in either tail)."""
    return lo_sf - hi_sf if lo_sf < 0.5 else hi_cdf - lo_cdf


def _closed_form(severity: Any) -> Any:
    """A function (lo, hi, j) → ∫_lo^hi x^j f(x) dx in closed form for lognormal, gamma and Lomax (loc 0), else None."""
    from scipy import special

    name = getattr(getattr(severity, "dist", None), "name", None)
    if name not in ("lognorm", "gamma", "lomax"):
        return None
    shapes, loc, scale = severity.dist._parse_args(*severity.args, **severity.kwds)
    if loc != 0.0:
        return None
    (shape,) = shapes
    if name == "lomax":
        return _lomax_partial(float(shape), float(scale), severity)
    if name == "lognorm":
        sig = float(shape)

        def partial(lo: float, hi: float, j: int) -> float:
            def z(x: float) -> float:
                if x <= 0:
                    return -np.inf
                return np.inf if not np.isfinite(x) else (np.log(x / scale) - j * sig * sig) / sig

            a, b = z(lo), z(hi)
            p = _between(special.ndtr(-a), special.ndtr(-b), special.ndtr(a), special.ndtr(b))
            return float(scale**j * np.exp(0.5 * j * j * sig * sig) * p)

        return partial

    alpha = float(shape)

    def partial_g(lo: float, hi: float, j: int) -> float:
        aj = alpha + j
        a, b = max(lo, 0.0) / scale, hi / scale
        p = _between(special.gammaincc(aj, a), special.gammaincc(aj, b) if np.isfinite(b) else 0.0,
                     special.gammainc(aj, a), special.gammainc(aj, b) if np.isfinite(b) else 1.0)
        return float(scale**j * np.exp(special.gammaln(aj) - special.gammaln(alpha)) * p)

    return partial_g


def _lomax_partial(alpha: float, lam: float, severity: Any) -> Any:
    """Raw partial moments of a Lomax (Pareto II) X with shape α and scale λ.

    T = X/(λ + X) ~ Beta(1, α), so for α > j

        ∫_lo^hi x^j f(x) dx = λ^j · α · B(j + 1, α − j) · [I(t_hi; j + 1, α − j) − I(t_lo; j + 1, α − j)],

    t = x/(λ + x), I the regularised incomplete beta (taken on the survival side when the difference is
    small, so there is no cancellation).  For α ≤ j the Beta form does not exist; the bounded integral
    ∫_lo^hi x^j f is then done by quadrature.
    """
    from scipy import special

    def partial(lo: float, hi: float, j: int) -> float:
        if not alpha > j:
            if not np.isfinite(hi):
                return float("inf")
            return float(severity.expect(lambda x: x**j, lb=lo, ub=hi, conditional=False, **_QUAD))
        a, b = j + 1.0, alpha - j
        t_lo = lo / (lam + lo) if lo > 0 else 0.0
        t_hi = 1.0 if not np.isfinite(hi) else hi / (lam + hi)
        p = special.betainc(a, b, t_hi) - special.betainc(a, b, t_lo)
        if p < 0.5:
            p = special.betaincc(a, b, t_lo) - (special.betaincc(a, b, t_hi) if t_hi < 1.0 else 0.0)
        return float(lam**j * alpha * special.beta(a, b) * p)

    return partial


def _moment(g: PayoutFunction, severity: Any, k: int) -> float:
    if k == 0:
        return 1.0
    closed = _closed_form(severity)
    total = 0.0
    for lo, hi, c, s in g.pieces():
        if closed is not None:  # g = (c − s·lo) + s·x on (lo, hi]: raw partial moments in closed form
            alpha = c - s * lo
            for j in range(k + 1):
                coef = comb(k, j) * alpha ** (k - j) * s**j
                if coef != 0.0:
                    total += coef * closed(lo, hi, j)
        else:
            for j in range(k + 1):
                coef = comb(k, j) * c ** (k - j) * s**j
                if coef != 0.0:
                    total += coef * _partial_moment(severity, lo, hi, j)
    xc = g.x_cap
    if np.isfinite(xc):
        total += g.cap**k * float(severity.sf(xc))
    return total
