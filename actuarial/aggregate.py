"""Aggregate loss S = Y_1 + … + Y_N of a peril (or a portfolio of perils) by FFT.

Method (actuarial.md §3 step 5; Klugman, Panjer & Willmot, *Loss Models*, ch. 9):

1. The payout per event Y = g(X) (X the ground-up amount, g the line's schedule, see
   :mod:`actuarial.coverage`) is discretised by **rounding** on the grid j·b:
   p_0 = F_Y(b/2), p_j = F_Y((j + ½)b) − F_Y((j − ½)b), with F_Y(y) = F_X(g⁻¹(y)); the atoms at 0
   (F_X(trigger)) and at the cap (S_X(x_cap)) fall on their nearest grid points.
2. The compound pmf is ifft(P_N(fft(p))) with P_N the frequency pgf, on a grid with
   n·b ≥ E[S] + 12·sd[S] (exact moments) and ×2 zero padding against wrap-around.
3. Exact moments E[S] = E[N]E[Y], Var[S] = E[N]Var[Y] + Var[N]E[Y]² (E[Y], E[Y²] exact from
   :meth:`PayoutFunction.moments`) are carried along and compared with the computed ones in
   :attr:`Compound.validation`, as ``aggregate``'s ``describe`` does.

Frequencies: ``{"dist": "poisson", "mean": λ}`` with P(z) = exp(λ(z − 1)); ``{"dist": "negbin",
"mean": λ, "cv": c}``, the Poisson–gamma mixture with mixing cv c, P(z) = (1 − c²λ(z − 1))^(−1/c²)
and Var[N] = λ + c²λ².  Perils are independent; their transforms multiply on a common grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from products.model import Line

from .coverage import PayoutFunction

#: Default number of grid points (before padding) that E[S] + 12 sd should span.
DEFAULT_LOG2 = 16
#: Width of the grid in standard deviations above the mean.
SD_SPAN = 12.0
#: At least this many buckets below the smallest finite maximum payout.
MIN_POINTS_PER_CAP = 64
#: Relative error allowed on mean and sd before a compound is flagged as not valid.
VALID_TOLERANCE = 1e-4


# ---------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Frequency:
    """Claim count N: Poisson (cv = 0) or Poisson–gamma negative binomial with mixing cv."""

    mean: float
    cv: float = 0.0

    @classmethod
    def parse(cls, spec: Mapping[str, Any] | Frequency) -> Frequency:
        if isinstance(spec, Frequency):
            return spec
        dist = str(spec.get("dist", "")).lower()
        mean = float(spec["mean"])
        if not mean >= 0.0 or not math.isfinite(mean):
            raise ValueError(f"frequency mean must be a finite number >= 0, got {spec['mean']!r}")
        if dist == "poisson":
            return cls(mean)
        if dist in ("negbin", "nb", "negative_binomial"):
            cv = float(spec["cv"])
            if not cv >= 0.0:
                raise ValueError(f"negbin mixing cv must be >= 0, got {spec['cv']!r}")
            return cls(mean, cv)
        raise ValueError(f"frequency dist must be 'poisson' or 'negbin', got {spec.get('dist')!r}")

    @property
    def var(self) -> float:
        return self.mean + (self.cv * self.mean) ** 2

    def log_pgf(self, z: np.ndarray) -> np.ndarray:
        """log P_N(z): λ(z − 1), or −log(1 − c²λ(z − 1))/c² (principal branch: Re(1 − c²λ(z − 1)) ≥ 1 on |z| ≤ 1)."""
        if self.cv == 0.0:
            return self.mean * (z - 1.0)
        c2 = self.cv**2
        return -np.log1p(-c2 * self.mean * (z - 1.0)) / c2

    def pgf(self, z: np.ndarray) -> np.ndarray:
        return np.exp(self.log_pgf(z))


@dataclass(frozen=True)
class _Payout:
    """Per-event payout Y: its survival function, exact moments and maximum."""

    sf: Callable[[np.ndarray], np.ndarray]
    m1: float
    m2: float
    max_payout: float


def _payout(severity: Any, payout: Any) -> _Payout:
    if payout is None:  # ground-up
        m1, m2 = float(severity.moment(1)), float(severity.moment(2))
        return _Payout(lambda y: np.where(y < 0, 1.0, severity.sf(y)), m1, m2, float(severity.support()[1]))
    if isinstance(payout, Line):
        payout = PayoutFunction.from_line(payout)
    if not (hasattr(payout, "moments") and hasattr(payout, "inverse")):
        raise TypeError("payout must be a products Line, an object with .moments and .inverse, or None")
    m1, m2 = (float(v) for v in payout.moments(severity, (1, 2)))
    top = float(getattr(payout, "max_payout", getattr(payout, "cap", np.inf)))
    inv = payout.inverse
    return _Payout(lambda y: severity.sf(np.asarray(inv(np.asarray(y, dtype=float)))), m1, m2, top)


@dataclass(frozen=True)
class Peril:
    """One independent block of the portfolio: frequency, ground-up severity and payout."""

    frequency: Frequency
    severity: Any
    payout: Any = None
    name: str = ""


# ---------------------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class Compound:
    """Discrete aggregate distribution on the grid ``grid = j·bucket``.

    Attributes: ``pmf``, ``grid``, ``bucket``, exact moments ``exact_mean``/``exact_sd``,
    ``validation`` (DataFrame), ``perils`` (the inputs, so :func:`combine` can rebuild).
    """

    pmf: np.ndarray
    bucket: float
    exact_mean: float
    exact_sd: float
    severity_table: pd.DataFrame = field(repr=False)
    perils: tuple[Peril, ...] = field(repr=False)

    @property
    def grid(self) -> np.ndarray:
        return np.arange(self.pmf.size) * self.bucket

    @property
    def cdf(self) -> np.ndarray:
        return np.cumsum(self.pmf)

    @property
    def mean(self) -> float:
        """Mean of the discrete distribution."""
        return float(self.pmf @ self.grid)

    @property
    def sd(self) -> float:
        """Standard deviation of the discrete distribution."""
        x = self.grid
        m = self.mean
        return float(math.sqrt(max(self.pmf @ (x - m) ** 2, 0.0)))

    def quantile(self, p: float | Sequence[float]) -> np.ndarray | float:
        """Lower quantile q_p = min{x on the grid : F(x) ≥ p} (VaR_p)."""
        pa = np.atleast_1d(np.asarray(p, dtype=float))
        if np.any((pa <= 0) | (pa >= 1)):
            raise ValueError("p must lie in (0, 1)")
        idx = np.minimum(np.searchsorted(self.cdf, pa, side="left"), self.pmf.size - 1)
        q = idx * self.bucket
        return float(q[0]) if np.ndim(p) == 0 else q

    def tvar(self, p: float | Sequence[float]) -> np.ndarray | float:
        """Tail value at risk in the Acerbi–Tasche form (expected shortfall).

        Notes
        -----
        TVaR_p = q_p + E[(S − q_p)+] / (1 − p), q_p the lower quantile.  For a discrete S this is
        the average of the quantiles above p, not actuar's CTE = E[S | S > VaR_p] (which conditions
        strictly and is not coherent when S has atoms).
        """
        pa = np.atleast_1d(np.asarray(p, dtype=float))
        q = np.atleast_1d(self.quantile(pa))
        x = self.grid
        out = np.array([qi + (self.pmf @ np.maximum(x - qi, 0.0)) / (1.0 - pi) for qi, pi in zip(q, pa)])
        return float(out[0]) if np.ndim(p) == 0 else out

    def prob_exceed(self, budget: float) -> float:
        """P(S > budget)."""
        return float(self.pmf[self.grid > budget].sum())

    @property
    def validation(self) -> pd.DataFrame:
        """Exact vs computed mean and sd, per-event payout (per peril) and aggregate, with relative errors."""
        rows = [self.severity_table]
        agg = pd.DataFrame(
            {
                "exact": [self.exact_mean, self.exact_sd],
                "computed": [self.mean, self.sd],
            },
            index=pd.MultiIndex.from_tuples([("aggregate", "mean"), ("aggregate", "sd")], names=["what", "stat"]),
        )
        agg["rel_error"] = agg["computed"] / agg["exact"] - 1.0
        rows.append(agg)
        return pd.concat(rows)

    @property
    def valid(self) -> bool:
        """True when the aggregate mean and sd agree with the exact ones within ``VALID_TOLERANCE``."""
        err = self.validation.loc["aggregate", "rel_error"]
        return bool(np.all(np.abs(err.to_numpy()) < VALID_TOLERANCE))

    def __repr__(self) -> str:
        return (f"Compound(mean={self.mean:,.1f}, sd={self.sd:,.1f}, bucket={self.bucket:g}, "
                f"n={self.pmf.size}, valid={self.valid})")


# ---------------------------------------------------------------------------------------- engine
def _nice_floor(b: float) -> float:
    """Largest step of the form {1, 2, 2.5, 5} × 10^k not above b."""
    if not (b > 0 and math.isfinite(b)):
        raise ValueError(f"cannot choose a bucket from {b!r}")
    e = math.floor(math.log10(b))
    for m in (5.0, 2.5, 2.0, 1.0):
        if m * 10.0**e <= b * (1 + 1e-12):
            return m * 10.0**e
    return 10.0 ** (e - 1) * 5.0


def _discretise(pay: _Payout, b: float, size: int) -> np.ndarray:
    """Rounding discretisation p_j = S_Y((j − ½)b) − S_Y((j + ½)b) on j = 0..size−1."""
    edges = (np.arange(size + 1) - 0.5) * b
    if math.isfinite(pay.max_payout):  # only evaluate where Y has mass
        top = min(size, math.floor(pay.max_payout / b + 0.5) + 2)
    else:
        top = size
    s = np.zeros(size + 1)  # S_Y at the cell edges; 0 above the maximum payout
    s[: top + 1] = pay.sf(edges[: top + 1])
    s[0] = 1.0
    p = -np.diff(s)
    return np.maximum(p, 0.0)


def _build(perils: Sequence[Peril], bucket: float | None, log2: int | None) -> Compound:
    pays = [_payout(p.severity, p.payout) for p in perils]
    freqs = [p.frequency for p in perils]
    means = [f.mean * y.m1 for f, y in zip(freqs, pays)]
    variances = [f.mean * (y.m2 - y.m1**2) + f.var * y.m1**2 for f, y in zip(freqs, pays)]
    mean, var = float(sum(means)), float(sum(variances))
    if not (math.isfinite(mean) and math.isfinite(var)):
        raise ValueError("the aggregate has no finite mean/variance; cap the payout or choose a lighter tail")
    span = mean + SD_SPAN * math.sqrt(var)
    if bucket is None:
        target = 2 ** (DEFAULT_LOG2 if log2 is None else log2)
        b = span / target
        caps = [y.max_payout for y in pays if math.isfinite(y.max_payout) and y.max_payout > 0]
        if caps:
            b = min(b, min(caps) / MIN_POINTS_PER_CAP)
        bucket = _nice_floor(b)
    bucket = float(bucket)
    if log2 is None:
        n = 1 << max(4, math.ceil(math.log2(max(span / bucket, 2.0))))
    else:
        n = 1 << int(log2)
        if n * bucket < span:
            raise ValueError(
                f"grid 2^{log2} × {bucket:g} = {n * bucket:,.0f} is shorter than mean + 12 sd = {span:,.0f}"
            )
    size = 2 * n  # ×2 padding
    log_transform = np.zeros(size // 2 + 1, dtype=complex)
    sev_rows = []
    for peril, f, y in zip(perils, freqs, pays):
        p = _discretise(y, bucket, size)
        last = int(np.flatnonzero(p)[-1]) + 1 if p.any() else 1
        grid = np.arange(last) * bucket
        dm1 = float(p[:last] @ grid)
        dsd = float(math.sqrt(max(p[:last] @ (grid - dm1) ** 2, 0.0)))
        name = peril.name or f"peril{len(sev_rows) // 2 + 1}"
        esd = math.sqrt(max(y.m2 - y.m1**2, 0.0))
        sev_rows += [(name, "payout mean", y.m1, dm1), (name, "payout sd", esd, dsd)]
        log_transform += f.log_pgf(np.fft.rfft(p))  # independent perils: transforms multiply
    pmf = np.fft.irfft(np.exp(log_transform), size)[:n]
    pmf = np.maximum(pmf, 0.0)
    table = pd.DataFrame(
        [(r[2], r[3]) for r in sev_rows],
        columns=["exact", "computed"],
        index=pd.MultiIndex.from_tuples([(r[0], r[1]) for r in sev_rows], names=["what", "stat"]),
    )
    table["rel_error"] = table["computed"] / table["exact"] - 1.0
    return Compound(pmf=pmf, bucket=bucket, exact_mean=mean, exact_sd=math.sqrt(var),
                    severity_table=table, perils=tuple(perils))


def _peril(frequency: Any, severity: Any, payout: Any, name: str = "") -> Peril:
    if isinstance(payout, Line) and not name:
        name = payout.id
    return Peril(Frequency.parse(frequency), severity, payout, name)


def compound_distribution(
    frequency: Mapping[str, Any] | Frequency | None = None,
    severity: Any = None,
    payout: Any = None,
    *,
    perils: Sequence[Mapping[str, Any] | Sequence[Any]] | None = None,
    bucket: float | None = None,
    log2: int | None = None,
) -> Compound:
    """Aggregate payout distribution of one peril, or of several independent ``perils``.

    Parameters
    ----------
    frequency : ``{"dist": "poisson", "mean": λ}`` or ``{"dist": "negbin", "mean": λ, "cv": c}``
        Ground-up events per year (every event X, paid or not: the zero payouts are in Y's atom at 0).
    severity : frozen continuous ``scipy.stats`` distribution of the ground-up amount X (yuan).
    payout : a ``products`` bracket :class:`~products.model.Line`, an object with ``.moments`` and
        ``.inverse`` (and ``.max_payout``) like :class:`PayoutFunction`, or None for ground-up.
    perils : instead of the three above, a list of ``(frequency, severity, payout)`` tuples or
        mappings with those keys (and optional ``name``); their transforms are multiplied.
    bucket : grid step b in yuan.  Default: the largest step in {1, 2, 2.5, 5}×10^k with
        2^16·b ≥ E[S] + 12 sd and at least 64 steps below the smallest maximum payout.
    log2 : grid of 2^log2 points before the ×2 padding (default: the smallest power of two covering
        E[S] + 12 sd).

    Returns
    -------
    Compound
    """
    if perils is None:
        if frequency is None or severity is None:
            raise TypeError("give frequency and severity, or perils=[...]")
        specs = [_peril(frequency, severity, payout)]
    else:
        if frequency is not None or severity is not None or payout is not None:
            raise TypeError("give either frequency/severity/payout or perils=[...], not both")
        specs = []
        for item in perils:
            if isinstance(item, Peril):
                specs.append(item)
            elif isinstance(item, Mapping):
                specs.append(_peril(item["frequency"], item["severity"], item.get("payout"), item.get("name", "")))
            else:
                specs.append(_peril(*item))
        if not specs:
            raise ValueError("perils is empty")
    return _build(specs, bucket, log2)


def combine(*compounds: Compound, bucket: float | None = None, log2: int | None = None) -> Compound:
    """The sum of independent compounds, rebuilt on one common grid (transforms multiplied)."""
    if not compounds:
        raise ValueError("nothing to combine")
    specs = [p for c in compounds for p in c.perils]
    return _build(specs, bucket, log2)
