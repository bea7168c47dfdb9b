"""Calculation traces (计算过程) a person can read, built column-wise (no loop over claims).

Example:  基数 23345.67（2 条） > 预警线 5000.00：(5000.00, 10000.00]×50% = 2500.00 + (10000.00, 20000.00]×60%
= 6000.00 + (20000.00, 23345.67]×70% = 2341.969 = 10841.97；年封顶 50000.00；已付 1000.00；本次应付 9841.97

Text columns are numpy ``StringDType`` arrays: numpy's own vectorised string ops are an order of
magnitude faster than pandas string Series for the many small concatenations a trace needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from products.model import RATE_SCALE
from tabular.money import fen_to_yuan_array

TEXT = np.dtypes.StringDType()
Text = np.ndarray | str


def yuan(fen: np.ndarray | pd.Series | int) -> np.ndarray:
    """fen → '1234.56' text array (one value repeated, e.g. nothing paid before: formatted once)."""
    a = np.atleast_1d(np.asarray(fen, dtype=np.int64))
    if len(a) and a.min() == a.max():
        return np.full(len(a), yuan1(int(a[0])), dtype=TEXT)
    return fen_to_yuan_array(a)


def yuan1(fen: int) -> str:
    """A single amount in fen → '1234.56'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def percent(rate_e4: int) -> str:
    """5000 → '50%', 6250 → '62.5%'."""
    whole, frac = divmod(int(rate_e4), RATE_SCALE // 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "%"


def exact_yuan(amount_e4: np.ndarray) -> np.ndarray:
    """Amounts in 1/10 000 fen (= 1e-6 yuan) → yuan text with 2–6 decimals, exact (no float)."""
    a = np.asarray(amount_e4, dtype=np.int64)
    whole = (a // 1_000_000).astype(TEXT)
    frac = np.strings.zfill((a % 1_000_000).astype(TEXT), 6)
    frac = np.strings.rstrip(frac, "0")
    frac = np.strings.ljust(frac, 2, "0")
    return whole + "." + frac


def text(values: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
    """Any column → a text array ('' for missing)."""
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    return s.fillna("").astype(str).to_numpy().astype(TEXT)


def join(parts: Sequence[Text], sep: str = "") -> np.ndarray:
    """Concatenate text arrays/scalars element-wise with ``sep`` between the non-empty pieces."""
    arrays = [p for p in parts if isinstance(p, np.ndarray)]
    n = len(arrays[0]) if arrays else 1
    out = np.full(n, "", dtype=TEXT)
    for p in parts:
        piece = np.asarray(p, dtype=TEXT) if isinstance(p, np.ndarray) else np.full(n, p, dtype=TEXT)
        has_piece = np.strings.str_len(piece) > 0
        has_out = np.strings.str_len(out) > 0
        out = np.where(has_piece, np.where(has_out, out + sep + piece, piece), out)
    return out
