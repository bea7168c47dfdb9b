"""Arrow string columns seen as numpy bytes, and ASCII digits read eight at a time.

The byte-level kernels under the fast readers (:mod:`tabular.plain`, :mod:`tabular.resident_id`,
:mod:`tabular.keys`, :mod:`tabular.simple`): a string column is its data buffer and its offsets (value i is
``bytes[offsets[i]:offsets[i+1]]``), so a column of codes of one width is an (n, w) byte matrix without
a copy.  Eight ASCII digits of a row fit in one little-endian uint64 *word* (first digit in the lowest
byte); checking and converting them a word at a time ("SWAR", SIMD within a register) takes a few integer
operations per row instead of one pass per digit.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: Eight ASCII "0" bytes: a word minus this holds the eight digit values.
_ZEROS = np.uint64(0x3030303030303030)
_LOW_BYTES = np.uint64(0x00FF00FF00FF00FF)
_HIGH = np.uint64(0xF0F0F0F0F0F0F0F0)


def buffers(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, offsets) of a string column without nulls: value i is ``bytes[offsets[i]:offsets[i+1]]``."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    wide = pa.types.is_large_string(arr.type)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32)
    offsets = offsets[arr.offset: arr.offset + len(arr) + 1].astype(np.int64)
    data = arr.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    data = data[offsets[0]: offsets[-1]] if len(offsets) else data[:0]
    return data, (offsets - offsets[0]) if len(offsets) and offsets[0] else offsets  # (a slice starts past 0)


def fixed_width(col: pa.ChunkedArray | pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, width) byte matrix of a column and the mask of rows that have exactly ``width`` bytes (the
    other rows' lines hold zeros)."""
    data, offsets = buffers(col)
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    if len(data) == width * n and not (lengths != width).any():
        return data.reshape(n, width), np.ones(n, dtype=bool)
    ok = lengths == width
    matrix = np.zeros((n, width), dtype=np.uint8)
    matrix[ok] = data[offsets[:-1][ok, None] + np.arange(width)]
    return matrix, ok


def word_at(raw: np.ndarray, start: int) -> np.ndarray:
    """The 8 bytes ``raw[:, start:start + 8]`` of every row as one little-endian uint64."""
    return np.ascontiguousarray(raw[:, start:start + 8]).view("<u8").ravel()


def eight_are_digits(words: np.ndarray) -> np.ndarray:
    """True where all 8 bytes of the word are ASCII digits: high nibble 3, and still 3 after adding 6
    (0x3A–0x3F become 0x40–0x45); any byte ≥ 0x80 fails the first test."""
    return ((words & _HIGH) | (((words + np.uint64(0x0606060606060606)) & _HIGH) >> np.uint64(4))) == np.uint64(
        0x3333333333333333)


def eight_digits(words: np.ndarray) -> np.ndarray:
    """Value of 8 ASCII digits packed in a little-endian uint64 (first digit in the lowest byte), in
    three multiply-shift steps (pairs, then quads, then the eight) instead of 8 passes."""
    x = words - _ZEROS
    x = x * np.uint64(10) + (x >> np.uint64(8))
    x = (((x & np.uint64(0x000000FF000000FF)) * np.uint64(100 + (1_000_000 << 32)))
         + (((x >> np.uint64(16)) & np.uint64(0x000000FF000000FF)) * np.uint64(1 + (10_000 << 32)))) >> np.uint64(32)
    return x.astype(np.int64)


def lane_constant(weights) -> np.uint64:
    """Multiplier whose top 16-bit lane collects Σ lane_i · weights[i] of four 16-bit lanes (lane 0 lowest)."""
    return np.uint64(sum(int(w) << (48 - 16 * i) for i, w in enumerate(weights)))


def weighted_digits(words: np.ndarray, even: np.uint64, odd: np.uint64) -> np.ndarray:
    """Σ d_k·w_k over the 8 digits of each word, with ``even = lane_constant(w[0:8:2])`` and ``odd =
    lane_constant(w[1:8:2])``: even and odd digits in 16-bit lanes, one multiply each (every lane sum is
    ≤ 4·9·10 < 2¹⁶, so lanes never carry into each other)."""
    x = words - _ZEROS
    top = np.uint64(48)
    return (((x & _LOW_BYTES) * even) >> top) + ((((x >> np.uint64(8)) & _LOW_BYTES) * odd) >> top)
