"""Payout batches (支付批次): build from payable claims, export the bank file, reconcile the bank's return.

Rules (DESIGN §2 step 6):

* Only ``payable`` claims (notice ended without an open objection) enter a batch; one batch per
  policy and period (the database refuses a second; :func:`build_batch` says so in both languages).
* Each line pays the household head (户主) of the claim's household into the household's bank account
  (社保卡 / 一卡通), shown with the masked ID (first 6 + last 4).  **A claim whose household has no bank
  account or no identifiable head is refused** (the whole batch is refused, listing them): a bank file
  with empty accounts would only come back as failures.  Fix the roster, then build again.
* ``batch.total`` = Σ line amounts = Σ claim amounts, to the fen.
* Bank return: 成功/paid → claim ``paid``, line ``paid``; 失败/failed → claim back to ``payable`` with
  the bank's reason, line ``failed``.  One fund entry ``claim_paid`` = −Σ paid lines per return file.
  Lines not in the batch, lines already returned and repeated lines are refused; nothing changes.
* Where the policy says the county co-signs (``Policy.county_cosign``), a batch is paid (bank file, bank return)
  only once co-signed (:mod:`claims.lifecycle.batch_cosign`).
* A paid claim is never edited: :func:`reverse_claim` moves it to ``reversed`` and credits the fund;
  the correction is a new claim.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from claims.lifecycle.audit import add_all
from claims.lifecycle.batch_cosign import check_cosigned
from claims.lifecycle.models import Claim, FundEntry, PayoutBatch, PayoutLine
from claims.lifecycle.store import Household, Person, now
from claims.lifecycle.transitions import Actor, advance
from claims.reports.householders import is_head
from tabular.errors import InvalidInputError, NotAllowedError
from tabular.resident_id import mask_id
from tabular.safe_cells import formula_safe_frame

BANK_COLUMNS = ["序号", "户主姓名", "身份证号(脱敏)", "账号", "金额", "批次", "理赔编号"]
#: The bank file's number columns (written as numbers, never prefixed); the others are text.
BANK_NUMBERS = {"序号", "金额", "批次", "理赔编号"}
PAID = {"成功", "paid", "success", "ok", "已支付"}
FAILED = {"失败", "failed", "fail", "failure", "未支付"}


class PayoutError(NotAllowedError):
    """A payout request that cannot be done (bilingual message); nothing was changed."""


#: A payout period: a month, ``YYYY-MM`` (it names the batch's bank files).
PERIOD = re.compile(r"(19|20)\d\d-(0[1-9]|1[0-2])")


def check_period(period: str) -> str:
    """The period as given when it is a month ``YYYY-MM``, else InvalidInputError (422)."""
    if not isinstance(period, str) or not PERIOD.fullmatch(period):
        raise InvalidInputError(f"支付期间须为年-月，如 2025-03：{period!r} / a payout period is a month YYYY-MM, "
                                f"e.g. 2025-03: {period!r}")
    return period


def build_batch(session: Session, policy_id: int, period: str, actor: Actor, *,
                claim_ids: list[int] | None = None) -> PayoutBatch:
    """Batch all ``payable`` claims of the policy (or the given ones) for ``period``; claims → in_payout."""
    check_period(period)
    query = select(Claim).where(Claim.policy_id == policy_id)
    if claim_ids is None:
        claims = list(session.scalars(query.where(Claim.state == "payable").order_by(Claim.village_code, Claim.id)))
    else:
        wanted = list(dict.fromkeys(int(i) for i in claim_ids))
        claims = list(session.scalars(query.where(Claim.id.in_(wanted)).order_by(Claim.id)))
        bad = sorted(set(wanted) - {c.id for c in claims} | {c.id for c in claims if c.state != "payable"})
        if bad:
            raise PayoutError(f"以下理赔不是本保单的可支付理赔 / claims not payable in policy {policy_id}: {bad[:20]}")
    if not claims:
        raise PayoutError(f"保单 {policy_id} 没有可支付的理赔 / no payable claims in policy {policy_id}")
    if session.scalar(select(PayoutBatch.id).where(PayoutBatch.policy_id == policy_id, PayoutBatch.period == period)):
        raise PayoutError(f"保单 {policy_id} 期间 {period} 的支付批次已存在 / a payout batch for policy {policy_id} "
                          f"and period {period!r} already exists")
    households = sorted({c.household_no for c in claims})
    accounts = dict(session.execute(select(Household.household_no, Household.bank_account)
                                    .where(Household.household_no.in_(households))).all())
    people = session.scalars(select(Person).where(Person.household_no.in_(households)).order_by(Person.id)).all()
    heads: dict[str, Person] = {}
    for p in people:
        if is_head(p.relation):
            heads.setdefault(p.household_no, p)
    no_account = [c.id for c in claims if not (accounts.get(c.household_no) or "").strip()]
    no_head = [c.id for c in claims if c.household_no not in heads]
    if no_account or no_head:
        raise PayoutError(
            f"以下理赔的户缺少银行账号或户主，批次未生成 / batch refused: households without a bank account "
            f"(claims {no_account[:20]}) or without a head 户主 (claims {no_head[:20]})")
    batch = PayoutBatch(policy_id=policy_id, period=period, state="exported", total=Decimal("0.00"),
                        created_by=actor.id)
    savepoint = session.begin_nested()
    try:
        session.add(batch)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise PayoutError(f"保单 {policy_id} 期间 {period} 的支付批次已存在 / a payout batch for policy {policy_id} "
                          f"and period {period!r} already exists") from None
    savepoint.commit()
    lines = []
    for c in claims:
        head = heads[c.household_no]
        lines.append(PayoutLine(batch_id=batch.id, claim_id=c.id, payee_name=head.name,
                                payee_id_masked=mask_id(head.id_no), account=accounts[c.household_no].strip(),
                                amount=c.amount, status="pending"))
    add_all(session, lines)  # chained (claims.lifecycle.audit): the bank file's source
    total = sum((ln.amount for ln in lines), start=Decimal("0.00"))
    claims_total = sum((c.amount for c in claims), start=Decimal("0.00"))
    assert total == claims_total, (total, claims_total)
    batch.total = total
    session.flush()
    advance(session, [c.id for c in claims], "payable", "add_to_batch", actor, note=f"batch:{batch.id}")
    session.expire_all()
    return batch


def _batch(session: Session, batch_id: int) -> PayoutBatch:
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise PayoutError(f"支付批次 {batch_id} 不存在 / payout batch {batch_id} does not exist")
    return batch


def bank_rows(session: Session, batch_id: int) -> pd.DataFrame:
    """The bank file as a table of text cells (see :data:`BANK_COLUMNS`)."""
    _batch(session, batch_id)
    lines = session.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch_id).order_by(PayoutLine.id)).all()
    return pd.DataFrame([[str(i), ln.payee_name, ln.payee_id_masked, ln.account or "", f"{ln.amount:.2f}",
                          str(batch_id), str(ln.claim_id)] for i, ln in enumerate(lines, 1)],
                        columns=BANK_COLUMNS, dtype=object)


def export_bank_file(session: Session, batch_id: int, path: str | Path) -> Path:
    """Write the bank file: ``.xlsx`` (name, ID and account as text cells, amount numeric 0.00) or CSV
    (UTF-8 with BOM, every other suffix).  Text cells are formula-safe (:mod:`tabular.safe_cells`: a name
    starting with ``=`` is written ``'=…``); the numbers are not touched.  Returns the path."""
    path = Path(path)
    check_cosigned(session, _batch(session, batch_id))  # the county's co-sign first, where the policy asks it
    df = formula_safe_frame(bank_rows(session, batch_id), numeric=BANK_NUMBERS)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = f"batch{batch_id}"
        ws.append(BANK_COLUMNS)
        for row in df.itertuples(index=False):
            ws.append([int(row[0]), row[1], row[2], row[3], Decimal(row[4]), int(row[5]), int(row[6])])
            r = ws.max_row
            ws.cell(r, 2).data_type = "s"  # the name: text, never a formula
            for col in (3, 4):  # ID and account: text, so Excel keeps every digit
                ws.cell(r, col).number_format = "@"
                ws.cell(r, col).data_type = "s"
            ws.cell(r, 5).number_format = "0.00"
        wb.save(path)
    else:
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(BANK_COLUMNS)
            writer.writerows(df.itertuples(index=False))
    return path


def _read_return(source: Any) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        df = source.astype(str)
    else:
        p = Path(source)
        if p.suffix.lower() in (".xlsx", ".xlsm"):
            df = pd.read_excel(p, dtype=str, engine="openpyxl").fillna("")
        else:
            df = pd.read_csv(p, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    df.columns = [str(c).strip() for c in df.columns]

    def pick(*names: str) -> str | None:
        return next((n for n in names if n in df.columns), None)

    cid, status, reason = pick("理赔编号", "claim_id"), pick("状态", "status"), pick("原因", "reason")
    if cid is None or status is None:
        raise PayoutError(f"回盘文件缺少列 理赔编号/claim_id 或 状态/status / bank return file needs columns "
                          f"理赔编号 (claim_id) and 状态 (status); found {list(df.columns)}")
    out = pd.DataFrame({"claim_id": df[cid], "status": df[status],
                        "reason": df[reason] if reason else ""}).fillna("")
    return out


def import_bank_return(session: Session, batch_id: int, source: Any, actor: Actor) -> dict[str, int]:
    """Reconcile the bank's return file (path to CSV/xlsx, or a DataFrame) with the batch.

    Returns ``{"paid": n, "failed": m}``.  Refuses (changing nothing) unknown statuses, claim ids not in
    the batch, repeated ids and lines already returned.
    """
    batch = _batch(session, batch_id)
    check_cosigned(session, batch)  # not paid before the county's co-sign, where the policy asks it
    df = _read_return(source)
    lines = {ln.claim_id: ln for ln in session.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch_id))}
    problems: list[str] = []
    parsed: list[tuple[int, str, str]] = []
    seen: set[int] = set()
    for i, row in enumerate(df.itertuples(index=False), 2):
        raw = str(row.claim_id).strip()
        try:
            cid = int(float(raw)) if raw else None
        except ValueError:
            cid = None
        status = str(row.status).strip().lower()
        if cid is None:
            problems.append(f"第{i}行理赔编号无效 / line {i}: bad claim id {raw!r}")
        elif cid not in lines:
            problems.append(f"第{i}行理赔 {cid} 不在批次 {batch_id} 中 / line {i}: claim {cid} is not in batch {batch_id}")
        elif cid in seen:
            problems.append(f"第{i}行理赔 {cid} 重复 / line {i}: claim {cid} repeated")
        elif lines[cid].status != "pending":
            problems.append(f"第{i}行理赔 {cid} 已回盘（{lines[cid].status}）/ line {i}: claim {cid} already returned "
                            f"({lines[cid].status})")
        elif status not in PAID and status not in FAILED:
            problems.append(f"第{i}行状态无法识别 {row.status!r} / line {i}: unknown status {row.status!r} "
                            f"(成功/失败 or paid/failed)")
        else:
            seen.add(cid)
            parsed.append((cid, "paid" if status in PAID else "failed", str(row.reason).strip()))
    if problems:
        raise PayoutError("回盘文件被拒绝，未做任何更改 / bank return refused, nothing changed:\n" + "\n".join(problems[:50]))
    at = now()
    paid = [cid for cid, s, _ in parsed if s == "paid"]
    failed: dict[str, list[int]] = defaultdict(list)
    for cid, s, reason in parsed:
        if s == "failed":
            failed[reason or "银行未说明原因 / no reason given"].append(cid)
    if paid:
        advance(session, paid, "in_payout", "bank_paid", actor, note=f"batch:{batch_id}", at=at)
        session.execute(update(PayoutLine).where(PayoutLine.batch_id == batch_id, PayoutLine.claim_id.in_(paid))
                        .values(status="paid", returned_at=at).execution_options(synchronize_session=False))
        paid_total = sum((lines[c].amount for c in paid), start=Decimal("0.00"))
        add_all(session, [FundEntry(policy_id=batch.policy_id, at=at, kind="claim_paid", amount=-paid_total,
                                    reference=f"batch:{batch_id}", note=f"{len(paid)} 笔 / lines", actor_id=actor.id)])
    for reason, ids in failed.items():
        advance(session, ids, "in_payout", "bank_failed", actor, reason_code="bank_failed", note=reason, at=at)
        session.execute(update(PayoutLine).where(PayoutLine.batch_id == batch_id, PayoutLine.claim_id.in_(ids))
                        .values(status="failed", bank_reason=reason, returned_at=at)
                        .execution_options(synchronize_session=False))
    session.flush()
    session.expire_all()
    pending = session.scalar(select(PayoutLine.id).where(PayoutLine.batch_id == batch_id,
                                                         PayoutLine.status == "pending").limit(1))
    if pending is None:
        session.get(PayoutBatch, batch_id).state = "reconciled"
        session.flush()
    return {"paid": len(paid), "failed": sum(len(v) for v in failed.values())}


def reverse_claim(session: Session, claim_id: int, actor: Actor, reason_code: str, note: str | None = None) -> None:
    """Reverse a paid claim (insurer supervisor): paid → reversed, fund entry ``reversal`` = +amount.

    The paid claim is not edited; a corrected amount is a new claim.
    """
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise PayoutError(f"理赔 {claim_id} 不存在 / claim {claim_id} does not exist")
    if not reason_code:
        raise PayoutError("冲正须填写原因代码 / a reversal needs a reason code")
    policy_id, amount = claim.policy_id, claim.amount
    advance(session, [claim_id], "paid", "reverse", actor, reason_code=reason_code, note=note)
    add_all(session, [FundEntry(policy_id=policy_id, kind="reversal", amount=amount, reference=f"claim:{claim_id}",
                                note=f"{reason_code}: {note}" if note else reason_code, actor_id=actor.id)])
    session.flush()
    session.expire_all()


__all__ = ["BANK_COLUMNS", "PayoutError", "bank_rows", "build_batch", "export_bank_file", "import_bank_return",
           "reverse_claim"]
