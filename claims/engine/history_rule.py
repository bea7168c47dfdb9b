"""Is there enough claims history to price? (经验期是否足够) — the one rule, used by ``relief budget``, the budget job
and the actuary's page.

The history is a table of policy-years (one row per county × year): ``year``, ``heads`` (insured, 参保人数),
``months`` (whole policy months with data: the months of the period over by the day of its latest reported
event, 0 when nothing was reported) and ``period_months`` (the policy period's months, normally 12).

* history months M = Σ over the distinct years of the most-covered county's ``months`` (2024 whole + 2025
  January–March = 12 + 3 = 15);
* exposure in person-years (人年) E = Σ heads × months / period_months (3,000 heads for 3 of 12 months = 750);
* **refuse** when M < :data:`MIN_HISTORY_MONTHS` (12: not one whole policy year, so neither the year's
  claim count nor its cumulative medical totals are known) or E < :data:`MIN_PERSON_YEARS` (1,000: at a claim
  rate of about 1% a year fewer than 10 claims, below the severity fit's minimum sample of 10);
* **warn** when fewer than :data:`MIN_YEARS` (3) policy years are complete: the severity trend is then imposed,
  not fitted, and the hold-out year cannot be checked (the budget's own thresholds); and for each incomplete
  year: its claims are counted as if the year were whole, so it understates the payout.

A trial run (试算) may go ahead despite a refusal: the refusal is then the first warning of its report.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tabular.errors import ReliefError

__all__ = ["MIN_HISTORY_MONTHS", "MIN_PERSON_YEARS", "MIN_YEARS", "HistoryTooShort", "HistoryVerdict",
           "history_verdict"]

#: Fewest policy months of claims history to price from.
MIN_HISTORY_MONTHS = 12
#: Fewest person-years of exposure to price from.
MIN_PERSON_YEARS = 1_000
#: Fewer complete policy years than this: priced, with a warning.
MIN_YEARS = 3


class HistoryTooShort(ReliefError):
    """The history is too short to price (the words of :attr:`HistoryVerdict.refusal`)."""


@dataclass(frozen=True)
class HistoryVerdict:
    """What :func:`history_verdict` found: ``refusal`` (None when the history may be priced), ``warnings``."""

    years: tuple[int, ...]
    complete_years: tuple[int, ...]
    months: int
    person_years: float
    refusal: str | None
    warnings: tuple[str, ...]

    @property
    def years_text(self) -> str:
        """2023–2025, 2025, or — without history."""
        if not self.years:
            return "—"
        return str(self.years[0]) if len(self.years) == 1 else f"{self.years[0]}–{self.years[-1]}"

    def notes(self, allow_short: bool = False) -> list[str]:
        """The warnings to print with a budget; raises :class:`HistoryTooShort` on a refusal unless
        ``allow_short`` (a trial run: the refusal leads the warnings)."""
        if self.refusal is not None and not allow_short:
            raise HistoryTooShort(self.refusal)
        lead = [f"试算：{self.refusal}"] if self.refusal is not None else []
        return lead + list(self.warnings)


def history_verdict(coverage: pd.DataFrame) -> HistoryVerdict:
    """The rule of the module docstring on ``coverage`` (year, heads, months, period_months; county optional)."""
    if coverage.empty:
        return HistoryVerdict((), (), 0, 0.0, "没有赔案历史，不能测算 / no claims history: nothing to price from", ())
    c = coverage.astype({"year": "int64", "heads": "float64", "months": "int64", "period_months": "int64"})
    per_year = c.groupby("year").agg(months=("months", "max"), period=("period_months", "max")).sort_index()
    years = tuple(int(y) for y in per_year.index)
    complete = tuple(int(y) for y, r in per_year.iterrows() if r["months"] >= r["period"])
    months = int(per_year["months"].sum())
    person_years = float((c["heads"] * c["months"] / c["period_months"].clip(lower=1)).sum())
    reasons_zh, reasons_en = [], []
    if months < MIN_HISTORY_MONTHS:
        reasons_zh.append(f"赔案历史只有 {months} 个月（少于 {MIN_HISTORY_MONTHS} 个月）")
        reasons_en.append(f"the claims history covers {months} months (fewer than {MIN_HISTORY_MONTHS})")
    if person_years < MIN_PERSON_YEARS:
        reasons_zh.append(f"承保暴露 {person_years:,.0f} 人年（少于 {MIN_PERSON_YEARS:,} 人年）")
        reasons_en.append(f"the exposure is {person_years:,.0f} person-years (fewer than {MIN_PERSON_YEARS:,})")
    refusal = None
    if reasons_zh:
        refusal = (f"{'；'.join(reasons_zh)}，不足以测算保费 / {'; '.join(reasons_en)}: too short to price a "
                   "premium")
    warnings = []
    if len(complete) < MIN_YEARS:
        warnings.append(f"完整保单年度只有 {len(complete)} 年（少于 {MIN_YEARS} 年）：费用趋势按假定值、无法做留出检验，"
                        f"结果不确定性大 / only {len(complete)} complete policy year(s) (fewer than {MIN_YEARS}): the "
                        "severity trend is assumed, not fitted, no hold-out year can be checked, and the result is "
                        "uncertain")
    for y, r in per_year.iterrows():
        if r["months"] < r["period"]:
            warnings.append(f"{int(y)} 年只有 {int(r['months'])}/{int(r['period'])} 个月的数据，按全年计入，赔付偏低 / "
                            f"{int(y)} has {int(r['months'])} of {int(r['period'])} months of data and counts as a "
                            "whole year: its payout is understated")
    return HistoryVerdict(years, complete, months, person_years, refusal, tuple(warnings))
