"""``read_report``: one department file → canonical usable rows + exception rows.

Whole-file problems (unknown department, unreadable/undecodable/empty file, missing required column)
raise :class:`ReportFileError`; when required columns are not recognised it carries them as data
(:class:`UnmatchedColumns`: what is missing, the headers found, the first rows) so that a person can map
them (the web import's mapping page).  A given mapping (``columns=``, canonical name → the file's header)
takes precedence over the alias table.  Row problems never stop the other rows: each unusable row appears once
in ``exceptions`` with severity ``error`` (reason = its first problem, detail = all its problems joined
by "；"); a usable row a person should look at appears with severity ``warning`` and stays in ``rows``.
Invariant: ``len(rows) + (exceptions.severity == "error").sum() == rows_read``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd

from claims.reports.check import ID_KEY, ReportRead, check_table
from claims.reports.columns import PAIRED, Spec, header_names
from claims.reports.departments import SPECS
from claims.reports.fast import read_plain
from claims.reports.layout import control_totals, layout_notes, skipped_sheets
from claims.reports.reasons import EXCEPTION_COLUMNS
from tabular.cells import cell_text
from tabular.files import META_COLUMNS, TableError, source_name
from tabular.headers import header_key, match_columns
from tabular.resident_id import id_key
from tabular.sheets import Sheet, read_sheets

#: How many data rows :class:`UnmatchedColumns` keeps to show a person the file.
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class UnmatchedColumns:
    """Why a file's columns could not be read, as data: the required canonical columns not found (or
    found under several headers), the ones that were matched (canonical → header), every header of the
    file in order, the line they were read from, and the first :data:`SAMPLE_ROWS` data rows as text."""

    missing: tuple[str, ...]
    matched: dict[str, str]
    headers: tuple[str, ...]
    header_line: int
    first_rows: tuple[tuple[str, ...], ...]


class ReportFileError(TableError):
    """The whole report file is refused; ``.file`` names it and ``.message`` says why (bilingual);
    ``.unmatched`` is set when the refusal is that required columns were not recognised."""

    def __init__(self, file: str, message: str, *, unmatched: UnmatchedColumns | None = None):
        super().__init__(file, message)
        self.unmatched = unmatched


def _header_line(table: pd.DataFrame) -> int:
    """The line the headers were read from: as :func:`read_table` reports it, else the line above the
    first data row (line 1 for a file without data rows)."""
    if "header_line" in table.attrs:
        return int(table.attrs["header_line"])
    return int(table["source_line"].iloc[0]) - 1 if len(table) else 1


def _unmatched(spec: Spec, table: pd.DataFrame, given: dict[str, str], headers: list[str],
               department: str) -> UnmatchedColumns:
    """The required columns that neither the given mapping nor the alias table finds (an ID column may
    be found twice, a stand-in counts for its column), with the rest."""
    free = [h for h in headers if h not in given.values()]
    matched = dict(given)
    for canonical, aliases in spec.column_map.items():
        if canonical in given:
            continue
        try:  # one column at a time: "not found" and "found twice" both leave it to the person
            found = match_columns(free, {canonical: aliases}, required=[canonical], file_name="", pairs=PAIRED)
        except TableError:
            continue
        matched.update({c: h for h, c in found.items()})
    sample = table[headers].head(SAMPLE_ROWS)
    first_rows = tuple(zip(*(cell_text(sample[h]).fillna("").tolist() for h in headers), strict=True))
    stand_ins = spec.stand_ins
    missing = tuple(c for c in spec.required if c not in matched and stand_ins.get(c) not in matched)
    return UnmatchedColumns(missing=missing, matched=matched,
                            headers=tuple(headers), header_line=_header_line(table), first_rows=first_rows)


def _given_headers(spec: Spec, columns: Mapping[str, str], headers: list[str], department: str,
                   name: str) -> dict[str, str]:
    """A given mapping checked against the department and the file: canonical → the file's header.
    A header is found as written, else by :func:`tabular.headers.header_key` (spaces, brackets, case)."""
    unknown = [c for c in columns if c not in spec.columns]
    if unknown:
        raise ReportFileError(name, f"映射中的列 {'、'.join(unknown)} 不属于部门 {department}（可用：{'、'.join(spec.columns)}） / "
                                    f"mapped column(s) {', '.join(unknown)} are not columns of department {department} "
                                    f"(use: {', '.join(spec.columns)})")
    by_key: dict[str, list[str]] = {}
    for h in headers:
        by_key.setdefault(header_key(h), []).append(h)
    given: dict[str, str] = {}
    absent: list[str] = []
    for canonical, header in columns.items():
        hits = [header] if header in headers else by_key.get(header_key(header), [])
        if len(hits) == 1:
            given[canonical] = hits[0]
        else:
            absent.append(f"{canonical} → {header}")
    if absent:
        raise ReportFileError(name, f"映射的表头在文件中找不到（或不唯一）：{'；'.join(absent)}（文件表头：{'、'.join(headers)}） / "
                                    f"mapped header(s) not found once in the file: {'; '.join(absent)} (the file's "
                                    f"headers: {', '.join(headers)}); correct the mapping or the file")
    twice = sorted({h for h in given.values() if list(given.values()).count(h) > 1})
    if twice:
        raise ReportFileError(name, f"表头 {'、'.join(twice)} 被映射到多个列，每个表头只能对应一列 / header(s) "
                                    f"{', '.join(twice)} mapped to several columns; map each header to one column")
    return given


def _column_mapping(spec: Spec, table: pd.DataFrame, columns: Mapping[str, str] | None, department: str,
                    name: str) -> dict[str, str]:
    """``{file header: canonical}``: the given columns first, the alias table for the others."""
    headers = [h for h in table.columns if h not in META_COLUMNS]
    given = _given_headers(spec, columns, headers, department, name) if columns else {}
    free = [h for h in headers if h not in given.values()]
    aliases = {c: a for c, a in spec.column_map.items() if c not in given}
    try:
        found = match_columns(free, aliases, required=[c for c in spec.required if c not in given], file_name=name,
                              pairs=PAIRED, stand_ins=spec.stand_ins or None)
    except TableError as exc:
        line = _header_line(table)
        where = (f"表头取自第 {line} 行（{'、'.join(headers)}）：" + exc.message.replace(" / ", " / header taken from "
                 f"line {line} ({', '.join(headers)}): ", 1))
        unmatched = _unmatched(spec, table, given, headers, department)
        raise ReportFileError(exc.file, where, unmatched=unmatched) from exc
    return {**found, **{header: canonical for canonical, header in given.items()}}


def read_report(source: str | Path | IO[bytes] | bytes, department: str, *, file_name: str | None = None,
                fast: bool = True, key: bool = False, columns: Mapping[str, str] | None = None) -> ReportRead:
    """Read one department report file (CSV/TXT, Excel or Parquet; see :mod:`tabular.sheets`).

    ``department`` is one of :data:`claims.reports.departments.SPECS` (what each one's file holds).
    Raises :class:`ReportFileError` for a whole-file problem.

    Big machine exports in canonical form (CSV/Parquet 医保 files) are read by :mod:`.fast` (pyarrow,
    multithreaded) with the same result; any other file, or one with a single non-canonical cell, by the
    general reader (``fast=False``: always the general reader).  ``key=True`` appends :data:`ID_KEY`
    (int64 resident-ID key) to the rows of person departments.  ``columns`` (canonical name → the
    file's header text) names columns the alias table does not know; given columns take precedence over
    alias matching, and a given header not in the file refuses the file (a mapped file always takes the
    general reader).
    """
    name = source_name(source, file_name)
    if department not in SPECS:
        raise ReportFileError(name, f"未知部门 {department!r}（可用：{'、'.join(SPECS)}） / "
                                    f"unknown department {department!r} (use one of: {', '.join(SPECS)})")
    spec = SPECS[department]
    if not isinstance(source, (str, Path, bytes)):  # a stream is read once, for both readers
        try:
            source = source.read()
        except OSError as exc:
            raise ReportFileError(name, f"无法读取文件 / cannot read the file: {exc}") from exc
        if isinstance(source, str):
            source = source.encode("utf-8")
    plain = read_plain(source, department, spec, name, key=key) if fast and not columns else None
    if plain is not None:
        return plain
    try:
        sheets = read_sheets(io.BytesIO(source) if isinstance(source, bytes) else source, file_name=name,
                             header_names=[*header_names(department, spec), *(columns or {}).values()])
    except TableError as exc:
        raise ReportFileError(exc.file, exc.message) from exc
    mapped, refused = _mapped_sheets(spec, sheets, columns, department, name)
    parts = [_read_sheet(spec, sheet, mapping, named=len(sheets) > 1) for sheet, mapping in mapped]
    rows = pd.concat([r for r, _ in parts], ignore_index=True) if len(parts) > 1 else parts[0][0]
    exceptions = pd.concat([skipped_sheets(refused), *(e for _, e in parts)], ignore_index=True)
    if key and spec.columns.get("id_no") is not None:
        rows[ID_KEY] = id_key(rows["id_no"])
    return ReportRead(department=department, file=name, rows=rows, exceptions=exceptions[EXCEPTION_COLUMNS],
                      rows_read=sum(len(sheet.table) for sheet, _ in mapped))


def _mapped_sheets(spec: Spec, sheets: list[Sheet], columns: Mapping[str, str] | None, department: str,
                   name: str) -> tuple[list[tuple[Sheet, dict[str, str]]], list[tuple[Sheet, str]]]:
    """The sheets whose header matches the department, with their column mapping, and the others with
    why.  A file with one table is refused as that table is; a workbook none of whose sheets matches is
    refused naming every sheet."""
    if len(sheets) == 1:
        return [(sheets[0], _column_mapping(spec, sheets[0].table, columns, department, name))], []
    mapped, refused, errors = [], [], []
    for sheet in sheets:
        try:
            mapped.append((sheet, _column_mapping(spec, sheet.table, columns, department, sheet.label)))
        except ReportFileError as exc:
            refused.append((sheet, exc.message))
            errors.append(exc)
    if not mapped:
        first = errors[0]
        raise ReportFileError(name, "没有一个工作表的表头属于本部门 / no sheet's header matches this department: "
                              + "；".join(f"工作表 / sheet “{s.name}”: {why}" for s, why in refused),
                              unmatched=first.unmatched)
    return mapped, refused


def _read_sheet(spec: Spec, sheet: Sheet, mapping: dict[str, str], *, named: bool = False
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One table's usable rows and exceptions: its rows' (:func:`check_table`), its layout notes and its
    control totals (:mod:`.layout`), in line order.  ``named``: one of several sheets, so each detail
    starts with the sheet's name (a line alone, as the database keeps it, would be ambiguous)."""
    rows, exceptions = check_table(spec, sheet.table, mapping, sheet.fen_per_unit)
    every = pd.concat([layout_notes(spec, sheet, mapping), exceptions, control_totals(spec, sheet, mapping)],
                      ignore_index=True)
    if named:
        every["detail"] = f"工作表“{sheet.name}” / sheet \"{sheet.name}\": " + every["detail"].astype(object)
    return rows, every.sort_values("line", kind="stable").reset_index(drop=True)
