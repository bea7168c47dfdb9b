"""Caps shared by several units or lines, applied to what is still due (已付 aware).

A shared cap C over a group G (a household for a line's household cap; a person's or a household's
claims on the lines of one cover for a cover's caps; a person's lines for the product's per-person cap;
a household's lines for the product's per-household cap):

    room_G  = max(0, C − Σ_{i∈G} paid_i)
    due_i   = clamp(room_G − Σ_{j∈G, j before i} demand_j, 0, demand_i)

where demand_i is what unit-line i is still owed before this cap and "before" is a fixed order
(for the product's caps, lines in the order the product lists them; within a line, first-come by the
date the unit first qualified, then unit id; across a cover's lines, first-come by that date, then
line order, then unit id).  Because room is measured against what was already paid, monthly runs
can never pay a group more than C, and over a year the group total equals a single yearly run's
min(C, Σ entitlements).  (Which unit inside a group receives the last yuan of room can differ
between a monthly and a yearly run when reports arrive out of order; the group total cannot.)
A cap by number of victims is C(v) for the v victims known so far; v only grows over the year, and
C(v) must not fall as v grows, so the same holds with C = C(the year's victims).
"""

from __future__ import annotations

import numpy as np

DAY_NS = 86_400_000_000_000


def _in_row_order(keys: list[np.ndarray]) -> int:
    """How many leading keys are enough: the smallest j such that the rows are already in order on
    ``keys[j:]`` (a stable sort by ``keys[:j]`` then keeps them so), looking back from the last key while
    the keys are integers or dates.  Row positions, or file and line numbers of rows read in file order,
    cost nothing to sort by."""
    n = len(keys[0]) if keys else 0
    pair_ok = np.ones(max(n - 1, 0), dtype=bool)
    need = len(keys)
    for j in range(len(keys) - 1, -1, -1):
        k = np.asarray(keys[j])
        if k.dtype.kind not in "iubM":
            break
        later, earlier = k[1:], k[:-1]
        pair_ok = (later > earlier) | ((later == earlier) & pair_ok)
        if pair_ok.all():
            need = j
    return need


def sort_order(keys: list[np.ndarray]) -> np.ndarray:
    """``np.lexsort`` with the most significant key first (ties keep the row order).

    Trailing keys the rows already follow are dropped (:func:`_in_row_order`); the others are packed into
    one int64 when their ranges fit in 63 bits together (integer keys shifted to start at 0; dates at
    midnight as days).  With the row position in the low bits as well, the packed values are unique and
    a plain (SIMD) ``np.sort`` gives the order; otherwise a stable argsort of the packed key."""
    n = len(keys[0]) if keys else 0
    keys = keys[: _in_row_order(keys)]
    if not keys:
        return np.arange(n, dtype=np.int64)
    packed = np.zeros(n, dtype=np.int64)
    bits = 0
    for key in reversed(keys):
        k = np.asarray(key)
        if k.dtype.kind == "M":
            k = k.astype("datetime64[ns]").view(np.int64)
        if k.dtype.kind not in "iub" or not len(k):
            return np.lexsort([np.asarray(x) for x in reversed(keys)])
        k = k.astype(np.int64) - int(k.min())
        if k.max() > 0 and not (k % DAY_NS).any():
            k = k // DAY_NS
        width = int(k.max()).bit_length()
        if bits + width > 63:
            return np.lexsort([np.asarray(x) for x in reversed(keys)])
        packed |= k << bits
        bits += width
    position_bits = max(n - 1, 0).bit_length()
    if bits + position_bits <= 63:
        packed <<= position_bits
        packed |= np.arange(n, dtype=np.int64)
        packed.sort()
        return packed & ((1 << position_bits) - 1)
    return np.argsort(packed, kind="stable")


def allocate_codes(group: np.ndarray, order: list[np.ndarray], demand: np.ndarray, paid: np.ndarray,
                   cap: np.ndarray) -> np.ndarray:
    """Grant each row its demand while its group's room lasts, rows taken in ``order`` within a group.

    ``group`` codes and ``order`` keys are int64 (compared as integers; ties keep the row order); ``cap``
    is per row (the group's cap, repeated), a negative cap meaning not capped.  One sort
    (:func:`sort_order`), then running sums — no group-by."""
    n = len(demand)
    if n == 0:
        return demand
    group = np.asarray(group, dtype=np.int64)
    pos = sort_order([group, *order])
    g = group[pos]
    d = np.asarray(demand, dtype=np.int64)[pos]
    c = np.asarray(cap, dtype=np.int64)[pos]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))  # the group's run number per row
    paid_in_group = np.add.reduceat(np.asarray(paid, dtype=np.int64)[pos], starts)
    room = np.maximum(0, c - paid_in_group[run])
    cum = np.cumsum(d)
    before = cum - d - (cum[starts] - d[starts])[run]
    granted = np.where(c < 0, d, np.clip(room - before, 0, d))
    out = np.empty(n, dtype=np.int64)
    out[pos] = granted
    return out
