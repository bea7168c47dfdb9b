"""Where the table sits in a raw grid (:mod:`tabular.files`): the header row below the title rows, the unit
the title declares, and the rows below the header that are not data (合计/总计 control totals, 小计
subtotals, footers of signatures and dates).

County exports put a title, a unit line (单位：万元) and blank rows above the header, and 合计 rows and
制表人/审核人 lines below the data.  The header is searched among the first :data:`HEADER_SEARCH_ROWS`
non-blank rows; totals, subtotals and footers are recognised by their words in the first
:data:`LAYOUT_COLUMNS` columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tabular.cells import text_only
from tabular.files import HEADER_SEARCH_ROWS, META_COLUMNS
from tabular.headers import header_key, header_text
from tabular.money import FEN_PER_WAN, FEN_PER_YUAN

#: Columns searched for 合计/小计 and footer words.
LAYOUT_COLUMNS = 3
#: A control-total row: one cell reads 合计/总计 (本页合计, 总 计：…); a subtotal: 小计.
_TOTAL = r"^(?:本页|本表|本月|全部|全县|总)?(?P<word>合计|总计|小计)[:：]?$"
#: A footer row: every filled cell starts with one of these (signatures and dates under the table).
_FOOTER = r"^(?:制表|填表|填报|审核|审批|负责人|单位负责人|经办人|联系电话|联系人|日期|备注|说明|注[:：])"
#: A unit line of the title: 单位：万元 or 单位：元.
_UNIT = r"单位[:：]\s*(?P<unit>万元|元)"

#: Reason codes of the layout notes of :func:`tabular.sheets.read_sheets`, with their bilingual explanation.
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
    return pd.DataFrame({c: text_only(part[c]).str.replace(r"\s+", "", regex=True) for c in columns},
                        index=part.index)


#: Characters one of which every total or footer cell holds: rows without any are not looked at further.
_LAYOUT_CHARS = r"[计制填审负经联日备说注]"


def _layout_words(grid: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Per row of a grid (or a table: its first columns are the file's): the total word (合计/总计/小计,
    NaN if none) and whether it is a footer, judged on the first :data:`LAYOUT_COLUMNS` columns (only
    the rows holding one of :data:`_LAYOUT_CHARS` there are matched word by word)."""
    columns = [c for c in grid.columns if c not in META_COLUMNS][:LAYOUT_COLUMNS]
    candidate = np.zeros(len(grid), dtype=bool)
    for c in columns:
        candidate |= text_only(grid[c]).str.contains(_LAYOUT_CHARS, regex=True).to_numpy(dtype=bool)
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
    """True for the rows of a table (:func:`tabular.sheets.read_table`'s shape) that
    :func:`~tabular.sheets.read_sheets` would not take
    as data: total, subtotal and footer rows (a fast reader hands such a file to the general one)."""
    total_word, footer = _layout_words(table)
    return total_word.notna().to_numpy() | footer


def header_row(grid: pd.DataFrame, blank_row: np.ndarray, known: set[str]) -> int:
    """Position of the header row among the first :data:`HEADER_SEARCH_ROWS` non-blank rows: the one holding
    the most of the ``known`` header keys (:func:`~tabular.headers.header_key`; the earliest on a tie);
    when none holds any, the first row with the most filled cells (title rows above the header fill one)."""
    candidates = np.flatnonzero(~blank_row)[:HEADER_SEARCH_ROWS]
    if known:
        hits = [len({header_key(h) for h in header_text(grid.iloc[i].tolist())} & known) for i in candidates]
        if max(hits) > 0:
            return int(candidates[int(np.argmax(hits))])
    filled = [sum(bool(h) for h in header_text(grid.iloc[i].tolist())) for i in candidates]
    return int(candidates[int(np.argmax(filled))])


def title_unit(grid: pd.DataFrame, head: int) -> tuple[int, str | None]:
    """(fen per unit, the unit text) that the title rows above the header row ``head`` declare:
    ``单位：万元`` → (1,000,000, "单位：万元"); no unit, or 元 → (100, None)."""
    title = "".join(_words(grid, slice(0, head), list(grid.columns)).to_numpy().ravel().tolist())
    unit = re.search(_UNIT, title)
    if unit is not None and unit["unit"] == "万元":
        return FEN_PER_WAN, unit.group(0)
    return FEN_PER_YUAN, None


def layout_kinds(grid: pd.DataFrame, body: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(control total, subtotal, footer) masks over the rows of a grid, only among the ``body`` rows (those
    below the header): a cell 合计/总计 makes a total, 小计 a subtotal; a footer is neither."""
    total_word, footer = _layout_words(grid)
    is_total = total_word.isin(["合计", "总计"]).to_numpy() & body
    is_subtotal = (total_word == "小计").to_numpy() & body
    return is_total, is_subtotal, footer & body & ~is_total & ~is_subtotal
