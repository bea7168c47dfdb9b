"""What was already paid this policy year, attached to the claims (fen).

``paid`` rows (``unit_id, line_id, paid``) are summed per (line, unit) and joined to the claim rows by
text: ``paid_before`` of a claim is Σ paid of its line and unit (0 when none).  A unit paid before but
without a base now stays as a claim row (it shows up as overpaid); payments on a line the product does
not have are set apart and listed as exceptions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from claims.engine import trace as tr
from claims.engine.plan import ProductPlan
from claims.reports.exceptions import exceptions_frame

#: The household of a unit paid before that is not on the roster (a paid-only row of a person-basis line).
NOT_ON_ROSTER = "(不在名单 / not on roster)"


def paid_totals(paid: pd.DataFrame | None) -> pd.DataFrame:
    """Σ paid (fen) per (line_id, unit_id); an empty frame with those columns when nothing was paid."""
    if paid is None or len(paid) == 0:
        return pd.DataFrame({"line_id": pd.Series(dtype="object"), "unit_id": pd.Series(dtype="object"),
                             "paid": pd.Series(dtype="int64")})
    p = paid[["line_id", "unit_id", "paid"]].astype({"line_id": str, "unit_id": str, "paid": "int64"})
    return p.groupby(["line_id", "unit_id"], as_index=False)["paid"].sum()


def merge_paid(plan: ProductPlan, claims: pd.DataFrame, paid: pd.DataFrame,
               persons: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims with ``paid_before``, the paid rows of lines the product does not have).  ``paid``: the
    totals of :func:`paid_totals`; ``claims`` carry their line and unit ids when ``paid`` has rows."""
    if len(paid) == 0:  # nothing paid before: no join (the first run of a year, and the benchmark)
        claims = claims.rename(columns={}).assign(paid_before=np.zeros(len(claims), dtype=np.int64))
        claims["line_pos"] = claims["line_pos"].astype("int64")
        return claims, paid
    known = paid["line_id"].isin(list(plan.position))
    merged = claims.merge(paid[known], on=["line_id", "unit_id"], how="outer", indicator=True)
    only_paid = (merged["_merge"] == "right_only").to_numpy()
    if only_paid.any():
        merged.loc[only_paid, "line_pos"] = merged.loc[only_paid, "line_id"].map(plan.position)
        basis = merged["line_pos"].astype(int).map(lambda pos: plan.unit_types[pos])
        person_hh = persons.set_index("id_no")["household_no"]
        hh = pd.Series(np.where(basis == "person", merged["unit_id"].map(person_hh), merged["unit_id"]),
                       index=merged.index).fillna(NOT_ON_ROSTER)
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


def with_unknown_line_payments(exceptions: pd.DataFrame, unmatched: pd.DataFrame) -> pd.DataFrame:
    """The exception list with one ``paid_unknown_line`` row per payment on a line the product does not
    have (the line, the unit and the amount in yuan)."""
    if not len(unmatched):
        return exceptions
    detail = ("责任 / line " + unmatched["line_id"].astype(str) + "，对象 / unit " + unmatched["unit_id"].astype(str)
              + "，已付 / paid " + pd.Series(tr.yuan(unmatched["paid"]), index=unmatched.index).astype(str))
    unknown = exceptions_frame("paid", pd.Series(np.zeros(len(unmatched), dtype=np.int64)), "paid_unknown_line",
                               detail)
    return pd.concat([exceptions, unknown], ignore_index=True)
