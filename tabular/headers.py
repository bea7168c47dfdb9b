"""Headers of a read table: their text, their comparison key, the unit they declare, and the match of a
file's headers to a reader's canonical columns (aliases such as 身份证号/证件号码 → ``id_no``).

Headers compare by :func:`header_key`: no whitespace or BOM, half-width brackets, case-folded, without
the ``*`` of required fields and without a trailing unit, so ``* 身份证号 `` and ``核定损失（万元）`` match
``身份证号`` and ``核定损失``.  Where the header row sits in a grid is :mod:`tabular.layout`'s business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from tabular.files import META_COLUMNS, TableError
from tabular.money import FEN_PER_WAN, FEN_PER_YUAN


def header_text(values: Iterable[Any]) -> list[str]:
    """The cells of a header row as clean text: blank → ``""``, ``3.0`` → ``"3"``, BOM and edge spaces dropped."""
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


def unique_headers(names: list[str]) -> list[str]:
    """Blank headers become ``unnamed_<n>`` (1-based column position); repeats get ``__2``, ``__3``."""
    seen: dict[str, int] = {}
    out = []
    for pos, name in enumerate(names, start=1):
        name = name or f"unnamed_{pos}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}__{seen[name]}")
    return out


#: Full-width brackets as half-width ones.
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

