"""Reason codes of the report readers and the exception-row helper.

Severity: ``error`` = the row is not used; ``warning`` = the row is used, but a person should look;
``info`` = nothing wrong, for the record (see :mod:`claims.reports.exceptions`).
"""

from __future__ import annotations

from claims.reports.exceptions import EXCEPTION_COLUMNS, exceptions_frame
from tabular.cells import CELL_REASONS
from tabular.layout import LAYOUT_REASONS
from tabular.money import MONEY_REASONS
from tabular.resident_id import ID_REASONS

#: Every reason code a report reader can give, with its "中文 / English" explanation.
REASONS: dict[str, str] = {
    **ID_REASONS,
    **MONEY_REASONS,
    **CELL_REASONS,
    **LAYOUT_REASONS,
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
    # record identity (claims.reports.identity): re-sends, corrections, refunds
    "resent": "与此前收到的一行内容相同（重发），未重复计入 / same content as a row received before (a re-send); "
              "not counted again",
    "same_file": "同一文件重复给出（各行与此前的文件相同），只计一次 / the same file given twice (every row equals an "
                 "earlier file); counted once",
    "corrected": "更正此前收到的同一记录，按本行计算（请核对新旧金额） / corrects the same record received before; this "
                 "row counts (check the old and new values)",
    "superseded": "已被之后收到的同一记录更正，本行不再计入 / superseded by a later row of the same record; not counted",
    "replaces_application": "与此前核实的农户申报为同一记录（同一对象、日期、金额），以本行为准，申报不再计入 / the same "
                            "record as a verified household application (same unit, date, amount); this row counts",
    "refund_person_mismatch": (
        "退费/冲销行的身份证号与原结算不一致，未使用；请核对原结算ID或身份证号 / the refund's resident ID differs from "
        "the original settlement's; not used: check 原结算ID or the ID"),
    "refund_mixed_signs": (
        "退费/冲销行的金额须全部为负（或全部为正并标明退费），不能正负混合 / a refund row's amounts must be all negative "
        "(or all positive with the refund flag), not mixed"
    ),
    "components_exceed_total": (
        "各项基金支付或自费项目之和超过医疗费总额 / fund payments or self-paid items add up to more than the total cost"
    ),
    "psn_part_mismatch": (
        "个人负担总金额与按各项计算的自付金额相差超过 1 分，已采用计算值 / "
        "psn_part_amt differs from the self-paid amount computed from the components by more than 1 fen; "
        "the computed value is used"
    ),
    "bad_school_year": (
        "学年无法识别（可用 2025、2025-2026、2025学年、2025-2026学年第一学期、2025年秋季学期） / school year not "
        "recognised (use 2025, 2025-2026, 2025学年, 2025-2026学年第一学期 or 2025年秋季学期)"
    ),
    "bad_term": (
        "学期无法识别（可用 第一学期、第二学期、上学期、下学期、秋季、春季） / term not recognised (use 第一学期, "
        "第二学期, 上学期, 下学期, 秋季 or 春季)"
    ),
    "id_columns_disagree": (
        "两列证件号码（如身份证号与证件号码）都已填写但不一致：请核对并只保留正确的号码 / the two ID columns "
        "(e.g. 身份证号 and 证件号码) are both filled and differ: check them and keep the right ID"
    ),
    "control_total_mismatch": (
        "合计行与各数据行之和不符（文件可能被截断或漏行）：请核对后重新导出完整文件 / the total row differs from "
        "the sum of the data rows (the export may be truncated or rows missing): check it and export the whole "
        "file again"
    ),
    "control_total_ok": "合计行与各数据行之和一致 / the total row equals the sum of the data rows",
    "sheet_skipped": (
        "该工作表的表头不属于本部门，未读取；如需读取，请把表头改为本部门的列名 / the sheet's header does not "
        "match this department, so it was not read; to read it, give it this department's column headers"
    ),
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
