"""The bulk claims engine: product + roster + department reports (+ what was paid) → claims.

Pure and vectorised: frames in, frames out, integer fen, no I/O.  For every (unit, line):

    entitlement = the line's schedule on the year-to-date base, then caps in this order:
                  the line's per-year cap → the line's household cap (or victims table)
                  → its cover's caps across the cover's lines (per person → by victims → per household)
                  → the product's per-person cap → the product's per-household cap
    due now     = max(0, entitlement − already paid for that unit and line this year)

Shared caps are applied to what is still due against what was already paid (see :mod:`claims.engine.caps`),
so twelve monthly runs pay exactly what one yearly run pays, and re-running the same inputs pays 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from products.model import Cover, Product

from claims.engine import trace as tr
from claims.engine.caps import allocate_codes, sort_order
from claims.reports.exceptions import SEVERITIES, exceptions_frame
from claims.engine.lines import bracket_trace, line_units
from claims.engine.screening import Screened, screen_reports

CLAIM_COLUMNS = [
    "product_code", "product_digest", "line_id", "line_name", "peril", "unit_type", "unit_id", "household_no",
    "village_code", "natural_village", "base", "uncapped", "entitlement", "paid_before", "due", "overpaid",
    "rows", "first_event", "last_event", "trace",
]
MONEY_COLUMNS = ["base", "uncapped", "entitlement", "paid_before", "due", "overpaid"]
NO_CAP = -1


class CalcResult:
    """Claims (one row per unit and line), the exception list, per-claim source rows and a summary.

    ``sources`` may be given as a function that builds the frame: it is then built on first use (a
    province run has tens of millions of source rows; a run that never writes them never builds them)."""

    def __init__(self, claims: pd.DataFrame, exceptions: pd.DataFrame,
                 sources: pd.DataFrame | Callable[[], pd.DataFrame], summary: dict[str, Any] | None = None) -> None:
        self.claims = claims
        self.exceptions = exceptions
        self._sources = sources
        self.summary = summary if summary is not None else {}

    @property
    def sources(self) -> pd.DataFrame:
        if callable(self._sources):
            self._sources = self._sources()
        return self._sources

    def __repr__(self) -> str:
        return f"CalcResult({len(self.claims)} claims, {len(self.exceptions)} exceptions)"


def _paid_frame(paid: pd.DataFrame | None) -> pd.DataFrame:
    if paid is None or len(paid) == 0:
        return pd.DataFrame({"line_id": pd.Series(dtype="object"), "unit_id": pd.Series(dtype="object"),
                             "paid": pd.Series(dtype="int64")})
    p = paid[["line_id", "unit_id", "paid"]].astype({"line_id": str, "unit_id": str, "paid": "int64"})
    return p.groupby(["line_id", "unit_id"], as_index=False)["paid"].sum()


def _victims_cap(table: dict[int, int], victims: np.ndarray) -> np.ndarray:
    """Cap by the number of victims in the household: the entry of the largest key ≤ victims."""
    keys = np.array(sorted(table), dtype=np.int64)
    values = np.array([table[k] for k in sorted(table)], dtype=np.int64)
    idx = np.searchsorted(keys, victims, side="right") - 1
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], 0)


def _take_text(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """values[positions] as text, taken by Arrow (no Python string per row)."""
    arr = pa.array(values.astype(str).array)
    return pd.Series(pd.array(arr.take(pa.array(positions)), dtype="str"))


def _labels(names: list[str], codes: np.ndarray) -> pd.Series:
    """A per-line label (line id, name, peril …) repeated per claim, as text taken by Arrow."""
    return _take_text(pd.Series(names, dtype="str"), codes)


def _codes(claims: pd.DataFrame, code_col: str, text_col: str) -> np.ndarray:
    """int64 key of a column: the screening's roster code where every row has one, else factorised text."""
    if code_col in claims.columns:
        codes = claims[code_col].to_numpy()
        if not len(codes) or codes.min() >= 0:
            return codes.astype(np.int64)
    return pd.factorize(claims[text_col], use_na_sentinel=False)[0].astype(np.int64)


def _capped(due: np.ndarray, paid: np.ndarray, mask: np.ndarray, group: np.ndarray, order: list[np.ndarray],
            cap: np.ndarray) -> np.ndarray:
    """``due`` after one shared cap over the rows under ``mask`` (:func:`claims.engine.caps.allocate_codes`; the
    other rows unchanged).  ``cap`` is per masked row; ``order`` keys are int64 (row position last)."""
    where = np.flatnonzero(mask)
    if not len(where):
        return due
    out = due.copy()
    out[where] = allocate_codes(group[where], [o[where] for o in order], due[where], paid[where], cap)
    return out


def _with_cut_notes(notes: np.ndarray, before: np.ndarray, after: np.ndarray, note: np.ndarray | str) -> np.ndarray:
    """The cap notes of the trace, with ``note`` + ``，削减 <cut>`` added on the rows the cap cut
    (``note``: one text, or one per claim row)."""
    hit = np.flatnonzero(before > after)
    if not len(hit):
        return notes
    piece = note if isinstance(note, str) else np.asarray(note, dtype=tr.TEXT)[hit]
    text = (piece + "，削减 " + tr.yuan(before[hit] - after[hit])).astype(object)
    out = notes.copy()
    out[hit] = np.where(out[hit] == "", text, out[hit] + "；" + text)
    return out


def _victims(household: np.ndarray, person: np.ndarray, claimed: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row under ``mask``: the household's victims, i.e. its distinct persons with a claim (``claimed``)
    on a row under ``mask`` (one line, or the lines of one cover)."""
    households, persons = household[mask], person[mask]
    hit = claimed[mask]
    pairs = np.unique(np.stack([households[hit], persons[hit]]), axis=1)
    return np.bincount(pairs[0], minlength=int(household.max()) + 1)[households]


def _cover_caps(cover: Cover, claims: pd.DataFrame, due: np.ndarray, notes: np.ndarray, mask: np.ndarray,
                keys: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One cover's shared caps over the rows of its lines, first come first served across those lines
    (order: order_date, then the line as the product lists them, then unit id): per person → by victims →
    per household.  Returns (due, notes); the note of a cut names the cover, the cap and what was left."""
    paid = claims["paid_before"].to_numpy()
    household, person = keys["household"], keys["person"]
    order = [keys["order_date"], keys["line_pos"], keys["position"]]
    head = cover.name + " 共用限额 / shared cap of cover " + cover.name + "："
    k = int(mask.sum())
    stages: list[tuple[np.ndarray, np.ndarray, np.ndarray | str]] = []  # (group, cap per masked row, cap text)
    if cover.per_person_year is not None:
        stages.append((person, np.full(k, cover.per_person_year, dtype=np.int64),
                       "每人年度封顶 " + tr.yuan1(cover.per_person_year)))
    if cover.household_cap_by_victims and k:
        claimed = ((claims["entitlement"] > 0) | (claims["paid_before"] > 0)).to_numpy()
        victims = _victims(household, person, claimed, mask)
        cap = _victims_cap(cover.household_cap_by_victims, victims)
        stages.append((household, cap, tr.text(victims) + " 人受害，户封顶 " + tr.yuan(cap)))
    if cover.per_household_year is not None:
        stages.append((household, np.full(k, cover.per_household_year, dtype=np.int64),
                       "每户年度封顶 " + tr.yuan1(cover.per_household_year)))
    for group, cap, cap_text in stages:
        after = _capped(due, paid, mask, group, order, cap)
        note = np.full(len(due), "", dtype=tr.TEXT)
        note[mask] = head + np.asarray(cap_text, dtype=tr.TEXT) + "，本项剩余 " + tr.yuan(after[mask])
        notes = _with_cut_notes(notes, due, after, note)
        due = after
    return due, notes


def _apply_shared_caps(product: Product, claims: pd.DataFrame,
                       person_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The shared caps, in this order, each on what the one before left due; returns (due after them, the
    cap notes per claim row):

    1. each line's household cap (``household_per_year``, or by number of victims), first come first
       served within the line;
    2. each cover's caps across its lines (:func:`_cover_caps`: per person → by victims → per household),
       first come first served by date across the cover's lines;
    3. the product's per-person cap across person-basis lines, in the order the lines are listed;
    4. the product's per-household cap across all lines and units.

    Every stage is paid-aware (room = cap − Σ paid of the group, :mod:`claims.engine.caps`), so over a year a
    group's total equals one yearly run's min(cap, Σ of what the stages before left).  Claims arrive
    sorted by (line, household, unit), so within a line and household the row position is the unit-id
    order: order keys are (…, order_date, position) as int64."""
    n = len(claims)
    notes = np.full(n, "", dtype=object)
    due = claims["due"].to_numpy().copy()
    paid = claims["paid_before"].to_numpy()
    line_pos = claims["line_pos"].to_numpy(dtype=np.int64)
    position = np.arange(n, dtype=np.int64)
    order_date = claims["order_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    household = _codes(claims, "household_code", "household_no")
    person = _codes(claims, "unit_code", "unit_id")  # the person on person-basis rows: unit codes are persons
    for pos, line in enumerate(product.lines):  # 1.
        mask = line_pos == pos
        if line.cap_household_per_year is not None:
            cap = np.full(mask.sum(), line.cap_household_per_year, dtype=np.int64)
            after = _capped(due, paid, mask, household, [order_date, position], cap)
            notes = _with_cut_notes(notes, due, after, "户内同责任合计封顶 " + tr.yuan1(line.cap_household_per_year))
            due = after
        elif line.household_cap_by_victims and mask.any():
            claimed = ((claims["entitlement"] > 0) | (claims["paid_before"] > 0)).to_numpy()
            victims = _victims(household, person, claimed, mask)
            cap = _victims_cap(line.household_cap_by_victims, victims)
            label = np.full(n, "", dtype=tr.TEXT)
            label[mask] = tr.text(victims) + " 人受害，户封顶 " + tr.yuan(cap)
            after = _capped(due, paid, mask, household, [order_date, position], cap)
            notes = _with_cut_notes(notes, due, after, label)
            due = after
    keys = {"household": household, "person": person, "order_date": order_date, "line_pos": line_pos,
            "position": position}
    ids = {line.id: pos for pos, line in enumerate(product.lines)}
    for cover in product.covers:  # 2.
        mask = np.isin(line_pos, [ids[line_id] for line_id in cover.lines])
        if mask.any():
            due, notes = _cover_caps(cover, claims, due, notes, mask, keys)
    if product.cap_per_person_year is not None:  # 3.
        cap = np.full(person_rows.sum(), product.cap_per_person_year, dtype=np.int64)
        after = _capped(due, paid, person_rows, person, [line_pos, position], cap)
        notes = _with_cut_notes(notes, due, after, "产品每人年度封顶 " + tr.yuan1(product.cap_per_person_year))
        due = after
    if product.cap_per_household_year is not None:  # 4.
        cap = np.full(n, product.cap_per_household_year, dtype=np.int64)
        after = _capped(due, paid, np.ones(n, dtype=bool), household, [line_pos, order_date, position], cap)
        notes = _with_cut_notes(notes, due, after, "产品每户年度封顶 " + tr.yuan1(product.cap_per_household_year))
        due = after
    return due, notes


def _merge_paid(product: Product, claims: pd.DataFrame, paid: pd.DataFrame,
                persons: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach what was already paid.  A unit paid before but without a base now stays as a claim row
    (it shows up as overpaid); paid amounts for a line the product does not have are returned apart."""
    if len(paid) == 0:  # nothing paid before: no join (the first run of a year, and the benchmark)
        claims = claims.rename(columns={}).assign(paid_before=np.zeros(len(claims), dtype=np.int64))
        claims["line_pos"] = claims["line_pos"].astype("int64")
        return claims, paid
    ids = {line.id: pos for pos, line in enumerate(product.lines)}
    known = paid["line_id"].isin(list(ids))
    merged = claims.merge(paid[known], on=["line_id", "unit_id"], how="outer", indicator=True)
    only_paid = (merged["_merge"] == "right_only").to_numpy()
    if only_paid.any():
        merged.loc[only_paid, "line_pos"] = merged.loc[only_paid, "line_id"].map(ids)
        basis = merged["line_pos"].astype(int).map(lambda p: product.lines[p].basis)
        person_hh = persons.set_index("id_no")["household_no"]
        hh = pd.Series(np.where(basis == "person", merged["unit_id"].map(person_hh), merged["unit_id"]),
                       index=merged.index).fillna("(不在名单 / not on roster)")
        merged.loc[only_paid, "household_no"] = hh[only_paid]
        merged.loc[only_paid, "trace"] = "本年度已无可计基数 / no base this year"
    for col in ("base", "uncapped", "entitlement", "paid", "rows"):
        merged[col] = merged[col].fillna(0).astype("int64")
    for col in ("unit_code", "household_code"):
        if col in merged.columns:
            merged[col] = merged[col].fillna(-1).astype("int64")
    merged = merged.drop(columns="_merge").rename(columns={"paid": "paid_before"})
    merged["line_pos"] = merged["line_pos"].astype("int64")
    return merged, paid[~known]


def _text_sort(claims: pd.DataFrame) -> np.ndarray:
    table = pa.table({"line_pos": claims["line_pos"].to_numpy(),
                      "household_no": pa.array(claims["household_no"].astype(str).array),
                      "unit_id": pa.array(claims["unit_id"].astype(str).array),
                      "position": np.arange(len(claims))})
    return pc.sort_indices(table, sort_keys=[("line_pos", "ascending"), ("household_no", "ascending"),
                                             ("unit_id", "ascending"), ("position", "ascending")]).to_numpy()


def _household_rank(names: pa.Array) -> np.ndarray:
    """Lexicographic rank of each roster household (position when the roster is already sorted; both
    checked and sorted by Arrow on the text, no Python string per household)."""
    n = len(names)
    if n < 2 or pc.all(pc.less_equal(names.slice(0, n - 1), names.slice(1))).as_py():
        return np.arange(n, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[pc.sort_indices(names).to_numpy()] = np.arange(n)
    return rank


def _with_ids(claims: pd.DataFrame, screened: Screened, person_rows: np.ndarray) -> pd.DataFrame:
    """unit_id and household_no text for the claim rows that carry roster codes only (bracket lines),
    taken from the roster by code."""
    n = len(claims)
    has_text = "unit_id" in claims.columns
    missing = claims["unit_id"].isna().to_numpy() if has_text else np.ones(n, dtype=bool)
    if has_text and not missing.any():
        return claims
    where = np.flatnonzero(missing)
    unit_code = claims["unit_code"].to_numpy()[where]
    household_code = claims["household_code"].to_numpy()[where]
    unit_text = screened.unit_ids(person_rows[where], unit_code)
    household_text = screened.household_ids.take(pa.array(household_code))
    claims = claims.assign()
    if len(where) == n:
        claims["unit_id"] = pd.array(unit_text, dtype="str")
        claims["household_no"] = pd.array(household_text, dtype="str")
        return claims
    for col, text in (("unit_id", unit_text), ("household_no", household_text)):
        values = (claims[col].to_numpy(dtype=object, copy=True) if col in claims.columns
                  else np.full(n, None, dtype=object))
        values[where] = text.to_numpy(zero_copy_only=False)
        claims[col] = pd.array(values, dtype="str")
    return claims


def _claim_order(claims: pd.DataFrame, screened: Screened, person_rows: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` (positions in ``claims``) in (line, household_no, unit_id) text order, on int64 keys where
    possible: the household's lexicographic rank in the roster, and for persons the 17-digit ID body
    (equal-length digit strings sort as their numbers; the check digit follows from the body).
    Otherwise Arrow sorts the text."""
    n = len(rows)
    codes = claims["household_code"].to_numpy()[rows] if "household_code" in claims.columns else np.full(n, -1)
    person = person_rows[rows]
    person_keys = screened.person_keys
    if n and codes.min() >= 0 and (person_keys is not None or not person.any()):
        unit_key = np.zeros(n, dtype=np.int64)
        if person.any():
            unit_key[person] = person_keys[claims["unit_code"].to_numpy()[rows][person]]
        hh_key = _household_rank(screened.household_ids)[codes]
        return rows[sort_order([claims["line_pos"].to_numpy()[rows], hh_key, unit_key])]
    sub = _with_ids(claims.iloc[rows].reset_index(drop=True), screened, person)  # the text of these rows only
    return rows[_text_sort(sub)]


def claim_sources(product: Product, screened: Screened) -> pd.DataFrame:
    """Which report rows (file, line, amount) make up each claim's base: one row per event of each line."""
    frames = []
    for line in product.lines:
        ev = screened.events.get(line.id)
        if ev is None or not len(ev):
            continue
        unit = (ev["unit_id"].to_numpy() if "unit_id" in ev.columns else pd.array(
            screened.unit_ids(np.full(len(ev), line.basis == "person"), ev["unit_code"].to_numpy()), dtype="str"))
        frames.append(pd.DataFrame({"line_id": _labels([line.id], np.zeros(len(ev), dtype=np.int64)).array,
                                    "unit_id": unit, "source_file": ev["source_file"].to_numpy(),
                                    "source_line": ev["source_line"].to_numpy(), "amount": ev["amount"].to_numpy()}))
    if not frames:
        return pd.DataFrame(columns=["line_id", "unit_id", "source_file", "source_line", "amount"])
    return pd.concat(frames, ignore_index=True)


def claim_traces(product: Product, claims: pd.DataFrame, cap_notes: np.ndarray) -> np.ndarray:
    """计算过程 per claim: ``[code/line] `` + the line's own text + the cap notes + ``已付 …；本次应付 …``
    (+ ``；多付 …，需冲正``).  Bracket lines' own text is built here (only for the claims kept)."""
    n = len(claims)
    line_pos = claims["line_pos"].to_numpy()
    rows = claims["rows"].to_numpy()
    own_text = np.full(n, "", dtype=tr.TEXT)
    built = np.zeros(n, dtype=bool)
    for pos, line in enumerate(product.lines):
        if line.kind != "bracket":
            continue
        sel = np.flatnonzero((line_pos == pos) & (rows > 0))
        if len(sel):
            own_text[sel] = bracket_trace(line, claims["base"].to_numpy()[sel], rows[sel],
                                          claims["uncapped"].to_numpy()[sel],
                                          claims["line_entitlement"].to_numpy()[sel])
            built[sel] = True
    other = np.flatnonzero(~built)  # other kinds' own text, and paid-only rows
    if len(other):
        own_text[other] = np.asarray(claims["trace"].iloc[other].fillna("").astype(object).to_numpy(dtype=object)
                                     .astype(str), dtype=tr.TEXT)
    notes = np.full(n, "", dtype=tr.TEXT)
    noted = np.flatnonzero(cap_notes != "")
    notes[noted] = cap_notes[noted].astype(str)
    heads = np.array(["[" + product.code + "/" + line.id + "] " for line in product.lines], dtype=tr.TEXT)
    overpaid = claims["overpaid"].to_numpy()
    tail = "已付 " + tr.yuan(claims["paid_before"]) + "；本次应付 " + tr.yuan(claims["due"])
    over = np.flatnonzero(overpaid > 0)
    if len(over):
        tail[over] = tail[over] + "；多付 " + tr.yuan(overpaid[over]) + "，需冲正"
    body = np.where(np.strings.str_len(own_text) > 0, own_text + "；", own_text)
    body = np.where(np.strings.str_len(notes) > 0, body + notes + "；", body)
    return heads[line_pos] + body + tail if n else np.array([], dtype=tr.TEXT)


def compute_from_screened(product: Product, screened: Screened, persons: pd.DataFrame,
                          paid: pd.DataFrame | None = None, *, traces: bool = True) -> CalcResult:
    """The engine proper, after screening.  ``traces=False`` leaves the trace column empty (amounts only).

    Units with neither a base nor a payment are dropped before the claims are sorted and capped (they
    owe nothing and take no room under a shared cap).  The unit and household text of bracket lines is
    taken from the roster for the claims kept only (for every unit when payments must be joined by it)."""
    lines = product.lines
    screened.households.index.is_unique  # pandas builds an index's hash table lazily: once, before the threads
    with ThreadPoolExecutor(max_workers=2) as pool:  # lines are independent (numpy releases the GIL)
        frames = list(pool.map(lambda line: line_units(line, screened.events.get(line.id), screened.households,
                                                       trace=False), lines))
    for pos, units in enumerate(frames):
        units["line_pos"] = pos
    claims = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    for col in ("unit_code", "household_code"):  # roster codes (−1: none, e.g. a line without events)
        if col in claims.columns:
            claims[col] = claims[col].fillna(-1).astype("int64")
    is_person = np.array([line.basis == "person" for line in lines])
    paid_frame = _paid_frame(paid)
    if len(paid_frame):  # what was paid is keyed by text: every claim needs its ids first
        claims = _with_ids(claims, screened, is_person[claims["line_pos"].to_numpy(dtype=np.int64)])
        claims["line_id"] = _labels([line.id for line in lines], claims["line_pos"].to_numpy(dtype=np.int64))
    claims, unmatched = _merge_paid(product, claims, paid_frame, persons)

    # units that owe nothing and were paid nothing take no room under a shared cap: dropped before sorting
    capped = np.flatnonzero((claims["base"].to_numpy() > 0) | (claims["paid_before"].to_numpy() != 0))
    claims = claims.take(_claim_order(claims, screened, is_person[claims["line_pos"].to_numpy()], capped))
    claims = claims.reset_index(drop=True)
    claims["due"] = np.maximum(0, claims["entitlement"].to_numpy() - claims["paid_before"].to_numpy())
    claims["due"], cap_notes = _apply_shared_caps(product, claims, is_person[claims["line_pos"].to_numpy()])
    shown = (claims["base"].to_numpy() > 0) | (claims["paid_before"].to_numpy() > 0)
    if not shown.all():  # a negative payment (a raw API caller's) counts under the caps but is not a claim
        claims, cap_notes = claims[shown].reset_index(drop=True), cap_notes[shown]
    line_pos = claims["line_pos"].to_numpy()
    claims = _with_ids(claims, screened, is_person[line_pos])

    n = len(claims)
    paid_b = claims["paid_before"].to_numpy()
    unit_ent = claims["entitlement"].to_numpy()
    facts = screened.households
    household = claims["household_code"].to_numpy() if "household_code" in claims.columns else np.full(n, -1)
    by_code = bool(n) and household.min() >= 0
    out = {
        "product_code": _labels([product.code], np.zeros(n, dtype=np.int64)),
        "product_digest": _labels([product.digest], np.zeros(n, dtype=np.int64)),
        "line_id": _labels([line.id for line in lines], line_pos),
        "line_name": _labels([line.name for line in lines], line_pos),
        "peril": _labels([line.peril for line in lines], line_pos),
        "unit_type": _labels([line.basis for line in lines], line_pos),
        "unit_id": claims["unit_id"], "household_no": claims["household_no"],
        **{col: (_take_text(facts[col], household) if by_code else claims["household_no"].map(facts[col]))
           for col in ("village_code", "natural_village")},
        "base": claims["base"], "uncapped": claims["uncapped"],
        "entitlement": np.minimum(unit_ent, paid_b + claims["due"].to_numpy()),
        "paid_before": paid_b, "due": claims["due"], "overpaid": np.maximum(0, paid_b - unit_ent),
        "rows": claims["rows"], "first_event": claims["first_event"], "last_event": claims["last_event"],
    }
    if traces:
        traced = claims.assign(line_entitlement=unit_ent, entitlement=out["entitlement"], overpaid=out["overpaid"])
        out["trace"] = claim_traces(product, traced, cap_notes).astype(object)
    else:
        out["trace"] = np.array([""], dtype=object)[np.zeros(n, dtype=np.intp)]
    claims = pd.DataFrame(out, columns=CLAIM_COLUMNS, copy=False)

    exceptions = screened.exceptions
    if len(unmatched):
        exceptions = pd.concat([exceptions, exceptions_frame(
            "paid", pd.Series(np.zeros(len(unmatched), dtype=np.int64)), "paid_unknown_line",
            "责任 / line " + unmatched["line_id"].astype(str) + "，对象 / unit " + unmatched["unit_id"].astype(str)
            + "，已付 / paid " + pd.Series(tr.yuan(unmatched["paid"]), index=unmatched.index).astype(str))],
            ignore_index=True)
    return CalcResult(claims=claims, exceptions=exceptions, sources=lambda: claim_sources(product, screened),
                      summary=summarise(claims, exceptions, screened.rows_in))


def summarise(claims: pd.DataFrame, exceptions: pd.DataFrame, rows_in: int) -> dict[str, Any]:
    """Counts and totals (fen) for the CLI and the logs."""
    by_line = claims.groupby("line_id", sort=False).agg(claims=("unit_id", "size"), due=("due", "sum"),
                                                        entitlement=("entitlement", "sum"))
    return {
        "rows_in": int(rows_in),
        "claims": int(len(claims)),
        "claims_due": int((claims["due"] > 0).sum()),
        "total_entitlement": int(claims["entitlement"].sum()),
        "total_paid_before": int(claims["paid_before"].sum()),
        "total_due": int(claims["due"].sum()),
        # units whose entitlement fell below what was paid (a refund, a correction): to recover
        "claims_overpaid": int((claims["overpaid"] > 0).sum()),
        "total_overpaid": int(claims["overpaid"].sum()),
        "by_line": {k: {c: int(v) for c, v in row.items()} for k, row in by_line.iterrows()},
        "exceptions": {str(k): int(v) for k, v in exceptions.groupby("reason").size().items()}
        if len(exceptions) else {},
        "exceptions_by_severity": severity_counts(exceptions),
    }


def severity_counts(exceptions: pd.DataFrame) -> dict[str, int]:
    """Exception rows per severity, every severity named (``error``, ``warning``, ``info``)."""
    counts = exceptions["severity"].value_counts() if len(exceptions) else pd.Series(dtype="int64")
    return {severity: int(counts.get(severity, 0)) for severity in SEVERITIES}


def run_calculation(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                    reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
                    paid: pd.DataFrame | None = None, *, traces: bool = True) -> CalcResult:
    """Screen the reports and compute every claim the product owes (see module docstring).
    ``traces=False``: amounts only, the trace column left empty (for bulk runs that do not print it)."""
    screened = screen_reports(product, persons, households, reports)
    return compute_from_screened(product, screened, persons, paid, traces=traces)


def compute_claims(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                   reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
                   paid: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (unit, line) with base, entitlement, paid before, due now and its trace (fen).

    ``reports`` maps a department (medical, education, disaster, accident, income) to the canonical
    rows of one or more report files (as read by :func:`claims.reports.read_report`); ``paid`` has
    ``unit_id, line_id, paid`` (fen).  Use :func:`run_calculation` for exceptions and sources too.
    """
    return run_calculation(product, persons, households, reports, paid).claims
