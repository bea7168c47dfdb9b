"""Claims in (line, household_no, unit_id) text order, and the unit and household text of claim rows that
carry roster codes only.

The order is the one the shared caps' row position stands for (the unit-id order within a line and
household) and the one claims.csv lists.  It is found on int64 keys where possible: the household's
lexicographic rank in the roster, and for persons the 17-digit ID body (equal-length digit strings sort
as their numbers; the check digit follows from the body).  Otherwise Arrow sorts the text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims.engine.caps import sort_order
from claims.engine.screening import Screened


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


def with_ids(claims: pd.DataFrame, screened: Screened, person_rows: np.ndarray) -> pd.DataFrame:
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


def claim_order(claims: pd.DataFrame, screened: Screened, person_rows: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` (positions in ``claims``) in (line, household_no, unit_id) text order (module docstring)."""
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
    sub = with_ids(claims.iloc[rows].reset_index(drop=True), screened, person)  # the text of these rows only
    return rows[_text_sort(sub)]
