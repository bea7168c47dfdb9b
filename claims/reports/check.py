"""The general reader's work on one table of raw cells: every cell parsed (:mod:`claims.reports.parse`),
the department's derivation run, each row's problems collected → usable rows + exception rows.

Used by :mod:`claims.reports.reader` on every table it reads and by :mod:`claims.reports.fast` on the
rows of a machine export that are not plain, so both word a row's problems alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pandas as pd

from claims.reports.columns import SELF_CHECKED_KINDS, Spec
from claims.reports.parse import ABSENT, FROM_STAND_IN, MONEY_KINDS, PARSERS, Problems, cell_detail, parse_id_pair
from claims.reports.reasons import EXCEPTION_COLUMNS, exceptions_frame
from tabular.cells import cell_text
from tabular.headers import SECOND, header_fen_per_unit
from tabular.money import FEN_PER_YUAN

#: Extra column of the rows of person departments: the resident ID as int64, its 17-digit body (the check
#: digit is derived from it; :func:`tabular.resident_id.id_from_key` gives the ID back).  Not stored in
#: the database (it is not in the department's spec): rebuilt from ``id_no`` when needed.
ID_KEY = "id_key"


@dataclass
class ReportRead:
    department: str
    file: str
    rows: pd.DataFrame  # usable rows: canonical columns + source_file (str) + source_line (int64) [+ id_key]
    exceptions: pd.DataFrame  # EXCEPTION_COLUMNS
    rows_read: int  # non-empty data rows in the file


def _label(header: str, canonical: str) -> str:
    return header if header == canonical else f"{header}({canonical})"


def _parse_cells(spec: Spec, table: pd.DataFrame, headers: dict[str, str], problems: Problems,
                 fen_per_unit: int = FEN_PER_YUAN) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame and raw frame with canonical columns; cell problems go to ``problems``.  An ID column
    given twice is reconciled (:func:`~claims.reports.parse.parse_id_pair`); a money column is read in
    its header's unit, else the title's (``fen_per_unit``); a required column absent because another
    stands in for it (the spec's ``stand_ins``) is read from that one."""
    n = len(table)
    typed: dict[str, pd.Series] = {}
    raw: dict[str, pd.Series] = {}
    reasons: dict[str, tuple[str, pd.Series]] = {}  # canonical → (header, reason per row)
    for name, col in spec.columns.items():  # a loop over columns, each parsed whole
        header = headers.get(name)
        stand_in = headers.get(spec.stand_ins.get(name, ""))
        if header is None and stand_in is not None:
            header, parser = stand_in, FROM_STAND_IN[col.kind]
        elif header is None:
            typed[name] = ABSENT[col.kind](n)
            continue
        elif name + SECOND in headers:
            parser = partial(parse_id_pair, second=table[headers[name + SECOND]])
        elif col.kind in MONEY_KINDS:
            parser = partial(PARSERS[col.kind], fen_per_unit=header_fen_per_unit(header, fen_per_unit))
        else:
            parser = PARSERS[col.kind]
        cells = table[header]
        parsed = parser(cells)
        typed[name] = parsed.values
        raw[name] = cells
        if col.kind not in SELF_CHECKED_KINDS:
            reasons[name] = (header, parsed.reason)
    for name, (header, reason) in _either_given(spec, typed, reasons).items():
        label = _label(header, name) if name + SECOND not in headers else f"{header}/{headers[name + SECOND]}({name})"
        problems.error(reason.notna(), reason, _cell_details(label, table[header], reason, table, headers, name))
    frame = pd.DataFrame(typed, index=table.index)
    frame["source_file"] = table["source_file"].astype("str")
    frame["source_line"] = table["source_line"].astype("int64")
    return frame, pd.DataFrame(raw, index=table.index)


def _either_given(spec: Spec, typed: dict[str, pd.Series], reasons: dict[str, tuple[str, pd.Series]]
                  ) -> dict[str, tuple[str, pd.Series]]:
    """Cell reasons with a household number and the householder's ID standing in for it (``stand_ins``)
    both in the file: each row needs one of them — a blank in one is fine where the other is filled;
    both blank is the household number's ``missing_value``.  (A school year and a term both given stay
    separate: a blank school year is missing, whatever the term says.)"""
    out = dict(reasons)
    for name, other in spec.stand_ins.items():
        if name not in reasons or other not in reasons or spec.columns[name].kind != "key":
            continue
        (header, reason), (other_header, other_reason) = reasons[name], reasons[other]
        blank_other = typed[other].isna() & other_reason.isin(["id_missing", "missing_value"])
        filled_other = typed[other].notna()
        out[name] = (header, reason.mask(filled_other & (reason == "missing_value")))
        out[other] = (other_header, other_reason.mask(blank_other))
    return out


def _cell_details(label: str, cells: pd.Series, reasons: pd.Series, table: pd.DataFrame,
                  headers: dict[str, str], name: str) -> pd.Series:
    """:func:`cell_detail`, with both values for two ID columns that disagree."""
    if name + SECOND not in headers:
        return cell_detail(label, cells, reasons)
    both = cell_text(cells).fillna("") + " ≠ " + cell_text(table[headers[name + SECOND]]).fillna("")
    return cell_detail(label, both.where(reasons == "id_columns_disagree", cells), reasons)


def check_table(spec: Spec, table: pd.DataFrame, mapping: dict[str, str], fen_per_unit: int = FEN_PER_YUAN
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The general reader's work on a table of raw cells (:func:`tabular.sheets.read_table`'s shape:
    the file's headers + ``source_file``, ``source_line``, ``source_extra``): every cell parsed, the
    department's derivation run, each row's problems collected → (usable rows, exceptions).
    ``fen_per_unit``: the unit the file's title declares for its amounts (a header's own unit wins)."""
    headers = {canonical: header for header, canonical in mapping.items()}

    problems = Problems(table.index)
    extra = table["source_extra"] != ""
    problems.error(extra, "extra_fields", table["source_extra"].astype(object))
    typed, raw = _parse_cells(spec, table, headers, problems, fen_per_unit)
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
