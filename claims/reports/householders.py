"""Who heads a household (:func:`is_head`, the one rule: the report readers, payouts, notices and pages
use it), and report rows keyed by the householder's resident ID instead of a household number (a
disaster list written as 户主身份证号): the household is the one the roster person with that ID heads.

Pure (frames in, frames out); used by the stateless run (:mod:`claims.engine.screening`) and by the database
import (:mod:`claims.lifecycle.imports`, with the stored persons of those IDs), before record identity is judged:
a record's identity names its household.
"""

from __future__ import annotations

import pandas as pd

from claims.reports.exceptions import exceptions_frame
from tabular.keys import key_positions

#: The relation (与户主关系) of a household's head on the roster.
HOUSEHOLD_HEAD = "户主"


def is_head(relation: str | None) -> bool:
    """Whether a roster person with this relation (与户主关系) heads the household: relation 户主, or no
    relation given (a roster without relations)."""
    return bool(pd.isna(relation)) or relation == HOUSEHOLD_HEAD


def heads(relation: pd.Series) -> pd.Series:
    """:func:`is_head` over a column of relations (bool)."""
    return (relation == HOUSEHOLD_HEAD).fillna(False) | relation.isna()

HOUSEHOLDER_REASONS: dict[str, str] = {
    "unknown_householder": (
        "户主身份证号不是参保名单中任何一户的户主：请填写户编号，或核对户主身份证号 / the householder's resident ID is "
        "not the head (户主) of any household on the insured roster: give the household number, or check the ID"
    ),
}


def households_of_householders(rows: pd.DataFrame, persons: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows keyed by the householder's resident ID instead of a household number (``householder_id``
    given, ``household_no`` blank: a disaster list) get the household of the roster person with that ID
    who heads it (:func:`is_head`).  → (rows, exceptions): rows
    whose ID heads no household leave the frame as ``unknown_householder`` errors."""
    if "householder_id" not in rows or not len(rows):
        return rows, exceptions_frame([], [], [], [], "error")
    keyed = (rows["household_no"].isna() & rows["householder_id"].notna()).to_numpy()
    if not keyed.any():
        return rows, exceptions_frame([], [], [], [], "error")
    relation = persons["relation"] if "relation" in persons else pd.Series(pd.NA, index=persons.index)
    heading = persons[heads(relation)]
    position = key_positions(heading["id_no"].reset_index(drop=True), rows["householder_id"].fillna(""))
    found = keyed & (position >= 0)
    lost = keyed & (position < 0)
    household = rows["household_no"].copy()
    household[found] = heading["household_no"].to_numpy(dtype=object)[position[found]]
    errors = exceptions_frame(rows["source_file"][lost], rows["source_line"][lost], "unknown_householder",
                              "户主身份证号 / householder_id " + rows["householder_id"][lost].astype(str), "error")
    return rows.assign(household_no=household)[~lost].reset_index(drop=True), errors
