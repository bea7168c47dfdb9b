"""Per-unit entitlements of one line, by line kind — before caps that span several units or lines.

Each function takes the line's screened events (one row per report row) and returns one row per
basis unit with: unit_id, household_no (a bracket line whose events carry only the roster codes gives
unit_code and household_code instead; the engine takes the text), base, uncapped, entitlement (after the line's per-year cap),
order_date (when the unit first qualified: the first-come order used by shared caps), first_event,
last_event, rows, trace.  All amounts int64 fen.

Formulas (per unit, per policy year):
  bracket      base = max(0, Σ measure) (refund rows negative);
               uncapped = round_half_up(Σ_k rate_k × part_k) if base > trigger
  lump_sum     base = uncapped = the largest lump sum of the unit's admission levels (once a year)
  death        base = uncapped = sum_insured (once, however many reports)
  disability   base = sum_insured; uncapped = round_half_up(sum_insured × rate(best grade))
  income_drop  base = max(0, protection_line − per-capita income) × members (latest income row);
               uncapped = round_half_up(rate × base) if base > trigger
               drop_basis prior_year (与上年同期相比下滑): with prior = the row's prior-year per-capita income
               (else the roster's), only when prior > 0 and (prior − income) / prior ≥ min_drop_rate:
               base = max(0, min(prior, protection_line) − income) × members (the part of the shortfall the
               fall caused), else base = 0
  entitlement = min(uncapped, per_year cap)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from claims.engine import trace as tr
from claims.engine.caps import sort_order
from products.model import RATE_SCALE, Line
from products.schedule import BracketResult, apply_cap, bracket_bounds, bracket_entitlement
from tabular.money import round_half_up_div

UNIT_COLUMNS = ["unit_id", "household_no", "base", "uncapped", "entitlement", "order_date", "first_event",
                "last_event", "rows", "trace"]


#: Event columns each kind of line reads besides the int64 roster codes (unit_code, household_code),
#: event_date, amount, source_file and source_line: screening takes only these.  The bracket maths run on
#: the codes alone; the other kinds group by the text ids.
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "bracket": (),
    "lump_sum": ("unit_id", "household_no", "level"),
    "death": ("unit_id", "household_no"),
    "disability": ("unit_id", "household_no", "grade"),
    "income_drop": ("unit_id", "household_no", "per_capita_income", "prior_per_capita_income"),
}

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


def _cap_words(line: Line, uncapped_fen: np.ndarray, entitlement_fen: np.ndarray) -> np.ndarray | str:
    """年封顶 … (or 超过年封顶 …，按 … where the per-year cap cut the amount); "" for a line without one."""
    if line.cap_per_year is None:
        return ""
    cap = tr.yuan1(line.cap_per_year)
    return np.where(np.asarray(uncapped_fen) > np.asarray(entitlement_fen), f"超过年封顶 {cap}，按 {cap}",
                    f"年封顶 {cap}").astype(tr.TEXT)


def _cap_text(line: Line, units: pd.DataFrame) -> np.ndarray | str:
    return _cap_words(line, units["uncapped"].to_numpy(), units["entitlement"].to_numpy())


def unit_keys(events: pd.DataFrame, key: str = "unit") -> tuple[np.ndarray, np.ndarray]:
    """(codes, firsts): a dense int64 code per event row for its unit, and one row position per unit.

    With the screening's ``unit_code`` (the unit's roster position) the codes are the present positions
    renumbered in roster order — a counting pass, no hashing of text; otherwise the unit ids are
    factorised.  ``key`` is "unit" or "household"."""
    code_col, text_col = ("unit_code", "unit_id") if key == "unit" else ("household_code", "household_no")
    n = len(events)
    if code_col in events.columns and n:
        raw = events[code_col].to_numpy(dtype=np.int64)
        present = np.bincount(raw) > 0
        renumber = np.cumsum(present) - 1
        codes = renumber[raw]
    else:
        codes = pd.factorize(events[text_col], use_na_sentinel=False)[0].astype(np.int64)
    k = int(codes.max()) + 1 if n else 0
    firsts = np.full(k, n, dtype=np.int64)
    np.minimum.at(firsts, codes, np.arange(n, dtype=np.int64))
    return codes, firsts


def sum_by(codes: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Σ values per code, exact in int64: np.bincount adds in float64, exact while every partial sum
    stays below 2**53 fen (checked with margin: n · max|value| < 2**52); otherwise an exact integer np.add.at."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0 or max(-int(values.min()), int(values.max())) * len(values) < 2**52:
        return np.bincount(codes, weights=values, minlength=k).astype(np.int64)
    out = np.zeros(k, dtype=np.int64)
    np.add.at(out, codes, values)
    return out


def standing_crossing(codes: np.ndarray, order_keys: list[np.ndarray], amount_fen: np.ndarray, trigger_fen: int,
                      k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per unit whose total exceeds ``trigger_fen``, the row from which its running total (rows in
    ``order_keys`` order) stays above the trigger: the row after the last one at which the running total
    is ≤ the trigger (the unit's first row if there is none).

    Without negative amounts this is the first row whose running total exceeds the trigger.  A refund
    (a negative row) that brings the running total back to or under the trigger makes the unit cross
    again later: the crossing that stands is that later one, so a unit's place under the shared caps'
    first come, first served is when the entitlement it keeps arose.  A unit whose total ends at or
    under the trigger has no crossing.

    Returns (units, rows): the unit codes and the row position of their crossing.  Only the rows of
    units whose total exceeds the trigger are sorted."""
    total_fen = sum_by(codes, amount_fen, k)
    rows = np.flatnonzero(total_fen[codes] > trigger_fen)
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = rows[sort_order([codes[rows], *(key[rows] for key in order_keys)])]
    c = codes[order]
    starts = np.r_[True, c[1:] != c[:-1]]
    group = np.cumsum(starts) - 1
    firsts = np.flatnonzero(starts)
    running_fen = np.cumsum(amount_fen[order])
    running_fen = running_fen - (running_fen - amount_fen[order])[firsts][group]
    position = np.arange(len(order))
    under = running_fen <= trigger_fen
    last_under = np.full(len(firsts), -1, dtype=np.int64)
    np.maximum.at(last_under, group[under], position[under])
    standing = np.where(last_under >= 0, last_under + 1, firsts)  # the last row is above: total > trigger
    return c[firsts], order[standing]


def bracket_trace(line: Line, base_fen: np.ndarray, rows: np.ndarray, uncapped_fen: np.ndarray,
                  entitlement_fen: np.ndarray, res: BracketResult | None = None) -> np.ndarray:
    """基数 … > 预警线 …：(lower_k, …]×rate_k = pay_k + … = uncapped；年封顶 … — built per bracket count.

    The brackets a base reaches are a prefix (part_k > 0 only if bracket k−1 is full), so units are
    grouped by how many brackets they reach and each group is plain concatenation (no per-piece masks).
    ``res``: :func:`bracket_entitlement` of ``base_fen`` when the caller has it."""
    res = bracket_entitlement(base_fen, line) if res is None else res
    lower, _, rates = bracket_bounds(line)
    trig = tr.yuan1(line.trigger)
    out = np.empty(len(base_fen), dtype=tr.TEXT)
    head = tr.yuan(base_fen) + "（" + np.asarray(rows, dtype=np.int64).astype(tr.TEXT) + " 条）"
    reached = (res.parts > 0).sum(axis=1)
    no = ~res.triggered
    out[no] = head[no] + f" 未超过预警线 {trig}，不予赔付"
    for count in range(0, len(lower) + 1):
        sel = np.flatnonzero(res.triggered & (reached == count))
        if not len(sel):
            continue
        text = head[sel] + f" > 预警线 {trig}："
        for j in range(count):
            seg = ("(" + tr.yuan1(int(lower[j])) + ", " + tr.yuan(lower[j] + res.parts[sel, j]) + "]×"
                   + tr.percent(int(rates[j])) + " = " + tr.exact_yuan(res.pays_e4[sel, j]))
            text = text + (" + " if j else "") + seg
        out[sel] = text + " = " + tr.yuan(res.uncapped[sel])
    words = _cap_words(line, uncapped_fen, entitlement_fen)
    return out + "；" + words if len(words) else out


def bracket_units(line: Line, events: pd.DataFrame, *, trace: bool = True) -> pd.DataFrame:
    """Per-unit sums by dense int64 codes and np.bincount (no generic group-by): base = max(0, Σ amount),
    refund rows (negative) netting; order_date = the date of the unit's standing crossing of the trigger
    (:func:`standing_crossing`, only the rows of units whose total exceeds it sorted), else its last
    event.  ``trace=False`` leaves the trace empty (the engine builds it afterwards for the claims it
    keeps, with :func:`bracket_trace`).  Events with
    ``unit_id`` text give units indexed by it; events with roster codes only, units with the codes and a
    plain 0…n−1 index."""
    codes, firsts = unit_keys(events)
    k = len(firsts)
    amount_fen = events["amount"].to_numpy(dtype=np.int64)
    dates = events["event_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    base_fen = np.maximum(sum_by(codes, amount_fen, k), 0)  # refunds net; a base is never below 0
    n_rows = np.bincount(codes, minlength=k).astype(np.int64)
    first_event = np.full(k, np.iinfo(np.int64).max, dtype=np.int64)
    last_event = np.full(k, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first_event, codes, dates)
    np.maximum.at(last_event, codes, dates)
    files = pd.factorize(events["source_file"], sort=True)[0]
    crossing_units, crossing_rows = standing_crossing(
        codes, [dates, files, events["source_line"].to_numpy(dtype=np.int64)], amount_fen, line.trigger, k)
    order_date = last_event.copy()
    order_date[crossing_units] = dates[crossing_rows]
    res = bracket_entitlement(base_fen, line)
    units = pd.DataFrame({
        "base": base_fen, "uncapped": res.uncapped, "entitlement": res.entitlement,
        "order_date": order_date.view("datetime64[ns]"), "first_event": first_event.view("datetime64[ns]"),
        "last_event": last_event.view("datetime64[ns]"), "rows": n_rows,
    })
    if "unit_code" in events.columns:
        units["unit_code"] = events["unit_code"].to_numpy()[firsts]
        units["household_code"] = events["household_code"].to_numpy()[firsts]
    units["trace"] = (bracket_trace(line, base_fen, n_rows, res.uncapped, res.entitlement, res).astype(object) if trace
                      else "")
    if "unit_id" not in events.columns:  # roster codes only: the engine takes the text for the claims kept
        return units
    units.insert(0, "household_no", events["household_no"].iloc[firsts].reset_index(drop=True))
    units.insert(0, "unit_id", events["unit_id"].iloc[firsts].reset_index(drop=True))
    return units.set_index("unit_id")


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


def prior_year_drop(line: Line, latest: pd.DataFrame, roster_income_fen: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """与上年同期相比下滑 (drop_basis prior_year), per unit's latest income row → (per-capita shortfall in
    fen, prior-year income in fen, the fall in ten-thousandths).  prior = the row's
    ``prior_per_capita_income`` (上年同期人均纯收入), else the roster's per-capita income (the household's
    income as registered, a survey of the year before); fall_e4 = ⌊(prior − income) × 10 000 / prior⌋
    (0 when prior ≤ 0); shortfall = max(0, min(prior, protection_line) − income) when
    (prior − income) × 10 000 ≥ min_drop_rate_e4 × prior (exact integers), else 0: a household already
    that low the year before is not paid for the part of its shortfall it had then."""
    assert line.protection_line is not None
    income_fen = latest["per_capita_income"].to_numpy(dtype=np.int64)
    given = (latest["prior_per_capita_income"] if "prior_per_capita_income" in latest
             else pd.Series(pd.NA, index=latest.index, dtype="Int64"))
    prior_fen = given.astype("Int64").fillna(pd.Series(roster_income_fen, index=latest.index)).to_numpy(np.int64)
    fall_fen = prior_fen - income_fen
    fell = (prior_fen > 0) & (fall_fen * RATE_SCALE >= line.min_drop_rate_e4 * prior_fen)
    fall_e4 = np.where(prior_fen > 0, np.maximum(fall_fen, 0) * RATE_SCALE // np.maximum(prior_fen, 1), 0)
    shortfall_fen = np.where(fell, np.maximum(0, np.minimum(prior_fen, line.protection_line) - income_fen), 0)
    return shortfall_fen, prior_fen, fall_e4


def income_drop_units(line: Line, events: pd.DataFrame, households: pd.DataFrame) -> pd.DataFrame:
    assert line.protection_line is not None
    ev = events.sort_values(["unit_id", "event_date", "source_file", "source_line"], kind="stable")
    units = _per_unit(ev)
    latest = ev.drop_duplicates("unit_id", keep="last").set_index("unit_id")
    income_fen = latest["per_capita_income"].astype("int64")
    members = units["household_no"].map(households["members"]).astype("int64")
    if line.drop_basis == "prior_year":
        roster_fen = units["household_no"].map(households["income"]).to_numpy(dtype=np.int64)
        shortfall_fen, prior_fen, fall_e4 = prior_year_drop(line, latest, roster_fen)
    else:
        shortfall_fen = np.maximum(0, line.protection_line - income_fen.to_numpy())
    units["base"] = shortfall_fen * members.to_numpy()
    triggered = units["base"].to_numpy() > line.trigger
    units["uncapped"] = np.where(triggered, round_half_up_div(units["base"].to_numpy() * line.rate_e4, RATE_SCALE), 0)
    units["entitlement"] = apply_cap(units["uncapped"].to_numpy(), line.cap_per_year)
    units["order_date"] = units["last_event"]
    drop = (f"(保障线 {tr.yuan1(line.protection_line)} − 人均收入 " + tr.yuan(income_fen) + ") × " + tr.text(members)
            + " 人 = " + tr.yuan(units["base"]) + f" × {tr.percent(line.rate_e4)} = " + tr.yuan(units["uncapped"]))
    if line.drop_basis == "prior_year":
        drop = _prior_year_words(line, prior_fen, income_fen.to_numpy(), fall_e4, members.to_numpy(), units)
    units["trace"] = tr.join([drop, _cap_text(line, units)], "；")
    return units


def _prior_year_words(line: Line, prior_fen: np.ndarray, income_fen: np.ndarray, fall_e4: np.ndarray,
                      members: np.ndarray, units: pd.DataFrame) -> np.ndarray:
    """上年同期人均 … → 本年 …，下滑 …%（门槛 …%）：(min(上年, 保障线 …) − 本年) × n 人 = base × rate = uncapped;
    or 未达下滑门槛，不予赔付."""
    assert line.protection_line is not None
    fell = (prior_fen > 0) & ((prior_fen - income_fen) * RATE_SCALE >= line.min_drop_rate_e4 * prior_fen)
    head = ("上年同期人均 " + tr.yuan(prior_fen) + " → 本年 " + tr.yuan(income_fen) + "，下滑 "
            + tr.text([tr.percent(int(x)) for x in fall_e4]) + f"（门槛 {tr.percent(line.min_drop_rate_e4)}）")
    paid = (head + f"：(min(上年, 保障线 {tr.yuan1(line.protection_line)}) − 本年) × " + tr.text(members) + " 人 = "
            + tr.yuan(units["base"]) + f" × {tr.percent(line.rate_e4)} = " + tr.yuan(units["uncapped"]))
    return np.where(fell, paid, head + "：未达下滑门槛，不予赔付").astype(tr.TEXT)


#: Line kind → its per-unit entitlements, called as ``f(line, events, households, trace)``.
KIND_FUNCTIONS: dict[str, Callable[[Line, pd.DataFrame, pd.DataFrame, bool], pd.DataFrame]] = {
    "bracket": lambda line, events, _households, trace: bracket_units(line, events, trace=trace),
    "lump_sum": lambda line, events, _households, _trace: lump_sum_units(line, events),
    "death": lambda line, events, _households, _trace: death_units(line, events),
    "disability": lambda line, events, _households, _trace: disability_units(line, events),
    "income_drop": lambda line, events, households, _trace: income_drop_units(line, events, households),
}


def line_units(line: Line, events: pd.DataFrame, households: pd.DataFrame, *, trace: bool = True) -> pd.DataFrame:
    """The line's per-unit entitlements, by its kind (:data:`KIND_FUNCTIONS`).

    One row per unit (in no particular order; the engine sorts the claims).  A bracket line's events
    with roster codes only give units without ``unit_id``/``household_no`` text (the engine adds it).  With the screening's
    int64 keys the result also has ``unit_code``/``household_code``.  ``trace=False``: bracket lines
    leave the trace empty for the caller to build (see :func:`bracket_trace`)."""
    if events is None or len(events) == 0:
        return _empty()
    units = KIND_FUNCTIONS[line.kind](line, events, households, trace)
    codes = [c for c in ("unit_code", "household_code") if c in events.columns]
    if codes and not set(codes) <= set(units.columns):  # the other kinds: carry the roster codes along
        first = events.drop_duplicates("unit_id").set_index("unit_id")[codes]
        units = units.join(first.astype("int64"), how="left")
    if units.index.name == "unit_id":
        units = units.reset_index()
    return units[[c for c in UNIT_COLUMNS if c in units.columns] + codes]
