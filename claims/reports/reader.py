"""``read_report``: one department file → canonical usable rows + exception rows.

Whole-file problems (unknown department, unreadable/undecodable/empty file, missing required column)
raise :class:`ReportFileError`.  Row problems never stop the other rows: each unusable row appears once
in ``exceptions`` with severity ``error`` (reason = its first problem, detail = all its problems joined
by "；"); a usable row a person should look at appears with severity ``warning`` and stays in ``rows``.
Invariant: ``len(rows) + (exceptions.severity == "error").sum() == rows_read``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd

from products.resident_id import id_key
from products.tabular import TableError, match_columns, read_table, source_name

from .columns import DEPARTMENTS, SELF_CHECKED_KINDS, SPECS, Spec
from .fast import read_plain
from .parse import ABSENT, PARSERS, Problems, cell_detail
from .reasons import EXCEPTION_COLUMNS, exceptions_frame


#: Extra column of the rows of person departments: the resident ID as int64, its 17-digit body (the check
#: digit is derived from it; :func:`products.resident_id.id_from_key` gives the ID back).  Not stored in
#: the database (it is not in the department's spec): rebuilt from ``id_no`` when needed.
ID_KEY = "id_key"


class ReportFileError(TableError):
    """The whole report file is refused; ``.file`` names it and ``.message`` says why (bilingual)."""


@dataclass
class ReportRead:
    department: str
    file: str
    rows: pd.DataFrame  # usable rows: canonical columns + source_file (str) + source_line (int64) [+ id_key]
    exceptions: pd.DataFrame  # EXCEPTION_COLUMNS
    rows_read: int  # non-empty data rows in the file


def _label(header: str, canonical: str) -> str:
    return header if header == canonical else f"{header}({canonical})"


def _parse_cells(spec: Spec, table: pd.DataFrame, headers: dict[str, str],
                 problems: Problems) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame and raw frame with canonical columns; cell problems go to ``problems``."""
    n = len(table)
    typed: dict[str, pd.Series] = {}
    raw: dict[str, pd.Series] = {}
    for name, col in spec.columns.items():  # a loop over columns, each parsed whole
        if name not in headers:
            typed[name] = ABSENT[col.kind](n)
            continue
        cells = table[headers[name]]
        parsed = PARSERS[col.kind](cells)
        typed[name] = parsed.values
        raw[name] = cells
        if col.kind not in SELF_CHECKED_KINDS:
            bad = parsed.reason.notna()
            problems.error(bad, parsed.reason, cell_detail(_label(headers[name], name), cells, parsed.reason))
    frame = pd.DataFrame(typed, index=table.index)
    frame["source_file"] = table["source_file"].astype("str")
    frame["source_line"] = table["source_line"].astype("int64")
    return frame, pd.DataFrame(raw, index=table.index)


def check_table(spec: Spec, table: pd.DataFrame, mapping: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The general reader's work on a table of raw cells (:func:`products.tabular.read_table`'s shape:
    the file's headers + ``source_file``, ``source_line``, ``source_extra``): every cell parsed, the
    department's derivation run, each row's problems collected → (usable rows, exceptions)."""
    headers = {canonical: header for header, canonical in mapping.items()}

    problems = Problems(table.index)
    extra = table["source_extra"] != ""
    problems.error(extra, "extra_fields", table["source_extra"].astype(object))
    typed, raw = _parse_cells(spec, table, headers, problems)
    typed = spec.derive(typed, raw, problems)

    ok = problems.ok
    errors = exceptions_frame(typed.loc[~ok, "source_file"], typed.loc[~ok, "source_line"],
                              problems.reason[~ok], problems.detail[~ok], "error")
    warnings = [exceptions_frame(typed.loc[mask & ok, "source_file"], typed.loc[mask & ok, "source_line"],
                                 code, detail[mask & ok], "warning")
                for mask, code, detail in problems.warnings]
    exceptions = pd.concat([errors, *warnings], ignore_index=True) if warnings else errors
    exceptions = exceptions.sort_values(["line", "severity"], kind="stable").reset_index(drop=True)

    rows = typed.loc[ok, spec.output].reset_index(drop=True)
    rows = rows.astype({col: dtype for col, dtype in spec.derived.items()})
    return rows, exceptions[EXCEPTION_COLUMNS]


def read_report(source: str | Path | IO[bytes] | bytes, department: str, *, file_name: str | None = None,
                fast: bool = True, key: bool = False) -> ReportRead:
    """Read one department report file (CSV/TXT, Excel or Parquet; see :mod:`products.tabular`).

    ``department`` is one of :data:`DEPARTMENTS`; canonical columns per department are in
    :data:`claims.reports.columns.SPECS`.  Raises :class:`ReportFileError` for a whole-file problem.

    Big machine exports in canonical form (CSV/Parquet 医保 files) are read by :mod:`.fast` (pyarrow,
    multithreaded) with the same result; any other file, or one with a single non-canonical cell, by the
    general reader (``fast=False``: always the general reader).  ``key=True`` appends :data:`ID_KEY`
    (int64 resident-ID key) to the rows of person departments.
    """
    name = source_name(source, file_name)
    if department not in SPECS:
        raise ReportFileError(name, f"未知部门 {department!r}（可用：{'、'.join(DEPARTMENTS)}） / "
                                    f"unknown department {department!r} (use one of: {', '.join(DEPARTMENTS)})")
    spec = SPECS[department]
    if not isinstance(source, (str, Path, bytes)):  # a stream is read once, for both readers
        try:
            source = source.read()
        except OSError as exc:
            raise ReportFileError(name, f"无法读取文件 / cannot read the file: {exc}") from exc
        if isinstance(source, str):
            source = source.encode("utf-8")
    plain = read_plain(source, department, spec, name, key=key) if fast else None
    if plain is not None:
        return plain
    try:
        table = read_table(io.BytesIO(source) if isinstance(source, bytes) else source, file_name=name)
        mapping = match_columns(table.columns, spec.column_map, required=list(spec.required), file_name=name)
    except TableError as exc:
        raise ReportFileError(exc.file, exc.message) from exc
    rows, exceptions = check_table(spec, table, mapping)
    if key and spec.columns.get("id_no") is not None:
        rows[ID_KEY] = id_key(rows["id_no"])
    return ReportRead(department=department, file=name, rows=rows, exceptions=exceptions, rows_read=len(table))
