"""A department row's fields as a person reads them (issue 15.4: "source rows in yuan with Chinese field
names"): each canonical column under its Chinese header — the first header :data:`~claims.reports.departments.SPECS`
accepts for it (``aliases.yaml``: ``psn_part_amt`` → 个人负担总金额) — and its amount in yuan
(``538561`` fen → ``5,385.61``).  Derived columns have no header in a file; their names are in
:data:`DERIVED_LABELS`.  Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claims.reports.departments import SPECS
from claims.reports.parse import MONEY_KINDS

#: The Chinese names of the columns a department's derivation adds (``Spec.derived``), per row.
DERIVED_LABELS: dict[str, str] = {
    "self_paid": "个人自付医疗费用（核算）",
    "policy_self_paid": "政策范围内个人自付（核算）",
    "net_cost": "教育支出（扣除资助后）",
    "net_loss": "损失（扣除救助、赔偿后）",
    "event_date": "事件日期",
}
#: Fields never shown in a row (the person's name is shown once, masked or not, beside the claim).
HIDDEN = frozenset({"name"})


def field_label(department: str, column: str) -> str:
    """The Chinese name of ``column`` in ``department``'s report, the column itself where none is known.

    >>> field_label("medical", "psn_part_amt"), field_label("medical", "self_paid")
    ('个人负担总金额', '个人自付医疗费用（核算）')
    """
    spec = SPECS.get(department)
    col = spec.columns.get(column) if spec else None
    if col is not None and col.aliases:
        return col.aliases[0]
    return DERIVED_LABELS.get(column, column)


def is_money(department: str, column: str) -> bool:
    """An amount in fen: a money column of the spec, or an integer column its derivation adds."""
    spec = SPECS.get(department)
    if spec is None:
        return False
    if column in spec.columns:
        return spec.columns[column].kind in MONEY_KINDS
    return spec.derived.get(column) == "int64"


def yuan_text(fen: int) -> str:
    """Fen → yuan with thousands separators and two decimals: ``538561`` → ``5,385.61``, ``-5`` → ``-0.05``."""
    fen = int(fen)
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def source_fields(department: str, data: Mapping[str, Any]) -> list[dict[str, str]]:
    """A stored row (canonical column → value, amounts in fen) → its fields in the spec's order: ``label``
    (Chinese), ``text`` (yuan for amounts, 是/否 for flags), ``column`` (the canonical name, for a title or an export)."""
    spec = SPECS.get(department)
    order = [*spec.columns, *spec.derived] if spec else []
    columns = [c for c in order if c in data] + [c for c in data if c not in order]
    out = []
    for column in columns:
        value = data[column]
        if column in HIDDEN or value is None or value == "":
            continue
        if isinstance(value, bool):
            text = "是" if value else "否"
        elif is_money(department, column) and isinstance(value, int | float):
            text = yuan_text(int(value))
        else:
            text = str(value)
        out.append({"label": field_label(department, column), "column": column, "text": text})
    return out


__all__ = ["DERIVED_LABELS", "field_label", "is_money", "source_fields", "yuan_text"]
