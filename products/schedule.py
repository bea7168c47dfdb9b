"""The payout schedule of a bracket line (起付线 + 阶梯赔付 + 封顶), on whole arrays of bases.

For a base B (fen) and brackets k = 1..K with lower_1 = start_line, lower_k = upto_(k-1):

    part_k      = clamp(B − lower_k, 0, upto_k − lower_k)          (upto_K may be open)
    uncapped    = round_half_up_to_fen( Σ_k rate_k × part_k )        if B > trigger, else 0
    entitlement = min(uncapped, per_year cap)

Rates are integers in ten-thousandths (rate_e4), so Σ_k rate_e4_k × part_k is an exact int64 in
units of 1/10 000 fen and the single rounding happens once per unit and line, never per bracket.
(int64 holds 9.2e18: bases up to 9e14 fen, i.e. 9 trillion yuan, cannot overflow.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from products.model import RATE_SCALE, Line
from tabular.money import round_half_up_div


@dataclass(frozen=True)
class BracketResult:
    """Per-unit arrays: bracket parts (n, K) fen, their exact payouts (n, K) in 1e-4 fen, and totals."""

    parts: np.ndarray
    pays_e4: np.ndarray
    triggered: np.ndarray  # bool: base > trigger
    uncapped: np.ndarray  # fen
    entitlement: np.ndarray  # fen, after the line's per-year cap


def bracket_bounds(line: Line) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, width, rate_e4) arrays of the line's brackets; an open bracket has width int64 max."""
    lower = np.array([b.lower for b in line.brackets], dtype=np.int64)
    open_width = np.iinfo(np.int64).max
    width = np.array([open_width if b.upto is None else b.upto - b.lower for b in line.brackets], dtype=np.int64)
    rates = np.array([b.rate_e4 for b in line.brackets], dtype=np.int64)
    return lower, width, rates


def bracket_parts(base: np.ndarray, line: Line) -> np.ndarray:
    """part_k = clamp(base − lower_k, 0, width_k) for every unit and bracket, int64 fen, shape (n, K)."""
    lower, width, _ = bracket_bounds(line)
    return np.minimum(np.maximum(np.asarray(base, dtype=np.int64)[:, None] - lower[None, :], 0), width[None, :])


def bracket_entitlement(base: np.ndarray, line: Line) -> BracketResult:
    """Apply the line's brackets, trigger and per-year cap to an array of bases (fen)."""
    base = np.asarray(base, dtype=np.int64)
    parts = bracket_parts(base, line)
    _, _, rates = bracket_bounds(line)
    pays_e4 = parts * rates[None, :]
    triggered = base > line.trigger
    uncapped = np.where(triggered, round_half_up_div(pays_e4.sum(axis=1), RATE_SCALE), 0)
    entitlement = uncapped if line.cap_per_year is None else np.minimum(uncapped, line.cap_per_year)
    return BracketResult(parts=parts, pays_e4=pays_e4, triggered=triggered, uncapped=uncapped, entitlement=entitlement)


def apply_cap(amount: np.ndarray, cap: int | None) -> np.ndarray:
    """min(amount, cap) with an absent cap meaning no limit."""
    return amount if cap is None else np.minimum(amount, cap)
