"""Calculation traces (计算过程) a person can read, built column-wise (no loop over claims).

Example:  基数 12345.00（3 条）> 预警线 5000.00：(5000.00, 10000.00]×50% = 2500.00 + (10000.00, 12345.00]×60%
= 1407.00 = 3907.00；年封顶 50000.00；已付 1000.00；本次 2907.00
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from products.model import RATE_SCALE
from products.money import fen_to_yuan_text


def yuan(fen: np.ndarray | pd.Series | int) -> pd.Series:
    """fen → '1234.56' text."""
    return fen_to_yuan_text(np.atleast_1d(np.asarray(fen, dtype=np.int64)))


def yuan1(fen: int) -> str:
    return str(yuan(fen).iloc[0])


def percent(rate_e4: int) -> str:
    """5000 → '50%', 6250 → '62.5%'."""
    whole, frac = divmod(rate_e4, RATE_SCALE // 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "%"


def exact_yuan(amount_e4: np.ndarray) -> pd.Series:
    """Amounts in 1/10 000 fen (= 1e-6 yuan) → yuan text with 2–6 decimals, exact (no float)."""
    a = pd.Series(np.asarray(amount_e4, dtype=np.int64))
    whole = (a // 1_000_000).astype(str)
    frac = (a % 1_000_000).astype(str).str.zfill(6).str.rstrip("0").str.ljust(2, "0")
    return whole + "." + frac


def join(parts: list[pd.Series | str], sep: str = "") -> pd.Series:
    """Concatenate text columns and scalars element-wise, skipping empty pieces cleanly."""
    series = [p for p in parts if isinstance(p, pd.Series)]
    index = series[0].index if series else pd.RangeIndex(1)
    out = pd.Series("", index=index, dtype="object")
    for p in parts:
        piece = p.reset_index(drop=True).set_axis(index) if isinstance(p, pd.Series) else pd.Series(p, index=index)
        piece = piece.fillna("").astype(str)
        out = out.where(piece == "", out.where(out == "", out + sep) + piece)
    return out


def when(mask: np.ndarray | pd.Series, text: pd.Series | str, index: pd.Index) -> pd.Series:
    """``text`` where mask holds, '' elsewhere."""
    t = text if isinstance(text, pd.Series) else pd.Series(text, index=index)
    return t.where(np.asarray(mask), "")
