"""Vectorised building blocks of the generator: one random generator per part, fixed-width digit text,
dates, and money in fen (no loop per person anywhere)."""

from __future__ import annotations

import zlib

import numpy as np

from tabular.money import fen_to_yuan_text


def part_rng(seed: int, part: str) -> np.random.Generator:
    """The generator of one part (``"households"``, ``"medical"`` …), seeded by ``(seed, crc32(part))``:
    adding or changing a part never shifts the numbers of another."""
    return np.random.default_rng([int(seed), zlib.crc32(part.encode("utf-8"))])


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n,) non-negative ints → (n, width) uint8 ASCII digit matrix, zero-padded: 42, width 4 → ``b"0042"``."""
    v = np.asarray(values, dtype=np.int64)
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((v[:, None] // pow10) % 10 + 48).astype(np.uint8)


def ascii_text(matrix: np.ndarray) -> np.ndarray:
    """(n, w) uint8 ASCII matrix → (n,) unicode strings."""
    m = np.ascontiguousarray(matrix, dtype=np.uint8)
    return m.view(f"S{m.shape[1]}").ravel().astype(f"U{m.shape[1]}")


def zero_padded(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative ints → zero-padded text of ``width`` digits."""
    return ascii_text(digits(values, width))


def yuan_text(fen: np.ndarray) -> np.ndarray:
    """Non-negative int fen → '1234.56' (object array); a negative amount is a bug of the generator."""
    f = np.asarray(fen, dtype=np.int64)
    if len(f) and f.min() < 0:
        raise AssertionError("negative amount in synthetic data")
    return fen_to_yuan_text(f).to_numpy(dtype=object)


def round_fen(yuan: np.ndarray, step_yuan: float = 0.01) -> np.ndarray:
    """Yuan floats → int fen, rounded to a multiple of ``step_yuan``: ``round(yuan × 100 / step) × step``."""
    step = int(round(step_yuan * 100))
    return (np.round(np.asarray(yuan) * 100 / step) * step).astype(np.int64)


def date_text(days: np.ndarray) -> np.ndarray:
    """datetime64[D] → ``"2025-03-07"``."""
    return np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D")


def year_month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """datetime64[D] → (year, month 1..12, day 1..31) int arrays."""
    d = np.asarray(days, dtype="datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]")
    month = m.astype(np.int64) % 12 + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    return y, month, day


def days_in_months(year: int, months: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniform random day within the given months (1..12) of ``year``, as datetime64[D]."""
    months = np.asarray(months, dtype=np.int64)
    start = np.datetime64(f"{year}-01", "M") + (months - 1)
    first = start.astype("datetime64[D]")
    length = ((start + 1).astype("datetime64[D]") - first).astype(np.int64)
    return first + np.floor(rng.random(len(months)) * length).astype(np.int64)


def days_in_year(year: int, n: int, rng: np.random.Generator, weights: np.ndarray | None = None) -> np.ndarray:
    """``n`` random days of ``year``: a month drawn ∝ ``weights`` (Jan..Dec; uniform by default), then a day."""
    w = np.ones(12) if weights is None else np.asarray(weights, dtype=float)
    months = rng.choice(12, size=n, p=w / w.sum()) + 1
    return days_in_months(year, months, rng)
