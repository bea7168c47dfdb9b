"""Column-mapping documents: which of a file's own headers holds each canonical column, per department.

A county whose export uses headers the alias table does not know (``单据号`` for ``setl_id`` …) maps them
once; the mapping is given to :func:`claims.reports.read_report` as ``columns=``.  The document (YAML or
JSON) is what ``relief calc --mapping FILE`` and ``relief import --mapping FILE`` read and what the web
app exports for a saved profile::

    department: medical
    name: 某县医保导出          # optional
    columns:
      setl_id: 单据号
      id_no: 证件号

or a list of such documents, one per department.  Pure: no database, no HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from claims.reports.departments import DEPARTMENTS, SPECS
from tabular.errors import InvalidInputError


class MappingError(InvalidInputError):
    """A mapping document that cannot be used (bilingual message naming what to change)."""


def check_columns(department: str, columns: Any, where: str) -> dict[str, str]:
    """``columns`` checked for ``department``: a non-empty mapping of its canonical columns to header text."""
    if department not in SPECS:
        raise MappingError(f"{where}：未知部门 {department!r}（可用：{'、'.join(DEPARTMENTS)}） / {where}: unknown "
                           f"department {department!r} (use one of: {', '.join(DEPARTMENTS)})")
    if not isinstance(columns, Mapping) or not columns:
        raise MappingError(f"{where}：columns 应为“列名: 表头”的映射 / {where}: columns must map canonical column "
                           f"names to the file's headers, e.g. {{setl_id: 单据号}}")
    spec = SPECS[department]
    unknown = [str(c) for c in columns if c not in spec.columns]
    if unknown:
        raise MappingError(f"{where}：{'、'.join(unknown)} 不是部门 {department} 的列（可用：{'、'.join(spec.columns)}） / "
                           f"{where}: {', '.join(unknown)} are not columns of department {department} "
                           f"(use: {', '.join(spec.columns)})")
    blank = [str(c) for c, h in columns.items() if not isinstance(h, str) or not h.strip()]
    if blank:
        raise MappingError(f"{where}：列 {'、'.join(blank)} 的表头应为非空文本 / {where}: the header of column(s) "
                           f"{', '.join(blank)} must be non-empty text")
    return {str(c): h.strip() for c, h in columns.items()}


def parse_mapping(document: Any, where: str = "mapping") -> dict[str, dict[str, str]]:
    """A mapping document (one department's or a list of them) → ``{department: {canonical: header}}``.
    A department given twice is refused (which of the two would count is not clear)."""
    docs = document if isinstance(document, list) else [document]
    out: dict[str, dict[str, str]] = {}
    for i, doc in enumerate(docs, start=1):
        at = where if len(docs) == 1 else f"{where} #{i}"
        if not isinstance(doc, Mapping) or "department" not in doc or "columns" not in doc:
            raise MappingError(f"{at}：应有 department 与 columns 两项 / {at}: needs department and columns, "
                               f"e.g. {{department: medical, columns: {{setl_id: 单据号}}}}")
        department = str(doc["department"])
        if department in out:
            raise MappingError(f"{at}：部门 {department} 出现两次，请合并为一项 / {at}: department {department} "
                               f"is given twice; merge them into one")
        out[department] = check_columns(department, doc["columns"], at)
    return out


def load_mapping(path: str | Path) -> dict[str, dict[str, str]]:
    """Read a mapping file (``.json`` as JSON, anything else as YAML) → ``{department: {canonical: header}}``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
        document = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise MappingError(f"无法读取映射文件 {p.name} / cannot read the mapping file {p.name}: {exc}") from exc
    return parse_mapping(document, p.name)


def mapping_yaml(department: str, columns: Mapping[str, str], name: str | None = None) -> str:
    """The YAML document of one department's mapping (what :func:`load_mapping` reads back)."""
    doc: dict[str, Any] = {"department": department}
    if name:
        doc["name"] = name
    doc["columns"] = dict(columns)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
