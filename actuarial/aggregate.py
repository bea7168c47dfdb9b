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

Many counties at once (:func:`compound_batch`, a province): one common bucket, the payout pmf of each
distinct (severity, payout) discretised and transformed once, the counties' transforms stacked as 2-D
arrays.  Independent check (:func:`simulate_annual_payouts`, :func:`monte_carlo_summary`): a Monte
Carlo thinned at the trigger, with sectioning standard errors for mean, VaR and TVaR.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from products.model import Line

from actuarial.coverage import PayoutFunction

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
        """P_N(z) = exp(λ(z − 1)), or (1 − c²λ(z − 1))^(−1/c²) (by :func:`_log_pgf_rows`)."""
        z = np.asarray(z)
        return np.exp(_log_pgf_rows(np.array([self.mean]), self.cv, z.ravel())[0]).reshape(z.shape)


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
    y = _payout(peril.severity, peril.payout)
    return exact_moments(peril.frequency, y.m1, y.m2)


def grid_span(mean: float, var: float) -> float:
    """E[S] + 12 sd: the length the grid (before padding) must cover."""
    return mean + SD_SPAN * math.sqrt(var)


def default_bucket(span: float, caps: Sequence[float] = (), log2: int | None = None) -> float:
    """The default bucket: the largest :func:`nice_step` with 2^16 (or 2^log2) steps spanning ``span``
    and at least 64 steps below the smallest finite positive maximum payout in ``caps``."""
    b = span / 2 ** (DEFAULT_LOG2 if log2 is None else log2)
    finite = [c for c in caps if math.isfinite(c) and c > 0]
    if finite:
        b = min(b, min(finite) / MIN_POINTS_PER_CAP)
    return nice_step(b)


# ---------------------------------------------------------------------------------------- engine
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


def _identity(obj: Any) -> Hashable:
    """A key under which two equal severities (or payouts) share one discretisation.

    Frozen ``scipy.stats`` distributions compare by family and parameters, :class:`PayoutFunction`
    (and subclasses) by class and arrays, hashable values (a products ``Line``) by value; anything
    else by identity (the object is alive for the whole call, so its ``id`` is not reused).
    """
    dist = getattr(obj, "dist", None)
    if dist is not None and hasattr(obj, "args") and hasattr(obj, "kwds"):
        key: Any = ("scipy", getattr(dist, "name", type(dist).__name__), obj.args, tuple(sorted(obj.kwds.items())))
    elif isinstance(obj, PayoutFunction):
        key = ("payout", type(obj), obj.lower.tobytes(), obj.width.tobytes(), obj.rate.tobytes(), obj.trigger,
               obj.cap, obj.start_line)
    else:
        key = ("value", type(obj).__name__, obj)
    try:
        hash(key)
    except TypeError:
        return ("id", id(obj))
    return key


@dataclass
class _County:
    """One portfolio of the batch: its perils, payouts, exact moments and grid length n (before padding)."""

    perils: tuple[Peril, ...]
    keys: tuple[Hashable, ...]
    pays: tuple[_Payout, ...]
    mean: float
    var: float
    n: int = 0

    @property
    def span(self) -> float:
        return grid_span(self.mean, self.var)


#: Memory bound for one stack of transforms (complex128 rows of n + 1 values): 16 MB (4–64 MB measured alike).
_STACK_BYTES = 16 * 2**20


def _prepare(portfolios: Sequence[Sequence[Peril]]) -> list[_County]:
    """Exact moments per county; each distinct (severity, payout) gets its exact payout moments once."""
    pay_cache: dict[Hashable, _Payout] = {}
    counties = []
    for perils in portfolios:
        keys, pays = [], []
        for peril in perils:
            key = (_identity(peril.severity), _identity(peril.payout))
            if key not in pay_cache:
                pay_cache[key] = _payout(peril.severity, peril.payout)
            keys.append(key)
            pays.append(pay_cache[key])
        moments = [exact_moments(p.frequency, y.m1, y.m2) for p, y in zip(perils, pays)]
        mean, var = float(sum(m for m, _ in moments)), float(sum(v for _, v in moments))
        if not (math.isfinite(mean) and math.isfinite(var)):
            raise ValueError("the aggregate has no finite mean/variance; cap the payout or choose a lighter tail")
        counties.append(_County(tuple(perils), tuple(keys), tuple(pays), mean, var))
    return counties


def _grid(counties: list[_County], bucket: float | None, log2: int | None) -> float:
    """Choose the common bucket and set each county's n (grid points before the ×2 padding).

    Default bucket: the largest nice step with 2^16 (or 2^log2) steps spanning the widest county's
    E[S] + 12 sd and at least 64 steps below the smallest finite maximum payout of all perils.
    n: 2^log2 for every county, or else per county the smallest power of two with n·b ≥ E[S] + 12 sd.
    """
    if bucket is None:
        bucket = default_bucket(max(c.span for c in counties), [y.max_payout for c in counties for y in c.pays],
                                log2)
    bucket = float(bucket)
    for c in counties:
        if log2 is None:
            c.n = 1 << max(4, math.ceil(math.log2(max(c.span / bucket, 2.0))))
        else:
            c.n = 1 << int(log2)
            if c.n * bucket < c.span:
                raise ValueError(
                    f"grid 2^{log2} × {bucket:g} = {c.n * bucket:,.0f} is shorter than mean + 12 sd = {c.span:,.0f}"
                )
    return bucket


def _log_pgf_rows(means: np.ndarray, cv: float, z: np.ndarray) -> np.ndarray:
    """log P_N(z) for several frequency means sharing one mixing cv: rows = means, columns = z.

    λ(z − 1), or −log(1 − c²λ(z − 1))/c² (principal branch: Re(1 − c²λ(z − 1)) ≥ 1 on |z| ≤ 1); the
    operations on a row do not depend on the other rows, so a row is bit-for-bit the single-county value.
    """
    if cv == 0.0:
        return means[:, None] * (z - 1.0)[None, :]
    c2 = cv**2
    return -_log1p_right((-c2 * means)[:, None] * (z - 1.0)[None, :]) / c2


def _payout_rows(name: str, y: _Payout, p: np.ndarray, bucket: float) -> list[tuple[str, str, float, float]]:
    """Validation rows of one peril: exact vs discretised payout mean and sd."""
    last = int(np.flatnonzero(p)[-1]) + 1 if p.any() else 1
    grid = np.arange(last) * bucket
    dm1 = float(p[:last] @ grid)
    dsd = float(math.sqrt(max(p[:last] @ (grid - dm1) ** 2, 0.0)))
    esd = math.sqrt(max(y.m2 - y.m1**2, 0.0))
    return [(name, "payout mean", y.m1, dm1), (name, "payout sd", esd, dsd)]


def _table(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    table = pd.DataFrame(
        [(r[2], r[3]) for r in rows],
        columns=["exact", "computed"],
        index=pd.MultiIndex.from_tuples([(r[0], r[1]) for r in rows], names=["what", "stat"]),
    )
    table["rel_error"] = table["computed"] / table["exact"] - 1.0
    return table


def _build_many(portfolios: Sequence[Sequence[Peril]], bucket: float | None, log2: int | None) -> list[Compound]:
    """The engine behind :func:`compound_distribution` (one portfolio) and :func:`compound_batch` (many).

    Counties with the same n are stacked: the payout pmf p of each distinct (severity, payout) is
    discretised and transformed once per grid length; each stack row accumulates Σ_k log P_{N_k}(φ_k)
    peril by peril (position k across the stack, grouped by payout and mixing cv, so one broadcast
    operation serves all counties), then one 2-D ``exp`` and one ``irfft`` along the last axis.
    """
    counties = _prepare(portfolios)
    bucket = _grid(counties, bucket, log2)
    results: list[Compound | None] = [None] * len(counties)
    by_n: dict[int, list[int]] = {}
    for i, c in enumerate(counties):
        by_n.setdefault(c.n, []).append(i)
    for n, members in by_n.items():
        size = 2 * n  # ×2 padding
        chunk = max(1, _STACK_BYTES // (16 * (n + 1)))
        stacks = [members[start : start + chunk] for start in range(0, len(members), chunk)]
        last_use = {key: s for s, stack in enumerate(stacks) for i in stack for key in counties[i].keys}
        phis: dict[Hashable, np.ndarray] = {}  # transforms kept only while a later stack needs them
        rows: dict[Hashable, list[tuple[str, str, float, float]]] = {}
        tables: dict[tuple, pd.DataFrame] = {}
        for s, stack in enumerate(stacks):
            for i in stack:
                for key, y in zip(counties[i].keys, counties[i].pays):
                    if key not in rows:
                        p = _discretise(y, bucket, size)
                        rows[key] = _payout_rows("", y, p, bucket)
                        phis[key] = np.fft.rfft(p)
            log_transform = np.zeros((len(stack), n + 1), dtype=complex)
            width = max(len(counties[i].perils) for i in stack)
            for k in range(width):  # peril position k: each county appears at most once
                groups: dict[tuple[Hashable, float], list[int]] = {}
                for r, i in enumerate(stack):
                    if k < len(counties[i].perils):
                        groups.setdefault((counties[i].keys[k], counties[i].perils[k].frequency.cv), []).append(r)
                for (key, cv), rs in groups.items():
                    means = np.array([counties[stack[r]].perils[k].frequency.mean for r in rs])
                    term = _log_pgf_rows(means, cv, phis[key])
                    if len(rs) == len(stack):  # the whole stack (rs = 0, 1, …): add in place, no gather
                        log_transform += term  # independent perils: transforms multiply
                    else:
                        log_transform[rs] += term
            pmfs = np.fft.irfft(np.exp(log_transform, out=log_transform), size, axis=-1)[:, :n]
            del log_transform
            for r, i in enumerate(stack):
                c = counties[i]
                names = tuple(p.name or f"peril{j + 1}" for j, p in enumerate(c.perils))
                tkey = (names, c.keys)
                if tkey not in tables:
                    tables[tkey] = _table([(nm, stat, e, d) for nm, key in zip(names, c.keys)
                                           for _, stat, e, d in rows[key]])
                results[i] = Compound(pmf=np.maximum(pmfs[r], 0.0), bucket=bucket, exact_mean=c.mean,
                                      exact_sd=math.sqrt(c.var), severity_table=tables[tkey].copy(),
                                      perils=c.perils)
            for key in [key for key, last in last_use.items() if last == s]:
                del phis[key]
    return results  # type: ignore[return-value]


def _build(perils: Sequence[Peril], bucket: float | None, log2: int | None) -> Compound:
    return _build_many([perils], bucket, log2)[0]


def _peril(frequency: Any, severity: Any, payout: Any, name: str = "") -> Peril:
    if isinstance(payout, Line) and not name:
        name = payout.id
    return Peril(Frequency.parse(frequency), severity, payout, name)


def _perils(perils: Sequence[Mapping[str, Any] | Sequence[Any] | Peril]) -> list[Peril]:
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
    return specs


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
        specs = _perils(perils)
    return _build(specs, bucket, log2)


def compound_batch(
    portfolios: Sequence[Sequence[Mapping[str, Any] | Sequence[Any] | Peril]],
    *,
    bucket: float | None = None,
    log2: int | None = None,
) -> list[Compound]:
    """Aggregate payout distributions of many counties (portfolios) at once, on one common bucket.

    ``portfolios[i]`` is county i's list of perils, in any form ``compound_distribution(perils=…)``
    accepts.  Result i equals ``compound_distribution(perils=portfolios[i], bucket=b, log2=log2)``
    with b the common bucket (``result[i].bucket``), to rounding (≤ 1e-12): the same rounding
    discretisation and padded FFT, computed faster because

    * the payout pmf of each distinct (severity, payout) pair is discretised and transformed once
      per grid length and reused by every county (only the frequencies differ between counties);
    * counties with the same grid length are stacked, and Σ_k log P_{N_k}(φ_k), its exp and the
      inverse FFT (``irfft`` along the last axis) are 2-D array operations.

    Parameters
    ----------
    portfolios : a sequence of peril lists, one per county (Chinese: 各县险种组合).
    bucket : common grid step b in yuan.  Default: the rule of :func:`compound_distribution`
        applied to the widest county (largest E[S] + 12 sd) and the smallest maximum payout of all.
    log2 : 2^log2 points before padding for every county; default per county, the smallest power
        of two with n·b ≥ E[S] + 12 sd (so small counties get short grids).

    Returns
    -------
    list[Compound], in the order of ``portfolios``.
    """
    specs = [_perils(perils) for perils in portfolios]
    if not specs:
        return []
    return _build_many(specs, bucket, log2)


def combine(*compounds: Compound, bucket: float | None = None, log2: int | None = None) -> Compound:
    """The sum of independent compounds, rebuilt on one common grid (transforms multiplied)."""
    if not compounds:
        raise ValueError("nothing to combine")
    specs = [p for c in compounds for p in c.perils]
    return _build(specs, bucket, log2)


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


# ---------------------------------------------------------------------------------------- Monte Carlo
#: Paid events drawn per chunk of :func:`simulate_annual_payouts` (memory: a few float64 arrays of this length).
MC_CHUNK_EVENTS = 2_000_000


def _paid_sampler(severity: Any, payout: Any) -> tuple[float, Callable[[np.ndarray], np.ndarray]]:
    """(p, draw): p = S_X(trigger), the probability that an event pays, and draw(u) = g(X) for
    X | X > trigger from uniforms u on (0, 1), by the inverse cdf of the truncated distribution:
    X = S_X⁻¹(u·p) (then S_X(X) = u·p < p, i.e. X > trigger).
    """
    if isinstance(payout, Line):
        payout = PayoutFunction.from_line(payout)
    if payout is None:
        trigger, g = -np.inf, None
    else:
        trigger = float(getattr(payout, "trigger", -np.inf))
        g = payout
    p = 1.0 if trigger == -np.inf else float(severity.sf(trigger))
    name = getattr(getattr(severity, "dist", None), "name", None)
    if name == "lognorm" and not severity.args[1:] and set(severity.kwds) <= {"scale"}:
        # scipy's lognorm isf, scale·exp(σ·Φ⁻¹(1 − q)) = scale·exp(−σ·Φ⁻¹(q)), without its per-call
        # argument checks on arrays of millions of draws.
        from scipy import special

        sig, scale = float(severity.args[0]), float(severity.kwds.get("scale", 1.0))

        def isf(q: np.ndarray) -> np.ndarray:
            return scale * np.exp(-sig * special.ndtri(q))
    else:
        isf = severity.isf
    if isinstance(g, PayoutFunction) and math.isfinite(g.max_payout):
        xs, ys, _tail = g._knots  # g is linear between its knots above the trigger, flat beyond the last

        def draw(u: np.ndarray) -> np.ndarray:
            return np.interp(isf(u * p), xs, ys)
    elif g is None:

        def draw(u: np.ndarray) -> np.ndarray:
            return isf(u * p)
    else:

        def draw(u: np.ndarray) -> np.ndarray:
            return np.asarray(g(isf(u * p)), dtype=float)

    return p, draw


def simulate_annual_payouts(
    perils: Sequence[Mapping[str, Any] | Sequence[Any] | Peril],
    years: int,
    *,
    seed: int | None = None,
    chunk_events: int = MC_CHUNK_EVENTS,
) -> np.ndarray:
    """Monte Carlo of the annual payout total S of independent perils (年度赔付总额模拟), thinned at the trigger.

    Only paid events are drawn: per peril and year N' ~ Poisson(λ·p) with p = S_X(trigger) (for the
    negative binomial, Λ ~ Gamma(1/c², scale c²λ) per year and N' | Λ ~ Poisson(Λ·p): thinning a mixed
    Poisson count is exact), then X | X > trigger = S_X⁻¹(U·p) and the payout g(X).  Years are done in
    chunks of about ``chunk_events`` paid events; the stream of ``np.random.default_rng(seed)`` is
    used chunk by chunk, peril by peril (counts, then uniforms), so a seed and chunk size fix the result.

    Returns
    -------
    np.ndarray of ``years`` annual totals in yuan (float; the engine's fen rounding is ignored).
    """
    specs = _perils(perils)
    years = int(years)
    if years < 1:
        raise ValueError(f"years must be >= 1, got {years}")
    samplers = [_paid_sampler(pr.severity, pr.payout) for pr in specs]
    paid_per_year = sum(pr.frequency.mean * p for pr, (p, _draw) in zip(specs, samplers))
    per_chunk = max(1, min(years, int(chunk_events // max(paid_per_year, 1.0))))
    rng = np.random.default_rng(seed)
    totals = np.zeros(years)
    for start in range(0, years, per_chunk):
        m = min(per_chunk, years - start)
        for pr, (p, draw) in zip(specs, samplers):
            f = pr.frequency
            if f.cv == 0.0:
                counts = rng.poisson(f.mean * p, m)
            else:
                c2 = f.cv**2
                counts = rng.poisson(rng.gamma(1.0 / c2, c2 * f.mean, m) * p)
            pay = draw(rng.random(int(counts.sum())))
            # annual sums by differences of the running sum (a year with no paid event gets 0)
            running = np.concatenate(([0.0], np.cumsum(pay)))
            ends = np.cumsum(counts)
            totals[start : start + m] += running[ends] - running[ends - counts]
    return totals


def monte_carlo_summary(totals: np.ndarray, levels: Sequence[float] = (0.90, 0.95, 0.99, 0.995), *,
                        sections: int = 100) -> pd.DataFrame:
    """Mean, VaR_p and TVaR_p of simulated annual totals with their Monte Carlo standard errors.

    Notes
    -----
    Estimates use the whole sample: mean; VaR_p = the lower empirical quantile s_(⌈np⌉);
    TVaR_p = VaR_p + mean((s − VaR_p)+)/(1 − p) (Acerbi–Tasche, as :meth:`Compound.tvar`).
    Standard errors by **sectioning** (Asmussen & Glynn, *Stochastic Simulation*, §III.5a): the
    sample is cut into ``sections`` consecutive blocks of m = ⌊n/sections⌋ years, the estimator is
    recomputed on each block, and SE = sd(block estimates)/√sections.  For the mean this is the
    batch-means SE; for quantiles it needs no density estimate (the asymptotic √(p(1−p)/n)/f(q)
    would).  Rows: ``mean``, ``VaR 0.9``…, ``TVaR 0.9``…; columns ``estimate``, ``se``.
    """
    s = np.asarray(totals, dtype=float)
    levels = tuple(float(p) for p in levels)
    m = s.size // sections
    if m < 2:
        raise ValueError(f"need at least {2 * sections} simulated years for {sections} sections")
    blocks = s[: m * sections].reshape(sections, m)

    def risk(x: np.ndarray) -> np.ndarray:  # x: (k, m) → (k, 1 + 2·len(levels))
        x = np.sort(x, axis=-1)
        k = x.shape[-1]
        out = [x.mean(axis=-1)]
        vars_ = [x[..., max(math.ceil(k * p) - 1, 0)] for p in levels]
        out += vars_
        out += [q + np.maximum(x - q[..., None], 0.0).mean(axis=-1) / (1.0 - p) for q, p in zip(vars_, levels)]
        return np.stack(out, axis=-1)

    estimate = risk(s[None, :])[0]
    se = risk(blocks).std(axis=0, ddof=1) / math.sqrt(sections)
    index = ["mean"] + [f"VaR {p:g}" for p in levels] + [f"TVaR {p:g}" for p in levels]
    return pd.DataFrame({"estimate": estimate, "se": se}, index=index)
