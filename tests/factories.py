"""Tiny synthetic rosters and canonical report rows for engine tests (all people are synthetic)."""

from __future__ import annotations

import pandas as pd

from tabular.resident_id import make_id

VILLAGE = "130434100200"


def pid(n: int, birth: str = "19800101") -> str:
    """The n-th synthetic resident ID (valid GB 11643 check digit)."""
    return make_id("130434", birth, n)


def roster(households: list[dict], persons: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """households: {household_no, category=脱贫不稳定户, income_yuan=5000, members=None} (脱贫不稳定户: covered by
    both catalog products, 防贫保 and 助农保 — a 建档立卡 category, seeds 000/002 篇七);
    persons: {n, household_no, name}.  Amounts in the engine's fen."""
    p = pd.DataFrame({
        "id_no": [pid(x["n"]) for x in persons],
        "name": [x.get("name", f"测试{x['n']}") for x in persons],
        "household_no": [x["household_no"] for x in persons],
        "relation": [x.get("relation", "户主") for x in persons],
    })
    counts = p.groupby("household_no").size()
    h = pd.DataFrame({
        "household_no": [x["household_no"] for x in households],
        "village_code": [x.get("village_code", VILLAGE) for x in households],
        "natural_village": [x.get("natural_village", "张庄") for x in households],
        "category": [x.get("category", "脱贫不稳定户") for x in households],
        "per_capita_income": [int(x.get("income_yuan", 5000) * 100) for x in households],
        "members": [x.get("members") or int(counts.get(x["household_no"], 1)) for x in households],
    })
    return p, h


def medical(rows: list[tuple[int, str, int]], file: str = "medical.csv", start_id: int = 1) -> pd.DataFrame:
    """rows: (person n, settlement date, self_paid in fen).  Total cost = self_paid + 1000.00 fund payment."""
    n = len(rows)
    return pd.DataFrame({
        "setl_id": [f"S{start_id + i:08d}" for i in range(n)],
        "id_no": [pid(r[0]) for r in rows],
        "setl_date": pd.to_datetime([r[1] for r in rows]),
        "medfee_sumamt": pd.Series([r[2] + 100000 for r in rows], dtype="int64"),
        "hifp_pay": pd.Series([100000] * n, dtype="int64"),
        "hifmi_pay": pd.Series([0] * n, dtype="int64"),
        "maf_pay": pd.Series([0] * n, dtype="int64"),
        "oth_pay": pd.Series([0] * n, dtype="int64"),
        "fulamt_ownpay_amt": pd.Series([0] * n, dtype="int64"),
        "overlmt_selfpay": pd.Series([0] * n, dtype="int64"),
        "self_paid": pd.Series([r[2] for r in rows], dtype="int64"),
        "policy_self_paid": pd.Series([r[2] for r in rows], dtype="int64"),
        "source_file": file,
        "source_line": pd.Series(range(2, n + 2), dtype="int64"),
    })


def education(rows: list[tuple[int, int, str, int, bool]], file: str = "education.csv") -> pd.DataFrame:
    """rows: (person n, school year, level, net cost fen, entry)."""
    n = len(rows)
    return pd.DataFrame({
        "id_no": [pid(r[0]) for r in rows],
        "school_year": [r[1] for r in rows],
        "event_date": pd.to_datetime([f"{r[1]}-09-01" for r in rows]),
        "level": [r[2] for r in rows],
        "tuition": pd.Series([r[3] for r in rows], dtype="int64"),
        "accommodation": pd.Series([0] * n, dtype="int64"),
        "textbooks": pd.Series([0] * n, dtype="int64"),
        "other_aid": pd.Series([0] * n, dtype="int64"),
        "entry": [r[4] for r in rows],
        "net_cost": pd.Series([r[3] for r in rows], dtype="int64"),
        "source_file": file,
        "source_line": pd.Series(range(2, n + 2), dtype="int64"),
    })


def disaster(rows: list[tuple[str, str, str, int]], file: str = "disaster.csv") -> pd.DataFrame:
    """rows: (household_no, date, disaster_type, net loss fen)."""
    n = len(rows)
    return pd.DataFrame({
        "household_no": [r[0] for r in rows],
        "event_date": pd.to_datetime([r[1] for r in rows]),
        "disaster_type": [r[2] for r in rows],
        "assessed_loss": pd.Series([r[3] for r in rows], dtype="int64"),
        "other_compensation": pd.Series([0] * n, dtype="int64"),
        "net_loss": pd.Series([r[3] for r in rows], dtype="int64"),
        "source_file": file,
        "source_line": pd.Series(range(2, n + 2), dtype="int64"),
    })


def accident(rows: list[tuple[int, str, str, int | None, int]], file: str = "accident.csv") -> pd.DataFrame:
    """rows: (person n, date, kind, grade or None, medical cost fen)."""
    n = len(rows)
    return pd.DataFrame({
        "id_no": [pid(r[0]) for r in rows],
        "event_date": pd.to_datetime([r[1] for r in rows]),
        "kind": [r[2] for r in rows],
        "grade": pd.array([r[3] for r in rows], dtype="Int64"),
        "medical_cost": pd.Series([r[4] for r in rows], dtype="int64"),
        "source_file": file,
        "source_line": pd.Series(range(2, n + 2), dtype="int64"),
    })


def income(rows: list[tuple[str, str, int]], file: str = "income.csv") -> pd.DataFrame:
    """rows: (household_no, as_of date, per-capita income fen)."""
    return pd.DataFrame({
        "household_no": [r[0] for r in rows],
        "as_of": pd.to_datetime([r[1] for r in rows]),
        "per_capita_income": pd.Series([r[2] for r in rows], dtype="int64"),
        "source_file": file,
        "source_line": pd.Series(range(2, len(rows) + 2), dtype="int64"),
    })


def paid(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """rows: (unit_id, line_id, paid fen)."""
    return pd.DataFrame(rows, columns=["unit_id", "line_id", "paid"])
