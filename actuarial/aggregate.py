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
arrays.  The model's inputs, the grid rule and the result :class:`Compound` are in :mod:`actuarial.compound`;
the independent check by simulation in :mod:`actuarial.montecarlo`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from actuarial.compound import (
    Compound,
    CompoundAccuracyWarning,
    Frequency,
    PayoutPerEvent,
    Peril,
    accuracy_message,
    as_peril,
    as_perils,
    default_bucket,
    exact_moments,
    grid_span,
    log_pgf_rows,
    nice_step,
    payout_per_event,
)
from actuarial.coverage import PayoutFunction

__all__ = ["combine", "compound_batch", "compound_distribution"]


# ---------------------------------------------------------------------------------------- engine
def _discretise(pay: PayoutPerEvent, b: float, size: int) -> np.ndarray:
    """Rounding discretisation p_j = S_Y((j − ½)b) − S_Y((j + ½)b) on j = 0..size−1."""
    edges = (np.arange(size + 1) - 0.5) * b
    # only evaluate where Y has mass
    top = min(size, math.floor(pay.max_payout / b + 0.5) + 2) if math.isfinite(pay.max_payout) else size
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
    pays: tuple[PayoutPerEvent, ...]
    mean: float
    var: float
    n: int = 0

    @property
    def span(self) -> float:
        return grid_span(self.mean, self.var)


#: The finest default grid the refinement of :func:`compound_distribution` goes to (points over E[S] + 12 sd).
MAX_REFINED_POINTS = 2**20
#: Memory bound for one stack of transforms (complex128 rows of n + 1 values): 16 MB (4–64 MB measured alike).
_STACK_BYTES = 16 * 2**20


def _prepare(portfolios: Sequence[Sequence[Peril]]) -> list[_County]:
    """Exact moments per county; each distinct (severity, payout) gets its exact payout moments once."""
    pay_cache: dict[Hashable, PayoutPerEvent] = {}
    counties = []
    for perils in portfolios:
        keys, pays = [], []
        for peril in perils:
            key = (_identity(peril.severity), _identity(peril.payout))
            if key not in pay_cache:
                pay_cache[key] = payout_per_event(peril.severity, peril.payout)
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


def _payout_rows(name: str, y: PayoutPerEvent, p: np.ndarray, bucket: float) -> list[tuple[str, str, float, float]]:
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
                    term = log_pgf_rows(means, cv, phis[key])
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
    payout : a ``products`` bracket :class:`~products.model.Line` (or its mapping, as a product document
        writes it: ``{"id", "peril", "basis", "start_line", "brackets", "caps"}`` in yuan), an object with ``.moments`` and
        ``.inverse`` (and ``.max_payout``) like :class:`PayoutFunction`, or None for ground-up.
    perils : instead of the three above, a list of ``(frequency, severity, payout)`` tuples or
        mappings with those keys (and optional ``name``); their transforms are multiplied.
    bucket : grid step b in yuan.  Default: the largest step in {1, 2, 2.5, 5}×10^k with
        2^16·b ≥ E[S] + 12 sd and at least 64 steps below the smallest maximum payout.
    log2 : grid of 2^log2 points before the ×2 padding (default: the smallest power of two covering
        E[S] + 12 sd).  Given alone, the bucket is the smallest nice step with 2^log2·b ≥ E[S] + 12 sd.

    Returns
    -------
    Compound
        With neither ``bucket`` nor ``log2`` given, a result whose mean or sd misses the exact one by more
        than 1e-4 (:attr:`Compound.valid`) is recomputed on the next finer bucket ({1, 2, 2.5, 5} × 10^k), as
        :func:`actuarial.budget` does, up to E[S] + 12 sd over 2^20 steps; a result still not valid (or
        not valid on a grid the caller fixed) comes with a :class:`CompoundAccuracyWarning` naming its errors.
    """
    if perils is None:
        if frequency is None or severity is None:
            raise TypeError("give frequency and severity, or perils=[...]")
        specs = [as_peril(frequency, severity, payout)]
    else:
        if frequency is not None or severity is not None or payout is not None:
            raise TypeError("give either frequency/severity/payout or perils=[...], not both")
        specs = as_perils(perils)
    result = _build(specs, bucket, log2)
    if bucket is None and log2 is None:  # the default grid: refine the bucket until the result is valid
        span = grid_span(result.exact_mean, result.exact_sd**2)
        while not result.valid and span / nice_step(result.bucket * (1 - 1e-9)) <= MAX_REFINED_POINTS:
            result = _build(specs, nice_step(result.bucket * (1 - 1e-9)), None)
    if not result.valid:
        warnings.warn(accuracy_message(result), CompoundAccuracyWarning, stacklevel=2)
    return result


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
    specs = [as_perils(perils) for perils in portfolios]
    if not specs:
        return []
    return _build_many(specs, bucket, log2)


def combine(*compounds: Compound, bucket: float | None = None, log2: int | None = None) -> Compound:
    """The sum of independent compounds, rebuilt on one common grid (transforms multiplied)."""
    if not compounds:
        raise ValueError("nothing to combine")
    specs = [p for c in compounds for p in c.perils]
    return _build(specs, bucket, log2)
