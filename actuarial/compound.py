"""The compound model S = Y_1 + … + Y_N of one line (a frequency–severity block, :class:`Peril`) or of a
portfolio of independent blocks: its inputs, the exact moments, the grid rule, and the discrete result.

* :class:`Frequency` — N Poisson (P(z) = exp(λ(z − 1))) or Poisson–gamma negative binomial with mixing cv c
  (P(z) = (1 − c²λ(z − 1))^(−1/c²), Var[N] = λ + c²λ²);
* :class:`Peril` — one block: frequency, ground-up severity X, payout g (Y = g(X); None = ground-up);
  :func:`payout_per_event` gives Y's survival function S_Y(y) = S_X(g⁻¹(y)) and exact E[Y], E[Y²];
* :func:`exact_moments` — E[S] = E[N]E[Y], Var[S] = E[N]Var[Y] + Var[N]E[Y]²;
* the grid rule (:func:`default_bucket`, :func:`nice_step`, :func:`grid_span`): steps {1, 2, 2.5, 5} × 10^k,
  2^16 steps over E[S] + 12 sd and at least 64 below the smallest maximum payout; the grid always covers
  E[S] + 12 sd (a power of two long enough, or with a fixed 2^log2 grid a bucket rounded up);
* :class:`Compound` — the discrete distribution on j·b with its quantiles, TVaR and the validation table
  (exact vs computed moments); :func:`mixture` — the equal-weight mixture of compounds.

The distribution itself is computed by FFT in :mod:`actuarial.aggregate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from actuarial.coverage import PayoutFunction
from products.loader import load_product
from products.model import Line

__all__ = ["Compound", "CompoundAccuracyWarning", "Frequency", "Peril", "accuracy_message", "default_bucket",
           "exact_moments", "grid_span", "line_of", "mixture", "nice_step", "peril_moments"]

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

    def pgf(self, z: np.ndarray) -> np.ndarray:
        """P_N(z) = exp(λ(z − 1)), or (1 − c²λ(z − 1))^(−1/c²) (by :func:`log_pgf_rows`)."""
        z = np.asarray(z)
        return np.exp(log_pgf_rows(np.array([self.mean]), self.cv, z.ravel())[0]).reshape(z.shape)


def _log1p_right(w: np.ndarray) -> np.ndarray:
    """log(1 + w) for complex w with Re w ≥ 0 (here w = −c²λ(φ − 1), and Re φ ≤ 1 on the unit circle).

    Notes
    -----
    log(1 + w) = ½·log1p(Re w·(2 + Re w) + (Im w)²) + i·atan2(Im w, 1 + Re w).  Hand-written because
    numpy's complex ``log1p`` is about twice as slow as these two real ufuncs, and (numpy 2.4) loses
    the relative precision of the real part for small |w| (it rounds 1 + w first).  With Re w ≥ 0
    all terms inside log1p are ≥ 0 (no cancellation) and atan2 is well conditioned: a few ulp.
    """
    wr, wi = w.real, w.imag
    out = np.empty(w.shape, dtype=complex)
    out.real = 0.5 * np.log1p(wr * (2.0 + wr) + wi * wi)
    out.imag = np.arctan2(wi, 1.0 + wr)
    return out


@dataclass(frozen=True)
class PayoutPerEvent:
    """Per-event payout Y: its survival function, exact moments and maximum."""

    sf: Callable[[np.ndarray], np.ndarray]
    m1: float
    m2: float
    max_payout: float


def payout_per_event(severity: Any, payout: Any) -> PayoutPerEvent:
    """Y = g(X) per event: S_Y(y) = S_X(g⁻¹(y)) and exact E[Y], E[Y²] from ``payout.moments`` (a products
    ``Line`` is read as its :class:`PayoutFunction`); ground-up (payout None): S_X, E[X], E[X²]."""
    if payout is None:  # ground-up
        m1, m2 = float(severity.moment(1)), float(severity.moment(2))
        return PayoutPerEvent(lambda y: np.where(y < 0, 1.0, severity.sf(y)), m1, m2, float(severity.support()[1]))
    if isinstance(payout, Mapping):
        payout = line_of(payout)
    if isinstance(payout, Line):
        payout = PayoutFunction.from_line(payout)
    if not (hasattr(payout, "moments") and hasattr(payout, "inverse")):
        raise TypeError("payout must be a products Line, an object with .moments and .inverse, or None")
    m1, m2 = (float(v) for v in payout.moments(severity, (1, 2)))
    top = float(getattr(payout, "max_payout", getattr(payout, "cap", np.inf)))
    inv = payout.inverse
    return PayoutPerEvent(lambda y: severity.sf(np.asarray(inv(np.asarray(y, dtype=float)))), m1, m2, top)


def line_of(mapping: Mapping[str, Any]) -> Line:
    """A product line given as the mapping of a product document's ``lines`` entry (``id``, ``peril``,
    ``basis``, ``start_line``, ``brackets``, … in yuan), validated and read by :func:`products.load_product`
    inside a one-line product (so its errors are the product's :class:`~products.loader.ProductError`)."""
    document = {"schema": 1, "code": "LINE", "family": "fangpinbao", "name": "line", "county": "000000",
                "year": 2000, "period": {"start": "2000-01-01", "end": "2000-12-31"},
                "premium": {"per_head": 0, "basis": "person"}, "lines": [dict(mapping)]}
    return load_product(document).lines[0]


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


# ---------------------------------------------------------------------------------------- grid rule
#: Mantissas of the grid steps {1, 2, 2.5, 5} × 10^k.
_STEP_MANTISSAS = (1.0, 2.0, 2.5, 5.0)


def nice_step(b: float, *, up: bool = False) -> float:
    """Largest step of the form {1, 2, 2.5, 5} × 10^k not above b (``up``: smallest not below b)."""
    if not (b > 0 and math.isfinite(b)):
        raise ValueError(f"cannot choose a bucket from {b!r}")
    e = math.floor(math.log10(b))
    if up:
        for m in _STEP_MANTISSAS + (10.0,):
            if m * 10.0**e >= b * (1 - 1e-12):
                return m * 10.0**e
        return 10.0 ** (e + 1)
    for m in reversed(_STEP_MANTISSAS):
        if m * 10.0**e <= b * (1 + 1e-12):
            return m * 10.0**e
    return 10.0 ** (e - 1) * 5.0


def exact_moments(frequency: Frequency, m1: float, m2: float) -> tuple[float, float]:
    """E[S] = E[N]E[Y] and Var[S] = E[N]Var[Y] + Var[N]E[Y]² of one peril, from E[Y] = m1, E[Y²] = m2."""
    return frequency.mean * m1, frequency.mean * (m2 - m1**2) + frequency.var * m1**2


def peril_moments(peril: Peril) -> tuple[float, float]:
    """Exact (E[S], Var[S]) of one peril: :func:`exact_moments` with E[Y], E[Y²] of its payout."""
    y = payout_per_event(peril.severity, peril.payout)
    return exact_moments(peril.frequency, y.m1, y.m2)


def grid_span(mean: float, var: float) -> float:
    """E[S] + 12 sd: the length the grid (before padding) must cover."""
    return mean + SD_SPAN * math.sqrt(var)


def default_bucket(span: float, caps: Sequence[float] = (), log2: int | None = None) -> float:
    """The default bucket b for a grid that must cover ``span`` = E[S] + 12 sd.

    Without ``log2``: the largest :func:`nice_step` not above span / 2^16 and not above the smallest finite
    positive maximum payout in ``caps`` / 64; the grid length is then the smallest power of two n with
    n·b ≥ span (2^16 or 2^17 points, more when a cap sets b), so rounding b down never undercuts the span.

    With ``log2`` (a fixed grid of 2^log2 points): the smallest nice step with 2^log2·b ≥ span (rounded
    up, so the fixed grid covers the span), made finer for the caps only as far as the span stays covered.
    """
    finite = [c for c in caps if math.isfinite(c) and c > 0]
    cap_step = nice_step(min(finite) / MIN_POINTS_PER_CAP) if finite else math.inf
    if log2 is None:
        return min(nice_step(span / 2**DEFAULT_LOG2), cap_step)
    covering = nice_step(span / 2 ** int(log2), up=True)
    return cap_step if cap_step < covering and cap_step * 2 ** int(log2) >= span else covering


class CompoundAccuracyWarning(UserWarning):
    """A compound whose computed mean or sd misses the exact one by more than ``VALID_TOLERANCE``."""


def accuracy_message(c: Compound) -> str:
    """The validation failure of ``c`` in words (Chinese and English): the relative errors, bucket and grid."""
    err = c.validation.loc["aggregate", "rel_error"]
    return (f"复合分布精度不足 / compound not valid: aggregate mean rel. error {err['mean']:+.2e}, sd rel. error "
            f"{err['sd']:+.2e} (tolerance {VALID_TOLERANCE:g}) at bucket {c.bucket:g} on {c.pmf.size:,} points; "
            "give a smaller bucket or a larger log2")


def log_pgf_rows(means: np.ndarray, cv: float, z: np.ndarray) -> np.ndarray:
    """log P_N(z) for several frequency means sharing one mixing cv: rows = means, columns = z.

    λ(z − 1), or −log(1 − c²λ(z − 1))/c² (principal branch: Re(1 − c²λ(z − 1)) ≥ 1 on |z| ≤ 1); the
    operations on a row do not depend on the other rows, so a row is bit-for-bit the single-county value.
    """
    if cv == 0.0:
        return means[:, None] * (z - 1.0)[None, :]
    c2 = cv**2
    return -_log1p_right((-c2 * means)[:, None] * (z - 1.0)[None, :]) / c2


def as_peril(frequency: Any, severity: Any, payout: Any, name: str = "") -> Peril:
    """A :class:`Peril` from a frequency spec (:meth:`Frequency.parse`); named after a ``Line`` payout's id."""
    if isinstance(payout, Mapping):
        payout = line_of(payout)
    if isinstance(payout, Line) and not name:
        name = payout.id
    return Peril(Frequency.parse(frequency), severity, payout, name)


def as_perils(perils: Sequence[Mapping[str, Any] | Sequence[Any] | Peril]) -> list[Peril]:
    """The perils of a portfolio given as :class:`Peril`, mappings (frequency, severity, payout, name) or tuples."""
    specs = []
    for item in perils:
        if isinstance(item, Peril):
            specs.append(item)
        elif isinstance(item, Mapping):
            specs.append(as_peril(item["frequency"], item["severity"], item.get("payout"), item.get("name", "")))
        else:
            specs.append(as_peril(*item))
    if not specs:
        raise ValueError("perils is empty")
    return specs


def mixture(parts: Sequence[Compound]) -> Compound:
    """Equal-weight mixture of compounds on one bucket (shorter pmfs padded with zeros): the average pmf,
    exact E[S] = mean_b E_b[S] and E[S²] = mean_b E_b[S²], the per-peril validation rows averaged."""
    size = max(c.pmf.size for c in parts)
    pmf = np.zeros(size)
    for c in parts:
        pmf[: c.pmf.size] += c.pmf
    pmf /= len(parts)
    mean = float(np.mean([c.exact_mean for c in parts]))
    second = float(np.mean([c.exact_sd**2 + c.exact_mean**2 for c in parts]))
    first = parts[0].severity_table
    stacked = np.mean([c.severity_table[["exact", "computed"]].to_numpy(float) for c in parts], axis=0)
    table = pd.DataFrame(stacked, index=first.index, columns=["exact", "computed"])
    table["rel_error"] = table["computed"] / table["exact"] - 1.0
    return Compound(pmf=pmf, bucket=parts[0].bucket, exact_mean=mean, exact_sd=math.sqrt(max(second - mean**2, 0.0)),
                    severity_table=table, perils=())
