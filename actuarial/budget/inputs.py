"""The budget's inputs: the pricing assumptions, and the claims history and exposure cut at the budgeted year.

``history_before`` and ``exposure_before`` clean the frames of :mod:`actuarial.history` (year, county, line
id, amounts in yuan) and keep the rows of earlier years; ``heads_next`` projects next year's insured heads
per county; ``experience_table`` summarises the history per year × line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from actuarial.premium import PRINCIPLES
from actuarial.severity import FAMILIES as SEVERITY_FAMILIES
from products.model import Product

__all__ = ["Assumptions", "BudgetError"]

_TRUNCATIONS = ("auto", "none", "trigger")


class BudgetError(ValueError):
    """The history cannot be priced (messages "中文 / English")."""


@dataclass(frozen=True)
class Assumptions:
    """Pricing assumptions (定价假设)."""

    expense_ratio: float = 0.15  # 费用率
    principle: str = "var"  # which principle sets THE budget (a key of PRINCIPLES)
    level: float = 0.95  # p of VaR/TVaR
    theta: float = 0.10
    kappa: float = 1.0
    coc_rate: float = 0.06
    coc_level: float = 0.995
    trend: float | None = None  # annual ground-up severity trend; None = fitted when ≥ 3 years, else default_trend
    default_trend: float = 0.05
    year_cv_floor: float = 0.10  # systemic cv floor (actuarial.md §3, G7 prototype)
    bootstrap: int = 40  # parameter draws (parametric bootstrap) mixed into the predictive distribution
    seed: int = 20260101
    truncation: str = "auto"  # "auto" | "none" | "trigger"
    common_shock_cv: float = 0.0  # cv of a claim-count factor shared by every line in each draw (0 = independent)
    default_development: bool = True  # a history without report lags is developed by the default lag pattern
    severity_family: str | None = None  # imposed on every fitted bracket line (None = chosen on the paid layer)

    def __post_init__(self) -> None:
        if self.principle not in PRINCIPLES:
            raise BudgetError(f"未知的保费原则 {self.principle!r}（可用：{', '.join(PRINCIPLES)}） / "
                              f"unknown premium principle {self.principle!r} (use one of {', '.join(PRINCIPLES)})")
        if self.truncation not in _TRUNCATIONS:
            raise BudgetError(f"truncation 须为 {'/'.join(_TRUNCATIONS)} / truncation must be one of "
                              f"{', '.join(_TRUNCATIONS)}, got {self.truncation!r}")
        if not 0.0 <= self.expense_ratio < 1.0:
            raise BudgetError(f"费用率须在 [0, 1) 内 / expense ratio must lie in [0, 1), got {self.expense_ratio!r}")
        if not self.common_shock_cv >= 0.0:
            raise BudgetError(f"common_shock_cv 不能为负 / common_shock_cv must be >= 0, got {self.common_shock_cv!r}")
        if self.severity_family is not None and self.severity_family not in SEVERITY_FAMILIES:
            raise BudgetError(f"未知的分布族 {self.severity_family!r}（可用：{', '.join(SEVERITY_FAMILIES)}） / unknown "
                              f"severity family {self.severity_family!r} (use one of {', '.join(SEVERITY_FAMILIES)})")
        if int(self.bootstrap) < 0:
            raise BudgetError(f"bootstrap 不能为负 / bootstrap must be >= 0, got {self.bootstrap!r}")
        for name in ("trend", "default_trend"):
            v = getattr(self, name)
            if v is not None and not v > -1.0:
                raise BudgetError(f"{name} 须大于 -1 / {name} must be > -1, got {v!r}")


def clean_claims(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims history with typed columns year, county (6 digits), peril (the line id), ground_up and paid
    (yuan, missing paid = 0), and report_lag when given."""
    missing = [c for c in ("year", "county", "peril", "ground_up", "paid") if c not in claims.columns]
    if missing:
        raise BudgetError(f"出险历史缺少列 {', '.join(missing)} / the claims history lacks column(s) "
                          f"{', '.join(missing)}")
    out = pd.DataFrame({
        "year": pd.to_numeric(claims["year"]).astype("int64"),
        "county": claims["county"].astype("str").str.slice(0, 6),
        "peril": claims["peril"].astype("str"),
        "ground_up": pd.to_numeric(claims["ground_up"], errors="coerce").astype("float64"),
        "paid": pd.to_numeric(claims["paid"], errors="coerce").fillna(0.0).astype("float64"),
    })
    if "report_lag" in claims.columns:
        out["report_lag"] = pd.to_numeric(claims["report_lag"], errors="coerce").to_numpy(float)
    return out.reset_index(drop=True)


def clean_exposure(exposure: pd.DataFrame) -> pd.DataFrame:
    """Heads summed per year × county (6 digits)."""
    missing = [c for c in ("year", "county", "heads") if c not in exposure.columns]
    if missing:
        raise BudgetError(f"承保人数缺少列 {', '.join(missing)} / the exposure lacks column(s) {', '.join(missing)}")
    out = pd.DataFrame({"year": pd.to_numeric(exposure["year"]).astype("int64"),
                        "county": exposure["county"].astype("str").str.slice(0, 6),
                        "heads": pd.to_numeric(exposure["heads"]).astype("float64")})
    return out.groupby(["year", "county"], as_index=False)["heads"].sum()


def heads_by_county_year(exposure: pd.DataFrame) -> pd.DataFrame:
    """Heads as a counties × years table (NaN = no exposure)."""
    return exposure.pivot_table(index="county", columns="year", values="heads", aggfunc="sum").sort_index()


def next_year_heads(exposure: pd.DataFrame, year: int, heads: int | None, notes: list[str]) -> pd.Series:
    """E_c,next per county: ``heads`` split across counties in proportion to the latest year's exposure, else
    the latest exposure × (1 + g)^(year − latest), g = exp(slope) − 1 with the slope of a least-squares line
    through log(total heads) by year (flat with one year of exposure; noted)."""
    latest_year = int(exposure["year"].max())
    latest = exposure[exposure["year"] == latest_year].set_index("county")["heads"].astype(float)
    total = latest.sum()
    if not total > 0:
        raise BudgetError(f"{latest_year} 年参保人数为 0 / no insured heads in {latest_year}")
    if heads is not None:
        if not heads > 0:
            raise BudgetError(f"参保人数必须大于 0 / heads must be > 0, got {heads!r}")
        notes.append(f"明年参保人数 {int(heads):,} 人（按 {latest_year} 年各县比例分配） / next year's heads "
                     f"{int(heads):,} as given, split across counties as in {latest_year}")
        return latest / total * float(heads)
    by_year = exposure.groupby("year")["heads"].sum()
    by_year = by_year[by_year > 0]
    if len(by_year) >= 2:
        slope = float(np.polyfit(by_year.index.to_numpy(float), np.log(by_year.to_numpy(float)), 1)[0])
        growth = math.expm1(slope)
        notes.append(f"明年参保人数按历史增长率 {growth:+.2%}/年 外推 / next year's heads extrapolated with the "
                     f"history's exposure growth {growth:+.2%} a year")
    else:
        growth = 0.0
        notes.append(f"只有一年承保数据，明年参保人数按 {latest_year} 年持平 / one year of exposure only: "
                     f"next year's heads kept flat at {latest_year}'s")
    return latest * (1.0 + growth) ** (year - latest_year)


def experience_table(claims: pd.DataFrame, exposure: pd.DataFrame) -> pd.DataFrame:
    """Per year × line (column ``peril``, the line id of the history): claims, paid, ground_up (sums, yuan),
    heads, paid_per_head."""
    g = claims.groupby(["year", "peril"])
    out = pd.DataFrame({"claims": g.size(), "paid": g["paid"].sum(),
                        "ground_up": g["ground_up"].sum(min_count=1)}).reset_index()
    heads = exposure.groupby("year")["heads"].sum()
    out["heads"] = out["year"].map(heads).astype("float64")
    out["paid_per_head"] = out["paid"] / out["heads"]
    return out



def history_before(claims: pd.DataFrame, year: int, notes: list[str]) -> pd.DataFrame:
    """The cleaned claims of the years before ``year`` (later rows are ignored, noted)."""
    history = clean_claims(claims)
    later = history["year"] >= int(year)
    if later.any():
        notes.append(f"忽略 {int(later.sum())} 条 {year} 年及以后的赔案 / ignored {int(later.sum())} claims of "
                     f"{year} or later")
        history = history[~later]
    return history


def exposure_before(exposure: pd.DataFrame | None, history: pd.DataFrame, product: Product, year: int,
                    heads: int | None, notes: list[str]) -> pd.DataFrame:
    """The exposure (year, county, heads > 0) of the years before ``year``.

    Without an exposure frame every county-year of the history is given ``heads`` / (number of counties)
    heads (``heads`` is then required; noted); a history without claims counts ``product.county`` in
    ``year`` − 1."""
    if exposure is None:
        if heads is None:
            raise BudgetError("没有承保人数数据时必须给出参保人数 / without exposure data, heads must be given")
        counties = sorted(set(history["county"])) or [product.county]
        years = sorted(set(history["year"])) or [int(year) - 1]
        ex = pd.DataFrame([(y, c, float(heads) / len(counties)) for y in years for c in counties],
                          columns=["year", "county", "heads"])
        notes.append(f"未提供承保人数：假定历史每年 {int(heads):,} 人 / no exposure given: {int(heads):,} heads "
                     "assumed in every history year")
    else:
        ex = clean_exposure(exposure)
        ex = ex[(ex["year"] < int(year)) & (ex["heads"] > 0)]
    if ex.empty or not ex["heads"].sum() > 0:
        raise BudgetError(f"{year} 年以前没有承保人数 / no exposure before {year}")
    return ex
