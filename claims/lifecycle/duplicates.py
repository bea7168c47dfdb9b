"""Cross-department duplicates: one hospitalisation reported by 医保 (medical settlement) and by the
accident report (kind ``hospital``).

A pair (medical row m, accident row a) is the same event when

    m.id_no == a.id_no  and  a.kind == "hospital"
    and  0 ≤ (m.setl_date − a.event_date) ≤ window_days          (calendar days)

i.e. the settlement falls on or after the accident date, within the window.  Such pairs are flagged
for the investigator; nothing here decides which side pays.  Pure and vectorised (merge, then filter).
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["id_no", "setl_id", "medical_date", "accident_date", "accident_file", "accident_line", "detail"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})


def cross_department_duplicates(medical_rows: pd.DataFrame | None, accident_rows: pd.DataFrame | None,
                                window_days: int = 30) -> pd.DataFrame:
    """Pairs of a medical settlement and an accident hospitalisation of the same person (see module doc).

    medical_rows: id_no, setl_id, setl_date; accident_rows: id_no, event_date, kind, source_file,
    source_line.  Returns :data:`COLUMNS`, one row per pair, ordered by id_no, accident date, setl_id.
    """
    if medical_rows is None or accident_rows is None or len(medical_rows) == 0 or len(accident_rows) == 0:
        return _empty()
    acc = accident_rows.loc[accident_rows["kind"].astype("str") == "hospital"]
    if len(acc) == 0:
        return _empty()
    med = pd.DataFrame({"id_no": medical_rows["id_no"].astype("str"), "setl_id": medical_rows["setl_id"].astype("str"),
                        "medical_date": pd.to_datetime(medical_rows["setl_date"])})
    acc = pd.DataFrame({"id_no": acc["id_no"].astype("str"), "accident_date": pd.to_datetime(acc["event_date"]),
                        "accident_file": acc["source_file"].astype("str") if "source_file" in acc else "",
                        "accident_line": acc["source_line"].astype("int64") if "source_line" in acc else 0})
    pairs = med.merge(acc, on="id_no", how="inner")
    gap = (pairs["medical_date"] - pairs["accident_date"]).dt.days
    pairs = pairs.loc[(gap >= 0) & (gap <= window_days)].copy()
    if len(pairs) == 0:
        return _empty()
    pairs = pairs.sort_values(["id_no", "accident_date", "setl_id"], kind="stable").reset_index(drop=True)
    med_day = pairs["medical_date"].dt.strftime("%Y-%m-%d")
    acc_day = pairs["accident_date"].dt.strftime("%Y-%m-%d")
    where = pairs["accident_file"] + " 第 " + pairs["accident_line"].astype(str) + " 行"
    where_en = pairs["accident_file"] + " line " + pairs["accident_line"].astype(str)
    pairs["detail"] = (
        "疑似跨部门重复：医保结算 " + pairs["setl_id"] + "（" + med_day + "）与意外住院（" + acc_day + "，" + where
        + "）可能为同一事件，请调查核实 / possible cross-department duplicate: medical settlement " + pairs["setl_id"]
        + " (" + med_day + ") and accident hospitalisation (" + acc_day + ", " + where_en
        + ") may be the same event; investigate").astype(object)
    return pairs[COLUMNS]


__all__ = ["COLUMNS", "cross_department_duplicates"]
