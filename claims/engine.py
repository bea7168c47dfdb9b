"""The bulk claims engine: product + roster + department reports (+ what was paid) → claims.

Pure and vectorised: frames in, frames out, integer fen, no I/O.  For every (unit, line):

    entitlement = the line's schedule on the year-to-date base, then caps in this order:
                  the line's per-year cap → the line's household cap (or victims table)
                  → the product's per-person cap → the product's per-household cap
    due now     = max(0, entitlement − already paid for that unit and line this year)

Shared caps are applied to what is still due against what was already paid (see :mod:`claims.caps`),
so twelve monthly runs pay exactly what one yearly run pays, and re-running the same inputs pays 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from products.model import Product

from . import trace as tr
from .caps import allocate
from .exceptions import exceptions_frame
from .lines import line_units
from .screening import Screened, screen_reports

CLAIM_COLUMNS = [
    "product_code", "product_digest", "line_id", "line_name", "peril", "unit_type", "unit_id", "household_no",
    "village_code", "natural_village", "base", "uncapped", "entitlement", "paid_before", "due", "overpaid",
    "rows", "first_event", "last_event", "trace",
]
MONEY_COLUMNS = ["base", "uncapped", "entitlement", "paid_before", "due", "overpaid"]
NO_CAP = -1


@dataclass
class CalcResult:
    """Claims (one row per unit and line), the exception list, per-claim source rows and a summary."""

    claims: pd.DataFrame
    exceptions: pd.DataFrame
    sources: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


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


def _stage(claims: pd.DataFrame, mask: np.ndarray, group: pd.Series, order: list[pd.Series],
           cap: np.ndarray, label: str, cap_label: pd.Series | str) -> None:
    """Apply one shared cap to the rows under ``mask``: cut ``due`` and note the cut in the trace."""
    if not mask.any():
        return
    sub = claims[mask]
    before = sub["due"].to_numpy()
    after = allocate(group[mask], [o[mask] for o in order], before, sub["paid_before"].to_numpy(), cap)
    cut = before - after
    claims.loc[mask, "due"] = after
    note = cap_label if isinstance(cap_label, str) else tr.text(cap_label[mask])
    text = label + note + "，削减 " + tr.yuan(cut)
    claims.loc[mask, "cap_notes"] = tr.join([tr.text(sub["cap_notes"]), tr.when(cut > 0, text)], "；").astype(object)


def _apply_shared_caps(product: Product, claims: pd.DataFrame) -> None:
    line_pos = claims["line_pos"]
    order_in_line = [claims["order_date"], claims["unit_id"]]
    # 1. a line's household cap (household_per_year, or by number of victims)
    for pos, line in enumerate(product.lines):
        mask = (line_pos == pos).to_numpy()
        if line.cap_household_per_year is not None:
            cap = np.full(mask.sum(), line.cap_household_per_year, dtype=np.int64)
            _stage(claims, mask, claims["household_no"], order_in_line, cap, "户内同责任合计封顶 ",
                   tr.yuan1(line.cap_household_per_year))
        elif line.household_cap_by_victims:
            sub = claims[mask]
            hit = (sub["entitlement"] > 0) | (sub["paid_before"] > 0)
            victims = hit.groupby(sub["household_no"]).transform("sum").to_numpy()
            cap = _victims_cap(line.household_cap_by_victims, victims)
            label = tr.text(victims) + " 人受害，户封顶 " + tr.yuan(cap)
            labels = pd.Series("", index=claims.index, dtype="object")
            labels[mask] = label.astype(object)
            _stage(claims, mask, claims["household_no"], order_in_line, cap, "", labels)
    # 2. the product's per-person cap across person-basis lines, in the order the lines are listed
    if product.cap_per_person_year is not None:
        mask = (claims["unit_type"] == "person").to_numpy()
        cap = np.full(mask.sum(), product.cap_per_person_year, dtype=np.int64)
        _stage(claims, mask, claims["unit_id"], [line_pos], cap, "产品每人年度封顶 ", tr.yuan1(product.cap_per_person_year))
    # 3. the product's per-household cap across all lines and units
    if product.cap_per_household_year is not None:
        mask = np.ones(len(claims), dtype=bool)
        cap = np.full(len(claims), product.cap_per_household_year, dtype=np.int64)
        _stage(claims, mask, claims["household_no"], [line_pos, *order_in_line], cap, "产品每户年度封顶 ",
               tr.yuan1(product.cap_per_household_year))


def _merge_paid(product: Product, claims: pd.DataFrame, paid: pd.DataFrame,
                persons: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach what was already paid.  A unit paid before but without a base now stays as a claim row
    (it shows up as overpaid); paid amounts for a line the product does not have are returned apart."""
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
    merged = merged.drop(columns="_merge").rename(columns={"paid": "paid_before"})
    merged["line_pos"] = merged["line_pos"].astype("int64")
    return merged, paid[~known]


def compute_from_screened(product: Product, screened: Screened, persons: pd.DataFrame,
                          paid: pd.DataFrame | None = None) -> CalcResult:
    """The engine proper, after screening."""
    frames = []
    for pos, line in enumerate(product.lines):
        units = line_units(line, screened.events.get(line.id), screened.households)
        units["line_pos"] = pos
        frames.append(units)
    claims = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    claims["line_id"] = pd.Series([product.lines[p].id for p in claims["line_pos"]], index=claims.index, dtype="object")

    claims, unmatched = _merge_paid(product, claims, _paid_frame(paid), persons)
    claims = claims.sort_values(["line_pos", "household_no", "unit_id"], kind="stable").reset_index(drop=True)

    lines = product.lines
    claims["unit_type"] = [lines[p].basis for p in claims["line_pos"]]
    claims["due"] = np.maximum(0, claims["entitlement"].to_numpy() - claims["paid_before"].to_numpy())
    claims["cap_notes"] = ""
    _apply_shared_caps(product, claims)

    paid_b = claims["paid_before"].to_numpy()
    unit_ent = claims["entitlement"].to_numpy()
    claims["entitlement"] = np.minimum(unit_ent, paid_b + claims["due"].to_numpy())
    claims["overpaid"] = np.maximum(0, paid_b - unit_ent)

    facts = screened.households
    claims["village_code"] = claims["household_no"].map(facts["village_code"])
    claims["natural_village"] = claims["household_no"].map(facts["natural_village"])
    claims["product_code"] = product.code
    claims["product_digest"] = product.digest
    claims["line_name"] = [lines[p].name for p in claims["line_pos"]]
    claims["peril"] = [lines[p].peril for p in claims["line_pos"]]
    tail = ("已付 " + tr.yuan(paid_b) + "；本次应付 " + tr.yuan(claims["due"])
            + tr.when(claims["overpaid"] > 0, "；多付 " + tr.yuan(claims["overpaid"]) + "，需冲正"))
    head = "[" + product.code + "/" + tr.text(claims["line_id"]) + "] "
    claims["trace"] = (head + tr.join([tr.text(claims["trace"]), tr.text(claims["cap_notes"]), tail], "；")).astype(object)
    keep = (claims["base"] > 0) | (claims["paid_before"] > 0)
    claims = claims[keep][CLAIM_COLUMNS].reset_index(drop=True)

    sources = pd.concat(
        [ev.assign(line_id=lid)[["line_id", "unit_id", "source_file", "source_line", "amount"]]
         for lid, ev in screened.events.items() if len(ev)], ignore_index=True,
    ) if any(len(ev) for ev in screened.events.values()) else pd.DataFrame(
        columns=["line_id", "unit_id", "source_file", "source_line", "amount"])
    exceptions = screened.exceptions
    if len(unmatched):
        exceptions = pd.concat([exceptions, exceptions_frame(
            "paid", pd.Series(np.zeros(len(unmatched), dtype=np.int64)), "paid_unknown_line",
            "责任 / line " + unmatched["line_id"].astype(str) + "，对象 / unit " + unmatched["unit_id"].astype(str)
            + "，已付 / paid " + pd.Series(tr.yuan(unmatched["paid"]), index=unmatched.index).astype(str))],
            ignore_index=True)
    return CalcResult(claims=claims, exceptions=exceptions, sources=sources,
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
        "by_line": {k: {c: int(v) for c, v in row.items()} for k, row in by_line.iterrows()},
        "exceptions": {str(k): int(v) for k, v in exceptions.groupby("reason").size().items()}
        if len(exceptions) else {},
    }


def run_calculation(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                    reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
                    paid: pd.DataFrame | None = None) -> CalcResult:
    """Screen the reports and compute every claim the product owes (see module docstring)."""
    screened = screen_reports(product, persons, households, reports)
    return compute_from_screened(product, screened, persons, paid)


def compute_claims(product: Product, persons: pd.DataFrame, households: pd.DataFrame,
                   reports: Mapping[str, pd.DataFrame | Iterable[pd.DataFrame]],
                   paid: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (unit, line) with base, entitlement, paid before, due now and its trace (fen).

    ``reports`` maps a department (medical, education, disaster, accident, income) to the canonical
    rows of one or more report files (as read by :func:`claims.reports.read_report`); ``paid`` has
    ``unit_id, line_id, paid`` (fen).  Use :func:`run_calculation` for exceptions and sources too.
    """
    return run_calculation(product, persons, households, reports, paid).claims
