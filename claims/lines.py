"""Per-unit entitlements of one line, by line kind — before caps that span several units or lines.

Each function takes the line's screened events (one row per report row) and returns one row per
basis unit with: unit_id, household_no, base, uncapped, entitlement (after the line's per-year cap),
order_date (when the unit first qualified: the first-come order used by shared caps), first_event,
last_event, rows, trace.  All amounts int64 fen.

Formulas (per unit, per policy year):
  bracket      base = Σ measure;  uncapped = round_half_up(Σ_k rate_k × part_k) if base > trigger
  lump_sum     base = uncapped = the largest lump sum of the unit's admission levels (once a year)
  death        base = uncapped = sum_insured (once, however many reports)
  disability   base = sum_insured; uncapped = round_half_up(sum_insured × rate(best grade))
  income_drop  base = max(0, protection_line − per-capita income) × members (latest income row);
               uncapped = round_half_up(rate × base) if base > trigger
  entitlement = min(uncapped, per_year cap)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from products.model import RATE_SCALE, Line
from products.money import round_half_up_div
from products.schedule import apply_cap, bracket_bounds, bracket_entitlement

from . import trace as tr

UNIT_COLUMNS = ["unit_id", "household_no", "base", "uncapped", "entitlement", "order_date", "first_event",
                "last_event", "rows", "trace"]


UNIT_DTYPES = {"unit_id": "object", "household_no": "object", "base": "int64", "uncapped": "int64",
               "entitlement": "int64", "order_date": "datetime64[ns]", "first_event": "datetime64[ns]",
               "last_event": "datetime64[ns]", "rows": "int64", "trace": "object"}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=UNIT_DTYPES[c]) for c in UNIT_COLUMNS})


def _per_unit(events: pd.DataFrame) -> pd.DataFrame:
    """Sorted per-unit skeleton: household, first/last event, row count, and the sum of amounts."""
    g = events.groupby("unit_id", sort=True)
    units = pd.DataFrame({
        "household_no": g["household_no"].first(),
        "base": g["amount"].sum().astype("int64"),
        "first_event": g["event_date"].min(),
        "last_event": g["event_date"].max(),
        "rows": g.size().astype("int64"),
    })
    units.index.name = "unit_id"
    return units


def _cap_text(line: Line, units: pd.DataFrame) -> np.ndarray | str:
    if line.cap_per_year is None:
        return ""
    cut = (units["uncapped"] > units["entitlement"]).to_numpy()
    cap = tr.yuan1(line.cap_per_year)
    return np.where(cut, f"超过年封顶 {cap}，按 {cap}", f"年封顶 {cap}").astype(tr.TEXT)


def bracket_units(line: Line, events: pd.DataFrame) -> pd.DataFrame:
    ev = events.sort_values(["unit_id", "event_date", "source_file", "source_line"], kind="stable")
    units = _per_unit(ev)
    # order_date: the date of the row whose running total first exceeds the trigger
    running = ev.groupby("unit_id", sort=False)["amount"].cumsum()
    crossed = ev[running > line.trigger].groupby("unit_id")["event_date"].first()
    units["order_date"] = crossed.reindex(units.index).fillna(units["last_event"])
    res = bracket_entitlement(units["base"].to_numpy(), line)
    units["uncapped"] = res.uncapped
    units["entitlement"] = res.entitlement
    lower, _, rates = bracket_bounds(line)
    head = tr.yuan(units["base"]) + "（" + tr.text(units["rows"]) + " 条）"
    pieces: list[tr.Text] = []
    for k in range(len(lower)):
        part = res.parts[:, k]
        seg = ("(" + tr.yuan1(int(lower[k])) + ", " + tr.yuan(lower[k] + part) + "]×" + tr.percent(int(rates[k]))
               + " = " + tr.exact_yuan(res.pays_e4[:, k]))
        pieces.append(tr.when(part > 0, seg))
    trig = tr.yuan1(line.trigger)
    yes = head + f" > 预警线 {trig}：" + tr.join(pieces, " + ") + " = " + tr.yuan(res.uncapped)
    no = head + f" 未超过预警线 {trig}，不予赔付"
    units["trace"] = tr.join([np.where(res.triggered, yes, no), _cap_text(line, units)], "；")
    return units


def lump_sum_units(line: Line, events: pd.DataFrame) -> pd.DataFrame:
    ev = events.assign(amount=events["level"].map(line.lump_sums).astype("int64"))
    ev = ev.sort_values(["unit_id", "amount", "event_date"], ascending=[True, False, True], kind="stable")
    units = _per_unit(ev)
    best = ev.drop_duplicates("unit_id").set_index("unit_id")
    units["base"] = best["amount"]
    units["uncapped"] = units["base"]
    units["entitlement"] = apply_cap(units["uncapped"].to_numpy(), line.cap_per_year)
    units["order_date"] = units["first_event"]
    lump = "升学“" + tr.text(best["level"]) + "”一次性补助 " + tr.yuan(units["base"]) + "（每人每年一次）"
    units["trace"] = tr.join([lump, _cap_text(line, units)], "；")
    return units


def death_units(line: Line, events: pd.DataFrame) -> pd.DataFrame:
    units = _per_unit(events)
    assert line.sum_insured is not None
    units["base"] = line.sum_insured
    units["uncapped"] = line.sum_insured
    units["entitlement"] = apply_cap(units["uncapped"].to_numpy(), line.cap_per_year)
    units["order_date"] = units["first_event"]
    units["trace"] = f"意外身故保额 {tr.yuan1(line.sum_insured)}（" + tr.text(units["rows"]) + " 条报告，给付一次）"
    return units


def disability_units(line: Line, events: pd.DataFrame) -> pd.DataFrame:
    assert line.sum_insured is not None
    ev = events.assign(rate_e4=events["grade"].map(line.grade_rates_e4).fillna(0).astype("int64"))
    ev = ev.sort_values(["unit_id", "rate_e4"], ascending=[True, False], kind="stable")
    units = _per_unit(ev)
    best = ev.drop_duplicates("unit_id").set_index("unit_id")
    units["base"] = line.sum_insured
    units["uncapped"] = round_half_up_div(line.sum_insured * best["rate_e4"].to_numpy(), RATE_SCALE)
    units["entitlement"] = apply_cap(units["uncapped"].to_numpy(), line.cap_per_year)
    units["order_date"] = units["first_event"]
    pct = tr.text(best["rate_e4"].map(tr.percent))
    units["trace"] = (f"伤残保额 {tr.yuan1(line.sum_insured)} × " + tr.text(best["grade"]) + " 级比例 " + pct
                      + " = " + tr.yuan(units["uncapped"]))
    return units


def income_drop_units(line: Line, events: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    assert line.protection_line is not None
    ev = events.sort_values(["unit_id", "event_date", "source_file", "source_line"], kind="stable")
    units = _per_unit(ev)
    latest = ev.drop_duplicates("unit_id", keep="last").set_index("unit_id")
    income = latest["per_capita_income"].astype("int64")
    members = units["household_no"].map(households["members"]).astype("int64")
    shortfall = np.maximum(0, line.protection_line - income.to_numpy())
    units["base"] = shortfall * members.to_numpy()
    triggered = units["base"].to_numpy() > line.trigger
    units["uncapped"] = np.where(triggered, round_half_up_div(units["base"].to_numpy() * line.rate_e4, RATE_SCALE), 0)
    units["entitlement"] = apply_cap(units["uncapped"].to_numpy(), line.cap_per_year)
    units["order_date"] = units["last_event"]
    drop = (f"(保障线 {tr.yuan1(line.protection_line)} − 人均收入 " + tr.yuan(income) + ") × " + tr.text(members)
            + " 人 = " + tr.yuan(units["base"]) + f" × {tr.percent(line.rate_e4)} = " + tr.yuan(units["uncapped"]))
    units["trace"] = tr.join([drop, _cap_text(line, units)], "；")
    return units


KIND_FUNCTIONS: dict[str, Callable[..., pd.DataFrame]] = {
    "bracket": bracket_units,
    "lump_sum": lump_sum_units,
    "death": death_units,
    "disability": disability_units,
}


def line_units(line: Line, events: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    """Dispatch by line kind (the product's table of kinds, not a chain of ifs)."""
    if events is None or len(events) == 0:
        return _empty()
    if line.kind == "income_drop":
        units = income_drop_units(line, events, households)
    else:
        units = KIND_FUNCTIONS[line.kind](line, events)
    return units.reset_index()[UNIT_COLUMNS]
