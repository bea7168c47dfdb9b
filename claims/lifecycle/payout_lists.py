"""A payout batch's list (支付清单) for readers who do not pay: the county office reads and exports it with the bank
account masked; the full account stays in the insurer's bank file (:func:`claims.lifecycle.payouts.export_bank_file`).

Masking (:func:`mask_account`) keeps the last 4 digits, as bank statements do: ``6217000000000001`` →
``************0001``; an account of 4 characters or fewer is masked whole.
"""

from __future__ import annotations

import io
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.models import Claim, PayoutBatch, PayoutLine
from claims.lifecycle.villages import village_names
from tabular.safe_cells import formula_safe_text

#: The village by name (行政村); its code in the last column (村代码), as text.
COLUMNS = ["序号", "理赔编号", "行政村", "户主姓名", "身份证号(脱敏)", "账号(脱敏)", "金额", "状态", "银行说明", "村代码"]
LINE_STATES = {"pending": "待回盘", "paid": "已支付", "failed": "失败"}


def mask_account(account: str | None) -> str:
    """The last 4 characters shown, the rest as ``*`` (``6217000000000001`` → ``************0001``)."""
    text = (account or "").strip()
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


def payout_list_xlsx(session: Session, batch: PayoutBatch) -> bytes:
    """The batch's lines as .xlsx: account masked, village by name, amounts numeric (yuan, 0.00) with a 合计 row
    (Σ line amounts = the batch total); text cells formula-safe and typed as text."""
    from openpyxl import Workbook

    rows = session.execute(select(PayoutLine, Claim.village_code).join(Claim, Claim.id == PayoutLine.claim_id)
                           .where(PayoutLine.batch_id == batch.id).order_by(PayoutLine.id)).all()
    codes = sorted({v for _, v in rows if v})
    names = village_names(session, codes)
    wb = Workbook()
    ws = wb.active
    ws.title = f"支付批次{batch.id}"
    ws.append(COLUMNS)
    total = Decimal("0.00")
    for i, (ln, village) in enumerate(rows, start=1):
        texts = [names.get(village or "", village or ""), ln.payee_name, ln.payee_id_masked,
                 mask_account(ln.account), LINE_STATES.get(ln.status, ln.status), ln.bank_reason or ""]
        ws.append([i, ln.claim_id, *[formula_safe_text(t) for t in texts[:4]], ln.amount,
                   *[formula_safe_text(t) for t in texts[4:]], village or ""])
        total += ln.amount
        for col in (3, 4, 5, 6, 8, 9, 10):
            ws.cell(ws.max_row, col).data_type = "s"
        ws.cell(ws.max_row, 7).number_format = "#,##0.00"
    ws.append(["合计", f"{len(rows)} 笔", "", "", "", "", total, "", ""])
    ws.cell(ws.max_row, 7).number_format = "#,##0.00"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = ["mask_account", "payout_list_xlsx"]
