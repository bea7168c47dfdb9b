"""The village registry (村名录): code → name of the administrative villages (行政村, 12-digit NBS code) and
their townships (乡镇, the code's first 9 digits), and the county's one hotline.

The one home of "which name does this code have": every page, filter, export and printed notice asks
:func:`village_names` / :func:`township_names` and shows the name, keeping the code beside it (a title, a
separate export column).  The names live in the ``divisions`` table; they come from

* the roster, when it carries them (``village_name`` 村名, ``township_name`` 乡镇: :func:`store_names`
  from :func:`claims.lifecycle.roster_store.store_roster`), or
* a villages file (:func:`import_villages`, ``relief villages import FILE``): CSV or Excel with the columns
  村代码, 村名, 乡镇名, read like every county export (title rows above the header, GB18030 or UTF-8,
  codes typed as numbers — :func:`tabular.sheets.read_table`, :func:`tabular.cells.parse_village_code`).

A division whose name is unknown holds its code as name (:mod:`claims.lifecycle.roster_store`); the
lookups give the code back for it, so a caller always has something to show.

The hotline (咨询、申报、监督电话) is one row per county (:class:`~claims.lifecycle.county_settings.CountySetting`),
read by the village notices and the 明白卡 alike (:func:`county_hotline`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from claims.lifecycle.audit import record
from claims.lifecycle.county_settings import CountySetting
from claims.lifecycle.scope import TOWNSHIP_PREFIX, Scope, scoped
from claims.lifecycle.store import Division, now
from tabular.cells import cell_text, parse_village_code
from tabular.errors import InvalidInputError
from tabular.headers import match_columns
from tabular.sheets import read_table

#: Digits of a county (GB/T 2260) and of an administrative village code (a township's: TOWNSHIP_DIGITS).
COUNTY_DIGITS, VILLAGE_DIGITS = 6, 12
TOWNSHIP_DIGITS = TOWNSHIP_PREFIX
#: Headers accepted in a villages file (the canonical name first in each list is the column's own).
VILLAGE_FILE_COLUMNS: dict[str, list[str]] = {
    "village_code": ["村代码", "行政村代码", "村级区划代码", "统计用区划代码", "区划代码"],
    "village_name": ["村名", "村名称", "行政村", "行政村名称", "村委会"],
    "township_name": ["乡镇名", "乡镇", "乡镇名称", "乡（镇）", "乡(镇)", "所属乡镇"],
}
VILLAGE_FILE_REQUIRED = ["village_code", "village_name"]
#: Most bad lines listed in one refusal.
MAX_LISTED = 20
#: Longest name kept (the divisions table's column).
MAX_NAME = 100
#: Longest hotline (the county_settings column).
MAX_HOTLINE = 40
#: Codes per IN list of one lookup.
IN_CHUNK = 5000


@dataclass(frozen=True)
class Village:
    """One administrative village of the registry, with its township."""

    code: str
    name: str
    township_code: str
    township_name: str

    @property
    def named(self) -> bool:
        return self.name != self.code


def _names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({str(c) for c in codes if c})
    if not wanted:
        return {}
    found: dict[str, str] = {}
    for start in range(0, len(wanted), IN_CHUNK):  # bounded IN lists (bind-parameter limits)
        part = wanted[start:start + IN_CHUNK]
        found.update(session.execute(select(Division.code, Division.name).where(Division.code.in_(part))).all())
    return {c: found.get(c) or c for c in wanted}


def village_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Every code asked → its name: a 行政村's (12 digits) or a 乡镇's (9), the code itself where the registry
    has no name."""
    return _names(session, codes)


def township_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Every code asked (a township's 9 digits, or a village's 12: its township) → the 乡镇 name, or the
    township code where the registry has none."""
    asked = {str(c) for c in codes if c}
    names = _names(session, {c[:TOWNSHIP_DIGITS] for c in asked})
    return {c: names[c[:TOWNSHIP_DIGITS]] for c in asked}


def village_label(session: Session, code: str | None) -> str:
    """One village's name (its code where none is known; ``""`` for no code)."""
    return village_names(session, [code]).get(code or "", "") if code else ""


def villages(session: Session, county: str | None = None) -> list[Village]:
    """The registry's villages (of one county, or all), by code, each with its township."""
    query = select(Division.code, Division.name).where(Division.level == "village").order_by(Division.code)
    if county:
        query = query.where(Division.code.like(f"{county}%"))
    rows = session.execute(query).all()
    towns = township_names(session, [code for code, _ in rows])
    return [Village(code, name or code, code[:TOWNSHIP_DIGITS], towns[code]) for code, name in rows]


def village_options(session: Session, scope: Scope) -> list[tuple[str, str]]:
    """(code, name) of the registry's villages the scope sees, by code: a page's village filter."""
    query = scoped(scope, select(Division.code, Division.name).where(Division.level == "village"), Division.code,
                   county=func.substr(Division.code, 1, COUNTY_DIGITS))
    return [(code, name or code) for code, name in session.execute(query.order_by(Division.code))]


# ----------------------------------------------------------------------------------------------- storing


def store_names(session: Session, village_names_: Mapping[str, str],
                township_names_: Mapping[str, str] | None = None) -> dict[str, int]:
    """Create or rename the divisions named: each village (12 digits) with its township (9) and county (6)
    above it (created with the code as name when new), then the names given (blank names are ignored;
    ``township_names_`` by 9-digit township code).  → counts created and renamed."""
    given = {str(c): str(n).strip()[:MAX_NAME] for c, n in village_names_.items() if n and str(n).strip()}
    towns = {str(c): str(n).strip()[:MAX_NAME] for c, n in (township_names_ or {}).items() if n and str(n).strip()}
    codes = sorted({str(c) for c in village_names_} | set(given))
    wanted: dict[str, tuple[str, str | None]] = {}
    for code in codes:
        wanted.setdefault(code[:COUNTY_DIGITS], ("county", None))
        wanted.setdefault(code[:TOWNSHIP_DIGITS], ("township", code[:COUNTY_DIGITS]))
        wanted[code] = ("village", code[:TOWNSHIP_DIGITS])
    names = {**towns, **given}
    known = dict(session.execute(select(Division.code, Division.name)).all())  # thousands at most: no IN list
    rows = [{"code": c, "level": lvl, "name": names.get(c, c), "parent_code": parent}
            for level in ("county", "township", "village")  # parents first (foreign key)
            for c, (lvl, parent) in wanted.items() if lvl == level and c not in known]
    if rows:
        session.execute(insert(Division.__table__), rows)
    renamed = [{"c": c, "n": n} for c, n in names.items() if c in known and known[c] != n]
    for row in renamed:
        session.execute(update(Division).where(Division.code == row["c"]).values(name=row["n"]))
    return {"divisions_created": len(rows), "divisions_renamed": len(renamed)}


def read_villages(source: str | Path | IO[bytes], file_name: str | None = None) -> pd.DataFrame:
    """A villages file → frame (village_code, village_name, township_name, source_line); refused whole
    (:class:`InvalidInputError`, the bad lines listed) when a code is not 12 digits, a name is blank or a
    code repeats with another name."""
    known = [h for canonical, aliases in VILLAGE_FILE_COLUMNS.items() for h in (canonical, *aliases)]
    table = read_table(source, file_name=file_name, header_names=known)
    name = file_name or str(source)
    mapping = match_columns(table.columns, VILLAGE_FILE_COLUMNS, required=VILLAGE_FILE_REQUIRED, file_name=name)
    frame = table.rename(columns=mapping).reset_index(drop=True)
    lines = frame["source_line"] if "source_line" in frame else pd.Series(range(2, len(frame) + 2))
    code = parse_village_code(frame["village_code"], required=True)
    village = cell_text(frame["village_name"].astype(object)).astype("str")
    town = (cell_text(frame["township_name"].astype(object)).astype("str") if "township_name" in frame
            else pd.Series(pd.NA, index=frame.index, dtype="str"))
    out = pd.DataFrame({"village_code": code.values, "village_name": village, "township_name": town,
                        "source_line": lines.to_numpy()})
    problems = [f"{name} 第 {line} 行：村代码须为 12 位数字 / line {line}: the village code must have 12 digits"
                for line in out.loc[code.reason.notna().to_numpy(), "source_line"]]
    problems += [f"{name} 第 {line} 行：村名为空 / line {line}: the village name is blank"
                 for line in out.loc[(code.reason.isna() & village.isna()).to_numpy(), "source_line"]]
    ok = out.dropna(subset=["village_code", "village_name"])
    clash = ok.groupby("village_code")["village_name"].nunique()
    problems += [f"{name}：村代码 {c} 有两个村名 / village code {c} has two names" for c in clash[clash > 1].index]
    if problems:
        more = f"（另有 {len(problems) - MAX_LISTED} 处 / {len(problems) - MAX_LISTED} more）" \
            if len(problems) > MAX_LISTED else ""
        raise InvalidInputError("；".join(problems[:MAX_LISTED]) + more)
    return ok.drop_duplicates("village_code").reset_index(drop=True)


def import_villages(session: Session, source: str | Path | IO[bytes], file_name: str | None = None, *,
                    actor_id: int | None = None, actor_name: str | None = None) -> dict[str, int]:
    """Read a villages file (:func:`read_villages`) and store its names (:func:`store_names`); audited.
    → counts: villages read, divisions created and renamed."""
    frame = read_villages(source, file_name)
    towns = {code[:TOWNSHIP_DIGITS]: t for code, t in zip(frame["village_code"], frame["township_name"], strict=True)
             if isinstance(t, str) and t}
    counts = {"villages": len(frame),
              **store_names(session, dict(zip(frame["village_code"], frame["village_name"], strict=True)), towns)}
    record(session, actor_id, "villages_imported", f"villages:{file_name or Path(str(source)).name}"[:100], counts,
           actor_name=actor_name)
    return counts


# ----------------------------------------------------------------------------------------------- hotline


def county_hotline(session: Session, county: str | None, default: str | None = None) -> str | None:
    """The county's hotline (its settings row), else ``default`` (the deployment's, else none)."""
    if not county:
        return default
    found = session.scalar(select(CountySetting.hotline).where(CountySetting.county_code == county[:COUNTY_DIGITS]))
    return found or default


def set_hotline(session: Session, county: str, hotline: str, *, actor_id: int | None = None,
                actor_name: str | None = None) -> CountySetting:
    """Set (or clear, with ``""``) the county's one hotline; audited with the number before and after."""
    county, hotline = (county or "").strip(), (hotline or "").strip()
    if len(county) != COUNTY_DIGITS or not county.isdigit():
        raise InvalidInputError(f"县代码须为 6 位数字 / a county code has 6 digits: {county[:20]!r}")
    if len(hotline) > MAX_HOTLINE or any(ch not in "0123456789-+ ()（）转" for ch in hotline):
        raise InvalidInputError(f"电话号码无效 / invalid hotline number: {hotline[:MAX_HOTLINE]!r}")
    row = session.get(CountySetting, county)
    before = row.hotline if row else None
    if row is None:
        row = CountySetting(county_code=county)
        session.add(row)
    row.hotline, row.updated_at, row.updated_by = hotline or None, now(), actor_name
    session.flush()
    record(session, actor_id, "hotline_set", f"county:{county}", {"before": before, "after": row.hotline},
           actor_name=actor_name)
    return row


__all__ = ["Village", "county_hotline", "village_options", "import_villages", "read_villages", "set_hotline", "store_names",
           "township_names", "village_label", "village_names", "villages"]
