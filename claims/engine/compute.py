"""The bulk claims engine: product + roster + department reports (+ what was paid) → claims.

Pure and vectorised: frames in, frames out, integer fen, no I/O.  For every (unit, line):

    entitlement = the line's schedule on the year-to-date base, then caps in this order:
                  the line's per-year cap → the line's household cap (or victims table)
                  → its cover's caps across the cover's lines (per person → by victims → per household)
                  → the product's per-person cap → the product's per-household cap
    due now     = max(0, entitlement − already paid for that unit and line this year)

Shared caps are applied to what is still due against what was already paid (see :mod:`claims.engine.caps`),
so twelve monthly runs pay exactly what one yearly run pays, and re-running the same inputs pays 0.

:func:`compute_from_screened` runs the stages in order, each in its module, on the product read once
(:class:`claims.engine.plan.ProductPlan`):

1. per unit and line, before caps that span units or lines (:mod:`claims.engine.lines`);
2. what was paid before attached (:mod:`claims.engine.paid`);
3. the units that owe or were paid, in (line, household, unit) order (:mod:`claims.engine.ordering`);
4. the shared caps (:func:`claims.engine.caps.apply_shared_caps`);
5. the claim rows with their labels and traces (this module).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from claims.engine import trace as tr
from claims.engine.caps import apply_shared_caps
from claims.engine.lines import bracket_trace, line_units
from claims.engine.ordering import claim_order, with_ids
from claims.engine.paid import merge_paid, paid_totals, with_unknown_line_payments
from claims.engine.plan import ProductPlan
from claims.engine.screening import Screened, screen_reports
from claims.reports.exceptions import SEVERITIES
from products.model import Product

CLAIM_COLUMNS = [
    "product_code", "product_digest", "line_id", "line_name", "peril", "unit_type", "unit_id", "household_no",
    "village_code", "natural_village", "base", "uncapped", "entitlement", "paid_before", "due", "overpaid",
    "rows", "first_event", "last_event", "trace",
]

#: Which claims get their 计算过程 text (``relief calc --traces``): none; the kept ones — an amount due or
#: overpaid, the rows someone pays or recovers; or all (``traces=True``; ``traces=False`` is none).
TRACE_MODES = ("none", "kept", "all")


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


def compute_claims(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                   reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
                   paid: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (unit, line) with base, entitlement, paid before, due now and its trace (fen).

    ``reports`` maps a department (medical, education, disaster, accident, income) to the canonical
    rows of one or more report files (as read by :func:`claims.reports.read_report`); ``paid`` has
    ``unit_id, line_id, paid`` (fen).  Use :func:`run_calculation` for exceptions and sources too.
    """
    return run_calculation(product, persons, households, reports, paid).claims


def run_calculation(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                    reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
                    paid: pd.DataFrame | None = None, *, traces: bool | str = True) -> CalcResult:
    """Screen the reports and compute every claim the product owes (see module docstring).
    ``traces``: which claims get a trace (:data:`TRACE_MODES`); the others' trace is empty.  ``False``:
    amounts only (for bulk runs that do not print them)."""
    screened = screen_reports(product, persons, households, reports)
    return compute_from_screened(product, screened, persons, paid, traces=traces)


def compute_from_screened(product: Product, screened: Screened, persons: pd.DataFrame,
                          paid: pd.DataFrame | None = None, *, traces: bool | str = True) -> CalcResult:
    """The engine proper, after screening: the stages of the module docstring, in order.  ``traces=False``
    leaves the trace column empty (amounts only).

    The unit and household text of bracket lines is taken from the roster for the claims kept only (for
    every unit when payments must be joined by it)."""
    plan = ProductPlan.of(product)
    claims = _line_claims(plan, screened)
    claims, unmatched = _with_paid(plan, claims, screened, paid, persons)
    claims = _owing_in_order(plan, claims, screened)
    claims["due"], cap_notes = apply_shared_caps(plan.shared_caps, claims)
    claims, cap_notes = _shown(claims, cap_notes)
    claims = with_ids(claims, screened, plan.person_rows(claims["line_pos"].to_numpy()))
    claims = _claim_rows(plan, claims, screened.households, cap_notes, traces=traces)
    exceptions = with_unknown_line_payments(screened.exceptions, unmatched)
    return CalcResult(claims=claims, exceptions=exceptions, sources=lambda: claim_sources(plan, screened),
                      summary=summarise(claims, exceptions, screened.rows_in))


def _line_claims(plan: ProductPlan, screened: Screened) -> pd.DataFrame:
    """Stage 1: one row per (unit, line) with the line's own amounts (:func:`claims.engine.lines.line_units`)
    and ``line_pos``; the roster codes −1 where a row has none (e.g. a line without events)."""
    _build_index_hash(screened.households)
    with ThreadPoolExecutor(max_workers=2) as pool:  # lines are independent (numpy releases the GIL)
        frames = list(pool.map(lambda line: line_units(line, screened.events.get(line.id), screened.households,
                                                       trace=False), plan.lines))
    for pos, units in enumerate(frames):
        units["line_pos"] = pos
    claims = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    for col in ("unit_code", "household_code"):
        if col in claims.columns:
            claims[col] = claims[col].fillna(-1).astype("int64")
    return claims


def _with_paid(plan: ProductPlan, claims: pd.DataFrame, screened: Screened, paid: pd.DataFrame | None,
               persons: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage 2: (claims with ``paid_before``, payments on lines the product does not have).  What was paid
    is keyed by text: when there is any, every claim takes its ids first."""
    totals = paid_totals(paid)
    if len(totals):
        line_pos = claims["line_pos"].to_numpy(dtype=np.int64)
        claims = with_ids(claims, screened, plan.person_rows(line_pos))
        claims["line_id"] = _labels(plan.line_ids, line_pos)
    return merge_paid(plan, claims, totals, persons)


def _owing_in_order(plan: ProductPlan, claims: pd.DataFrame, screened: Screened) -> pd.DataFrame:
    """Stage 3: the claims with a base or a payment, in (line, household, unit) order, with
    ``due`` = max(0, entitlement − paid_before).  Units that owe nothing and were paid nothing take no
    room under a shared cap: dropped before sorting."""
    capped = np.flatnonzero((claims["base"].to_numpy() > 0) | (claims["paid_before"].to_numpy() != 0))
    claims = claims.take(claim_order(claims, screened, plan.person_rows(claims["line_pos"].to_numpy()), capped))
    claims = claims.reset_index(drop=True)
    claims["due"] = np.maximum(0, claims["entitlement"].to_numpy() - claims["paid_before"].to_numpy())
    return claims


def _shown(claims: pd.DataFrame, cap_notes: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The claims with a base or a positive payment (and their cap notes): a negative payment (a raw API
    caller's) counts under the caps but is not a claim."""
    shown = (claims["base"].to_numpy() > 0) | (claims["paid_before"].to_numpy() > 0)
    if shown.all():
        return claims, cap_notes
    return claims[shown].reset_index(drop=True), cap_notes[shown]


def _claim_rows(plan: ProductPlan, claims: pd.DataFrame, households: pd.DataFrame, cap_notes: np.ndarray,
                *, traces: bool | str) -> pd.DataFrame:
    """Stage 5: the claims in :data:`CLAIM_COLUMNS`: the line's labels, the household's village, the amounts
    (entitlement = min(the line's entitlement, paid before + due); overpaid = max(0, paid before − the
    line's entitlement)) and the trace (empty with ``traces=False``)."""
    n = len(claims)
    line_pos = claims["line_pos"].to_numpy()
    paid_before_fen = claims["paid_before"].to_numpy()
    line_entitlement_fen = claims["entitlement"].to_numpy()
    household = claims["household_code"].to_numpy() if "household_code" in claims.columns else np.full(n, -1)
    by_code = bool(n) and household.min() >= 0
    out = {
        "product_code": _labels([plan.code], np.zeros(n, dtype=np.int64)),
        "product_digest": _labels([plan.digest], np.zeros(n, dtype=np.int64)),
        "line_id": _labels(plan.line_ids, line_pos),
        "line_name": _labels(plan.line_names, line_pos),
        "peril": _labels(plan.perils, line_pos),
        "unit_type": _labels(plan.unit_types, line_pos),
        "unit_id": claims["unit_id"], "household_no": claims["household_no"],
        **{col: (_take_text(households[col], household) if by_code else claims["household_no"].map(households[col]))
           for col in ("village_code", "natural_village")},
        "base": claims["base"], "uncapped": claims["uncapped"],
        "entitlement": np.minimum(line_entitlement_fen, paid_before_fen + claims["due"].to_numpy()),
        "paid_before": paid_before_fen, "due": claims["due"],
        "overpaid": np.maximum(0, paid_before_fen - line_entitlement_fen),
        "rows": claims["rows"], "first_event": claims["first_event"], "last_event": claims["last_event"],
    }
    out["trace"] = np.array([""], dtype=object)[np.zeros(n, dtype=np.intp)]
    chosen = traced_claims(trace_mode(traces), claims["due"].to_numpy(), out["overpaid"])
    if len(chosen):
        traced = claims.assign(line_entitlement=line_entitlement_fen, entitlement=out["entitlement"],
                               overpaid=out["overpaid"])
        if len(chosen) < n:
            traced, cap_notes = traced.take(chosen).reset_index(drop=True), cap_notes[chosen]
        out["trace"][chosen] = claim_traces(plan, traced, cap_notes).astype(object)
    return pd.DataFrame(out, columns=CLAIM_COLUMNS, copy=False)


def trace_mode(traces: bool | str) -> str:
    """``True`` → ``"all"``, ``False`` → ``"none"``, a name of :data:`TRACE_MODES` → itself."""
    mode = {True: "all", False: "none"}.get(traces, traces) if isinstance(traces, bool) else traces
    if mode not in TRACE_MODES:
        raise ValueError(f"traces must be one of {', '.join(TRACE_MODES)}: {traces!r}")
    return mode


def traced_claims(mode: str, due_fen: np.ndarray, overpaid_fen: np.ndarray) -> np.ndarray:
    """Positions of the claims that get a trace under ``mode`` (:data:`TRACE_MODES`)."""
    if mode == "none":
        return np.zeros(0, dtype=np.intp)
    if mode == "all":
        return np.arange(len(due_fen))
    return np.flatnonzero((np.asarray(due_fen) > 0) | (np.asarray(overpaid_fen) > 0))


def keep_traces(claims: pd.DataFrame, mode: str) -> pd.DataFrame:
    """Claims computed with every trace → the traces of ``mode`` only, the others emptied (the Dask engine
    builds them all)."""
    kept = traced_claims(trace_mode(mode), claims["due"].to_numpy(), claims["overpaid"].to_numpy())
    if len(kept) == len(claims):
        return claims
    trace = np.array([""], dtype=object)[np.zeros(len(claims), dtype=np.intp)]
    trace[kept] = claims["trace"].to_numpy(dtype=object)[kept]
    return claims.assign(trace=trace)


def claim_traces(plan: ProductPlan, claims: pd.DataFrame, cap_notes: np.ndarray) -> np.ndarray:
    """计算过程 per claim: ``[code/line] `` + the line's own text + the cap notes + ``已付 …；本次应付 …``
    (+ ``；多付 …，需冲正``)."""
    n = len(claims)
    own_text = _own_text(plan, claims)
    notes = np.full(n, "", dtype=tr.TEXT)
    noted = np.flatnonzero(cap_notes != "")
    notes[noted] = cap_notes[noted].astype(str)
    heads = np.array(["[" + plan.code + "/" + line_id + "] " for line_id in plan.line_ids], dtype=tr.TEXT)
    overpaid_fen = claims["overpaid"].to_numpy()
    tail = "已付 " + tr.yuan(claims["paid_before"]) + "；本次应付 " + tr.yuan(claims["due"])
    over = np.flatnonzero(overpaid_fen > 0)
    if len(over):
        tail[over] = tail[over] + "；多付 " + tr.yuan(overpaid_fen[over]) + "，需冲正"
    body = np.where(np.strings.str_len(own_text) > 0, own_text + "；", own_text)
    body = np.where(np.strings.str_len(notes) > 0, body + notes + "；", body)
    return heads[claims["line_pos"].to_numpy()] + body + tail if n else np.array([], dtype=tr.TEXT)


def _own_text(plan: ProductPlan, claims: pd.DataFrame) -> np.ndarray:
    """Each claim's line text: bracket lines' built here (only for the claims kept), the other kinds'
    and paid-only rows' as the line stage wrote it."""
    n = len(claims)
    line_pos = claims["line_pos"].to_numpy()
    rows = claims["rows"].to_numpy()
    own_text = np.full(n, "", dtype=tr.TEXT)
    built = np.zeros(n, dtype=bool)
    for pos, line in enumerate(plan.lines):
        if line.kind != "bracket":
            continue
        sel = np.flatnonzero((line_pos == pos) & (rows > 0))
        if len(sel):
            own_text[sel] = bracket_trace(line, claims["base"].to_numpy()[sel], rows[sel],
                                          claims["uncapped"].to_numpy()[sel],
                                          claims["line_entitlement"].to_numpy()[sel])
            built[sel] = True
    other = np.flatnonzero(~built)
    if len(other):
        own_text[other] = np.asarray(claims["trace"].iloc[other].fillna("").astype(object).to_numpy(dtype=object)
                                     .astype(str), dtype=tr.TEXT)
    return own_text


def claim_sources(plan: ProductPlan, screened: Screened) -> pd.DataFrame:
    """Which report rows (file, line, amount) make up each claim's base: one row per event of each line."""
    frames = []
    for line in plan.lines:
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


def _labels(names: list[str], codes: np.ndarray) -> pd.Series:
    """A per-line label (line id, name, peril …) repeated per claim, as text taken by Arrow."""
    return _take_text(pd.Series(names, dtype="str"), codes)


def _take_text(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """values[positions] as text, taken by Arrow (no Python string per row)."""
    arr = pa.array(values.astype(str).array)
    return pd.Series(pd.array(arr.take(pa.array(positions)), dtype="str"))


def _build_index_hash(frame: pd.DataFrame) -> None:
    """Build ``frame``'s index hash table now: pandas builds it lazily, on first look-up, and the line
    threads look it up at the same time."""
    _ = frame.index.is_unique  # the look-up that builds the table


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
