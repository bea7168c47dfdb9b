"""The default report-lag pattern (默认报案进展模式): development of a history that carries no report lags.

A claims history read from the engine's ``claims.csv`` has no ``report_lag``, yet its latest year is
immature: it is taken at the end of that year, and a claim reaches the county with the department's list of
the month AFTER its event (DESIGN.md §2, step 1: "each month the departments send their lists").  The
default pattern follows from that cycle alone, with events spread evenly over the twelve months and each
reported ``REPORT_DELAY_MONTHS`` = 1 month later; the share of a policy year's claims reported by the end of
quarter q (q = 0 the year's first quarter, the lag convention of :func:`actuarial.reserving.count_development`)
is

    F(q) = min(1, max(0, 3·(q + 1) − delay) / 12),  so F = 2/12, 5/12, 8/12, 11/12, 1 for q = 0 … 4.

The history is valued at the end of its latest year L (q = 3 for L; 3 + 4·(L − y) for an earlier year y), so
year y's claim count is multiplied by its age-to-ultimate factor 1/F: 12/11 ≈ 1.0909 for L, 1 for the years
before.  The pattern is a judgment (no Mack standard error is added).  ``Assumptions.default_development``
(``relief budget --no-default-lags``) turns it off; a history with report lags is developed by chain ladder
on its own lags instead (:func:`actuarial.budget.fit.development_factors`).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["REPORT_DELAY_MONTHS", "default_factors", "default_pattern", "reported_share"]

#: Months from an event to the list that reports it (the monthly cycle, DESIGN.md §2 step 1).
REPORT_DELAY_MONTHS = 1
MONTHS_PER_QUARTER = 3
MONTHS_PER_YEAR = 12
#: Lag of the valuation (end of the latest history year) in quarters from the start of that year.
VALUATION_LAG = 3


def reported_share(lag: int, delay_months: int = REPORT_DELAY_MONTHS) -> float:
    """F(q) = min(1, max(0, 3·(q + 1) − delay) / 12): share of a year's claims reported by the end of quarter q."""
    months = MONTHS_PER_QUARTER * (int(lag) + 1) - int(delay_months)
    return min(1.0, max(0.0, months / MONTHS_PER_YEAR))


def default_pattern(delay_months: int = REPORT_DELAY_MONTHS) -> pd.DataFrame:
    """The pattern as a table for the report: lag (quarters from the start of the policy year), the share
    reported by the end of that quarter F(q) and the age-to-ultimate factor 1/F(q), up to the first q with F = 1."""
    rows, q = [], 0
    while True:
        f = reported_share(q, delay_months)
        rows.append({"lag": q, "reported_share": f, "factor": 1.0 / f if f > 0 else float("inf")})
        if f >= 1.0:
            return pd.DataFrame(rows)
        q += 1


def default_factors(years: list[int], delay_months: int = REPORT_DELAY_MONTHS) -> pd.Series:
    """Per history year y the factor 1/F(3 + 4·(L − y)) of the module docstring (L the latest year)."""
    latest = max(int(y) for y in years)
    return pd.Series({int(y): 1.0 / reported_share(VALUATION_LAG + 4 * (latest - int(y)), delay_months)
                      for y in years}, dtype=float)
