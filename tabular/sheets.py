"""Reading a table file (CSV/TXT, Excel, ODS, Parquet) as tables of raw cells with true line numbers.

Used by the insured roster (:mod:`products.roster`), the department reports (:mod:`claims.reports`) and
the claims history (:mod:`actuarial.history`).  The file becomes raw grids (:mod:`tabular.files`: encodings,
sheets, cell types); in each grid the header is found below any title rows, and 合计/小计/footer rows
below it are not data (:mod:`tabular.layout`).

``source_line`` is the line a person sees: with the header on line 1, the first data row is line 2 (for
Excel the sheet's row number; CSV lines count the newlines inside quoted cells).  Fully blank rows are
skipped but do not shift line numbers.  ``source_extra`` is ``""`` except for a CSV row with more fields
than the header line, where it describes the surplus: such a row is shifted (typically an unquoted comma
inside an amount) and callers must not use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from tabular.cells import is_blank
from tabular.files import TableError, read_grids
from tabular.headers import header_key, header_text, unique_headers
from tabular.layout import header_row, layout_kinds, title_unit
from tabular.money import FEN_PER_YUAN


@dataclass(frozen=True)
class Sheet:
    """One table of a file as :func:`read_sheets` finds it.

    ``table``: data rows (the file's headers as columns + ``source_file``, ``source_line``,
    ``source_extra``; ``table.attrs["header_line"]``); ``totals``: the 合计/总计 rows in the same shape
    (control totals, never data); ``notes``: what a person should know about the layout, as
    ``(line, code, detail)`` with codes from :data:`tabular.layout.LAYOUT_REASONS`; ``fen_per_unit``: the
    unit a unit row above the header declares (单位：万元 → 1,000,000; else 100); ``name``: the sheet
    (Excel) or None."""

    name: str | None
    label: str
    header_line: int
    table: pd.DataFrame
    totals: pd.DataFrame
    notes: list[tuple[int, str, str]]
    fen_per_unit: int


def read_sheets(source: str | Path | IO[bytes], *, file_name: str | None = None,
                header_names: Iterable[str] = ()) -> list[Sheet]:
    """Every table of a file: one for CSV/TXT and Parquet, one per non-empty sheet of a workbook (an
    empty sheet gives none).  Within each, the header is the row among the first
    :data:`~tabular.files.HEADER_SEARCH_ROWS` non-blank rows holding the most of ``header_names``
    (compared by :func:`~tabular.headers.header_key`; the earliest on a tie); when none holds any, the
    first row with the most filled cells (title rows above the header fill one cell).  Rows above the header are the title: a unit there
    (单位：万元) sets ``fen_per_unit``.  Below the header, a row with a cell 合计/总计 is a control total
    (``totals``), one with 小计 a subtotal and one of only 制表人/审核人/填报日期… a footer: neither is data,
    both are noted.  Raises :class:`TableError` when the file is unreadable or has no table at all."""
    name, kind, grids = read_grids(source, file_name)
    known = {header_key(h) for h in header_names}
    several = len(grids) > 1
    sheets = []
    for sheet, grid, lines, fields in grids:
        label = f"{name}!{sheet}" if several else name
        found = _sheet(grid, lines, fields, kind, label, known)
        if found is not None:
            sheets.append(Sheet(sheet, label, *found))
    if not sheets:
        raise TableError(name, "文件为空 / file is empty")
    return sheets


def read_table(source: str | Path | IO[bytes], *, file_name: str | None = None,
               header_names: Iterable[str] = ()) -> pd.DataFrame:
    """The data rows of the first table of a file (:func:`read_sheets`): the file's (cleaned) headers as
    columns, plus ``source_file`` (str), ``source_line`` (int64) and ``source_extra`` (str, see module
    docstring); ``attrs["header_line"]`` is the header's line.

    ``source`` is a path or a binary file-like object; the format comes from the extension of
    ``file_name`` (or the path's name) and is sniffed when there is none.  Raises :class:`TableError`.
    """
    return read_sheets(source, file_name=file_name, header_names=header_names)[0].table


def _sheet(grid: pd.DataFrame, lines: np.ndarray, fields: np.ndarray | None, kind: str, name: str,
           known: set[str]) -> tuple | None:
    """(header_line, table, totals, notes, fen_per_unit) of one raw grid; None when it is blank."""
    if kind == "text":  # every cell is a str: vectorised string ops
        blank = pd.DataFrame({c: grid[c].str.strip() == "" for c in grid.columns}, index=grid.index)
    else:
        blank = pd.DataFrame({c: is_blank(grid[c]) for c in grid.columns}, index=grid.index)
    blank_row = blank.all(axis=1).to_numpy() if len(grid.columns) else np.ones(len(grid), dtype=bool)
    if blank_row.all():
        return None
    head = header_row(grid, blank_row, known)
    headers = header_text(grid.iloc[head].tolist())
    header_line = int(lines[head])
    notes: list[tuple[int, str, str]] = []
    if head > int(np.flatnonzero(~blank_row)[0]) or header_line != 1:
        notes.append((header_line, "header_row", f"表头取第 {header_line} 行 / header taken from line {header_line}"))
    fen_per_unit, unit = title_unit(grid, head)
    if fen_per_unit != FEN_PER_YUAN:
        notes.append((header_line, "unit_wan", f"标题中的单位 / unit in the title: {unit}"))
    body_rows = (np.arange(len(grid)) > head) & ~blank_row
    # totals, subtotals and footers are recognised in the first columns (where exports write them)
    is_total, is_subtotal, footer = layout_kinds(grid, body_rows)
    for line in lines[is_subtotal]:
        notes.append((int(line), "subtotal_row", f"第 {line} 行为小计 / line {line} is a subtotal"))
    for line in lines[footer]:
        notes.append((int(line), "footer_row", f"第 {line} 行为表尾 / line {line} is a footer"))
    data_rows = body_rows & ~is_total & ~is_subtotal & ~footer
    table = _rows(grid, lines, fields, kind, name, blank, head, headers, data_rows, data_rows)
    totals = _rows(grid, lines, fields, kind, name, blank, head, headers, is_total, data_rows)
    table.attrs["header_line"] = header_line
    return header_line, table, totals, notes, fen_per_unit


def _rows(grid: pd.DataFrame, lines: np.ndarray, fields: np.ndarray | None, kind: str, name: str,
          blank: pd.DataFrame, head: int, headers: list[str], keep: np.ndarray, data_rows: np.ndarray
          ) -> pd.DataFrame:
    """The rows ``keep`` of a grid under the header row ``head``, in :func:`read_table`'s shape (an
    unnamed column is kept when a data row fills it, so totals and data rows have the same columns)."""
    # CSV: fields beyond the header line's are "extra fields" (reported in source_extra, not as columns);
    # an unnamed column inside the header (or any in Excel/Parquet) is kept when it holds something
    if kind != "text":
        width = len(headers)
    elif fields is not None:
        width = int(fields[head])
    else:
        width = max((i + 1 for i, h in enumerate(headers) if h), default=0)
    body_blank = blank[data_rows]
    body = grid[keep]
    names = unique_headers(headers)
    columns = {}
    for i, c in enumerate(grid.columns):
        if i >= width:
            continue
        if not headers[i] and body_blank[c].all():
            continue  # an unnamed, empty column (Excel formatting, trailing delimiter)
        columns[names[i]] = pd.Series(body[c].to_numpy(), index=pd.RangeIndex(len(body)), dtype=body[c].dtype)
    out = pd.DataFrame(columns, index=pd.RangeIndex(len(body)))

    extra = pd.Series("", index=out.index, dtype=object)
    if kind == "text":
        keep_blank = blank[keep]
        joined = pd.Series("", index=body.index, dtype=object)
        for i, c in enumerate(grid.columns[width:]):  # loop over the surplus columns
            joined = joined + ("," if i else "") + body[c].astype(object)
        surplus_blank = keep_blank[grid.columns[width:]].all(axis=1).to_numpy()
        if fields is not None:
            longer = fields[keep] > fields[head]
            if len(body) and longer.all() and surplus_blank.all() and (fields[keep] == fields[keep][0]).all():
                longer[:] = False  # every data row ends with the same empty fields: an exporter's habit
        else:
            longer = ~surplus_blank
        count = pd.Series((fields[keep] - fields[head]) if fields is not None else np.ones(len(body), np.int64))
        text = ("多 " + count.astype(str) + " 个字段 / " + count.astype(str) + " extra field(s): "
                + pd.Series(joined.to_numpy(), dtype=object).str.rstrip(","))
        extra = pd.Series(np.where(longer, text.to_numpy(), ""), index=out.index, dtype=object)
    out["source_file"] = pd.Series(name, index=out.index, dtype="str")
    out["source_line"] = pd.Series(lines[keep], index=out.index, dtype="int64")
    out["source_extra"] = extra.astype("str")
    return out
