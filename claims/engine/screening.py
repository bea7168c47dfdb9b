"""Screening (筛查): department report rows → the events each product line counts, plus exceptions.

Pure and vectorised.  Each department's rows are first reconciled by record identity
(:func:`claims.reports.identity.counted_rows`: a re-sent record counts once, a correction replaces what it
corrects).  A row is then matched to a person (by resident ID) or a household, checked against the
policy period and the product's eligibility, and handed to every line that reads it.  A row no line
can use becomes an exception with its reason; nothing is dropped silently.

Household per-capita income for eligibility is the value known on the event date: the latest
income-report row with ``as_of`` on or before it, else the roster's value (see :func:`income_as_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims.engine.eligibility import INCOME_TESTS_WITH_COSTS, RigidCosts, eligibility_off, household_facts
from claims.engine.lines import KIND_COLUMNS
from claims.reports.check import ID_KEY
from claims.reports.departments import SPECS
from claims.reports.exceptions import exceptions_frame
from claims.reports.householders import HOUSEHOLDER_REASONS, households_of_householders
from claims.reports.identity import counted_rows
from products.model import PERILS, Line, Product
from tabular.keys import KeyIndex, as_arrow, id_bodies, key_positions
from tabular.plain import str_series

#: The report giving households' per-capita income as of a date (eligibility on the event date).
INCOME_REPORT = "income"

SCREEN_REASONS: dict[str, str] = {
    "unknown_person": "身份证号不在参保名单中 / resident ID is not on the insured roster",
    "unknown_household": "户编号不在参保名单中 / household number is not on the insured roster",
    "outside_period": "发生日期不在保险期间内 / event date is outside the policy period",
    "not_eligible": "该户不符合承保条件 / household is not eligible under this product",
    "paid_unknown_line": "已付记录的责任不在本产品中，未计入 / paid amount for a line this product does not have; ignored",
    "not_covered": "本产品没有对应责任，未使用 / no line of this product uses this row",
    "not_inpatient": "本产品因病责任仅限住院，该结算不是住院，未使用 / the product's illness cover counts inpatient "
                     "settlements only; this one is not inpatient and no other line uses it",
    **HOUSEHOLDER_REASONS,
}


@dataclass(frozen=True)
class Screened:
    """Events per line id (unit_code, household_code, event_date, amount, source_file, source_line and
    the columns :data:`claims.engine.lines.KIND_COLUMNS` names for the line's kind), household facts used by the
    lines, the exception rows, and the roster's text by position (what the int64 codes stand for)."""

    events: dict[str, pd.DataFrame]
    households: pd.DataFrame  # indexed by household_no: village_code, natural_village, category, income, members
    exceptions: pd.DataFrame
    rows_in: int
    person_ids: pa.Array  # resident ID of each roster person, by position (= a person line's unit_code)
    household_ids: pa.Array  # household_no of each household in ``households``, by position
    person_keys: np.ndarray | None = None  # the IDs' 17-digit bodies (their text order), None if not all IDs

    def unit_ids(self, person: np.ndarray, unit_code: np.ndarray) -> pa.Array:
        """unit_id text of units by roster code: a resident ID where ``person``, else a household_no."""
        if person.all() or not person.any():  # one line's units, or lines of one basis: one take
            return (self.person_ids if person.all() else self.household_ids).take(pa.array(unit_code))
        names = pa.concat_arrays([self.person_ids.cast(pa.large_string()),
                                  self.household_ids.cast(pa.large_string())])
        return names.take(pa.array(np.where(person, unit_code, len(self.person_ids) + unit_code)))


def _frames(frames: pd.DataFrame | Iterable[pd.DataFrame]) -> list[pd.DataFrame]:
    """A department's frames in arrival order (one frame: a list of it)."""
    return [frames] if isinstance(frames, pd.DataFrame) else [f for f in frames if f is not None]


def _block_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(values, sort=True)`` for a column made of long runs (a file name on each of its
    rows): compare neighbours once, factorise only the first value of each run."""
    arr = as_arrow(values.astype(str))
    n = len(arr)
    if n < 2 or arr.null_count:
        codes, names = pd.factorize(values.astype(str), sort=True)
        return codes, pd.Index(names)
    change = pc.not_equal(arr.slice(1), arr.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.r_[0, np.flatnonzero(change) + 1]
    run_codes, names = pd.factorize(pd.Series(arr.take(pa.array(starts)).to_pylist()), sort=True)
    return np.repeat(run_codes, np.diff(np.r_[starts, n])), pd.Index(names)


def _note(rows: pd.DataFrame, mask: np.ndarray, reason: str, detail: Callable[[np.ndarray], Any],
          out: list[pd.DataFrame], severity: str = "error",
          files: tuple[np.ndarray, pd.Index] | None = None) -> None:
    """Add the rows under ``mask`` to the exception list; ``detail(positions)`` builds their details only.
    ``files``: the rows' source files factorised (codes, names), so no text is copied per exception."""
    where = np.flatnonzero(mask)
    if len(where):
        names = (files[1].to_numpy(dtype=object)[files[0][where]] if files is not None
                 else rows["source_file"].iloc[where])
        text = detail(where)
        text = pd.Series(text, dtype=object) if isinstance(text, np.ndarray) else text
        out.append(exceptions_frame(names, rows["source_line"].iloc[where], reason, text, severity))


def income_as_of(rows: pd.DataFrame, date_col: str, facts: pd.DataFrame,
                 income_rows: pd.DataFrame | None, household_pos: np.ndarray | None = None) -> pd.Series:
    """Per-capita income known on each row's event date: the latest income-report row with
    as_of ≤ that date (later file/line wins a tie), else the roster's value.  Judging eligibility as of
    the event keeps a later re-survey from undoing claims already paid (monthly runs = yearly run).
    ``household_pos``: each row's position in ``facts`` when known (saves a lookup by text)."""
    if household_pos is None:
        household_pos = key_positions(facts["household_no"], rows["household_no"])
    roster = pd.Series(facts["income"].to_numpy()[household_pos], index=rows.index)
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


def _line_uses(line: Line, rows: pd.DataFrame) -> pd.Series:
    """Which rows of the line's source report this line counts."""
    mask = pd.Series(True, index=rows.index)
    if "accident_kind" in PERILS[line.peril]:
        mask &= rows["kind"] == PERILS[line.peril]["accident_kind"]
    if line.event_types is not None:
        mask &= rows["disaster_type"].isin(line.event_types)
    if line.kind == "lump_sum":
        mask &= rows["entry"].astype(bool) & rows["level"].isin(list(line.lump_sums))
    if line.inpatient_only:  # 疾病住院: only settlements whose 医疗类别 reads inpatient
        mask &= _inpatient(rows)
    return mask


def _inpatient(rows: pd.DataFrame) -> pd.Series:
    """Rows whose 医疗类别 (``med_type``) is inpatient; a report without the column has none."""
    if "med_type" not in rows:
        return pd.Series(False, index=rows.index)
    return (rows["med_type"] == "inpatient").fillna(False).astype(bool)


def _visit_words(rows: pd.DataFrame, where: np.ndarray) -> pd.Series:
    """医疗类别 of the rows at ``where`` as the exception detail: 门诊 outpatient, 其他 other, （空）blank."""
    kind = rows["med_type"].iloc[where].astype(str) if "med_type" in rows else pd.Series("nan", index=where)
    return "医疗类别 / med_type " + kind.map({"outpatient": "门诊 outpatient", "other": "其他 other"}).fillna("（空）blank")


def _reconciled(reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]], persons: pd.DataFrame,
                out: list[pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray], int]:
    """Each department's rows as one frame, its householder-keyed rows given their household, and which
    rows count (:func:`claims.reports.identity.counted_rows`: re-sends dropped, corrections in place of
    what they correct; rows are marked, not copied) → (frames, counted, rows in)."""
    arrived = {dept: _frames(f) for dept, f in reports.items()}
    rows_in = sum(len(f) for frames in arrived.values() for f in frames)
    # a disaster list keyed by householders' IDs: their households first (a record's identity names it)
    for dept, frames in arrived.items():
        resolved = [households_of_householders(f, persons) for f in frames]
        arrived[dept] = [f for f, _ in resolved]
        out.extend(e for _, e in resolved if len(e))
    reconciled = {dept: counted_rows(dept, f) for dept, f in arrived.items()}
    out.extend(ex for _, _, ex in reconciled.values() if len(ex))
    frames = {d: rows for d, (rows, _, _) in reconciled.items() if len(rows)}
    return frames, {d: reconciled[d][1] for d in frames}, rows_in


@dataclass
class _Roster:
    """The roster's keys: resident IDs (text and :class:`KeyIndex`), households' facts and index, and each
    person's household position."""

    facts: pd.DataFrame
    person_text: pa.Array
    person_keys: KeyIndex
    household_keys: KeyIndex
    household_of_person: np.ndarray


def _roster(product: Product, persons: pd.DataFrame, households: pd.DataFrame) -> _Roster:
    person_text = as_arrow(persons["id_no"].reset_index(drop=True))
    with ThreadPoolExecutor(max_workers=2) as pool:  # the roster's two keys at once (numpy releases the GIL)
        bodies = pool.submit(id_bodies, person_text)
        facts = household_facts(product, households)
        household_keys = KeyIndex(facts["household_no"].reset_index(drop=True))
        hh_of_person = household_keys.positions(persons["household_no"])
        person_keys = KeyIndex(person_text, bodies.result())
    return _Roster(facts, person_text, person_keys, household_keys, hh_of_person)


@dataclass
class _Matched:
    """Per department: its rows, their source files factorised, the rows still standing, and each row's
    roster position (person, for person-keyed departments; household; −1 not on the roster)."""

    frames: dict[str, pd.DataFrame]
    files: dict[str, tuple[np.ndarray, pd.Index]]
    alive: dict[str, np.ndarray]
    person_pos: dict[str, np.ndarray]
    household_pos: dict[str, np.ndarray]


def _matched(product: Product, frames: dict[str, pd.DataFrame], counted: dict[str, np.ndarray], roster: _Roster,
             out: list[pd.DataFrame]) -> _Matched:
    """Counted rows matched to the roster and within the policy period (:func:`_match_rows`)."""
    # source files as categories: a handful of names repeated on every row (no text copied per row)
    matched = _Matched(frames, {d: _block_codes(f["source_file"]) for d, f in frames.items()}, {}, {}, {})
    for dept, rows in frames.items():
        live, ppos, hpos = _match_rows(product, dept, rows, counted[dept], roster, out)
        if ppos is not None:
            matched.person_pos[dept] = ppos
        matched.alive[dept] = live
        matched.household_pos[dept] = hpos
    return matched


def _match_rows(product: Product, dept: str, rows: pd.DataFrame, counted: np.ndarray, roster: _Roster,
                out: list[pd.DataFrame]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """One department's counted rows matched to the roster by the Spec's key (resident ID or household
    number) and checked against the policy period; the others noted ``unknown_person`` /
    ``unknown_household`` / ``outside_period`` → (rows standing, person positions or None, household
    positions; −1: not on the roster)."""
    start, end = pd.Timestamp(product.period_start), pd.Timestamp(product.period_end)
    ppos = None
    if SPECS[dept].person_keyed:
        # the reader's int64 ID key, where every frame of the department has it (else the IDs are parsed)
        keyed = ID_KEY in rows.columns and rows[ID_KEY].dtype == np.int64
        ppos = roster.person_keys.positions(rows["id_no"], rows[ID_KEY].to_numpy() if keyed else None)
        hpos = np.append(roster.household_of_person, -1)[ppos]  # position −1 (not on the roster) → −1
        live = counted & (ppos >= 0)
        _note(rows, counted & ~live, "unknown_person",
              lambda w: "身份证号 / id_no " + rows["id_no"].iloc[w].astype(str).str.slice(0, 6) + "…", out)
    else:
        hpos = roster.household_keys.positions(rows["household_no"])
        live = counted & (hpos >= 0)
        _note(rows, counted & ~live, "unknown_household",
              lambda w: "户编号 / household_no " + rows["household_no"].iloc[w].astype(str), out)
    date = rows[SPECS[dept].event_date]
    outside = live & ((date < start) | (date > end)).to_numpy()
    _note(rows, outside, "outside_period",
          lambda w: (date.iloc[w].dt.strftime("%Y-%m-%d") + " ∉ [" + start.strftime("%Y-%m-%d") + ", "
                     + end.strftime("%Y-%m-%d") + "]"), out)
    return live & ~outside, ppos, hpos


def _drop_ineligible(product: Product, matched: _Matched, roster: _Roster, out: list[pd.DataFrame]) -> None:
    """Standing rows of departments a line reads whose household is not eligible on the event date
    (:func:`income_as_of`) leave ``alive``, noted ``not_eligible``."""
    frames, alive, facts = matched.frames, matched.alive, roster.facts
    costs = (RigidCosts(frames, alive, matched.household_pos)
             if product.eligibility.income_test in INCOME_TESTS_WITH_COSTS else None)  # before any row leaves
    for dept, rows in frames.items():
        if not any(line.source == dept for line in product.lines):
            continue  # rows of an uncovered department are reported as not_covered
        income_rows = frames[INCOME_REPORT][alive[INCOME_REPORT]] if INCOME_REPORT in frames else None
        standing = np.flatnonzero(alive[dept])
        hpos = matched.household_pos[dept][standing]
        if income_rows is not None and len(income_rows):
            sub = rows.iloc[standing]
            # (a person whose household is not in the household list, position −1: no household text; the
            # row is not eligible whatever its income)
            text = roster.household_keys.text.take(pa.array(np.maximum(hpos, 0))).to_numpy(zero_copy_only=False)
            text[hpos < 0] = ""
            income = income_as_of(sub.assign(household_no=text), SPECS[dept].event_date, facts, income_rows,
                                  hpos).to_numpy()
        else:
            income = facts["income"].to_numpy()[hpos]
        spent = None if costs is None else costs.to_date(hpos, rows[SPECS[dept].event_date].to_numpy()[standing])
        off, detail = eligibility_off(product, facts, hpos, income, income_rows is None or not len(income_rows), spent)
        off_full = np.zeros(len(rows), dtype=bool)
        off_full[standing[off]] = True
        off_at = np.flatnonzero(off)  # the same rows, as positions among the standing ones
        _note(rows, off_full, "not_eligible", lambda w, d=detail, o=off_at: d(o), out, files=matched.files[dept])
        alive[dept][standing[off]] = False


def _line_events(product: Product, matched: _Matched, roster: _Roster) -> tuple[dict[str, pd.DataFrame],
                                                                                 dict[str, np.ndarray]]:
    """Each line's event table over the standing rows it uses (:func:`_event_frame`), and which rows some
    line used.  Lines reading the same rows share their columns (household, person, date: one copy each)."""
    events: dict[str, pd.DataFrame] = {}
    used: dict[str, np.ndarray] = {d: np.zeros(len(f), dtype=bool) for d, f in matched.frames.items()}
    shared: dict[str, tuple[np.ndarray, dict[str, pd.Series]]] = {}
    for line in product.lines:
        rows = matched.frames.get(line.source)
        if rows is None:
            events[line.id] = pd.DataFrame()
            continue
        mask = matched.alive[line.source] & _line_uses(line, rows).to_numpy()
        used[line.source] |= mask
        take = np.flatnonzero(mask)
        previous = shared.get(line.source)
        if previous is None or not np.array_equal(previous[0], take):
            previous = (take, {})
            shared[line.source] = previous
        events[line.id] = _event_frame(line, rows, take, matched, roster, previous[1])
    return events, used


def _event_frame(line: Line, rows: pd.DataFrame, take: np.ndarray, matched: _Matched, roster: _Roster,
                 columns: dict[str, pd.Series]) -> pd.DataFrame:
    """The events of one line: rows ``take`` of its source report, with roster codes, event date, amount
    (the line's measure), source file and line, and the columns its kind reads (built once in
    ``columns``, shared with the lines taking the same rows)."""

    def column(name: str, build: Callable[[], pd.Series]) -> pd.Series:
        if name not in columns:
            columns[name] = build()
        return columns[name]

    hpos = matched.household_pos[line.source][take]
    upos = matched.person_pos[line.source][take] if line.basis == "person" else hpos
    date = SPECS[line.source].event_date
    file_codes, file_names = matched.files[line.source]
    frame = pd.DataFrame({
        "unit_code": upos.astype(np.int64),
        "household_code": hpos.astype(np.int64),
        "event_date": column("event_date", lambda: rows[date].iloc[take].reset_index(drop=True)),
        "amount": pd.Series(rows[line.measure].to_numpy()[take] if line.measure
                            else np.zeros(len(take), dtype=np.int64), dtype="int64"),
        "source_file": pd.Categorical.from_codes(file_codes[take], file_names),
        "source_line": pd.Series(rows["source_line"].to_numpy()[take], dtype="int64"),
    }, copy=False)
    for name in KIND_COLUMNS[line.kind]:  # what this kind reads beyond the codes (text for group-bys)
        if name == "household_no" or (name == "unit_id" and line.basis == "household"):
            frame[name] = column("household_no", lambda: str_series(roster.household_keys.text.take(pa.array(hpos))))
        elif name == "unit_id":
            frame[name] = column("person", lambda: str_series(roster.person_text.take(pa.array(upos))))
        elif name in rows.columns:
            frame[name] = column(name, lambda e=name: rows[e].iloc[take].reset_index(drop=True))
    frame.index = pd.Index(take)
    return frame


def screen_reports(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                   reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]]) -> Screened:
    """Match, filter and route report rows to the product's lines (see module docstring).

    Rows are matched once to roster positions (int64: person and household; a report's ``id_key``
    column, the reader's, spares parsing the IDs again), and each check works on whole boolean arrays
    over the rows still standing; the big frame is never copied per check — only the columns an event
    table needs (:data:`claims.engine.lines.KIND_COLUMNS`) are taken, once per line.  Event tables carry
    ``unit_code`` and ``household_code``: the unit's and household's position in the roster."""
    out: list[pd.DataFrame] = []
    frames, counted, rows_in = _reconciled(reports, persons, out)
    roster = _roster(product, persons, households)
    matched = _matched(product, frames, counted, roster, out)
    _drop_ineligible(product, matched, roster, out)
    events, used = _line_events(product, matched, roster)
    for dept, rows in frames.items():
        unused = matched.alive[dept] & ~used[dept]
        # unused rows an inpatient-only line declined (not 住院): their own reason, naming the 医疗类别 read
        declined = unused & ~_inpatient(rows).to_numpy() if any(
            line.inpatient_only and line.source == dept for line in product.lines) else np.zeros(len(rows), bool)
        _note(rows, declined, "not_inpatient", lambda w, r=rows: _visit_words(r, w), out, severity="info",
              files=matched.files[dept])
        _note(rows, unused & ~declined, "not_covered", lambda w, d=dept: f"{d} 报告行 / {d} report row",
              out, severity="info", files=matched.files[dept])
    exceptions = pd.concat(out, ignore_index=True) if out else exceptions_frame([], [], [], [])
    person_keys = roster.person_keys
    return Screened(events=events, households=roster.facts, exceptions=exceptions, rows_in=rows_in,
                    person_ids=roster.person_text, household_ids=roster.household_keys.text,
                    person_keys=person_keys.bodies[0] if person_keys.bodies is not None else None)
