"""Excel workbooks of the county's reports: the upward report (:mod:`claims.lifecycle.upward_report`) in three
sheets (支付名单, 统计, 基金情况) and a statistics table on its own.

Amounts are numeric cells in yuan with two decimals (``fen / 100`` written as a Decimal, exact); every text cell
goes through :func:`tabular.safe_cells.formula_safe_text` and is typed as text (never a formula); codes keep
every digit (text format ``@``).
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from claims.lifecycle.upward_report import DIMENSIONS, FUND_KINDS, UpwardReport, totals
from tabular.safe_cells import formula_safe_text

PAYOUT_COLUMNS = [("township_name", "乡镇"), ("village_name", "行政村"), ("claim_id", "理赔编号"),
                  ("payee_name", "户主姓名"), ("payee_id_masked", "身份证号(脱敏)"), ("line_name", "险种责任"),
                  ("month", "支付月份"), ("batch_id", "批次"), ("amount_fen", "金额(元)")]
STAT_COLUMNS = [("claims", "理赔件数"), ("amount_fen", "核定金额(元)"), ("paid_in_period_fen", "本期支付(元)"),
                ("paid_to_date_fen", "累计支付(元)")]
NUMBERS = {"claim_id", "batch_id", "claims"}


def yuan(fen: int) -> Decimal:
    """Integer fen → yuan as an exact Decimal with two places (246537 → 2465.37)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _append(ws: Any, values: list[Any], kinds: list[str]) -> None:
    """One row: ``kinds`` per cell — ``money`` (fen → yuan, 0.00), ``number`` or ``text`` (formula-safe, text)."""
    ws.append([yuan(v) if k == "money" else (v if k == "number" else formula_safe_text(str(v)))
               for v, k in zip(values, kinds, strict=True)])
    for col, kind in enumerate(kinds, start=1):
        cell = ws.cell(ws.max_row, col)
        if kind == "money":
            cell.number_format = "#,##0.00"
        elif kind == "text":
            cell.data_type = "s"
            cell.number_format = "@"


def _kind(key: str) -> str:
    return "money" if key.endswith("_fen") else ("number" if key in NUMBERS else "text")


def _stat_sheet(ws: Any, rows: list[dict[str, Any]], dims: tuple[str, ...]) -> None:
    dim_cols = [(f"{d}_name" if d in ("township", "village", "line") else d, DIMENSIONS[d]) for d in dims]
    ws.append([label for _, label in dim_cols + STAT_COLUMNS])
    kinds = ["text"] * len(dim_cols) + [_kind(k) for k, _ in STAT_COLUMNS]
    for r in rows:
        _append(ws, [r.get(k, "") for k, _ in dim_cols] + [r[k] for k, _ in STAT_COLUMNS], kinds)
    total = totals(rows)
    _append(ws, ["合计"] + [""] * (len(dim_cols) - 1) + [total[k] for k, _ in STAT_COLUMNS], kinds)


def report_xlsx(report: UpwardReport) -> bytes:
    """The upward report as an .xlsx workbook (three sheets, a 合计 row under the payout list and statistics)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "支付名单"
    ws.append([label for _, label in PAYOUT_COLUMNS])
    kinds = [_kind(k) for k, _ in PAYOUT_COLUMNS]
    for row in report.payout_lines:
        _append(ws, [row[k] for k, _ in PAYOUT_COLUMNS], kinds)
    _append(ws, ["合计", f"{len(report.payout_lines)} 笔"] + [""] * (len(kinds) - 3) + [report.payout_total_fen],
            ["text"] * (len(kinds) - 1) + ["money"])
    _stat_sheet(wb.create_sheet("统计"), report.statistics, ("township", "village", "line", "category"))
    fund = wb.create_sheet("基金情况")
    fund.append(["项目", "本期发生(元)", "期末累计(元)"])
    for key, label in FUND_KINDS.items():
        _append(fund, [label, report.fund_in_period[key], report.fund_to_date[key]], ["text", "money", "money"])
    info = wb.create_sheet("说明")
    for label, value in (("县(区)", report.county), ("产品", report.product_name), ("保单", str(report.policy_id)),
                         ("年度", str(report.year)), ("报告期间", report.period.label),
                         ("月份", "、".join(report.period.months))):
        _append(info, [label, value], ["text", "text"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def statistics_xlsx(rows: list[dict[str, Any]], dims: tuple[str, ...]) -> bytes:
    """A statistics table (:func:`claims.lifecycle.upward_report.statistics` rows, labelled) with its 合计 row."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "统计"
    _stat_sheet(ws, rows, dims)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = ["report_xlsx", "statistics_xlsx", "yuan"]
