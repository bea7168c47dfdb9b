"""Caps shared by several units or lines, applied to what is still due (已付 aware).

A shared cap C over a group G (a household for a line's household cap; a person's lines for the
product's per-person cap; a household's lines for the product's per-household cap):

    room_G  = max(0, C − Σ_{i∈G} paid_i)
    due_i   = clamp(room_G − Σ_{j∈G, j before i} demand_j, 0, demand_i)

where demand_i is what unit-line i is still owed before this cap and "before" is a fixed order
(lines in the order the product lists them; within a line, first-come by the date the unit first
qualified, then unit id).  Because room is measured against what was already paid, monthly runs
can never pay a group more than C, and over a year the group total equals a single yearly run's
min(C, Σ entitlements).  (Which unit inside a group receives the last yuan of room can differ
between a monthly and a yearly run when reports arrive out of order; the group total cannot.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def allocate(group: pd.Series, order: list[pd.Series], demand: np.ndarray, paid: np.ndarray,
             cap: np.ndarray) -> np.ndarray:
    """Grant each row its demand while the group's room lasts; rows are taken in ``order`` within a group.

    ``cap`` is per row (the group's cap, repeated); rows with a negative cap are not capped.
    """
    n = len(demand)
    if n == 0:
        return demand
    frame = pd.DataFrame({"g": group.to_numpy(), **{f"o{i}": o.to_numpy() for i, o in enumerate(order)},
                          "pos": np.arange(n)})
    frame = frame.sort_values(["g", *[f"o{i}" for i in range(len(order))], "pos"], kind="stable")
    pos = frame["pos"].to_numpy()
    g_codes = pd.factorize(frame["g"], use_na_sentinel=False)[0]
    d = demand[pos]
    p = paid[pos]
    c = cap[pos]
    paid_in_group = np.zeros(g_codes.max() + 1, dtype=np.int64)
    np.add.at(paid_in_group, g_codes, p)
    room = np.maximum(0, c - paid_in_group[g_codes])
    cum = np.cumsum(d)
    start = np.zeros(g_codes.max() + 1, dtype=np.int64)
    firsts = np.flatnonzero(np.r_[True, g_codes[1:] != g_codes[:-1]])
    start[g_codes[firsts]] = cum[firsts] - d[firsts]
    before = cum - d - start[g_codes]
    granted = np.clip(room - before, 0, d)
    granted = np.where(c < 0, d, granted)
    out = np.empty(n, dtype=np.int64)
    out[pos] = granted
    return out
