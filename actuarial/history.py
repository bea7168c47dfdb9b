"""Claims history and exposure for the budget (出险历史与承保人数): readers for files and the database.

The frames :func:`actuarial.budget.budget` takes (one row per claim = unit × line × year):

* claims: ``year`` int, ``county`` str (6-digit division code, 县级区划代码), ``peril`` str (the product
  LINE id: illness / schooling / disaster …), ``ground_up`` float yuan (the unit's year total of the
  line's measure, the engine's ``base``; NaN when unknown), ``paid`` float yuan (what the line paid or
  owes for it, the engine's ``entitlement``); optional ``report_lag`` (quarters from the start of the
  policy year to the claim's first report, 0 = first quarter; for the development of the latest year);
* exposure: ``year`` int, ``county`` str, ``heads`` int (insured heads, 参保人数), one row per county-year
  (rows repeated for the same county-year are summed).

:func:`read_claims` accepts two layouts (CSV/TXT, Excel or Parquet, through
:func:`tabular.sheets.read_table`):

1. the history layout, with canonical or Chinese headers (:data:`CLAIMS_COLUMNS`); ``county`` may be
   given as the 12-digit village code, its first 6 digits are kept; a blank ``ground_up`` is NaN;
2. the engine's ``claims.csv`` (:data:`claims.engine.output.CLAIMS_CSV_COLUMNS`): year = year of
   ``first_event``, county = ``village_code[:6]``, peril = ``line_id``, ground_up = ``base``,
   paid = ``entitlement``; rows with base 0 (nothing happened on the line) are dropped.

Amounts are read as yuan with at most two decimals (:func:`tabular.money.parse_fen`, then fen / 100).
Bad files raise :class:`tabular.files.TableError` with a "中文 / English" message naming the file and
the lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from tabular.cells import cell_text, unwrap_text
from tabular.files import TableError, source_name
from tabular.headers import rename_columns
from tabular.money import MONEY_REASONS, parse_fen
from tabular.sheets import read_table

__all__ = [
    "CLAIMS_COLUMNS",
    "ENGINE_COLUMNS",
    "EXPOSURE_COLUMNS",
    "claims_from_database",
    "empty_claims",
    "empty_exposure",
    "read_claims",
    "read_exposure",
]

#: History layout: canonical column → accepted Chinese headers (the canonical English name is accepted too).
CLAIMS_COLUMNS: dict[str, list[str]] = {
    "year": ["年度", "年份", "保单年度", "出险年度"],
    "county": ["区划代码", "县区划代码", "县代码", "区县代码", "行政区划代码"],
    "peril": ["责任", "责任代码", "保险责任", "险种责任"],
    "ground_up": ["费用", "基数", "损失金额", "费用金额", "自付费用", "测算基数"],
    "paid": ["赔付", "赔付金额", "赔款", "救助金额", "应赔金额"],
    "report_lag": ["报案滞后季度", "报告滞后季度", "滞后季度"],
}
#: Engine claims.csv: the columns the reader needs.
ENGINE_COLUMNS = ["line_id", "base", "entitlement", "first_event", "village_code"]
#: Exposure layout: canonical column → accepted Chinese headers.
EXPOSURE_COLUMNS: dict[str, list[str]] = {
    "year": ["年度", "年份", "保单年度"],
    "county": ["区划代码", "县区划代码", "县代码", "区县代码", "行政区划代码"],
    "heads": ["参保人数", "投保人数", "承保人数", "人数"],
}
_MAX_LISTED = 10  # bad lines named in one error message


def empty_claims() -> pd.DataFrame:
    """A claims history frame with no rows (the contract's dtypes)."""
    return pd.DataFrame({"year": pd.Series(dtype="int64"), "county": pd.Series(dtype="str"),
                         "peril": pd.Series(dtype="str"), "ground_up": pd.Series(dtype="float64"),
                         "paid": pd.Series(dtype="float64")})


def empty_exposure() -> pd.DataFrame:
    """An exposure frame with no rows."""
    return pd.DataFrame({"year": pd.Series(dtype="int64"), "county": pd.Series(dtype="str"),
                         "heads": pd.Series(dtype="int64")})


# ------------------------------------------------------------------------------------------ cell parsing
def _fail(name: str, lines: pd.Series, zh: str, en: str) -> None:
    """Raise a TableError naming the (first few) bad lines."""
    listed = ", ".join(str(int(v)) for v in lines.iloc[:_MAX_LISTED])
    more = f" …（共 {len(lines)} 行）" if len(lines) > _MAX_LISTED else ""
    more_en = f" … ({len(lines)} lines)" if len(lines) > _MAX_LISTED else ""
    raise TableError(name, f"第 {listed}{more} 行：{zh} / line(s) {listed}{more_en}: {en}")


def _money(df: pd.DataFrame, col: str, name: str, *, blank_nan: bool) -> pd.Series:
    """Yuan amounts (≤ 2 decimals, ≥ 0) as float yuan; blank → NaN when ``blank_nan`` else an error."""
    text = cell_text(df[col])
    blank = text.isna()
    parsed = parse_fen(df[col].where(~blank, ""), blank_as_zero=blank_nan)
    bad = parsed.reason.notna()
    if bad.any():
        reason = str(parsed.reason[bad].iloc[0])
        zh, en = MONEY_REASONS[reason].split(" / ", 1)
        _fail(name, df.loc[bad, "source_line"], f"列 {col} {zh}", f"column {col}: {en}")
    yuan = parsed.fen.astype("float64") / 100.0
    return yuan.where(~blank, np.nan) if blank_nan else yuan


def _year(values: pd.Series, lines: pd.Series, name: str, col: str) -> pd.Series:
    text = cell_text(values).fillna("").str.replace(r"(\.0+|年)$", "", regex=True)
    ok = text.str.fullmatch(r"(19|20)\d\d")
    if not ok.all():
        _fail(name, lines[~ok], f"列 {col} 应为四位年份", f"column {col} must be a four-digit year")
    return text.astype("int64")


def _county(values: pd.Series, lines: pd.Series, name: str, col: str) -> pd.Series:
    """6-digit county code; a 12-digit village code is cut to its first 6 digits."""
    text = unwrap_text(cell_text(values)).fillna("")
    ok = text.str.fullmatch(r"\d{6}|\d{12}")
    if not ok.all():
        _fail(name, lines[~ok], f"列 {col} 应为 6 位县级区划代码（或 12 位村代码）",
              f"column {col} must be a 6-digit county code (or a 12-digit village code)")
    return text.str.slice(0, 6).astype("str")


def _lag(values: pd.Series, lines: pd.Series, name: str) -> pd.Series:
    """Whole quarters ≥ 0; blank → <NA> (no development information for that claim)."""
    text = cell_text(values).str.replace(r"\.0+$", "", regex=True)
    ok = text.isna() | text.str.fullmatch(r"\d{1,3}").fillna(False)
    if not ok.all():
        _fail(name, lines[~ok], "列 report_lag 应为不小于 0 的整数季度", "column report_lag must be whole quarters ≥ 0")
    return pd.to_numeric(text, errors="coerce").astype("Int64")


def _text(values: pd.Series, lines: pd.Series, name: str, col: str) -> pd.Series:
    text = cell_text(values)
    if text.isna().any():
        _fail(name, lines[text.isna()], f"列 {col} 为空", f"column {col} is empty")
    return text.astype("str")


# ------------------------------------------------------------------------------------------ files
def _is_engine(columns: Any) -> bool:
    cols = {str(c).strip().casefold() for c in columns}
    return all(c in cols for c in ENGINE_COLUMNS)


def read_claims(source: str | Path | IO[bytes], *, file_name: str | None = None) -> pd.DataFrame:
    """Read a claims history file (history layout or the engine's claims.csv) into the claims frame.

    Returns columns ``year, county, peril, ground_up, paid`` plus ``source_file``, ``source_line``.
    Raises :class:`~tabular.files.TableError` ("中文 / English", with the file and line numbers).
    """
    name = source_name(source, file_name)
    raw = read_table(source, file_name=file_name)
    lines = raw["source_line"]
    if _is_engine(raw.columns):
        raw = raw.rename(columns={c: str(c).strip().casefold() for c in raw.columns
                                  if str(c).strip().casefold() in ENGINE_COLUMNS})
        base = _money(raw, "base", name, blank_nan=False)
        paid = _money(raw, "entitlement", name, blank_nan=False)
        when = pd.to_datetime(cell_text(raw["first_event"]), errors="coerce")
        bad = when.isna() & (base > 0)
        if bad.any():
            _fail(name, lines[bad], "列 first_event 不是日期", "column first_event is not a date")
        keep = base > 0
        raw, base, paid, when, lines = raw[keep], base[keep], paid[keep], when[keep], lines[keep]
        out = pd.DataFrame({
            "year": when.dt.year.astype("int64"),
            "county": _county(raw["village_code"], lines, name, "village_code"),
            "peril": _text(raw["line_id"], lines, name, "line_id"),
            "ground_up": base.astype("float64"),
            "paid": paid.astype("float64"),
        })
    else:
        df = rename_columns(raw, CLAIMS_COLUMNS, required=["year", "county", "peril", "paid"], file_name=name)
        if "ground_up" not in df.columns:
            df["ground_up"] = ""
        out = pd.DataFrame({
            "year": _year(df["year"], lines, name, "year"),
            "county": _county(df["county"], lines, name, "county"),
            "peril": _text(df["peril"], lines, name, "peril"),
            "ground_up": _money(df, "ground_up", name, blank_nan=True),
            "paid": _money(df, "paid", name, blank_nan=False),
        })
        if "report_lag" in df.columns:
            out["report_lag"] = _lag(df["report_lag"], lines, name)
    out["source_file"] = name
    out["source_line"] = lines.astype("int64")
    return out.reset_index(drop=True)


def read_exposure(source: str | Path | IO[bytes], *, file_name: str | None = None) -> pd.DataFrame:
    """Read an exposure file (year, county, heads; 年度, 区划代码, 参保人数) into the exposure frame,
    summing rows repeated for one county-year."""
    name = source_name(source, file_name)
    raw = read_table(source, file_name=file_name)
    df = rename_columns(raw, EXPOSURE_COLUMNS, required=list(EXPOSURE_COLUMNS), file_name=name)
    lines = df["source_line"]
    heads_text = cell_text(df["heads"]).fillna("").str.replace(r"[,，\s]|人$", "", regex=True)
    heads_text = heads_text.str.replace(r"\.0+$", "", regex=True)
    ok = heads_text.str.fullmatch(r"\d{1,12}")
    if not ok.all():
        _fail(name, lines[~ok], "列 heads 应为非负整数", "column heads must be a whole number ≥ 0")
    out = pd.DataFrame({
        "year": _year(df["year"], lines, name, "year"),
        "county": _county(df["county"], lines, name, "county"),
        "heads": heads_text.astype("int64"),
    })
    return out.groupby(["year", "county"], as_index=False, sort=True)["heads"].sum()


# ------------------------------------------------------------------------------------------ database
def claims_from_database(session: Any, product_code: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims, exposure) from the database.

    Claims: every :class:`claims.lifecycle.models.Claim` incurred (not refused, not superseded by a reversal:
    :data:`claims.lifecycle.in_year.NOT_INCURRED`, as the actuary's in-year monitoring counts them) with base > 0;
    year = its policy's year (保单年度), county = ``village_code[:6]`` (the policy's county when the claim has no
    village), peril = ``line_id``, ground_up = ``base``, paid = ``entitlement`` (the computed amount owed;
    the insurer's adjustments in ``amount`` are not a property of the risk), report_lag = quarters from the
    policy year's start to the claim's ``created_at`` (when the engine first computed it from a report).
    Exposure: the policies' ``framed_heads`` (承保人数) summed per county and year.
    ``product_code`` keeps the product versions whose code **or family** equals it (e.g. all years of
    ``"fangpinbao"``); None keeps all.
    """
    from sqlalchemy import or_, select

    from claims.lifecycle.in_year import NOT_INCURRED
    from claims.lifecycle.models import Claim
    from claims.lifecycle.store import Policy, ProductVersion

    policies = select(Policy.id, Policy.county, Policy.year, Policy.framed_heads).join(
        ProductVersion, ProductVersion.id == Policy.product_version_id)
    if product_code is not None:
        policies = policies.where(or_(ProductVersion.code == product_code, ProductVersion.family == product_code))
    pol = pd.DataFrame(session.execute(policies).all(), columns=["policy_id", "county", "year", "heads"])
    if pol.empty:
        return empty_claims(), empty_exposure()
    exposure = (pol.astype({"year": "int64", "heads": "int64", "county": "str"})
                .groupby(["year", "county"], as_index=False, sort=True)["heads"].sum())
    rows = session.execute(
        select(Claim.policy_id, Claim.line_id, Claim.village_code, Claim.base, Claim.entitlement, Claim.created_at)
        .where(Claim.policy_id.in_(pol["policy_id"].tolist()), Claim.state.not_in(NOT_INCURRED))
    ).all()
    cl = pd.DataFrame(rows, columns=["policy_id", "line_id", "village_code", "base", "entitlement", "created_at"])
    if cl.empty:
        return empty_claims(), exposure
    cl = cl.merge(pol[["policy_id", "county", "year"]], on="policy_id", how="left")
    base = cl["base"].astype("float64")
    village = cl["village_code"].fillna("").astype("str")
    county = village.str.slice(0, 6).where(village.str.len() >= 6, cl["county"].astype("str"))
    claims = pd.DataFrame({
        "year": cl["year"].astype("int64"),
        "county": county.astype("str"),
        "peril": cl["line_id"].astype("str"),
        "ground_up": base,
        "paid": cl["entitlement"].astype("float64"),
    })
    created = pd.to_datetime(cl["created_at"])
    lag = (created.dt.year - cl["year"].astype("int64")) * 4 + (created.dt.month - 1) // 3
    claims["report_lag"] = lag.where(lag >= 0).astype("Int64")
    claims = claims[base > 0].sort_values(["year", "county", "peril"], kind="stable")
    return claims.reset_index(drop=True), exposure
