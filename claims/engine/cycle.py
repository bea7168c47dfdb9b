"""Running the engine month after month: reports accumulate over the policy year, dues become paid.

This is what ``relief demo`` does on a synthetic county and what the consistency tests check: the
sum of twelve monthly dues equals one yearly run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from claims.engine.compute import CalcResult, run_calculation
from products.model import Product


def add_paid(paid: pd.DataFrame | None, result: CalcResult) -> pd.DataFrame:
    """What was paid after a run: the previous paid amounts plus this run's dues (unit_id, line_id, paid)."""
    new = result.claims.loc[result.claims["due"] > 0, ["unit_id", "line_id", "due"]].rename(columns={"due": "paid"})
    frames = [f for f in (paid, new) if f is not None and len(f)]
    if not frames:
        return pd.DataFrame({"unit_id": pd.Series(dtype="object"), "line_id": pd.Series(dtype="object"),
                             "paid": pd.Series(dtype="int64")})
    both = pd.concat(frames, ignore_index=True)
    return both.groupby(["unit_id", "line_id"], as_index=False)["paid"].sum()


def run_monthly(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                months: Sequence[Mapping[str, pd.DataFrame]], paid: pd.DataFrame | None = None,
                on_month: Callable[[int, CalcResult], None] | None = None) -> tuple[list[CalcResult], pd.DataFrame]:
    """Run month 1..n on the year-to-date reports, paying each month's dues; returns results and paid."""
    so_far: dict[str, list[pd.DataFrame]] = {}
    results = []
    for i, month in enumerate(months):
        for dept, frame in month.items():
            if frame is not None and len(frame):
                so_far.setdefault(dept, []).append(frame)
        result = run_calculation(product, persons, households, so_far, paid)
        paid = add_paid(paid, result)
        results.append(result)
        if on_month:
            on_month(i, result)
    return results, paid if paid is not None else add_paid(None, results[-1])
