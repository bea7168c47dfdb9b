"""Claims and exception lists as files people open: CSV in UTF-8 with BOM (Excel reads it), yuan with two decimals.

The column map is explicit: engine column → file column, and which columns are money (fen → yuan text).
Every text cell is written formula-safe (:mod:`tabular.safe_cells`, OWASP): a cell starting with ``= + - @``,
tab or CR gets a leading ``'``; money columns are numbers and are written as they are (``-12.00``).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pandas as pd

from claims.engine.screening import SCREEN_REASONS
from claims.reports import REASONS
from claims.reports.exceptions import EXCEPTION_COLUMNS
from tabular.money import fen_to_yuan_text
from tabular.safe_cells import formula_safe_frame

#: Every reason code the readers and the screening can give, with its "中文 / English" text.
ALL_REASONS: dict[str, str] = {**REASONS, **SCREEN_REASONS}

#: claims.csv: the issue's required columns first, then the helpful extras.
CLAIMS_CSV_COLUMNS = [
    "product_code", "line_id", "unit_type", "unit_id", "household_no", "village_code", "base", "entitlement",
    "paid_before", "due", "trace",
    "line_name", "peril", "natural_village", "uncapped", "overpaid", "rows", "first_event", "last_event",
    "product_digest",
]
MONEY = {"base", "uncapped", "entitlement", "paid_before", "due", "overpaid"}
DATES = {"first_event", "last_event"}


def claims_for_export(claims: pd.DataFrame) -> pd.DataFrame:
    """Engine claims (fen) → export frame (yuan text, dates as YYYY-MM-DD), in CLAIMS_CSV_COLUMNS order."""
    out = pd.DataFrame(index=claims.index)
    for col in CLAIMS_CSV_COLUMNS:
        values = claims[col]
        if col in MONEY:
            values = fen_to_yuan_text(values.astype("int64"))
        elif col in DATES:
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("")
        out[col] = values
    return out


def write_csv(frame: pd.DataFrame, path: str | Path, numeric: Collection[str] = ()) -> Path:
    """UTF-8 with BOM so that Excel on a county office PC shows the Chinese text correctly.  Text columns
    are made formula-safe; ``numeric`` names the columns that hold numbers as text (yuan amounts), which are
    not (numeric dtypes never are)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    formula_safe_frame(frame, numeric).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def write_claims(claims: pd.DataFrame, path: str | Path) -> Path:
    return write_csv(claims_for_export(claims), path, numeric=MONEY)


def write_sources(sources: pd.DataFrame, path: str | Path) -> Path:
    """claim_sources.csv: which report rows (file, line) make up each claim's base, amounts in yuan."""
    out = sources[["line_id", "unit_id", "source_file", "source_line"]].copy()
    out["amount"] = fen_to_yuan_text(sources["amount"].astype("int64"))
    return write_csv(out, path, numeric={"amount"})


def write_exceptions(exceptions: pd.DataFrame, path: str | Path) -> Path:
    """exceptions.csv: file, line, reason, detail, severity, reason_text (the code explained, bilingual)."""
    out = exceptions.reindex(columns=EXCEPTION_COLUMNS)
    out["reason_text"] = out["reason"].map(ALL_REASONS).fillna("")
    return write_csv(out, path)
