"""Reading a table file's bytes as raw cells (CSV/TXT, Excel, ODS, Parquet), with true line numbers.

The lowest layer of the table readers: a file becomes one or more *raw grids* (every row of the file,
title rows and 合计 rows included, columns numbered 0, 1 …) with the line number of each row;
:mod:`tabular.sheets` then finds the header and the data rows in each grid.

* CSV/TXT: decoded as UTF-16 when it starts with a byte-order mark (Excel's "Unicode text"), else
  ``utf-8-sig`` (strict), else ``gb18030`` (strict), else refused.  Every cell comes
  back as the text written in the file (``str`` columns, no number parsing, ``""`` stays ``""``, ``"NA"``
  stays ``"NA"``).  The delimiter is a comma, or a tab when the first line with either (the header; a
  title line above it has neither) has tabs and no commas.  Line numbers count the newlines inside
  quoted cells.
* Excel (``.xlsx .xlsm .xls .ods``): every sheet, read with ``pandas.read_excel(engine="calamine")``;
  ``object`` columns whose cells keep their native Python types (str, int, float, datetime, bool), so a
  caller can tell an ID that Excel stored as a number.  Blank cells are ``""``.  Row i is sheet row i + 1.
* Parquet: as stored; nulls are ``None``/``NaN``.  The column names become the grid's first row.

A workbook (``.xlsx .xlsm .ods``, a zip archive) is refused *before it is parsed* with
:class:`WorkbookTooLargeError` when its members unzip to more than ``RELIEF_MAX_XLSX_UNCOMPRESSED_MB``
(default :data:`MAX_UNCOMPRESSED_MB`) or its sheets declare more than ``RELIEF_MAX_CELLS`` cells (default
:data:`MAX_CELLS`): a zip bomb of a few MB is refused in milliseconds, not after gigabytes of XML.

A file that cannot be read at all raises :class:`TableError` (bilingual message naming the file).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from tabular.errors import InvalidInputError, OverLimitError

EXCEL_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")
TEXT_EXTENSIONS = (".csv", ".txt")
#: Columns a read table carries besides the file's own: file name, line number, surplus fields.
META_COLUMNS = ["source_file", "source_line", "source_extra"]
#: Rows searched for the header (title, unit and blank rows above it are common in county exports).
HEADER_SEARCH_ROWS = 20

#: A raw grid: (sheet name or None, cells, line number of each row, CSV fields per row or None).
Grid = tuple[str | None, pd.DataFrame, np.ndarray, np.ndarray | None]


class TableError(InvalidInputError):
    """The whole file is refused (undecodable, empty, unreadable, missing required columns …)."""

    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


#: Defaults of the workbook limits (environment: ``RELIEF_MAX_XLSX_UNCOMPRESSED_MB``, ``RELIEF_MAX_CELLS``):
#: a county's biggest department workbook is far below both; bigger exports belong in CSV or Parquet.
MAX_UNCOMPRESSED_MB = 300
MAX_CELLS = 5_000_000
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?\"")


class WorkbookTooLargeError(TableError, OverLimitError):
    """A workbook refused before parsing: too big once unzipped, or too many cells."""


def _cells(ref: re.Match[bytes]) -> int:
    """Cells of a sheet's declared ``<dimension ref="A1:L2000">`` (one cell for ``ref="A1"``)."""
    def col(letters: bytes) -> int:
        n = 0
        for c in letters:
            n = n * 26 + c - 64
        return n
    a, r1, b, r2 = ref.groups()
    if b is None:
        return 1
    return (abs(int(r2) - int(r1)) + 1) * (abs(col(b) - col(a)) + 1)


def check_workbook(data: bytes, name: str) -> None:
    """Refuse a zipped workbook (xlsx, xlsm, ods) whose members unzip to more than the configured size or
    whose sheets declare more than the configured cells, before any XML is parsed; then unzip each member
    in 1 MB pieces, discarding them, so that a member that lies about its size fails its CRC check here
    rather than in the parser (memory stays at one piece).  Not a zip (``.xls``): nothing to check."""
    if data[:4] != b"PK\x03\x04":
        return
    mb = float(os.environ.get("RELIEF_MAX_XLSX_UNCOMPRESSED_MB") or MAX_UNCOMPRESSED_MB)
    max_cells = int(os.environ.get("RELIEF_MAX_CELLS") or MAX_CELLS)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > mb * 1024 * 1024:
                raise WorkbookTooLargeError(name, f"工作簿解压后 {total / 2**20:,.0f} MB，超过上限 {mb:,.0f} MB，未读取；请另存为 "
                                                  f"CSV / the workbook unzips to {total / 2**20:,.0f} MB, over the limit "
                                                  f"of {mb:,.0f} MB; not read (save it as CSV)")
            cells = 0
            for m in members:
                if m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml"):
                    with archive.open(m) as sheet:
                        found = _DIMENSION.search(sheet.read(4096))
                    cells += _cells(found) if found else 0
            if cells > max_cells:
                raise WorkbookTooLargeError(name, f"工作簿声明 {cells:,} 个单元格，超过上限 {max_cells:,}，未读取；请另存为 CSV / "
                                                  f"the workbook declares {cells:,} cells, over the limit of "
                                                  f"{max_cells:,}; not read (save it as CSV)")
            for m in members:
                with archive.open(m) as member:
                    while member.read(1 << 20):
                        pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise TableError(name, f"无法读取 Excel 文件（压缩包损坏）/ cannot read the Excel file (damaged archive): "
                               f"{exc}") from exc


def source_name(source: str | Path | IO[bytes], file_name: str | None = None) -> str:
    """The name a person knows the file by: ``file_name``, else the path's (or stream's) name."""
    if file_name:
        return file_name
    if isinstance(source, (str, Path)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "<upload>"


def read_bytes(source: str | Path | IO[bytes], name: str) -> bytes:
    """The file's bytes (a text stream's text as UTF-8); :class:`TableError` when it cannot be read."""
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
    """``"text"``, ``"excel"`` or ``"parquet"`` by the extension; without one, by the magic bytes."""
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
    """Every sheet of the workbook, in order: (sheet name, raw grid, line numbers, None); a zipped workbook
    over the limits is refused first (:func:`check_workbook`)."""
    check_workbook(data, name)
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, engine="calamine", header=None, dtype=object,
                               keep_default_na=False, na_filter=False)
    except Exception as exc:  # calamine raises its own error types for corrupt files
        raise TableError(name, f"无法读取 Excel 文件 / cannot read the Excel file: {exc}") from exc
    # pandas asks calamine for the sheet from A1 (empty leading rows kept), so row i is sheet row i + 1
    return [(str(sheet), grid.astype(object), np.arange(1, len(grid) + 1, dtype=np.int64), None)
            for sheet, grid in sheets.items()]


def _read_parquet(data: bytes, name: str) -> tuple[pd.DataFrame, np.ndarray, None]:
    """Raw grid of a Parquet file: the column names as row 0, then the stored values (object cells)."""
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:
        raise TableError(name, f"无法读取 Parquet 文件 / cannot read the Parquet file: {exc}") from exc
    header = pd.DataFrame([list(frame.columns)], dtype=object)
    body = frame.astype(object)
    body.columns = range(len(frame.columns))
    grid = pd.concat([header, body], ignore_index=True)
    return grid, np.arange(1, len(grid) + 1, dtype=np.int64), None


def read_grids(source: str | Path | IO[bytes], file_name: str | None = None) -> tuple[str, str, list[Grid]]:
    """(the file's name, its kind ``"text"``/``"excel"``/``"parquet"``, its raw grids: one for CSV/TXT and
    Parquet, one per sheet of a workbook).  Raises :class:`TableError` when the file is unreadable or empty."""
    name = source_name(source, file_name)
    data = read_bytes(source, name)
    if not data:
        raise TableError(name, "文件为空 / file is empty")
    kind = _kind(name, data)
    if kind == "excel":
        return name, kind, _read_excel(data, name)
    return name, kind, [(None, *{"text": _read_text, "parquet": _read_parquet}[kind](data, name))]
