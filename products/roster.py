"""The insured roster (参保名单): persons and households, validated whole.

Unlike a department report, a roster with a bad row is refused as a whole: claims are computed against
it, so a missing person or a wrong household would silently change payouts.  :class:`RosterError` lists
every bad line (up to 50) as ``persons.csv line 7: 身份证号校验位错误 / resident ID check digit is wrong``.

persons:    id_no (str, 18 chars), name (str), household_no (str), relation (str, <NA> if blank)
households: household_no (str), village_code (str, 12 digits), natural_village (str, <NA> if blank),
            category (str), per_capita_income (int64 fen), members (int64 > 0),
            bank_account (str, <NA> if blank: the 社保卡/一卡通 account payouts go to),
            support_mode (str, <NA> if blank: 供养方式, 集中供养 / 分散供养, as written),
            village_name, township_name (str, <NA> if blank: 村名 and 乡镇, stored in the village registry)
both:       source_file (str), source_line (int64)

A province roster (millions of rows, a machine export: CSV/Parquet, one canonical form per cell) is read
by a fast path: pyarrow reads the file (:mod:`tabular.simple`) and the cells are checked on whole
columns with the kernels of :mod:`tabular.plain` (the same as the report readers').  Rows with a cell
that is not plain (``4,800.50``, a 15-digit ID, ``3人`` …) are parsed by the general code below on a
table of just those rows.  Whenever the roster has a problem — a bad cell, a repeated ID or household
number — or the file is not simple, the general reader reads the whole file, so the frames and the
:class:`RosterError` are always the general reader's (tests/test_roster_scale.py compares both).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tabular import plain
from tabular.arrow_bytes import buffers
from tabular.cells import (
    CELL_REASONS,
    Cells,
    cell_text,
    number_mask,
    parse_count,
    parse_key,
    parse_village_code,
    unwrap_text,
)
from tabular.errors import InvalidInputError
from tabular.files import TableError, read_bytes, source_name
from tabular.headers import match_columns
from tabular.money import MONEY_REASONS, parse_fen
from tabular.resident_id import ID_REASONS, id_key, validate_ids
from tabular.sheets import read_table
from tabular.simple import NotSimple, general_table, read_simple

PERSON_COLUMNS: dict[str, list[str]] = {
    "id_no": ["身份证号", "身份证号码", "公民身份号码", "证件号码"],
    "name": ["姓名"],
    "household_no": ["户编号", "户号", "家庭编号"],
    "relation": ["与户主关系", "关系"],
}
PERSON_REQUIRED = ["id_no", "name", "household_no"]

HOUSEHOLD_COLUMNS: dict[str, list[str]] = {
    "household_no": ["户编号", "户号", "家庭编号"],
    "village_code": ["村代码", "行政村代码", "村级区划代码", "统计用区划代码"],
    "natural_village": ["自然村"],
    "category": ["户类型", "户类别", "监测对象类别", "人员类别"],
    "per_capita_income": ["家庭人均纯收入", "人均纯收入", "人均收入"],
    "members": ["家庭人口数", "人口数", "家庭人数"],
    "bank_account": ["银行账号", "社保卡号", "一卡通账号", "收款账号", "账号"],
    "support_mode": ["供养方式", "供养形式", "特困供养方式", "五保供养方式"],  # 集中供养 / 分散供养 (optional)
    "village_name": ["村名", "村名称", "行政村", "行政村名称"],  # optional: the village registry's names
    "township_name": ["乡镇名", "乡镇", "乡镇名称", "所属乡镇"],
}
HOUSEHOLD_REQUIRED = ["household_no", "village_code", "category", "per_capita_income", "members"]

ROSTER_REASONS: dict[str, str] = {
    **ID_REASONS,
    **MONEY_REASONS,
    **CELL_REASONS,
    "duplicate_id": "身份证号重复 / duplicate resident ID",
    "duplicate_household": "户编号重复 / duplicate household number",
    "unknown_household": "户编号不在户表中 / household number is not in the household list",
    "extra_fields": "该行字段数多于表头，各列已错位 / the row has more fields than the header; its columns are shifted",
}

MAX_LISTED = 50


class RosterError(InvalidInputError):
    """The roster is refused.  ``problems``: DataFrame (file, line, reason, detail); ``lines``: the
    messages, one per problem."""

    def __init__(self, problems: pd.DataFrame):
        problems = problems.sort_values(["file", "line"], kind="stable").reset_index(drop=True)
        self.problems = problems
        self.lines = (problems["file"].astype(str) + " line " + problems["line"].astype(str) + ": "
                      + problems["reason"].map(ROSTER_REASONS).astype(str) + problems["detail"].astype(str)).tolist()
        shown = self.lines[:MAX_LISTED]
        if len(self.lines) > MAX_LISTED:
            shown.append(f"... 另有 {len(self.lines) - MAX_LISTED} 处 / ... and {len(self.lines) - MAX_LISTED} more")
        head = f"参保名单有 {len(self.lines)} 处错误 / the roster has {len(self.lines)} problem(s):"
        super().__init__("\n".join([head, *shown]))


class _Collector:
    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame, mask: pd.Series, reason: pd.Series | str, detail: pd.Series | str = "") -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            self.parts.append(pd.DataFrame({
                "file": frame.loc[mask, "source_file"].astype(object),
                "line": frame.loc[mask, "source_line"].astype("int64"),
                "reason": reason[mask] if isinstance(reason, pd.Series) else reason,
                "detail": detail[mask] if isinstance(detail, pd.Series) else detail,
            }))

    def cells(self, frame: pd.DataFrame, column: str, parsed: Cells) -> None:
        self.add(frame, parsed.reason.notna(), parsed.reason, f"（列 {column} / column {column}）")

    def raise_if_any(self) -> None:
        if self.parts:
            raise RosterError(pd.concat(self.parts, ignore_index=True))


def _prepare(df: pd.DataFrame, column_map: dict[str, list[str]], required: list[str], file_name: str) -> pd.DataFrame:
    """Canonical columns (absent optional ones as blanks) + source_file/source_line/source_extra."""
    mapping = match_columns(df.columns, column_map, required=required, file_name=file_name)
    out = df.rename(columns=mapping).reset_index(drop=True)
    for name in column_map:
        if name not in out:
            out[name] = pd.Series(None, index=out.index, dtype=object)
    if "source_line" not in out:  # an in-memory frame: lines as if written to a file with a header
        out["source_line"] = np.arange(2, len(out) + 2, dtype=np.int64)
    if "source_file" not in out:
        out["source_file"] = file_name
    if "source_extra" not in out:
        out["source_extra"] = ""
    return out


def _duplicates(frame: pd.DataFrame, key: pd.Series, usable: pd.Series, reason: str, problems: _Collector) -> None:
    k = key.where(usable)
    repeat = k.duplicated(keep="first") & k.notna()
    first = frame["source_line"].where(k.notna()).groupby(k).transform("min").astype("Int64").astype(str)
    problems.add(frame, repeat, reason, "（“" + k.fillna("").astype(object) + "” 首次出现于第 " + first + " 行 / first on line "
                 + first + "）")


def _ids(col: pd.Series) -> Cells:
    raw = col.astype(object)
    check = validate_ids(raw.where(number_mask(raw), unwrap_text(cell_text(raw)).astype(object)))
    return Cells(values=check.id_no.astype("str"), reason=check.reason)


def _text(col: pd.Series) -> pd.Series:
    return cell_text(col.astype(object)).astype("str")


def _persons(table: pd.DataFrame) -> pd.DataFrame:
    problems = _Collector()
    problems.add(table, table["source_extra"].astype(str) != "", "extra_fields",
                 "（" + table["source_extra"].astype(object) + "）")
    ids = _ids(table["id_no"])
    problems.cells(table, "id_no", ids)
    name = _text(table["name"])
    problems.add(table, name.isna(), "missing_value", "（列 name / column name）")
    household = parse_key(table["household_no"])
    problems.cells(table, "household_no", household)
    _duplicates(table, ids.values, ids.reason.isna(), "duplicate_id", problems)
    problems.raise_if_any()
    return pd.DataFrame({
        "id_no": ids.values, "name": name, "household_no": household.values, "relation": _text(table["relation"]),
        "source_file": table["source_file"].astype("str"), "source_line": table["source_line"].astype("int64"),
    })


def _households(table: pd.DataFrame) -> pd.DataFrame:
    problems = _Collector()
    problems.add(table, table["source_extra"].astype(str) != "", "extra_fields",
                 "（" + table["source_extra"].astype(object) + "）")
    household = parse_key(table["household_no"])
    problems.cells(table, "household_no", household)
    village = parse_village_code(table["village_code"], required=True)
    problems.cells(table, "village_code", village)
    category = _text(table["category"])
    problems.add(table, category.isna(), "missing_value", "（列 category / column category）")
    income = parse_fen(table["per_capita_income"].astype(object))
    problems.cells(table, "per_capita_income", Cells(income.fen, income.reason))
    members = parse_count(table["members"])
    problems.cells(table, "members", members)
    # optional 社保卡/一卡通 account for payouts: text (a number cell over 15 digits has lost digits)
    account = parse_key(table["bank_account"])
    account_reason = account.reason.where(account.reason != "missing_value")
    problems.cells(table, "bank_account", Cells(account.values, account_reason))
    _duplicates(table, household.values, household.reason.isna(), "duplicate_household", problems)
    problems.raise_if_any()
    return pd.DataFrame({
        "household_no": household.values, "village_code": village.values,
        "natural_village": _text(table["natural_village"]), "category": category,
        "per_capita_income": income.fen.astype("int64"), "members": members.values.astype("int64"),
        "bank_account": account.values, "support_mode": _text(table["support_mode"]),
        "village_name": _text(table["village_name"]), "township_name": _text(table["township_name"]),
        "source_file": table["source_file"].astype("str"), "source_line": table["source_line"].astype("int64"),
    })


# ---------------------------------------------------------------------------------------------------
# fast path (see the module docstring)

#: Largest share of rows the general code may parse before the whole file is given to it.
MAX_GENERAL_SHARE = 0.5


def _columns(table: pa.Table, headers: list[str], mapping: dict[str, str], column_map: dict[str, list[str]]
             ) -> dict[str, pa.Array | None]:
    """Each canonical column as one Arrow chunk without nulls (``None`` when the file lacks it)."""
    where = {canonical: f"c{headers.index(header)}" for header, canonical in mapping.items()}
    out: dict[str, pa.Array | None] = {}
    for canonical in column_map:
        if canonical not in where:
            out[canonical] = None
            continue
        col = table[where[canonical]]
        out[canonical] = (pc.fill_null(col, "") if col.null_count else col).combine_chunks()
    return out


def _absent_text(n: int) -> pd.Series:
    return plain.str_series(pa.nulls(n, pa.string()))


def _general_rows(table: pa.Table, headers: list[str], rows: np.ndarray, name: str,
                  column_map: dict[str, list[str]], required: list[str],
                  check: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame | None:
    """The general checks (``check`` = :func:`_persons` or :func:`_households`) on a table of the rows
    ``rows`` in :func:`~tabular.sheets.read_table`'s shape (fully blank rows skipped) → their typed
    frame, or ``None`` when one of them has a problem (the whole file then goes to the general reader)."""
    sub, _ = general_table(table, headers, rows, name)
    try:
        return check(_prepare(sub, column_map, required, name))
    except RosterError:
        return None


def _has_repeats(values: np.ndarray) -> bool:
    """True when an int64 value occurs twice (one sort)."""
    ordered = np.sort(values)
    return bool((ordered[1:] == ordered[:-1]).any())


def _assemble(frame: pd.DataFrame, general: pd.DataFrame | None) -> pd.DataFrame:
    """Plain rows + the general code's rows, in line order."""
    if general is None or not len(general):
        return frame
    both = pd.concat([frame, general[frame.columns]], ignore_index=True)
    return both.iloc[np.argsort(both["source_line"].to_numpy(), kind="stable")].reset_index(drop=True)


def _fast_persons(source: str | Path | bytes, name: str) -> pd.DataFrame | None:
    """The persons frame of a simple file without problems, else ``None``.

    Plain row: ID of 18 characters with a correct check digit and birth date, name not blank, household
    number a code ``[0-9A-Za-z_-]+``, no surrounding white space; no ID may repeat (compared as the int64
    key of the 17-digit body: the check digit follows from it)."""
    headers, table = read_simple(source, name)
    try:
        mapping = match_columns(headers, PERSON_COLUMNS, required=PERSON_REQUIRED, file_name=name)
    except TableError:
        return None
    n = table.num_rows
    cols = _columns(table, headers, mapping, PERSON_COLUMNS)
    with ThreadPoolExecutor(max_workers=2) as pool:  # numpy/Arrow kernels release the GIL: both cores
        ids = pool.submit(plain.resident_ids, cols["id_no"])
        names = pool.submit(plain.required_text, cols["name"])
        households = pool.submit(plain.codes, cols["household_no"])
        relations = pool.submit(plain.trimmed_text, cols["relation"]) if cols["relation"] is not None else None
        key, ok = ids.result()
        name_values, name_ok = names.result()
        ok &= name_ok & households.result()
        relation = None
        if relations is not None:
            relation, relation_ok = relations.result()
            ok &= relation_ok
    rows = np.flatnonzero(~ok)
    if len(rows) > MAX_GENERAL_SHARE * n:
        return None
    general = None
    keys = key
    if len(rows):
        general = _general_rows(table, headers, rows, name, PERSON_COLUMNS, PERSON_REQUIRED, _persons)
        if general is None:
            return None
        keys = np.concatenate([key[ok], id_key(general["id_no"])])
    if _has_repeats(keys):
        return None
    every = not len(rows)
    mask = None if every else pa.array(ok)

    def kept(values: pa.Array) -> pd.Series:
        return plain.str_series(values if every else pc.filter(values, mask))

    lines = np.arange(2, n + 2, dtype=np.int64)
    frame = pd.DataFrame({
        "id_no": kept(cols["id_no"]), "name": kept(name_values), "household_no": kept(cols["household_no"]),
        "relation": kept(relation) if relation is not None else _absent_text(int(ok.sum())),
    })
    frame["source_file"] = plain.str_series(pa.repeat(pa.scalar(name, pa.string()), len(frame)))
    frame["source_line"] = lines if every else lines[ok]
    return _assemble(frame, general)


def _fast_households(source: str | Path | bytes, name: str) -> pd.DataFrame | None:
    """The households frame of a simple file without problems, else ``None``.

    Plain row: household number a code, village code 12 digits, category not blank, income in yuan
    ``^\\d{1,13}(\\.\\d\\d)?$``, members 1–6 digits not starting with 0, bank account blank or a code,
    texts without surrounding white space; no household number may repeat."""
    headers, table = read_simple(source, name)
    try:
        mapping = match_columns(headers, HOUSEHOLD_COLUMNS, required=HOUSEHOLD_REQUIRED, file_name=name)
    except TableError:
        return None
    n = table.num_rows
    cols = _columns(table, headers, mapping, HOUSEHOLD_COLUMNS)
    household = cols["household_no"]
    if plain.repeated(household).any():
        return None  # a repeated household number (or a hash collision): the general reader judges
    ok = plain.codes(household)
    village, village_ok = plain.village_codes(cols["village_code"])
    ok &= village_ok & (np.diff(buffers(cols["village_code"])[1]) > 0)
    category, category_ok = plain.required_text(cols["category"])
    income, _, income_ok = plain.yuan_fen(cols["per_capita_income"], False)
    members, members_ok = plain.counts(cols["members"])
    ok &= category_ok & income_ok & members_ok
    texts: dict[str, pa.Array | None] = {"natural_village": None, "bank_account": None, "support_mode": None,
                                         "village_name": None, "township_name": None}
    for text_column in ("natural_village", "support_mode", "village_name", "township_name"):
        if cols[text_column] is not None:
            texts[text_column], text_ok = plain.trimmed_text(cols[text_column])
            ok &= text_ok
    if cols["bank_account"] is not None:
        account = cols["bank_account"]
        blank = np.diff(buffers(account)[1]) == 0
        ok &= blank | plain.codes(account)
        texts["bank_account"] = pc.if_else(pa.array(blank), pa.scalar(None, account.type), account)
    rows = np.flatnonzero(~ok)
    if len(rows) > MAX_GENERAL_SHARE * n:
        return None
    general = None
    if len(rows):
        general = _general_rows(table, headers, rows, name, HOUSEHOLD_COLUMNS, HOUSEHOLD_REQUIRED, _households)
        if general is None:
            return None
        here = pc.filter(household, pa.array(ok))
        if pc.any(pc.is_in(here, value_set=pa.array(general["household_no"].array, household.type))).as_py():
            return None  # a normalised household number equals a plain row's: the general reader judges
    every = not len(rows)
    mask = None if every else pa.array(ok)
    count = n if every else int(ok.sum())

    def kept(values: pa.Array | None) -> pd.Series:
        if values is None:
            return _absent_text(count)
        return plain.str_series(values if every else pc.filter(values, mask))

    lines = np.arange(2, n + 2, dtype=np.int64)
    frame = pd.DataFrame({
        "household_no": kept(household), "village_code": kept(village),
        "natural_village": kept(texts["natural_village"]), "category": kept(category),
        "per_capita_income": income if every else income[ok], "members": members if every else members[ok],
        "bank_account": kept(texts["bank_account"]), "support_mode": kept(texts["support_mode"]),
        "village_name": kept(texts["village_name"]), "township_name": kept(texts["township_name"]),
    })
    frame["source_file"] = plain.str_series(pa.repeat(pa.scalar(name, pa.string()), len(frame)))
    frame["source_line"] = lines if every else lines[ok]
    return _assemble(frame, general)


def _load(source: str | Path | IO[bytes], file_name: str | None, fast: bool,
          fast_reader: Callable[[str | Path | bytes, str], pd.DataFrame | None],
          column_map: dict[str, list[str]], required: list[str],
          check: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    name = source_name(source, file_name)
    if not isinstance(source, (str, Path)):  # a stream is read once, for both readers
        source = read_bytes(source, name)
    if fast:
        try:
            frame = fast_reader(source, name)
        except NotSimple:
            frame = None
        if frame is not None:
            return frame
    # the header row is the one holding most of the roster's headers (a title or unit row may be above it)
    known = [h for canonical, aliases in column_map.items() for h in (canonical, *aliases)]
    table = read_table(io.BytesIO(source) if isinstance(source, bytes) else source, file_name=name,
                       header_names=known)
    return check(_prepare(table, column_map, required, name))


def load_persons(source: str | Path | IO[bytes], file_name: str | None = None, *, fast: bool = True
                 ) -> pd.DataFrame:
    """Read and validate the persons file; raises :class:`RosterError` (bad rows) or
    :class:`~tabular.files.TableError` (unreadable file, missing column).  ``fast=False``: always the
    general reader (same result; see the module docstring)."""
    return _load(source, file_name, fast, _fast_persons, PERSON_COLUMNS, PERSON_REQUIRED, _persons)


def load_households(source: str | Path | IO[bytes], file_name: str | None = None, *, fast: bool = True
                    ) -> pd.DataFrame:
    """Read and validate the households file (per_capita_income in yuan → fen); ``fast`` as in
    :func:`load_persons`."""
    return _load(source, file_name, fast, _fast_households, HOUSEHOLD_COLUMNS, HOUSEHOLD_REQUIRED, _households)


def normalise_persons(df: pd.DataFrame, file_name: str = "persons") -> pd.DataFrame:
    """Validate an in-memory persons frame (canonical or Chinese headers).  Without ``source_line``
    the lines are numbered as in a file with a header (first row = line 2)."""
    return _persons(_prepare(df.astype(object), PERSON_COLUMNS, PERSON_REQUIRED, file_name))


def normalise_households(df: pd.DataFrame, file_name: str = "households") -> pd.DataFrame:
    """Validate an in-memory households frame; ``per_capita_income`` is in yuan."""
    return _households(_prepare(df.astype(object), HOUSEHOLD_COLUMNS, HOUSEHOLD_REQUIRED, file_name))


def check_roster(persons: pd.DataFrame, households: pd.DataFrame) -> None:
    """Every person's household must be in the household list; raises :class:`RosterError`."""
    problems = _Collector()
    known = pc.is_in(pa.array(persons["household_no"], from_pandas=True),  # Arrow's hash set: pandas' isin on
                     value_set=pa.array(households["household_no"], from_pandas=True))  # Arrow text is ~80× slower
    unknown = pd.Series(~known.to_numpy(zero_copy_only=False), index=persons.index)
    if unknown.any():  # the detail text built only when there is a row to name
        problems.add(persons, unknown, "unknown_household",
                     "（“" + persons["household_no"].astype(object).fillna("") + "”）")
    problems.raise_if_any()
