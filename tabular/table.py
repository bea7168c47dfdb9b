"""Reading a table file (CSV/TXT, Excel, Parquet) as raw cells with true line numbers.

Used by the insured roster (:mod:`products.roster`) and the department reports (:mod:`claims.reports`).

* CSV/TXT: decoded as UTF-16 when it starts with a byte-order mark (Excel's "Unicode text"), else
  ``utf-8-sig`` (strict), else ``gb18030`` (strict), else refused.  Every cell comes
  back as the text written in the file (``str`` columns, no number parsing, ``""`` stays ``""``, ``"NA"``
  stays ``"NA"``).  The delimiter is a comma, or a tab when the first line with either (the header; a
  title line above it has neither) has tabs and no commas.
* Excel (``.xlsx .xlsm .xls .ods``): every sheet (:func:`read_sheets`; :func:`read_table` takes the first
  with a table), read with ``pandas.read_excel(engine="calamine")``;
  ``object`` columns whose cells keep their native Python types (str, int, float, datetime, bool), so a
  caller can tell an ID that Excel stored as a number.  Blank cells are ``""``.
* Parquet: as stored; nulls are ``None``/``NaN``.

The header is found among the first rows (a title, unit or blank rows may be above it; see
:func:`read_sheets`), and 合计/小计/footer rows below it are not data.  ``source_line`` is the line a
person sees: with the header on line 1, the first data row is line 2 (for Excel the sheet's row number; CSV lines count the newlines
inside quoted cells).  Fully blank rows are skipped but do not shift line numbers.  ``source_extra`` is
``""`` except for a CSV row with more fields than the header line, where it describes the surplus: such
a row is shifted (typically an unquoted comma inside an amount) and callers must not use it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tabular.money import FEN_PER_WAN, FEN_PER_YUAN, is_number, normalise_arrow

EXCEL_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")
TEXT_EXTENSIONS = (".csv", ".txt")
META_COLUMNS = ["source_file", "source_line", "source_extra"]


class TableError(ValueError):
    """The whole file is refused (undecodable, empty, unreadable, missing required columns …)."""

    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


def source_name(source: str | Path | IO[bytes], file_name: str | None = None) -> str:
    """The name a person knows the file by: ``file_name``, else the path's (or stream's) name."""
    if file_name:
        return file_name
    if isinstance(source, (str, Path)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "<upload>"


def _read_bytes(source: str | Path | IO[bytes], name: str) -> bytes:
    try:
        if isinstance(source, (str, Path)):
            return Path(source).read_bytes()
        data = source.read()
    except OSError as exc:
        raise TableError(name, f"无法读取文件 / cannot read the file: {exc}") from exc
    if isinstance(data, str):  # a text stream: re-encode so both paths decode the same way
        data = data.encode("utf-8")
    return data


def _kind(name: str, data: bytes) -> str:
    ext = Path(name).suffix.lower()
    if ext in TEXT_EXTENSIONS:
        return "text"
    if ext in EXCEL_EXTENSIONS:
        return "excel"
    if ext == ".parquet":
        return "parquet"
    if ext:
        raise TableError(name, f"不支持的文件类型 {ext}（可用 csv、txt、xlsx、xls、ods、parquet） / "
                               f"unsupported file type {ext} (use csv, txt, xlsx, xls, ods or parquet)")
    # no extension (e.g. an upload without a name): sniff the magic bytes
    if data[:4] == b"PK\x03\x04" or data[:4] == b"\xd0\xcf\x11\xe0":
        return "excel"
    if data[:4] == b"PAR1":
        return "parquet"
    return "text"


def _decode(data: bytes, name: str) -> str:
    """UTF-16 with a BOM (Excel's "Unicode text"), else UTF-8 (BOM or not), else GB18030, else refused."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16", errors="strict")
        except UnicodeDecodeError as exc:
            raise TableError(name, "UTF-16 文件无法解码 / cannot decode the UTF-16 file") from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding, errors="strict")
        except UnicodeDecodeError:
            continue
    raise TableError(name, "无法识别的文件编码，请另存为 UTF-8、GB18030 或带 BOM 的 UTF-16 / "
                           "cannot decode file as UTF-8 or GB18030 (or UTF-16 with a byte-order mark); save it "
                           "in one of these")


def _blank_cell(v: Any) -> bool:
    return (v is None or v is pd.NA or v is pd.NaT or (isinstance(v, str) and not v.strip())
            or (isinstance(v, (float, np.floating)) and np.isnan(v)))


def is_blank(col: pd.Series) -> pd.Series:
    """True where a cell is empty: None/NaN/NA, or text of only whitespace."""
    if _all_text(col):
        return (col.astype("str").str.strip().fillna("") == "").astype(bool)
    return col.map(_blank_cell).astype(bool)


def _header_text(values: Iterable[Any]) -> list[str]:
    out = []
    for v in values:  # the header row only, not data rows
        if v is None or (isinstance(v, float) and np.isnan(v)):
            text = ""
        elif isinstance(v, float) and v.is_integer():
            text = str(int(v))
        else:
            text = str(v)
        out.append(text.replace("\ufeff", "").strip())
    return out


def _unique(names: list[str]) -> list[str]:
    """Blank headers become ``unnamed_<n>`` (1-based column position); repeats get ``__2``, ``__3``."""
    seen: dict[str, int] = {}
    out = []
    for pos, name in enumerate(names, start=1):
        name = name or f"unnamed_{pos}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}__{seen[name]}")
    return out


def _field_counts(text: str, sep: str) -> np.ndarray:
    """Fields per CSV record, counted on the text with quoted sections removed (so a quoted comma or
    newline does not count).  With stray quotes the count may not line up with pandas' records."""
    bare = re.sub(r'"(?:[^"]|"")*"', "", text).replace("\r\n", "\n").replace("\r", "\n")
    records = bare.split("\n")
    if records and records[-1] == "":
        records.pop()
    return (pd.Series(records, dtype=object).str.count(re.escape(sep)) + 1).to_numpy(dtype=np.int64)


def _read_text(data: bytes, name: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """Raw grid (str cells, one row per CSV record), each record's first line number, fields per record."""
    text = _decode(data, name)
    if not text.strip():
        raise TableError(name, "文件为空 / file is empty")
    # the delimiter from the first line that has one (a title line above the header has none)
    filled = [line for line in text.splitlines()[:10 * HEADER_SEARCH_ROWS] if line.strip()][:HEADER_SEARCH_ROWS]
    first = next((line for line in filled if "\t" in line or "," in line), filled[0])
    sep = "\t" if ("\t" in first and "," not in first) else ","
    counts = _field_counts(text, sep)
    width = int(counts.max()) if len(counts) else 1
    try:
        # names= as wide as the widest record: a record longer than the first is read, not an error
        grid = pd.read_csv(io.StringIO(text), header=None, names=list(range(width)), sep=sep, dtype="str",
                           keep_default_na=False, na_filter=False, skip_blank_lines=False, quotechar='"')
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise TableError(name, f"CSV 格式错误 / malformed CSV: {exc}") from exc
    grid = grid.fillna("").astype("str")
    fields = counts if len(counts) == len(grid) else None  # stray quotes: judge by surplus cells instead
    # first line of each record: 1 + records before + newlines inside quoted cells of those records
    inner = np.zeros(len(grid), dtype=np.int64)
    for c in grid.columns:  # loop over columns, vectorised over rows
        inner += grid[c].str.count("\n").to_numpy(dtype=np.int64)
    lines = 1 + np.arange(len(grid), dtype=np.int64) + np.concatenate(([0], np.cumsum(inner)[:-1]))
    return grid, lines, fields


def _read_excel(data: bytes, name: str) -> list[tuple[str, pd.DataFrame, np.ndarray, None]]:
    """Every sheet of the workbook, in order: (sheet name, raw grid, line numbers, None)."""
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, engine="calamine", header=None, dtype=object,
                               keep_default_na=False, na_filter=False)
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise TableError(name, f"无法读取 Excel 文件 / cannot read the Excel file: {exc}") from exc
    # pandas asks calamine for the sheet from A1 (empty leading rows kept), so row i is sheet row i + 1
    return [(str(sheet), grid.astype(object), np.arange(1, len(grid) + 1, dtype=np.int64), None)
            for sheet, grid in sheets.items()]


def _read_parquet(data: bytes, name: str) -> tuple[pd.DataFrame, np.ndarray, None]:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:
        raise TableError(name, f"无法读取 Parquet 文件 / cannot read the Parquet file: {exc}") from exc
    header = pd.DataFrame([list(frame.columns)], dtype=object)
    body = frame.astype(object)
    body.columns = range(len(frame.columns))
    grid = pd.concat([header, body], ignore_index=True)
    return grid, np.arange(1, len(grid) + 1, dtype=np.int64), None


@dataclass(frozen=True)
class Sheet:
    """One table of a file as :func:`read_sheets` finds it.

    ``table``: data rows (the file's headers as columns + ``source_file``, ``source_line``,
    ``source_extra``; ``table.attrs["header_line"]``); ``totals``: the 合计/总计 rows in the same shape
    (control totals, never data); ``notes``: what a person should know about the layout, as
    ``(line, code, detail)`` with codes from :data:`LAYOUT_REASONS`; ``fen_per_unit``: the unit a unit row
    above the header declares (单位：万元 → 1,000,000; else 100); ``name``: the sheet (Excel) or None."""

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
    :data:`HEADER_SEARCH_ROWS` non-blank rows holding the most of ``header_names`` (compared by
    :func:`header_key`; the earliest on a tie); when none holds any, the first row with the most filled
    cells (title rows above the header fill one cell).  Rows above the header are the title: a unit there
    (单位：万元) sets ``fen_per_unit``.  Below the header, a row with a cell 合计/总计 is a control total
    (``totals``), one with 小计 a subtotal and one of only 制表人/审核人/填报日期… a footer: neither is data,
    both are noted.  Raises :class:`TableError` when the file is unreadable or has no table at all."""
    name = source_name(source, file_name)
    data = _read_bytes(source, name)
    if not data:
        raise TableError(name, "文件为空 / file is empty")
    kind = _kind(name, data)
    if kind == "excel":
        grids = _read_excel(data, name)
    else:
        grids = [(None, *{"text": _read_text, "parquet": _read_parquet}[kind](data, name))]
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


#: Rows searched for the header (title, unit and blank rows above it are common in county exports).
HEADER_SEARCH_ROWS = 20
#: Columns searched for 合计/小计 and footer words.
LAYOUT_COLUMNS = 3
#: A control-total row: one cell reads 合计/总计 (本页合计, 总 计：…); a subtotal: 小计.
_TOTAL = r"^(?:本页|本表|本月|全部|全县|总)?(?P<word>合计|总计|小计)[:：]?$"
#: A footer row: every filled cell starts with one of these (signatures and dates under the table).
_FOOTER = r"^(?:制表|填表|填报|审核|审批|负责人|单位负责人|经办人|联系电话|联系人|日期|备注|说明|注[:：])"
_UNIT = r"单位[:：]\s*(?P<unit>万元|元)"

#: Reason codes of the layout notes of :func:`read_sheets`, with their bilingual explanation.
LAYOUT_REASONS: dict[str, str] = {
    "header_row": "表头不在第 1 行：已取找到的表头行，其上各行视为标题 / the header is not on line 1: the line found is "
                  "used as the header, the lines above it are taken as the title",
    "subtotal_row": "小计行不是数据行，未计入 / a subtotal row is not a data row and is not counted",
    "footer_row": "表尾（制表人、审核人、日期等）不是数据行，未计入 / a footer line (prepared by, checked by, date …) "
                  "is not a data row and is not counted",
    "unit_wan": "单位为万元：金额列已乘以 10,000 换算为元 / the unit is 万元 (ten thousand yuan): amounts were "
                "multiplied by 10,000",
}


def _words(grid: pd.DataFrame, rows: np.ndarray | slice, columns: list) -> pd.DataFrame:
    """Text cells of some rows and columns without white space ("" for blanks and numbers): layout words."""
    part = grid.iloc[rows][columns]
    return pd.DataFrame({c: _text_only(part[c]).str.replace(r"\s+", "", regex=True) for c in columns},
                        index=part.index)


def _text_only(col: pd.Series) -> pd.Series:
    """The text cells of a column as str ("" for blanks, numbers and dates)."""
    if _all_text(col):
        return col.astype(object).fillna("").astype(str)
    return col.map(lambda v: v if isinstance(v, str) else "")


#: Characters one of which every total or footer cell holds: rows without any are not looked at further.
_LAYOUT_CHARS = r"[计制填审负经联日备说注]"


def _layout_words(grid: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Per row of a grid (or a table: its first columns are the file's): the total word (合计/总计/小计,
    NaN if none) and whether it is a footer, judged on the first :data:`LAYOUT_COLUMNS` columns (only
    the rows holding one of :data:`_LAYOUT_CHARS` there are matched word by word)."""
    columns = [c for c in grid.columns if c not in META_COLUMNS][:LAYOUT_COLUMNS]
    candidate = np.zeros(len(grid), dtype=bool)
    for c in columns:
        candidate |= _text_only(grid[c]).str.contains(_LAYOUT_CHARS, regex=True).to_numpy(dtype=bool)
    total_word = pd.Series(np.nan, index=grid.index, dtype=object)
    footer = np.zeros(len(grid), dtype=bool)
    rows = np.flatnonzero(candidate)
    if len(rows):
        first = _words(grid, rows, columns)
        word = pd.Series(np.nan, index=first.index, dtype=object)
        for c in first.columns:
            word = word.fillna(first[c].str.extract(_TOTAL)["word"])
            footer[rows] |= first[c].str.contains(_FOOTER, regex=True).to_numpy(dtype=bool)
        total_word.iloc[rows] = word.to_numpy()
    return total_word, footer


def layout_rows(table: pd.DataFrame) -> np.ndarray:
    """True for the rows of a table (:func:`read_table`'s shape) that :func:`read_sheets` would not take
    as data: total, subtotal and footer rows (a fast reader hands such a file to the general one)."""
    total_word, footer = _layout_words(table)
    return total_word.notna().to_numpy() | footer


def _header_row(grid: pd.DataFrame, blank_row: np.ndarray, known: set[str]) -> int:
    """Position of the header row (see :func:`read_sheets`)."""
    candidates = np.flatnonzero(~blank_row)[:HEADER_SEARCH_ROWS]
    if known:
        hits = [len({header_key(h) for h in _header_text(grid.iloc[i].tolist())} & known) for i in candidates]
        if max(hits) > 0:
            return int(candidates[int(np.argmax(hits))])
    filled = [sum(bool(h) for h in _header_text(grid.iloc[i].tolist())) for i in candidates]
    return int(candidates[int(np.argmax(filled))])


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
    head = _header_row(grid, blank_row, known)
    headers = _header_text(grid.iloc[head].tolist())
    header_line = int(lines[head])
    notes: list[tuple[int, str, str]] = []
    if head > int(np.flatnonzero(~blank_row)[0]) or header_line != 1:
        notes.append((header_line, "header_row", f"表头取第 {header_line} 行 / header taken from line {header_line}"))
    title = "".join(_words(grid, slice(0, head), list(grid.columns)).to_numpy().ravel().tolist())
    unit = re.search(_UNIT, title)
    fen_per_unit = FEN_PER_WAN if unit is not None and unit["unit"] == "万元" else FEN_PER_YUAN
    if fen_per_unit != FEN_PER_YUAN:
        notes.append((header_line, "unit_wan", f"标题中的单位 / unit in the title: {unit.group(0)}"))
    body_rows = (np.arange(len(grid)) > head) & ~blank_row
    # totals, subtotals and footers are recognised in the first columns (where exports write them)
    total_word, footer = _layout_words(grid)
    is_total = total_word.isin(["合计", "总计"]).to_numpy() & body_rows
    is_subtotal = (total_word == "小计").to_numpy() & body_rows
    footer &= body_rows & ~is_total & ~is_subtotal
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
    names = _unique(headers)
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


# ---------------------------------------------------------------------------------------------------
# header aliases

_PARENS = str.maketrans({"（": "(", "）": ")", "【": "[", "】": "]"})


#: A unit at the end of a header: (元), (万元), /元, 单位:万元 (after half-width brackets).
_HEADER_UNIT = r"(?:\((?:单位[:：])?(?P<u1>万?元)\)|[/／](?P<u2>万?元))$"
#: Suffix of the second header of a column that may be given twice (two ID columns).
SECOND = "__2"


def header_key(header: str) -> str:
    """Comparison key of a header: no whitespace or BOM, half-width brackets, case-folded, without a
    leading ``*`` (required-field marker of many templates) and without a trailing unit ``(元)``,
    ``(万元)``, ``/元`` (see :func:`header_fen_per_unit`)."""
    key = re.sub(r"\s+", "", str(header).replace("\ufeff", "")).translate(_PARENS).casefold()
    key = key.lstrip("*")
    return re.sub(_HEADER_UNIT, "", key)


def header_fen_per_unit(header: str, default: int = FEN_PER_YUAN) -> int:
    """Fen per unit of a money column by its header: 1,000,000 for ``核定损失（万元）``, 100 for ``学费（元）``,
    else ``default`` (the unit the title declares)."""
    key = re.sub(r"\s+", "", str(header)).translate(_PARENS)
    unit = re.search(_HEADER_UNIT, key)
    if unit is None:
        return default
    return FEN_PER_WAN if (unit["u1"] or unit["u2"]) == "万元" else FEN_PER_YUAN


def accepted_headers(canonical: str, column_map: dict[str, list[str]]) -> list[str]:
    """Headers accepted for a canonical column: its Chinese aliases, then the canonical English name."""
    return [*column_map.get(canonical, []), canonical]


def match_columns(columns: Iterable[str], column_map: dict[str, list[str]], *, required: list[str],
                  file_name: str, pairs: Iterable[str] = (), stand_ins: dict[str, str] | None = None
                  ) -> dict[str, str]:
    """Map the file's headers to canonical names: ``{file header: canonical}``.

    A column in ``pairs`` may be found under two headers (身份证号 and 证件号码): the one first in its
    alias list maps to the column, the other to ``column + SECOND`` (the reader reconciles them).  A
    required column is not missing when its stand-in (``stand_ins``: required → other column) is found.
    Raises :class:`TableError` listing every missing required column with its accepted headers, or a
    canonical column matched by more headers than it may have (a column found twice is not also called
    missing).
    """
    columns = [c for c in columns if c not in META_COLUMNS]
    stand_ins = stand_ins or {}
    pairs = set(pairs)
    by_key: dict[str, list[str]] = {}
    for col in columns:
        base = re.sub(r"__\d+$", "", col)  # a repeated header counts as the same header
        by_key.setdefault(header_key(base), []).append(col)
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    zh: list[str] = []
    en: list[str] = []
    for canonical in column_map:
        hits = []
        for alias in dict.fromkeys(header_key(a) for a in accepted_headers(canonical, column_map)):
            hits += by_key.get(alias, [])
        if len(hits) > (2 if canonical in pairs else 1):
            ambiguous.add(canonical)
            zh.append(f"列 {canonical} 对应多个表头（{'、'.join(hits)}），请只保留一列")
            en.append(f"column {canonical} matches several headers ({', '.join(hits)}); keep one of them")
        elif hits:
            found[hits[0]] = canonical
            if len(hits) == 2:
                found[hits[1]] = canonical + SECOND
    for canonical in required:
        if canonical in found.values() or canonical in ambiguous or stand_ins.get(canonical) in found.values():
            continue
        names = accepted_headers(canonical, column_map)
        zh.append(f"缺少必需列 {canonical}（可用表头：{'、'.join(names)}）")
        en.append(f"missing required column {canonical} (accepted headers: {', '.join(names)})")
    if zh:
        raise TableError(file_name, "；".join(zh) + " / " + "; ".join(en))
    return found


def rename_columns(df: pd.DataFrame, column_map: dict[str, list[str]], *, required: list[str],
                   file_name: str) -> pd.DataFrame:
    """Rename the file's headers to canonical names (other columns are kept as they are).

    ``column_map`` maps each canonical name to its accepted header aliases; the canonical name itself is
    always accepted.  Headers compare by :func:`header_key`.  Raises :class:`TableError` naming every
    missing required column with its accepted headers.
    """
    mapping = match_columns(df.columns, column_map, required=required, file_name=file_name)
    return df.rename(columns=mapping)


# ---------------------------------------------------------------------------------------------------
# cell helpers shared by the roster and the report readers (vectorised; ``Series.map`` only for types)

#: Reason codes of the shared cell helpers, with their bilingual explanation.
CELL_REASONS: dict[str, str] = {
    "missing_value": "必填项为空 / required value is empty",
    "key_as_number": (
        "编号被存成了数字（超过 15 位、带小数或科学计数法），末位可能已丢失；请把该列设为文本后重新导出 / "
        "the code was stored as a number (over 15 digits, decimals or scientific notation), its last digits "
        "may be lost; re-export the column as text"
    ),
    "bad_village_code": "村代码应为 12 位数字（统计用区划代码） / village code must be 12 digits (NBS division code)",
    "bad_count": "应为正整数 / must be a positive whole number",
}

_SCIENTIFIC = r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$"


@dataclass(frozen=True)
class Cells:
    """A parsed column: ``values`` (typed; missing where invalid) and ``reason`` (code, <NA> where fine)."""

    values: pd.Series
    reason: pd.Series


def _all_text(col: pd.Series) -> bool:
    """True when every non-missing cell is a str (a CSV column): the fast, vectorised paths apply."""
    return pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty")


def number_mask(col: pd.Series) -> pd.Series:
    """True where the cell is a number (int/float, not bool) rather than text: Excel/Parquet cells."""
    if _all_text(col):
        return pd.Series(False, index=col.index)
    return col.map(lambda v: is_number(v) and not _blank_cell(v)).astype(bool)


def _as_text(v: Any) -> Any:
    if _blank_cell(v):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (pd.Timestamp,)) or hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v).strip()


def cell_text(col: pd.Series) -> pd.Series:
    """Cells as stripped text (``str`` dtype; missing where blank).  Integral numbers lose their ``.0``."""
    if _all_text(col):
        text = col.astype("str").str.strip()
    else:
        text = pd.Series(col.map(_as_text), index=col.index, dtype=object).astype("str")
    return text.where(text != "")


def normalise_text(text: pd.Series) -> pd.Series:
    """Text cells NFKC-normalised, zero-width characters dropped (:func:`tabular.money.normalise_arrow`):
    full-width digits and letters become ASCII (``１３０４３４…Ｘ`` → ``130434…X``), NBSP a space.  For IDs,
    codes, numbers and dates only: names and other free text are kept as written."""
    if text.isna().all():
        return text
    arrow = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return pd.Series(normalise_arrow(arrow).to_numpy(zero_copy_only=False), index=text.index,
                     dtype=object).astype("str")


def unwrap_text(text: pd.Series) -> pd.Series:
    """Undo the tricks exports use to keep Excel from turning codes into numbers: a leading apostrophe
    (``'130434…``) or a formula wrapper (``="130434…"``); also drops inner spaces.  The text is
    normalised first (:func:`normalise_text`)."""
    t = normalise_text(text).str.replace(r'^="(.*)"$', r"\1", regex=True).str.replace(r"^['`‘’]", "", regex=True)
    return t.str.replace(r"\s+", "", regex=True)


def parse_key(col: pd.Series) -> Cells:
    """A text identifier (household number, settlement ID): stripped text; blank → ``missing_value``;
    a number cell with more than 15 digits or a fraction, or text in scientific notation → ``key_as_number``
    (an integral number cell of at most 15 digits is exact and is accepted as its digits)."""
    is_num = number_mask(col)
    raw = col if _all_text(col) else col.astype(object)
    text = unwrap_text(cell_text(raw))
    reason = pd.Series(pd.NA, index=col.index, dtype=object)
    if is_num.any():
        num = raw[is_num].astype("float64")
        lossy = ~np.isfinite(num) | (num != np.floor(num)) | (num.abs() >= 1e15)
        reason[lossy[lossy].index] = "key_as_number"
    reason[text.fillna("").str.match(_SCIENTIFIC) & reason.isna()] = "key_as_number"
    reason[(text.isna() | (text == "")) & reason.isna()] = "missing_value"
    return Cells(values=text.where(reason.isna()).astype("str"), reason=reason)


def parse_village_code(col: pd.Series, *, required: bool = True) -> Cells:
    """12-digit NBS village code as text (a number cell of 12 digits is exact and accepted)."""
    key = parse_key(col)
    reason = key.reason.copy()
    blank = reason == "missing_value"
    if not required:
        reason[blank] = pd.NA
    bad = key.reason.isna() & ~key.values.fillna("").str.fullmatch(r"\d{12}")
    reason[bad] = "bad_village_code"
    reason[(key.reason == "key_as_number")] = "bad_village_code"
    values = key.values.where(reason.isna() & ~blank)
    return Cells(values=values.astype("str"), reason=reason)


def parse_count(col: pd.Series) -> Cells:
    """A positive whole number (``3``, ``3.0``, ``"3"``, ``"3人"``) as int64 (0 where invalid)."""
    text = cell_text(col).fillna("").str.replace(r"[人口个]$", "", regex=True)
    m = text.str.fullmatch(r"0*[1-9]\d{0,5}(?:\.0*)?")
    reason = pd.Series(pd.NA, index=col.index, dtype=object)
    reason[text == ""] = "missing_value"
    reason[~m & (text != "")] = "bad_count"
    digits = text.where(m, "0").str.replace(r"\..*$", "", regex=True)
    return Cells(values=digits.astype("int64"), reason=reason)
