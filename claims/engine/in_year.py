"""In-year monitoring (年内监测): the claims incurred so far against what the budget expected by now, by line, and
the year-end result they point to.  Frames in, frames out; money in integer fen.

For a line with expected annual cost A (fen) and a policy period of D days of which d have passed before the
as-of date (the elapsed exposure fraction f = d / D; :func:`elapsed_days`):

* expected to date  E = round(A · d / D)              (ROUND_HALF_UP, :func:`tabular.money.round_half_up_div`)
* remaining         R = A − E                         (what the rest of the year is expected to add)
* projected         P = actual to date + R            (the year-end result if the rest goes as budgeted)
* A/E               = actual to date / E              (NaN while E = 0)

and for all lines together, with the policy's premium Π: the loss ratio to date = Σ actual / Π and the
projected loss ratio (预计赔付率) = Σ P / Π.

Where A comes from (the last budget run's per-line expected cost, or the premium net of expenses when there is
none) is the caller's choice (:mod:`claims.lifecycle.in_year`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from tabular.money import round_half_up_div

__all__ = ["COLUMNS", "elapsed_days", "in_year_table", "totals"]

COLUMNS = ["line_id", "name", "expected_annual_fen", "expected_to_date_fen", "actual_fen", "ae", "remaining_fen",
           "projected_fen"]


def elapsed_days(start: dt.date, end: dt.date, as_of: dt.date) -> tuple[int, int]:
    """(d, D): the days of the period ``start``..``end`` (inclusive, D of them) before ``as_of``, within 0..D.

    >>> elapsed_days(dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2025, 3, 5))
    (63, 365)
    """
    total = (end - start).days + 1
    return min(max((as_of - start).days, 0), total), total


def in_year_table(expected: pd.DataFrame, actual: pd.DataFrame, elapsed: int, total: int) -> pd.DataFrame:
    """One row per line of ``expected`` (line_id, name, expected_annual_fen) with its ``actual`` (line_id,
    actual_fen; a line with no claims counts 0), the columns :data:`COLUMNS` (module docstring).  Claims of a line
    not in ``expected`` are added to it with A = 0 (nothing was expected of them)."""
    if not 0 <= elapsed <= total or total <= 0:
        raise ValueError(f"elapsed days must lie in 0..{total}, got {elapsed}")
    got = actual.groupby("line_id")["actual_fen"].sum()
    out = expected[["line_id", "name", "expected_annual_fen"]].copy()
    extra = sorted(set(got.index) - set(out["line_id"]))
    if extra:
        out = pd.concat([out, pd.DataFrame({"line_id": extra, "name": extra, "expected_annual_fen": 0})],
                        ignore_index=True)
    annual = out["expected_annual_fen"].to_numpy(np.int64)
    out["expected_annual_fen"] = annual
    out["expected_to_date_fen"] = round_half_up_div(annual * elapsed, total)
    out["actual_fen"] = out["line_id"].map(got).fillna(0).to_numpy(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ae"] = np.where(out["expected_to_date_fen"] > 0,
                             out["actual_fen"] / out["expected_to_date_fen"].where(lambda v: v > 0, 1), np.nan)
    out["remaining_fen"] = annual - out["expected_to_date_fen"].to_numpy(np.int64)
    out["projected_fen"] = out["actual_fen"] + out["remaining_fen"]
    return out[COLUMNS].reset_index(drop=True)


def totals(table: pd.DataFrame, premium_fen: int) -> dict[str, float | int | None]:
    """All lines together: the sums of the fen columns, A/E, the loss ratio to date (Σ actual / premium) and the
    projected loss ratio (Σ projected / premium); the ratios are None without a premium."""
    sums = {c: int(table[c].sum()) for c in COLUMNS if c.endswith("_fen")}
    e = sums["expected_to_date_fen"]
    return {**sums, "ae": sums["actual_fen"] / e if e > 0 else None,
            "loss_ratio_to_date": sums["actual_fen"] / premium_fen if premium_fen > 0 else None,
            "projected_loss_ratio": sums["projected_fen"] / premium_fen if premium_fen > 0 else None}
