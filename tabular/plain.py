"""Plain cells, checked and typed on whole Arrow columns (the kernels of the fast readers:
:mod:`claims.reports.fast` for department reports, :mod:`products.roster` for the roster).

Each function takes a string column (one Arrow chunk, no nulls) and returns its typed values with a
mask of the *plain* rows — cells in the one canonical form a machine export writes, typed here exactly
as the general readers (:mod:`claims.reports.parse`, :mod:`products.roster`) would type them.  Rows
that are not plain are left to the general reader.  The work is done in numpy on the Arrow byte buffers (offsets + bytes): no
Python per row, no regular expression except on the rare values that need one.  Hand-written because
no library checks GB 11643 IDs or the general reader's exact cell rules at this speed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tabular.arrow_bytes import buffers, fixed_width, lane_constant, weighted_digits, word_at
from tabular.cells import SCIENTIFIC
from tabular.resident_id import CHECK_CHARS, ID_LENGTH, WEIGHTS, id_body_numbers

# white space Python's str.strip() removes (the general reader's rule), as an RE2 class
_PY_SPACE = r"[\s\x1c-\x1f\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_PADDED = f"^{_PY_SPACE}|{_PY_SPACE}$"
_CHECK_BYTES = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_KEY_BYTES = np.zeros(256, dtype=bool)
_KEY_BYTES[[*range(48, 58), *range(65, 91), *range(97, 123), 45, 95]] = True
_FIRST_DAY = np.datetime64("1678-01-01", "D")
_CALENDAR: np.ndarray | None = None


def str_series(values: pa.ChunkedArray | pa.Array) -> pd.Series:
    """A pandas ``str`` column over one Arrow chunk, as the general readers give."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pd.Series(pd.array(values, dtype="str"))


def _rows_of(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The row holding each byte position."""
    return np.searchsorted(offsets, positions, side="right") - 1


def _digits_ok(matrix: np.ndarray) -> np.ndarray:
    return ((matrix - np.uint8(48)) < 10).all(axis=1)  # uint8 wraps below '0'


_DAY_SLOTS = 12 * 32  # one slot per (month, day) of a year, valid or not


def _day_table() -> np.ndarray:
    """Days since 1678-01-01 per slot ``(y − 1678)·384 + (m − 1)·32 + (d − 1)`` for 1678–2261, −1 where
    (y, m, d) is not a calendar day: a date is validated and converted by one array lookup."""
    global _CALENDAR
    if _CALENDAR is None:
        days = np.arange(_FIRST_DAY, np.datetime64("2262-01-01", "D"))
        y = days.astype("datetime64[Y]").astype(np.int64) + 1970
        month_start = days.astype("datetime64[M]")
        m = month_start.astype(np.int64) % 12 + 1
        d = (days - month_start.astype("datetime64[D]")).astype(np.int64) + 1
        table = np.full((2262 - 1678) * _DAY_SLOTS, -1, dtype=np.int32)
        table[(y - 1678) * _DAY_SLOTS + (m - 1) * 32 + (d - 1)] = np.arange(len(days), dtype=np.int32)
        _CALENDAR = table
    return _CALENDAR


def _days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(datetime64[D], valid) of year/month/day arrays; valid = a calendar day of 1678–2261."""
    in_range = (y >= 1678) & (y <= 2261) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
    slot = np.where(in_range, (y - 1678) * _DAY_SLOTS + (m - 1) * 32 + (d - 1), 0)
    offset = _day_table()[slot]
    valid = in_range & (offset >= 0)
    return _FIRST_DAY + np.where(valid, offset, 0).astype(np.int64), valid


def digits_number(digits: np.ndarray) -> np.ndarray:
    """int64 of a (n, k) matrix of digit values, column by column (vectorised over rows)."""
    out = np.zeros(len(digits), dtype=np.int64)
    for j in range(digits.shape[1]):
        out *= 10
        out += digits[:, j]
    return out


#: The GB 11643 weights of digits 1–8 and 9–16 as lane multipliers (:func:`tabular.arrow_bytes.weighted_digits`).
_W = [int(w) for w in WEIGHTS]
_EVEN = (lane_constant(_W[0:8:2]), lane_constant(_W[8:16:2]))
_ODD = (lane_constant(_W[1:8:2]), lane_constant(_W[9:16:2]))


def resident_ids(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Resident IDs → (int64 key = the 17-digit body, :func:`tabular.resident_id.id_body_numbers`; plain).
    Check digit ``"10X98765432"[Σ d_i·w_i mod 11]`` with the digits read 8 at a time from the Arrow byte
    buffer (every value has 18 bytes); the birth date (digits 7–14) must be a real day from 1900-01-01 to
    today (the general reader's rule).  Rows that are not plain have key 0."""
    raw, ok = fixed_width(col, ID_LENGTH)
    key, digits = id_body_numbers(raw)
    ok &= digits & (((raw[:, 17] - np.uint8(48)) < 10) | (raw[:, 17] == 88))
    if not ok.all():
        raw = np.where(ok[:, None], raw, np.uint8(48))
        key = np.where(ok, key, 0)
    first, second = word_at(raw, 0), word_at(raw, 8)
    last = raw[:, 16].astype(np.int64) - 48
    total = (weighted_digits(first, _EVEN[0], _ODD[0]) + weighted_digits(second, _EVEN[1], _ODD[1])).astype(np.int64)
    total += last * int(WEIGHTS[16])
    ok &= _CHECK_BYTES[total % 11] == raw[:, 17]
    birth = key // 1000 % 100_000_000
    today = dt.date.today()
    _, real = _days(birth // 10_000, birth // 100 % 100, birth % 100)
    ok &= real & (birth >= 19000101) & (birth <= today.year * 10_000 + today.month * 100 + today.day)
    return key, ok


def iso_dates(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``YYYY-MM-DD`` of the years 1678–2261 (what datetime64[ns] holds) → (datetime64[ns], plain)."""
    raw, ok = fixed_width(col, 10)
    digits = raw[:, [0, 1, 2, 3, 5, 6, 8, 9]]
    ok &= _digits_ok(digits) & (raw[:, 4] == 45) & (raw[:, 7] == 45)
    d = digits.astype(np.int32) - 48
    days, real = _days(d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3], d[:, 4] * 10 + d[:, 5],
                       d[:, 6] * 10 + d[:, 7])
    return days.astype("datetime64[ns]"), ok & real


def yuan_fen(col: pa.ChunkedArray, blank_ok: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Yuan → (int64 fen, blank, plain): ``123.45`` → 12345, ``123`` → 12300; blank → 0 (plain only
    when ``blank_ok``).

    Plain = digits only (at most 13), or digits + "." + two digits: checked on the bytes (every byte a
    digit or a ".", every "." at position len−3 of its value).  The value is pyarrow's float parse × 100
    rounded half up: exact, as amounts below 10¹³ yuan keep the float error far below half a fen."""
    data, offsets = buffers(col)
    lengths = np.diff(offsets)
    blank = lengths == 0
    ok = ~blank if not blank_ok else np.ones(len(lengths), dtype=bool)
    dot = data == 46
    stray = ~(((data - np.uint8(48)) < 10) | dot)
    if stray.any():
        ok[_rows_of(np.flatnonzero(stray), offsets)] = False
    ends = offsets[1:]
    cents = (lengths >= 4) & (data[np.maximum(ends - 3, 0)] == 46) if len(data) else np.zeros(len(lengths), bool)
    if int(np.count_nonzero(dot)) != int(np.count_nonzero(cents)):  # some "." elsewhere: find those rows
        dots = np.flatnonzero(dot)
        rows = _rows_of(dots, offsets)
        ok[rows[dots != ends[rows] - 3]] = False
    ok &= lengths <= np.where(cents, 16, 13)
    fill = blank | ~ok
    text = pc.if_else(pa.array(fill), "0", col) if fill.any() else col
    yuan = np.asarray(pc.cast(text, pa.float64()).to_numpy(), dtype=np.float64)
    return (yuan * 100.0 + 0.5).astype(np.int64), blank, ok


def trimmed_text(col: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Text → (values with blank → null, plain = no surrounding white space by Python's ``str.strip``).
    First/last bytes are checked in numpy; a value that starts or ends with a non-ASCII character that
    may be white space (lead byte C2 or E1–E3) is checked with the regex."""
    data, offsets = buffers(col)
    filled = np.diff(offsets) > 0
    starts, ends = offsets[:-1][filled], offsets[1:][filled]
    first, last = data[starts], data[ends - 1]
    ok = np.ones(len(filled), dtype=bool)
    ok[filled] = ~(_ASCII_SPACE[first] | _ASCII_SPACE[last])
    maybe = np.zeros(len(filled), dtype=bool)
    maybe[filled] = (np.isin(first, (0xC2, 0xE1, 0xE2, 0xE3))
                     | ((data[np.maximum(ends - 2, 0)] == 0xC2) & (ends - starts >= 2))
                     | (np.isin(data[np.maximum(ends - 3, 0)], (0xE1, 0xE2, 0xE3)) & (ends - starts >= 3)))
    if maybe.any():
        where = np.flatnonzero(maybe)
        padded = pc.match_substring_regex(pc.take(col, pa.array(where)), _PADDED).to_numpy(zero_copy_only=False)
        ok[where[padded]] = False
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    values = pc.if_else(pa.array(~filled), pa.scalar(None, arr.type), arr) if not filled.all() else arr
    return values, ok


def codes(col: pa.ChunkedArray) -> np.ndarray:
    """A code → plain: ``[0-9A-Za-z_-]+`` and not scientific notation (the regex runs only on values
    holding an e/E)."""
    data, offsets = buffers(col)
    ok = np.diff(offsets) > 0
    stray = ~_KEY_BYTES[data]
    if stray.any():
        ok[_rows_of(np.flatnonzero(stray), offsets)] = False
    e = (data == 69) | (data == 101)
    if e.any():
        where = np.unique(_rows_of(np.flatnonzero(e), offsets))
        sci = pc.match_substring_regex(pc.take(col, pa.array(where)), SCIENTIFIC).to_numpy(zero_copy_only=False)
        ok[where[sci]] = False
    return ok


_HASH_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                              0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53], dtype=np.uint64)


def required_text(col: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Text that must not be blank (required_text, level)."""
    values, ok = trimmed_text(col)
    return values, ok & (np.diff(buffers(col)[1]) > 0)


def vocabulary(col: pa.ChunkedArray, words: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    """A closed vocabulary → (index into ``list(words)``, plain = the cell is one of the words exactly)."""
    found = pc.index_in(col, value_set=pa.array(list(words), pa.string()))
    index = np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    ok = index >= 0
    return np.where(ok, index, 0), ok


def village_codes(col: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Optional 12-digit village code: blank → <NA>."""
    raw, twelve = fixed_width(col, 12)
    blank = np.diff(buffers(col)[1]) == 0
    ok = blank | (twelve & ((raw - np.uint8(48)) < 10).all(axis=1))
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return (pc.if_else(pa.array(blank), pa.scalar(None, arr.type), arr) if blank.any() else arr), ok


def repeated(col: pa.ChunkedArray) -> np.ndarray:
    """Rows whose value occurs more than once (every occurrence), possibly with a few more.

    Codes of one length (the usual export) are hashed in numpy — the bytes as up to six uint64 words,
    h = Σ word_j·K_j (mod 2⁶⁴) — and rows sharing a hash are returned (a hash collision only sends a
    row to the general reader, which judges it exactly).  Other columns: pandas' exact ``duplicated``."""
    data, offsets = buffers(col)
    n = len(offsets) - 1
    width = int(offsets[1]) if n else 0
    if n and 0 < width <= 48 and len(data) == width * n and not (np.diff(offsets) != width).any():
        raw = data.reshape(n, width)
        h = np.zeros(n, dtype=np.uint64)
        for j, start in enumerate(range(0, width, 8)):  # a loop over the ≤ 6 words of a code
            if start + 8 <= width:
                word = word_at(raw, start)
            else:
                tail = np.zeros((n, 8), dtype=np.uint8)
                tail[:, : width - start] = raw[:, start:]
                word = tail.view("<u8").ravel()
            h += word * _HASH_MULTIPLIERS[j]
        sorted_h = np.sort(h)
        same = sorted_h[1:] == sorted_h[:-1]
        if not same.any():
            return np.zeros(n, dtype=bool)
        shared = np.unique(sorted_h[1:][same])  # few: a binary search each row (np.isin would sort n again)
        found = np.minimum(np.searchsorted(shared, h), len(shared) - 1)
        return shared[found] == h
    return pd.Series(pd.array(col, dtype="str")).duplicated(keep=False).to_numpy()


def counts(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A positive whole number written plainly → (int64, plain): 1–6 digits, the first not 0 (``3``,
    ``12``); ``03``, ``3.0``, ``3人`` and blanks are left to the general reader
    (:func:`tabular.cells.parse_count`)."""
    data, offsets = buffers(col)
    lengths = np.diff(offsets)
    ok = (lengths >= 1) & (lengths <= 6)
    value = np.zeros(len(lengths), dtype=np.int64)
    for width in range(1, 7):  # a loop over the ≤ 6 widths, each vectorised over its rows
        rows = np.flatnonzero(ok & (lengths == width))
        if len(rows):
            digits = data[offsets[:-1][rows, None] + np.arange(width)] - np.uint8(48)
            good = (digits < 10).all(axis=1) & (digits[:, 0] > 0)
            value[rows] = np.where(good, digits_number(digits.astype(np.int64)), 0)
            ok[rows[~good]] = False
    return value, ok
