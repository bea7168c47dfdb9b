"""Seeded, stratified review samples (抽样复核) that an auditor can draw again.

Rules
-----
* Strata: by default village × line × amount band; bands ``(0, 1000, 5000, 20000, None)`` are the
  half-open intervals [0, 1000), [1000, 5000), [5000, 20000), [20000, ∞) yuan.
* Per stratum: ``n = max(minimum_per_stratum, ⌊fraction × size + ½⌋)``, at most the stratum's size.
* Reproducible on any machine: strata are visited in sorted order, the claims of a stratum sorted by
  id; each stratum gets its own ``numpy.random.default_rng([seed, k])`` where ``k`` is a SHA-256 of
  the stratum key, draws one uniform number per claim, and takes the ``n`` smallest (stable argsort).
  A stratum's sample therefore depends only on the seed and its own members, not on the others.
* :func:`store_sample` stores seed, strata, bands, fraction (as text, exact) and the population filter
  together with the population's size and a SHA-256 of its ids; :func:`redraw` re-queries the
  population by the stored filter, refuses if it is no longer the same list, and draws again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.models import Claim, ReviewSample, ReviewSampleMember
from claims.lifecycle.transitions import Actor
from claims.lifecycle.workflow import TransitionError

DEFAULT_STRATA = ("village_code", "line_id", "amount_band")
DEFAULT_BANDS: tuple[float | None, ...] = (0, 1000, 5000, 20000, None)

#: Roles that may draw a review sample.
SAMPLERS = frozenset({"county_reviewer", "insurer_supervisor", "admin"})

#: Population filter keys understood by :func:`population`.
FILTER_KEYS = ("states", "village_codes", "village_prefix", "line_ids", "claim_ids")


def amount_bands(amounts: pd.Series, bands: Sequence[float | None] = DEFAULT_BANDS) -> pd.Series:
    """Label each amount with its band, e.g. ``"1000-5000"`` or ``"20000+"`` (below the first edge: ``"<0"``)."""
    edges = [float(b) for b in bands if b is not None]
    labels = [f"{_fmt(a)}-{_fmt(b)}" for a, b in zip(edges, edges[1:])]
    labels.append(f"{_fmt(edges[-1])}+" if bands[-1] is None else f">={_fmt(edges[-1])}")
    values = pd.to_numeric(amounts.map(str) if amounts.dtype == object else amounts).to_numpy(dtype=float)
    pos = np.searchsorted(np.asarray(edges), values, side="right") - 1
    return pd.Series([labels[p] if p >= 0 else f"<{_fmt(edges[0])}" for p in pos], index=amounts.index, dtype=object)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _stratum_rng(seed: int, key: tuple[str, ...]) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(key).encode("utf-8")).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "big")])


def draw_sample(claims: pd.DataFrame, *, fraction: float, seed: int, strata: Sequence[str] = DEFAULT_STRATA,
                bands: Sequence[float | None] = DEFAULT_BANDS, minimum_per_stratum: int = 1) -> list[int]:
    """The sampled claim ids (sorted) of ``claims`` [id, village_code, line_id, amount]; pure."""
    if not 0 < float(fraction) <= 1:
        raise ValueError(f"抽样比例须在 (0, 1] 之间 / fraction must be in (0, 1]: {fraction}")
    if claims.empty:
        return []
    frame = claims.copy()
    if "amount_band" in strata:
        frame["amount_band"] = amount_bands(frame["amount"], bands)
    unknown = [s for s in strata if s not in frame.columns]
    if unknown:
        raise ValueError(f"未知的分层字段 / unknown strata columns: {unknown}")
    frame["id"] = frame["id"].astype("int64")
    keys = frame[list(strata)].astype(object).where(frame[list(strata)].notna(), "").astype(str) \
        if strata else pd.DataFrame(index=frame.index)
    frame["_key"] = list(map(tuple, keys.to_numpy())) if strata else [()] * len(frame)
    chosen: list[int] = []
    for key in sorted(set(frame["_key"])):
        ids = np.sort(frame.loc[frame["_key"] == key, "id"].to_numpy())
        n = min(len(ids), max(int(minimum_per_stratum), int(np.floor(float(fraction) * len(ids) + 0.5))))
        uniform = _stratum_rng(seed, key).random(len(ids))
        chosen.extend(int(i) for i in ids[np.argsort(uniform, kind="stable")[:n]])
    return sorted(chosen)


# ------------------------------------------------------------------------------------------ persistence

def population(session: Session, policy_id: int, filter_: dict[str, Any]) -> pd.DataFrame:
    """The claims of ``policy_id`` matching ``filter_`` as [id, village_code, line_id, amount], by id.

    Filter keys: ``states``, ``village_codes``, ``line_ids``, ``claim_ids`` (lists) and
    ``village_prefix`` (a 6- or 9-digit county/township prefix).
    """
    unknown = set(filter_) - set(FILTER_KEYS)
    if unknown:
        raise ValueError(f"未知的筛选条件 / unknown population filter keys: {sorted(unknown)} (allowed: {FILTER_KEYS})")
    q = select(Claim.id, Claim.village_code, Claim.line_id, Claim.amount).where(Claim.policy_id == policy_id)
    if "states" in filter_:
        q = q.where(Claim.state.in_(list(filter_["states"])))
    if "village_codes" in filter_:
        q = q.where(Claim.village_code.in_(list(filter_["village_codes"])))
    if "village_prefix" in filter_:
        q = q.where(Claim.village_code.startswith(str(filter_["village_prefix"]), autoescape=True))
    if "line_ids" in filter_:
        q = q.where(Claim.line_id.in_(list(filter_["line_ids"])))
    if "claim_ids" in filter_:
        q = q.where(Claim.id.in_([int(i) for i in filter_["claim_ids"]]))
    rows = session.execute(q.order_by(Claim.id)).all()
    return pd.DataFrame(rows, columns=["id", "village_code", "line_id", "amount"])


def _fingerprint(ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(str(int(i)) for i in ids).encode()).hexdigest()


def store_sample(session: Session, policy_id: int, claim_ids_population_filter: dict[str, Any], fraction: float | str,
                 seed: int, strata: Sequence[str], actor: Actor, *, bands: Sequence[float | None] = DEFAULT_BANDS,
                 minimum_per_stratum: int = 1) -> ReviewSample:
    """Draw a sample of the filtered population and store it with everything needed to redraw it."""
    if actor.role not in SAMPLERS:
        raise TransitionError(f"角色 {actor.role} 无权抽样复核 / role {actor.role!r} may not draw review samples "
                              f"(roles that may: {', '.join(sorted(SAMPLERS))})")
    fraction_text = str(Decimal(str(fraction)))
    frame = population(session, policy_id, claim_ids_population_filter)
    members = draw_sample(frame, fraction=float(fraction_text), seed=seed, strata=tuple(strata), bands=bands,
                          minimum_per_stratum=minimum_per_stratum)
    sample = ReviewSample(
        policy_id=policy_id, seed=int(seed), strata=list(strata), fraction=fraction_text, created_by=actor.id,
        population={"filter": dict(claim_ids_population_filter), "size": len(frame),
                    "sha256": _fingerprint(frame["id"].tolist()), "bands": list(bands),
                    "minimum_per_stratum": int(minimum_per_stratum)})
    session.add(sample)
    session.flush()
    session.add_all(ReviewSampleMember(sample_id=sample.id, claim_id=i) for i in members)
    session.flush()
    return sample


def members(session: Session, sample_id: int) -> list[int]:
    return list(session.scalars(select(ReviewSampleMember.claim_id).where(ReviewSampleMember.sample_id == sample_id)
                                .order_by(ReviewSampleMember.claim_id)))


def redraw(session: Session, sample_id: int) -> list[int]:
    """Draw the stored sample again from its stored filter, seed, strata and fraction (for an auditor)."""
    sample = session.get(ReviewSample, sample_id)
    if sample is None:
        raise LookupError(f"抽样 {sample_id} 不存在 / review sample {sample_id} does not exist")
    pop = sample.population
    frame = population(session, sample.policy_id, pop["filter"])
    if len(frame) != pop["size"] or _fingerprint(frame["id"].tolist()) != pop["sha256"]:
        raise ValueError(f"抽样总体已变化（{pop['size']} → {len(frame)} 笔），无法重现 / the population of sample "
                         f"{sample_id} has changed ({pop['size']} → {len(frame)} claims); it cannot be redrawn")
    return draw_sample(frame, fraction=float(sample.fraction), seed=sample.seed, strata=tuple(sample.strata),
                       bands=tuple(pop["bands"]), minimum_per_stratum=pop["minimum_per_stratum"])


__all__ = ["DEFAULT_BANDS", "DEFAULT_STRATA", "amount_bands", "draw_sample", "members", "population", "redraw",
           "store_sample"]
