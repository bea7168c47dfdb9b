"""Screening (筛查): department report rows → the events each product line counts, plus exceptions.

Pure and vectorised.  A row is matched to a person (by resident ID) or a household, checked against
the policy period, the product's eligibility and duplicate settlements, then handed to every line
that reads it.  A row no line can use becomes an exception with its reason; nothing is dropped silently.

Household per-capita income for eligibility is the value known on the event date: the latest
income-report row with ``as_of`` on or before it, else the roster's value (see :func:`income_as_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from products.model import PERILS, Line, Product
from products.money import fen_to_yuan_text

from .exceptions import exceptions_frame

#: Date column of each department's canonical rows.
EVENT_DATE = {
    "medical": "setl_date",
    "education": "event_date",
    "disaster": "event_date",
    "accident": "event_date",
    "income": "as_of",
}
PERSON_KEYED = {"medical", "education", "accident"}

SCREEN_REASONS: dict[str, str] = {
    "unknown_person": "身份证号不在参保名单中 / resident ID is not on the insured roster",
    "unknown_household": "户编号不在参保名单中 / household number is not on the insured roster",
    "outside_period": "发生日期不在保险期间内 / event date is outside the policy period",
    "not_eligible": "该户不符合承保条件 / household is not eligible under this product",
    "paid_unknown_line": "已付记录的责任不在本产品中，未计入 / paid amount for a line this product does not have; ignored",
    "not_covered": "本产品没有对应责任，未使用 / no line of this product uses this row",
}


@dataclass(frozen=True)
class Screened:
    """Events per line id (unit_id, household_no, event_date, amount, source_file, source_line, …),
    household facts used by the lines, and the exception rows."""

    events: dict[str, pd.DataFrame]
    households: pd.DataFrame  # indexed by household_no: village_code, natural_village, category, income, members
    exceptions: pd.DataFrame
    rows_in: int


def _concat(frames: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    if isinstance(frames, pd.DataFrame):
        return frames.reset_index(drop=True)
    frames = [f for f in frames if f is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _reject(frame: pd.DataFrame, mask: pd.Series, reason: str, detail: pd.Series | str, out: list[pd.DataFrame],
            severity: str = "error") -> pd.DataFrame:
    """Move the rows under ``mask`` to the exception list; return the rest."""
    if mask.any():
        bad = frame[mask]
        det = detail[mask] if isinstance(detail, pd.Series) else detail
        out.append(exceptions_frame(bad["source_file"], bad["source_line"], reason, det, severity))
    return frame[~mask]


def household_facts(product: Product, households: pd.DataFrame) -> pd.DataFrame:
    """households indexed by household_no, with the reason a category makes the household ineligible ('' if none)."""
    hh = households.set_index("household_no", drop=False)
    el = product.eligibility
    category = hh["category"].astype("object")
    reason = pd.Series("", index=hh.index, dtype="object")
    if el.categories is not None:
        off = ~category.isin(el.categories)
        reason[off] = "户类别“" + category[off].astype(str) + "”不在承保范围 / category not covered"
    if el.exclude_categories:
        off = category.isin(el.exclude_categories) & (reason == "")
        reason[off] = "户类别“" + category[off].astype(str) + "”被排除 / category excluded"
    out = hh[["household_no", "village_code", "natural_village", "category", "members"]].copy()
    out["income"] = hh["per_capita_income"].astype("int64")
    out["category_reason"] = reason
    return out


def income_as_of(rows: pd.DataFrame, date_col: str, facts: pd.DataFrame,
                 income_rows: pd.DataFrame | None) -> pd.Series:
    """Per-capita income known on each row's event date: the latest income-report row with
    as_of ≤ that date (later file/line wins a tie), else the roster's value.  Judging eligibility as of
    the event keeps a later re-survey from undoing claims already paid (monthly runs = yearly run)."""
    roster = rows["household_no"].map(facts["income"]).astype("int64")
    if income_rows is None or not len(income_rows) or not len(rows):
        return roster
    left = pd.DataFrame({"household_no": rows["household_no"].astype(str).to_numpy(),
                         "date": rows[date_col].astype("datetime64[ns]").to_numpy(),
                         "pos": np.arange(len(rows))}).sort_values("date", kind="stable")
    right = pd.DataFrame({"household_no": income_rows["household_no"].astype(str).to_numpy(),
                          "date": income_rows["as_of"].astype("datetime64[ns]").to_numpy(),
                          "surveyed": income_rows["per_capita_income"].astype("int64").to_numpy(),
                          "file": income_rows["source_file"].astype(str).to_numpy(),
                          "line": income_rows["source_line"].to_numpy()})
    right = right.sort_values(["date", "file", "line"], kind="stable")[["household_no", "date", "surveyed"]]
    matched = pd.merge_asof(left, right, on="date", by="household_no", direction="backward").sort_values("pos")
    surveyed = pd.Series(matched["surveyed"].to_numpy(), index=rows.index)
    return surveyed.fillna(roster).astype("int64")


def eligibility_reason(product: Product, rows: pd.DataFrame, facts: pd.DataFrame, income: pd.Series) -> pd.Series:
    """'' where the row's household is eligible on the event date, else why not (bilingual)."""
    reason = rows["household_no"].map(facts["category_reason"]).astype("object")
    line = product.eligibility.income_line
    if line is not None:
        off = ((income > line) & (reason == "")).to_numpy()
        reason[off] = ("人均收入 " + fen_to_yuan_text(income[off]).to_numpy() + " 高于收入线 "
                       + fen_to_yuan_text(np.array([line]))[0] + " / per-capita income above the income line")
    return reason


def _line_uses(line: Line, rows: pd.DataFrame) -> pd.Series:
    """Which rows of the line's source report this line counts."""
    mask = pd.Series(True, index=rows.index)
    if line.source == "accident":
        mask &= rows["kind"] == PERILS[line.peril]["accident_kind"]
    if line.event_types is not None:
        mask &= rows["disaster_type"].isin(line.event_types)
    if line.kind == "lump_sum":
        mask &= rows["entry"].astype(bool) & rows["level"].isin(list(line.lump_sums))
    return mask


def screen_reports(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                   reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]]) -> Screened:
    """Match, filter and route report rows to the product's lines (see module docstring)."""
    out: list[pd.DataFrame] = []
    frames = {dept: _concat(f) for dept, f in reports.items()}
    frames = {d: f for d, f in frames.items() if len(f)}
    rows_in = sum(len(f) for f in frames.values())
    start, end = pd.Timestamp(product.period_start), pd.Timestamp(product.period_end)

    person_hh = persons.set_index("id_no")["household_no"]
    known_hh = pd.Index(households["household_no"])
    kept: dict[str, pd.DataFrame] = {}
    for dept, rows in frames.items():
        if dept in PERSON_KEYED:
            rows = rows.assign(household_no=rows["id_no"].map(person_hh))
            rows = _reject(rows, rows["household_no"].isna(), "unknown_person",
                           "身份证号 / id_no " + rows["id_no"].astype(str).str.slice(0, 6) + "…", out)
        else:
            rows = _reject(rows, ~rows["household_no"].isin(known_hh), "unknown_household",
                           "户编号 / household_no " + rows["household_no"].astype(str), out)
        date = rows[EVENT_DATE[dept]]
        rows = _reject(rows, (date < start) | (date > end), "outside_period",
                       date.dt.strftime("%Y-%m-%d") + " ∉ [" + start.strftime("%Y-%m-%d") + ", "
                       + end.strftime("%Y-%m-%d") + "]", out)
        if dept == "medical":
            dup = rows["setl_id"].duplicated(keep="first")
            first = rows.drop_duplicates("setl_id").set_index("setl_id")
            where = first["source_file"].astype(str) + ":" + first["source_line"].astype(str)
            rows = _reject(rows, dup, "duplicate_settlement",
                           "结算ID / setl_id " + rows["setl_id"].astype(str) + " 首次出现于 / first at "
                           + rows["setl_id"].map(where).astype(str), out)
        kept[dept] = rows

    facts = household_facts(product, households)
    events: dict[str, pd.DataFrame] = {}
    used: dict[str, pd.Series] = {d: pd.Series(False, index=f.index) for d, f in kept.items()}
    for dept, rows in list(kept.items()):
        if not any(line.source == dept for line in product.lines):
            continue  # rows of an uncovered department are reported as not_covered below
        income = income_as_of(rows, EVENT_DATE[dept], facts, kept.get("income"))
        reasons = eligibility_reason(product, rows, facts, income)
        kept[dept] = rows = _reject(rows.assign(per_capita_income_as_of=income), reasons != "", "not_eligible",
                                    reasons, out)
        used[dept] = used[dept][rows.index]
    for line in product.lines:
        rows = kept.get(line.source)
        if rows is None:
            events[line.id] = pd.DataFrame()
            continue
        mask = _line_uses(line, rows)
        used[line.source] |= mask
        ev = rows[mask]
        unit = ev["id_no"] if line.basis == "person" else ev["household_no"]
        amount = ev[line.measure] if line.measure else pd.Series(0, index=ev.index, dtype="int64")
        frame = pd.DataFrame({
            "unit_id": unit.astype(str),
            "household_no": ev["household_no"].astype(str),
            "event_date": ev[EVENT_DATE[line.source]],
            "amount": amount.astype("int64"),
            "source_file": ev["source_file"].astype(str),
            "source_line": ev["source_line"].astype("int64"),
        })
        for extra in ("level", "grade", "per_capita_income", "id_no"):
            if extra in ev.columns:
                frame[extra] = ev[extra]
        events[line.id] = frame
    for dept, rows in kept.items():
        unused = ~used[dept].reindex(rows.index, fill_value=False)
        _reject(rows, unused, "not_covered", f"{dept} 报告行 / {dept} report row", out, severity="info")
    exceptions = pd.concat(out, ignore_index=True) if out else exceptions_frame([], [], [], [])
    return Screened(events=events, households=facts, exceptions=exceptions, rows_in=rows_in)
