"""防贫监测: each household's monitoring category, its 红/黄/绿 grade and the early-warning list (预警名单).

Pure: the roster and the department reports of the year to date in, one row per roster household out
(:func:`assess_households`); the list is the rows with ``early_warning`` (:func:`early_warning_list`).
The rules, from the monitoring plans in ``../shared/seeds/001_d248a509f1250166.txt``:

* **Rigid costs** (刚性支出) of a household = Σ of the measure of the product's bracket lines of the rigid
  perils (:data:`RIGID_PERILS`: illness → self-paid medical, schooling → net cost, disaster / property /
  farm → net loss), as the engine reads them: the rows screened as for claims (record identity, roster,
  policy period, the line's event types), each report row counted once even when two lines read it,
  refunds netted, never below 0.  The product's eligibility is *not* applied: monitoring looks at every
  household of the roster (篇1 "监测对象不申请"), the claim decides eligibility.
* **Warning line** of a line, W = max(trigger, start_line): the year-to-date base above which the line
  pays, i.e. where a claim starts (the illness line of 魏县: 5,000; 篇7 "因病自付医疗费用超过0.5万元为预警线").
* **Near the line**: a unit of the line (a person on a person line, the household on a household line)
  with 0 < base and share × W ≤ base ≤ W (share = ``monitoring.warning_share``, 60% by default:
  篇7 "对进入防贫预警线的脱贫户和边缘户进行实时跟踪监测").
* **Shock**: rigid costs > last year's income = the roster's per-capita income × members (篇7 "因病、因学、
  因灾等引发的刚性支出明显超过上年度收入").
* **Crossed**: some unit's base > W on a rigid line: the household has a claim; it leaves the list.
* **early_warning** = (near the line on some line, or shock) and not crossed.
* **Grade** by the current per-capita income — the latest income-report row with ``as_of`` ≤ the date of
  the assessment, else the roster's — the first grade of ``monitoring.grades`` whose bound is above it
  (篇9: 红 "低于5000元（不含）", 黄 "超过5000元（含）但低于10000元（不含）", 绿 "超过10000元（含）").
* **Category** (三类监测对象): the roster's category when it names one of :data:`MONITORING_CATEGORIES`;
  else 突发严重困难户 on a shock (篇8 "因病因灾因意外事故等刚性支出较大…导致基本生活出现严重困难的户"); else, with
  a current per-capita income below the first grade's bound (5,000), 脱贫不稳定户 for a household whose
  roster category names 脱贫 (篇1 "年人均收入低于5000元且有返贫风险的建档立卡已脱贫户") and 边缘易致贫户 for any
  other (篇1 "年人均收入低于5000元且有致贫风险的非建档立卡农户"); else none ("").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from claims.engine.screening import INCOME_REPORT, Screened, screen_reports
from products.model import RATE_SCALE, Eligibility, Line, Product
from tabular.money import fen_to_yuan_text
from tabular.safe_cells import formula_safe_frame

#: The three kinds of monitored households (三类监测对象, 001 篇8).
MONITORING_CATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
#: The perils whose measure is a rigid cost (self-paid medical, schooling, disaster loss).
RIGID_PERILS = ("illness", "schooling", "disaster", "property", "farm")
#: The words that mark a roster category as 建档立卡 (a household lifted out of poverty).
LIFTED_MARK = "脱贫"

ASSESSMENT_COLUMNS = ["household_no", "village_code", "natural_village", "roster_category", "category", "members",
                      "income", "last_year_income", "grade", "rigid_costs", "near_line", "shock", "crossed",
                      "early_warning", "reasons"]


def warning_line(line: Line) -> int:
    """W = max(trigger, start_line), fen: the year-to-date base above which the line pays (a claim starts)."""
    return max(line.trigger, line.start_line)


def rigid_lines(product: Product) -> tuple[Line, ...]:
    """The product's bracket lines whose measure is a rigid cost (:data:`RIGID_PERILS`)."""
    return tuple(line for line in product.lines if line.kind == "bracket" and line.peril in RIGID_PERILS)


def grade_of(income_fen: np.ndarray, product: Product) -> np.ndarray:
    """The grade name of each per-capita income (fen): the first grade whose ``below`` is above it."""
    income = np.asarray(income_fen, dtype=np.int64)
    grades = product.monitoring.grades
    out = np.full(len(income), grades[-1].name, dtype=object)
    done = np.zeros(len(income), dtype=bool)
    for grade in grades:
        if grade.below is None:
            break
        hit = ~done & (income < grade.below)
        out[hit] = grade.name
        done |= hit
    return out


def _screen(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
            reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]]) -> tuple[tuple[Line, ...], Screened]:
    """The rigid lines' events, screened as claims are but for every household (no eligibility test)."""
    lines = rigid_lines(product)
    plain = dataclasses.replace(product, lines=lines, covers=(), eligibility=Eligibility())
    sources = {line.source for line in lines}
    return lines, screen_reports(plain, persons, households, {d: f for d, f in reports.items() if d in sources})


def _yuan(fen: int) -> str:
    """Non-negative fen → ``¥4900.00`` (exact integer arithmetic)."""
    return f"¥{fen // 100}.{fen % 100:02d}"


def _line_units(line: Line, events: pd.DataFrame, as_of: dt.date | None) -> pd.DataFrame:
    """Per unit of the line: its household's position and base = max(0, Σ measure) up to ``as_of``."""
    if as_of is not None and len(events):
        events = events.loc[events["event_date"] <= pd.Timestamp(as_of)]
    if not len(events):
        return pd.DataFrame({"household_code": pd.Series(dtype="int64"), "base": pd.Series(dtype="int64")})
    g = events.groupby("unit_code", sort=True)
    return pd.DataFrame({"household_code": g["household_code"].first().astype("int64"),
                         "base": g["amount"].sum().clip(lower=0).astype("int64")})


def _rigid_costs(lines: tuple[Line, ...], screened: Screened, as_of: dt.date | None, n: int) -> np.ndarray:
    """Per household (roster position): Σ measure over the rigid lines' rows, each row once, ≥ 0."""
    parts = []
    for line in lines:
        ev = screened.events.get(line.id)
        if ev is None or not len(ev):
            continue
        if as_of is not None:
            ev = ev.loc[ev["event_date"] <= pd.Timestamp(as_of)]
        parts.append(pd.DataFrame({"source": line.source, "row": ev.index.to_numpy(),
                                   "household_code": ev["household_code"].to_numpy(), "amount": ev["amount"].to_numpy()}))
    costs = np.zeros(n, dtype=np.int64)
    if parts:
        rows = pd.concat(parts, ignore_index=True).drop_duplicates(["source", "row"])
        np.add.at(costs, rows["household_code"].to_numpy(dtype=np.int64), rows["amount"].to_numpy(dtype=np.int64))
    return np.maximum(costs, 0)


def current_income(facts: pd.DataFrame, reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
                   as_of: dt.date | None) -> np.ndarray:
    """Per household (``facts`` order): the latest income-report per-capita income with as_of ≤ ``as_of``
    (a later row wins a tie), else the roster's (fen)."""
    roster = facts["income"].to_numpy(dtype=np.int64).copy()
    frames = reports.get(INCOME_REPORT)
    frames = [frames] if isinstance(frames, pd.DataFrame) else list(frames or [])
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return roster
    rows = pd.concat([f[["household_no", "as_of", "per_capita_income"]] for f in frames], ignore_index=True)
    rows = rows.loc[rows["as_of"].notna() & rows["per_capita_income"].notna()]
    if as_of is not None:
        rows = rows.loc[rows["as_of"] <= pd.Timestamp(as_of)]
    latest = rows.sort_values("as_of", kind="stable").groupby(rows["household_no"].astype(str)).last()
    pos = pd.Index(facts["household_no"].astype(str)).get_indexer(latest.index)
    keep = pos >= 0
    roster[pos[keep]] = latest["per_capita_income"].to_numpy(dtype=np.int64)[keep]
    return roster


def _category(roster_category: np.ndarray, shock: np.ndarray, income: np.ndarray, product: Product) -> np.ndarray:
    """The 三类 category by the rules of the module docstring ("" when none applies)."""
    category = np.asarray(roster_category, dtype=object)
    named = np.isin(category, MONITORING_CATEGORIES)
    out = np.where(named, category, "").astype(object)
    out[~named & shock] = "突发严重困难户"
    bound = product.monitoring.grades[0].below
    if bound is not None:
        low = ~named & ~shock & (income < bound)
        lifted = np.array([LIFTED_MARK in str(c) for c in category], dtype=bool)
        out[low & lifted] = "脱贫不稳定户"
        out[low & ~lifted] = "边缘易致贫户"
    return out


def assess_households(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                      reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
                      as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per roster household (:data:`ASSESSMENT_COLUMNS`; money in fen) by the rules of the module
    docstring, counting report rows dated up to ``as_of`` (all rows of the policy period when None)."""
    lines, screened = _screen(product, persons, households, reports)
    facts = screened.households
    n = len(facts)
    share = product.monitoring.warning_share_e4
    near = np.zeros(n, dtype=bool)
    crossed = np.zeros(n, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for line in lines:
        units = _line_units(line, screened.events.get(line.id, pd.DataFrame()), as_of)
        w = warning_line(line)
        base = units["base"].to_numpy(dtype=np.int64)
        code = units["household_code"].to_numpy(dtype=np.int64)
        close = (base > 0) & (base * RATE_SCALE >= share * w) & (base <= w)
        near[code[close]] = True
        crossed[code[base > w]] = True
        for hh, b in zip(code[close], base[close], strict=True):
            reasons[hh].append(f"{line.name} {_yuan(int(b))} ≥ {share / 100:g}% × 预警线 {_yuan(w)}")
    costs = _rigid_costs(lines, screened, as_of, n)
    members = facts["members"].to_numpy(dtype=np.int64)
    last_year = facts["income"].to_numpy(dtype=np.int64) * members
    shock = costs > last_year
    for hh in np.flatnonzero(shock):
        reasons[hh].append(f"刚性支出 {_yuan(int(costs[hh]))} 超过上年收入 {_yuan(int(last_year[hh]))}")
    income = current_income(facts, reports, as_of)
    out = pd.DataFrame({
        "household_no": facts["household_no"].astype(str).to_numpy(),
        "village_code": facts["village_code"].astype(str).to_numpy(),
        "natural_village": facts["natural_village"].astype(object).where(facts["natural_village"].notna(), None)
        .to_numpy(),
        "roster_category": facts["category"].astype(str).to_numpy(),
        "members": members, "income": income, "last_year_income": last_year, "rigid_costs": costs,
        "near_line": near, "shock": shock, "crossed": crossed, "early_warning": (near | shock) & ~crossed,
        "reasons": ["；".join(r) for r in reasons],
    })
    out["grade"] = grade_of(income, product)
    out["category"] = _category(out["roster_category"].to_numpy(), shock, income, product)
    return out[ASSESSMENT_COLUMNS]


def early_warning_list(assessed: pd.DataFrame) -> pd.DataFrame:
    """The households on the early-warning list, the largest rigid costs first."""
    on = assessed.loc[assessed["early_warning"]]
    return on.sort_values(["rigid_costs", "household_no"], ascending=[False, True], kind="stable").reset_index(drop=True)


#: watchlist.csv: engine column → file column (money in yuan).
WATCHLIST_COLUMNS = {"household_no": "household_no", "village_code": "village_code",
                     "natural_village": "natural_village", "roster_category": "roster_category",
                     "category": "monitoring_category", "grade": "grade", "members": "members",
                     "income": "per_capita_income", "last_year_income": "last_year_income",
                     "rigid_costs": "rigid_costs", "reasons": "reasons"}
WATCHLIST_MONEY = ("per_capita_income", "last_year_income", "rigid_costs")


def watchlist_for_export(listed: pd.DataFrame) -> pd.DataFrame:
    """The list as text cells (yuan with two decimals), formula-safe (:mod:`tabular.safe_cells`)."""
    out = listed[list(WATCHLIST_COLUMNS)].rename(columns=WATCHLIST_COLUMNS).copy()
    for col in WATCHLIST_MONEY:
        out[col] = fen_to_yuan_text(out[col].to_numpy(dtype=np.int64)).to_numpy()
    out["natural_village"] = out["natural_village"].fillna("")
    return formula_safe_frame(out, numeric=(*WATCHLIST_MONEY, "members"))


def write_watchlist(listed: pd.DataFrame, path: str | Path) -> Path:
    """watchlist.csv in UTF-8 with BOM (Excel reads the Chinese), every text cell formula-safe."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    watchlist_for_export(listed).to_csv(path, index=False, encoding="utf-8-sig")
    return path


__all__ = ["ASSESSMENT_COLUMNS", "MONITORING_CATEGORIES", "RIGID_PERILS", "assess_households", "current_income",
           "early_warning_list", "grade_of", "rigid_lines", "warning_line", "watchlist_for_export", "write_watchlist"]
