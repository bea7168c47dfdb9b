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

:func:`allocate_codes` is that formula on int64 codes.  :func:`shared_caps` reads a product's caps into
:class:`SharedCap` stages (its lines' household caps → its covers' caps → its per-person and
per-household caps), and :func:`apply_shared_caps` applies them in that order to the claim rows, each on
what the one before left due.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from claims.engine import trace as tr
from products.model import Product

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


def allocate_codes(group: np.ndarray, order: list[np.ndarray], demand_fen: np.ndarray, paid_fen: np.ndarray,
                   cap_fen: np.ndarray) -> np.ndarray:
    """Grant each row its demand while its group's room lasts, rows taken in ``order`` within a group.

    ``group`` codes and ``order`` keys are int64 (compared as integers; ties keep the row order); ``cap``
    is per row (the group's cap, repeated), a negative cap meaning not capped.  One sort
    (:func:`sort_order`), then running sums — no group-by."""
    n = len(demand_fen)
    if n == 0:
        return demand_fen
    group = np.asarray(group, dtype=np.int64)
    pos = sort_order([group, *order])
    g = group[pos]
    d = np.asarray(demand_fen, dtype=np.int64)[pos]
    c = np.asarray(cap_fen, dtype=np.int64)[pos]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    run = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))  # the group's run number per row
    paid_in_group_fen = np.add.reduceat(np.asarray(paid_fen, dtype=np.int64)[pos], starts)
    room_fen = np.maximum(0, c - paid_in_group_fen[run])
    cum = np.cumsum(d)
    before = cum - d - (cum[starts] - d[starts])[run]
    granted = np.where(c < 0, d, np.clip(room_fen - before, 0, d))
    out = np.empty(n, dtype=np.int64)
    out[pos] = granted
    return out


# --- the product's shared caps, applied to the claims in the order the product sets them -----------------

#: First-come order keys within a group (row position last: the unit-id order within a line and household).
LINE_ORDER = ("order_date", "position")
COVER_ORDER = ("order_date", "line_pos", "position")
PRODUCT_PERSON_ORDER = ("line_pos", "position")
PRODUCT_HOUSEHOLD_ORDER = ("line_pos", "order_date", "position")


@dataclass(frozen=True)
class SharedCap:
    """One cap a product sets over the claims of several units or lines, as the engine applies it (fen).

    ``lines``: the positions of the lines whose claim rows it spans; ``group``: whose rows share one
    room (``household`` or ``person``); ``order``: the first-come keys within a group.  The cap is
    ``cap_fen`` for every group, or by the group's number of victims (``cap_by_victims_fen``: the entry of
    the largest key ≤ victims).  ``words``: the cap's name in the trace, before its amount; a cover's
    cap also names its ``cover`` and what the cap left."""

    lines: tuple[int, ...]
    group: str
    order: tuple[str, ...]
    words: str = ""
    cap_fen: int | None = None
    cap_by_victims_fen: Mapping[int, int] | None = None
    cover: str | None = None


def shared_caps(product: Product) -> tuple[SharedCap, ...]:
    """The product's shared caps, in the order they apply (each on what the one before left due):

    1. each line's household cap (``cap_household_per_year``, or by number of victims), first come
       first served within the line;
    2. each cover's caps across its lines (per person → by victims → per household), first come first
       served by date across the cover's lines;
    3. the product's per-person cap across person-basis lines, in the order the lines are listed;
    4. the product's per-household cap across all lines and units."""
    caps: list[SharedCap] = []
    for pos, line in enumerate(product.lines):  # 1.
        if line.cap_household_per_year is not None:
            caps.append(SharedCap((pos,), "household", LINE_ORDER, "户内同责任合计封顶 ",
                                  cap_fen=line.cap_household_per_year))
        elif line.household_cap_by_victims:
            caps.append(SharedCap((pos,), "household", LINE_ORDER, cap_by_victims_fen=line.household_cap_by_victims))
    position = {line.id: pos for pos, line in enumerate(product.lines)}
    for cover in product.covers:  # 2.
        lines = tuple(position[line_id] for line_id in cover.lines)
        if cover.per_person_year is not None:
            caps.append(SharedCap(lines, "person", COVER_ORDER, "每人年度封顶 ", cap_fen=cover.per_person_year,
                                  cover=cover.name))
        if cover.household_cap_by_victims:
            caps.append(SharedCap(lines, "household", COVER_ORDER, cap_by_victims_fen=cover.household_cap_by_victims,
                                  cover=cover.name))
        if cover.per_household_year is not None:
            caps.append(SharedCap(lines, "household", COVER_ORDER, "每户年度封顶 ", cap_fen=cover.per_household_year,
                                  cover=cover.name))
    if product.cap_per_person_year is not None:  # 3.
        persons = tuple(pos for pos, line in enumerate(product.lines) if line.basis == "person")
        caps.append(SharedCap(persons, "person", PRODUCT_PERSON_ORDER, "产品每人年度封顶 ",
                              cap_fen=product.cap_per_person_year))
    if product.cap_per_household_year is not None:  # 4.
        caps.append(SharedCap(tuple(range(len(product.lines))), "household", PRODUCT_HOUSEHOLD_ORDER,
                              "产品每户年度封顶 ", cap_fen=product.cap_per_household_year))
    return tuple(caps)


def group_codes(claims: pd.DataFrame, code_col: str, text_col: str) -> np.ndarray:
    """int64 key of a column: the screening's roster code where every row has one, else factorised text."""
    if code_col in claims.columns:
        codes = claims[code_col].to_numpy()
        if not len(codes) or codes.min() >= 0:
            return codes.astype(np.int64)
    return pd.factorize(claims[text_col], use_na_sentinel=False)[0].astype(np.int64)


def victims_cap_fen(table: Mapping[int, int], victims: np.ndarray) -> np.ndarray:
    """Cap by the number of victims in the household: the entry of the largest key ≤ victims (0 below the
    first)."""
    keys = np.array(sorted(table), dtype=np.int64)
    values = np.array([table[k] for k in sorted(table)], dtype=np.int64)
    idx = np.searchsorted(keys, victims, side="right") - 1
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], 0)


def household_victims(household: np.ndarray, person: np.ndarray, claimed: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row under ``mask``: the household's victims, i.e. its distinct persons with a claim (``claimed``)
    on a row under ``mask`` (one line, or the lines of one cover)."""
    households, persons = household[mask], person[mask]
    hit = claimed[mask]
    pairs = np.unique(np.stack([households[hit], persons[hit]]), axis=1)
    return np.bincount(pairs[0], minlength=int(household.max()) + 1)[households]


def capped_due(due_fen: np.ndarray, paid_fen: np.ndarray, mask: np.ndarray, group: np.ndarray,
               order: list[np.ndarray], cap_fen: np.ndarray) -> np.ndarray:
    """``due_fen`` after one shared cap over the rows under ``mask`` (:func:`allocate_codes`; the other rows
    unchanged).  ``cap_fen`` is per masked row; ``order`` keys are int64 (row position last)."""
    where = np.flatnonzero(mask)
    if not len(where):
        return due_fen
    out = due_fen.copy()
    out[where] = allocate_codes(group[where], [o[where] for o in order], due_fen[where], paid_fen[where], cap_fen)
    return out


def with_cut_notes(notes: np.ndarray, before_fen: np.ndarray, after_fen: np.ndarray,
                   note: np.ndarray | str) -> np.ndarray:
    """The cap notes of the trace, with ``note`` + ``，削减 <cut>`` added on the rows the cap cut
    (``note``: one text, or one per claim row)."""
    hit = np.flatnonzero(before_fen > after_fen)
    if not len(hit):
        return notes
    piece = note if isinstance(note, str) else np.asarray(note, dtype=tr.TEXT)[hit]
    text = (piece + "，削减 " + tr.yuan(before_fen[hit] - after_fen[hit])).astype(object)
    out = notes.copy()
    out[hit] = np.where(out[hit] == "", text, out[hit] + "；" + text)
    return out


@dataclass(frozen=True)
class CapRows:
    """What the shared caps read of the claim rows (sorted by line, household, unit): what was paid before
    (fen), the line position, the household and person codes, the first-come keys, who has a claim."""

    paid_fen: np.ndarray
    line_pos: np.ndarray
    groups: dict[str, np.ndarray]  # household, person → int64 code per row
    keys: dict[str, np.ndarray]  # order_date, line_pos, position → int64 per row
    claimed: np.ndarray  # entitlement or payment > 0: a victim of the household

    @classmethod
    def of(cls, claims: pd.DataFrame) -> CapRows:
        line_pos = claims["line_pos"].to_numpy(dtype=np.int64)
        paid_fen = claims["paid_before"].to_numpy()
        household = group_codes(claims, "household_code", "household_no")
        person = group_codes(claims, "unit_code", "unit_id")  # the person on person-basis rows: unit codes are persons
        keys = {"order_date": claims["order_date"].to_numpy(dtype="datetime64[ns]").view(np.int64),
                "line_pos": line_pos, "position": np.arange(len(claims), dtype=np.int64)}
        claimed = ((claims["entitlement"] > 0) | (claims["paid_before"] > 0)).to_numpy()
        return cls(paid_fen, line_pos, {"household": household, "person": person}, keys, claimed)


def _cap_per_row(cap: SharedCap, rows: CapRows, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray | str]:
    """(the cap per row under ``mask`` in fen, its words in the trace: one text or one per masked row)."""
    if cap.cap_fen is not None:
        return np.full(int(mask.sum()), cap.cap_fen, dtype=np.int64), cap.words + tr.yuan1(cap.cap_fen)
    assert cap.cap_by_victims_fen is not None
    victims = household_victims(rows.groups["household"], rows.groups["person"], rows.claimed, mask)
    cap_fen = victims_cap_fen(cap.cap_by_victims_fen, victims)
    return cap_fen, tr.text(victims) + " 人受害，户封顶 " + tr.yuan(cap_fen)


def _cut_note(cap: SharedCap, words: np.ndarray | str, mask: np.ndarray, after_fen: np.ndarray) -> np.ndarray | str:
    """The note of a cut: the cap's words (a cover's cap: the cover, its cap and what it left on the row)."""
    if cap.cover is None and isinstance(words, str):
        return words
    note = np.full(len(mask), "", dtype=tr.TEXT)
    if cap.cover is None:
        note[mask] = words
        return note
    head = cap.cover + " 共用限额 / shared cap of cover " + cap.cover + "："
    note[mask] = head + np.asarray(words, dtype=tr.TEXT) + "，本项剩余 " + tr.yuan(after_fen[mask])
    return note


def apply_shared_caps(caps: Sequence[SharedCap], claims: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each shared cap (:func:`shared_caps`, in that order) on what the caps before it left due; returns
    (due after them in fen, the cap notes per claim row).

    Every cap is paid-aware (room = cap − Σ paid of the group, module docstring), so over a year a
    group's total equals one yearly run's min(cap, Σ of what the caps before left).  Claims arrive
    sorted by (line, household, unit), so within a line and household the row position is the unit-id
    order."""
    rows = CapRows.of(claims)
    due_fen = claims["due"].to_numpy().copy()
    notes = np.full(len(claims), "", dtype=object)
    for cap in caps:
        mask = np.isin(rows.line_pos, cap.lines)
        if not mask.any():
            continue
        cap_fen, words = _cap_per_row(cap, rows, mask)
        after_fen = capped_due(due_fen, rows.paid_fen, mask, rows.groups[cap.group],
                               [rows.keys[key] for key in cap.order], cap_fen)
        notes = with_cut_notes(notes, due_fen, after_fen, _cut_note(cap, words, mask, after_fen))
        due_fen = after_fen
    return due_fen, notes
