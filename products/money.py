"""Money as integer fen (分).  One rounding rule for the whole product: ROUND_HALF_UP to the fen.

Amounts enter as yuan text ("1,234.50", "¥12", "3000") or as numbers (Excel cells).  Text is parsed
exactly (no float in between); numbers are accepted when they are within 1e-6 of a whole fen,
because an Excel cell holding 1234.5 is the float 1234.5 and not an exact decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

MONEY_REASONS: dict[str, str] = {
    "amount_missing": "金额为空 / amount is empty",
    "amount_not_numeric": "金额不是数字 / amount is not a number",
    "amount_negative": "金额为负数 / amount is negative",
    "amount_precision": "金额超过两位小数（分） / amount has more than two decimals (fen)",
    "amount_out_of_range": "金额超出可处理范围（须小于 10 万亿元） / amount is out of range (must be below 10 trillion yuan)",
}

#: Largest accepted magnitude in yuan (exclusive): keeps fen well inside int64 and exact in float64.
MAX_YUAN = 10**13

_MONEY_TEXT = r"(?P<sign>-?)(?P<int>\d+)(?:\.(?P<frac>\d*))?"


def yuan_to_fen(yuan: float | int | str | Decimal) -> int:
    """Scalar yuan → fen, ROUND_HALF_UP; for configuration values (caps, lines), not report cells."""
    return int((Decimal(str(yuan)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_half_up_div(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """Integer ROUND_HALF_UP of numerator / denominator for non-negative int64 numerators."""
    return (numerator + denominator // 2) // denominator


@dataclass(frozen=True)
class ParsedMoney:
    fen: pd.Series  # int64, 0 where invalid
    reason: pd.Series  # reason code from MONEY_REASONS, <NA> where valid


def parse_fen(values: pd.Series, *, blank_as_zero: bool = False, allow_negative: bool = False) -> ParsedMoney:
    """Parse a column of yuan amounts to int64 fen, vectorised, with a reason code per bad cell."""
    index = values.index
    obj = values.astype("object")
    is_num = obj.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
    is_num &= obj.notna()
    reason = pd.Series(pd.NA, index=index, dtype="object")
    fen = np.zeros(len(values), dtype=np.int64)

    # numeric cells
    if is_num.any():
        num = obj[is_num].astype("float64").to_numpy()
        pos = np.flatnonzero(is_num.to_numpy())
        finite = np.isfinite(num)
        in_range = finite & (np.abs(np.where(finite, num, 0.0)) < MAX_YUAN)
        scaled = np.where(in_range, num, 0.0) * 100.0
        rounded = np.round(scaled)
        not_whole = np.abs(scaled - rounded) > 1e-4  # more than a ten-thousandth of a fen off a whole fen
        fen[pos] = rounded.astype(np.int64)
        reason.iloc[pos[not_whole]] = "amount_precision"
        reason.iloc[pos[finite & ~in_range]] = "amount_out_of_range"
        reason.iloc[pos[~finite]] = "amount_not_numeric"

    # text cells
    is_text = ~is_num
    if is_text.any():
        text = obj[is_text].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        text = text.str.strip().str.replace(",", "", regex=False).str.replace("，", "", regex=False)
        text = text.str.replace(r"^[¥￥]|元$", "", regex=True).str.strip()
        blank = text.isna() | (text == "")
        parts = text.fillna("").str.fullmatch(_MONEY_TEXT)
        m = text.fillna("").str.extract(f"^{_MONEY_TEXT}$")
        pos = np.flatnonzero(is_text.to_numpy())
        blank_np = blank.to_numpy()
        ok = (parts & ~blank).to_numpy()
        frac = m["frac"].fillna("")
        too_precise = (frac.str.len() > 2).to_numpy() & ok
        too_large = (m["int"].fillna("").str.lstrip("0").str.len() > len(str(MAX_YUAN)) - 1).to_numpy() & ok
        good = ok & ~too_precise & ~too_large
        if good.any():
            ints = m["int"].to_numpy()[good].astype("int64")
            fr = frac.to_numpy()[good].astype("object")
            fr = pd.Series(fr).str.ljust(2, "0").replace("", "00").astype("int64").to_numpy()
            sign = np.where(m["sign"].to_numpy()[good] == "-", -1, 1)
            fen[pos[good]] = sign * (ints * 100 + fr)
        reason.iloc[pos[too_precise]] = "amount_precision"
        reason.iloc[pos[too_large & ~too_precise]] = "amount_out_of_range"
        reason.iloc[pos[~ok & ~blank_np]] = "amount_not_numeric"
        if not blank_as_zero:
            reason.iloc[pos[blank_np]] = "amount_missing"

    if not allow_negative:
        negative = (fen < 0) & reason.isna().to_numpy()
        reason.iloc[np.flatnonzero(negative)] = "amount_negative"
    fen[reason.notna().to_numpy()] = 0
    return ParsedMoney(fen=pd.Series(fen, index=index, dtype="int64"), reason=reason)


def fen_to_yuan_array(fen: np.ndarray) -> np.ndarray:
    """int64 fen → '1234.56' strings as a numpy StringDType array (numpy's vectorised string ops)."""
    f = np.asarray(fen, dtype=np.int64)
    text = np.dtypes.StringDType()
    a = np.abs(f)
    whole = (a // 100).astype(text)
    cents = np.strings.zfill((a % 100).astype(text), 2)
    return np.where(f < 0, "-", "").astype(text) + whole + "." + cents


def fen_to_yuan_text(fen: pd.Series | np.ndarray) -> pd.Series:
    """int64 fen → '1234.56' strings (for CSV output)."""
    index = fen.index if isinstance(fen, pd.Series) else None
    return pd.Series(fen_to_yuan_array(np.asarray(fen)), index=index, dtype="object")


def fen_to_decimal(fen: int) -> Decimal:
    """Scalar fen → Decimal yuan with two places (for the database's Numeric(14,2))."""
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))
