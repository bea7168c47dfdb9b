"""Reason codes of the report readers and the exception-row helper.

Severity: ``error`` = the row is not used; ``warning`` = the row is used, but a person should look.
"""

from __future__ import annotations

from products.money import MONEY_REASONS
from products.resident_id import ID_REASONS
from products.tabular import CELL_REASONS

from ..exceptions import EXCEPTION_COLUMNS, exceptions_frame

#: Every reason code a report reader can give, with its "中文 / English" explanation.
REASONS: dict[str, str] = {
    **ID_REASONS,
    **MONEY_REASONS,
    **CELL_REASONS,
    "bad_date": (
        "日期无法识别（可用 2025-03-04、2025/3/4、20250304、2025年3月4日） / "
        "date not recognised (use 2025-03-04, 2025/3/4, 20250304 or 2025年3月4日)"
    ),
    "extra_fields": (
        "该行字段数多于表头（常见原因：金额中有未加引号的逗号），各列已错位 / "
        "the row has more fields than the header (often an unquoted comma in an amount); its columns are shifted"
    ),
    "duplicate_settlement": (
        "结算ID重复（同一文件或此前的文件），仅使用首次出现的一行 / "
        "settlement ID repeated (in this file or an earlier one); only its first row is used"
    ),
    "components_exceed_total": (
        "各项基金支付或自费项目之和超过医疗费总额 / fund payments or self-paid items add up to more than the total cost"
    ),
    "psn_part_mismatch": (
        "个人负担总金额与按各项计算的自付金额相差超过 1 分，已采用计算值 / "
        "psn_part_amt differs from the self-paid amount computed from the components by more than 1 fen; "
        "the computed value is used"
    ),
    "bad_school_year": "学年无法识别（可用 2025、2025-2026、2025学年） / school year not recognised (use 2025, 2025-2026, 2025学年)",
    "bad_flag": "应为 是/否（1/0、Y/N、true/false） / must be yes or no (是/否, 1/0, Y/N, true/false)",
    "missing_level": "学段为空 / school level is empty",
    "bad_kind": "事故类型应为 死亡、伤残 或 住院 / accident kind must be death, disability or hospital",
    "bad_grade": "伤残须填 1–10 级伤残等级 / a disability needs a disability grade from 1 to 10",
}


def split_reason(code: str) -> tuple[str, str]:
    """The Chinese and the English half of a reason text."""
    zh, _, en = REASONS[code].partition(" / ")
    return zh, en


__all__ = ["EXCEPTION_COLUMNS", "REASONS", "exceptions_frame", "split_reason"]
