"""int64 keys of text codes, and joins and repeat checks on them — the engine's hot loops without text.

Machine exports carry fixed-width codes: 18-character resident IDs, household numbers, settlement IDs.
Viewing Arrow's data buffer as an (n, w) byte matrix lets numpy turn each code into one int64:

* resident IDs: the 17-digit body as a number (< 10¹⁷); the check digit is compared apart;
* other fixed-width codes: mixed radix over the byte columns, ``Σ_j (b_j − lo_j) · Π_{i>j} r_i`` with
  ``r_j = hi_j − lo_j + 1`` taken over the key set, when ``Π r_j < 2⁶³``.  Both encodings keep the
  text's order (equal-width byte strings compare column by column), so a sorted roster stays sorted.

Hand-written because no library does this: pandas and pyarrow hash the text (2–3× slower on 10⁷ codes
than an int64 hash), and none packs fixed-width codes into order-preserving integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tabular.arrow_bytes import buffers
from tabular.resident_id import ID_LENGTH, id_body_numbers


def as_arrow(values: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    """A text column as one contiguous Arrow string array."""
    if isinstance(values, pd.Series):
        values = pa.array(values.astype(str).array if values.dtype != "str" else values.array)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def fixed_width_bytes(arr: pa.Array) -> np.ndarray | None:
    """(n, w) uint8 view of a string array whose values all have w bytes and no nulls, else None
    (over the reader's view of Arrow's buffers, :func:`tabular.arrow_bytes.buffers`)."""
    if len(arr) == 0 or arr.null_count or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    data, offsets = buffers(arr)
    width = int(offsets[1])
    if width == 0 or len(data) != width * len(arr) or (np.diff(offsets) != width).any():
        return None
    return data.reshape(len(arr), width)


def id_bodies(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """(17-digit body as int64, last byte) of 18-character IDs, or None when they are not all such
    (:func:`tabular.resident_id.id_body_numbers`)."""
    m = fixed_width_bytes(arr)
    if m is None or m.shape[1] != ID_LENGTH:
        return None
    body, ok = id_body_numbers(m)
    if not ok.all():
        return None
    return body, m[:, 17].copy()


#: Rows per block when codes are packed: a block's int64 accumulator and bytes stay in the CPU cache
#: across the column passes (over whole 10⁷-row columns each pass would go to memory).
BLOCK_ROWS = 1 << 15


def _column_range(m: np.ndarray, fold: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(min, max) of each column of an (n, w) byte matrix: reduced over a (n / fold, fold · w) view, whose
    rows numpy reduces with wide vector steps (a narrow (n, w) matrix is reduced a row at a time)."""
    n, w = m.shape
    head = n - n % fold
    parts = [m[head:]] if head < n else []
    if head:
        wide = m[:head].reshape(-1, fold * w)
        parts += [wide.min(axis=0).reshape(fold, w), wide.max(axis=0).reshape(fold, w)]
    stacked = np.concatenate(parts)
    return stacked.min(axis=0).astype(np.int64), stacked.max(axis=0).astype(np.int64)


@dataclass(frozen=True)
class Radix:
    """The mixed-radix plan of a key set: each byte column's range ``lo``…``hi`` over the keys."""

    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, keys: np.ndarray) -> Radix | None:
        """The plan of an (n, w) byte matrix; None when the radices' product does not fit in 63 bits."""
        lo, hi = _column_range(keys)
        return cls(lo, hi) if int(np.prod([int(r) for r in hi - lo + 1], dtype=object)) < 2**63 else None

    def encode(self, m: np.ndarray, check: bool = False) -> np.ndarray:
        """Codes of the rows of ``m``; with ``check``, −1 for a row with a byte outside its column's range."""
        radix = self.hi - self.lo + 1
        varying = [j for j in range(m.shape[1]) if radix[j] > 1]  # constant columns add nothing
        out = np.empty(len(m), dtype=np.int64)
        for start in range(0, len(m), BLOCK_ROWS):
            block = m[start: start + BLOCK_ROWS]
            acc = np.zeros(len(block), dtype=np.int64)
            for j in varying:
                acc *= int(radix[j])
                acc += block[:, j]
                acc -= int(self.lo[j])
            if check:
                inside = np.ones(len(block), dtype=bool)
                for j in range(m.shape[1]):
                    inside &= (block[:, j] >= self.lo[j]) & (block[:, j] <= self.hi[j])
                acc[~inside] = -1
            out[start: start + len(block)] = acc
        return out


def radix_codes(keys: np.ndarray, values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Mixed-radix int64 codes of fixed-width byte matrices (module docstring), the radices taken over
    ``keys``; a row of ``values`` with a byte outside the keys' range of its column gets −1 (it equals no
    key).  None when the radices' product does not fit in 63 bits."""
    plan = Radix.of(keys)
    if plan is None:
        return None
    return plan.encode(keys), (plan.encode(values, check=True) if values is not None else None)


def lookup(index: pd.Index, values: np.ndarray) -> np.ndarray:
    """Position of each int64 value in ``index`` (unique int64 keys), −1 where absent.  Runs of equal
    values (rows grouped by household, say) are looked up once; sorted values in sorted keys by binary
    search; otherwise pandas' hash table (splitting it over two threads was tried: no faster here)."""
    values = np.asarray(values, dtype=np.int64)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    differs = values[1:] != values[:-1]
    if np.count_nonzero(differs) < n // 2:
        starts = np.r_[0, np.flatnonzero(differs) + 1]
        return np.repeat(lookup(index, values[starts]), np.diff(np.r_[starts, n]))
    del differs
    if index.is_monotonic_increasing and (values[1:] >= values[:-1]).all():
        keys = index.to_numpy()
        pos = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
        return np.where(keys[pos] == values, pos, -1).astype(np.int64)
    return index.get_indexer(values).astype(np.int64, copy=False)


class KeyIndex:
    """A column of unique keys prepared once for many lookups (the roster's resident IDs or household
    numbers, looked up by every report): its text, and the int64 codes and hash index of each way of
    matching, built on first use.

    Normalised 18-character resident IDs are matched on their 17-digit body (the values' bodies may be
    given: the reader's ``id_key``), then the last character is compared so a wrong check digit never
    matches; other fixed-width codes on their mixed-radix code; anything else as text (pyarrow
    ``index_in``).  Keys that repeat are matched as text (first position)."""

    def __init__(self, keys: pd.Series | pa.Array, bodies: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.text = as_arrow(keys)
        self._bodies = bodies
        self._bodies_done = bodies is not None
        self._body_index: pd.Index | None = None
        self._radix: tuple[Radix, pd.Index] | None | bool = False  # False: not yet tried

    @property
    def bodies(self) -> tuple[np.ndarray, np.ndarray] | None:
        """:func:`id_bodies` of the keys (None when they are not all 18-character IDs)."""
        if not self._bodies_done:
            self._bodies, self._bodies_done = id_bodies(self.text), True
        return self._bodies

    def _unique_index(self, codes: np.ndarray) -> pd.Index | None:
        index = pd.Index(codes)
        return index if index.is_unique else None

    def positions(self, values: pd.Series | pa.Array, value_bodies: np.ndarray | None = None) -> np.ndarray:
        """Position of each value among the keys, −1 where absent."""
        v = as_arrow(values)
        v_m = fixed_width_bytes(v)
        if self.bodies is not None and v_m is not None and v_m.shape[1] == 18:
            if self._body_index is None:
                self._body_index = self._unique_index(self.bodies[0])
            if value_bodies is None:
                parsed = id_bodies(v)
                value_bodies = parsed[0] if parsed is not None else None
            if self._body_index is not None and value_bodies is not None:
                pos = lookup(self._body_index, value_bodies)
                hit = np.flatnonzero(pos >= 0)
                pos[hit[v_m[hit, 17] != self.bodies[1][pos[hit]]]] = -1
                return pos
        k_m = fixed_width_bytes(self.text)
        if self._radix is False:
            plan = Radix.of(k_m) if k_m is not None else None
            index = self._unique_index(plan.encode(k_m)) if plan is not None else None
            self._radix = (plan, index) if index is not None else None
        if self._radix and v_m is not None and v_m.shape[1] == k_m.shape[1]:
            plan, index = self._radix
            return lookup(index, plan.encode(v_m, check=True))  # −1 codes match no key
        return pc.index_in(v, value_set=self.text).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def key_positions(keys: pd.Series | pa.Array, values: pd.Series | pa.Array, *,
                  key_bodies: tuple[np.ndarray, np.ndarray] | None = None,
                  value_bodies: np.ndarray | None = None) -> np.ndarray:
    """Position of each value in ``keys`` (unique), −1 where absent — a join done once, on int64 (see
    :class:`KeyIndex`; ``key_bodies``: the keys' :func:`id_bodies` when the caller has them)."""
    return KeyIndex(keys, key_bodies).positions(values, value_bodies)


def repeated(values: pd.Series | pa.Array, positions: np.ndarray | None = None) -> np.ndarray:
    """For the rows at ``positions`` (all rows when None): True where the value already appeared on an
    earlier one of them (``duplicated(keep="first")``).

    Fixed-width codes as int64 (mixed radix): strictly increasing codes (exports come sorted) repeat
    nothing, otherwise a stable sort puts each value's first row first; other text by dictionary-encoding
    it once in Arrow and keeping the first row of each code; codes too wide for 63 bits by a lexsort of their
    big-endian 8-byte words.  Blanks follow pandas' rule (they repeat)."""
    arr = as_arrow(values)
    if positions is None:
        positions = np.arange(len(arr), dtype=np.int64)
    n = len(positions)
    if n == 0:
        return np.zeros(0, dtype=bool)
    m = fixed_width_bytes(arr)  # None with nulls too
    if m is None:
        taken = arr.take(pa.array(positions))
        if taken.null_count:
            return pd.Series(taken.to_pandas()).duplicated(keep="first").to_numpy()
        codes = taken.dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        packed = radix_codes(m)
        if packed is None:  # wide codes: big-endian 8-byte words sort like the text
            taken = m[positions]
            words = np.zeros((n, -(-m.shape[1] // 8) * 8), dtype=np.uint8)
            words[:, : m.shape[1]] = taken
            keys = words.view(">u8").astype(np.uint64)
            order = np.lexsort([keys[:, j] for j in reversed(range(keys.shape[1]))])
            out = np.zeros(n, dtype=bool)
            out[order[1:][(keys[order][1:] == keys[order][:-1]).all(axis=1)]] = True
            return out
        else:
            codes = packed[0][positions]
            if (codes[1:] > codes[:-1]).all():
                return np.zeros(n, dtype=bool)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    out = np.zeros(n, dtype=bool)
    out[order[1:][ordered[1:] == ordered[:-1]]] = True
    return out
