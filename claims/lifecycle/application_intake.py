"""Recording a household application (申报) and its receipt scans; the application as a department row.

Seed 000: "农户自主申报。包括向镇村干部申报，拨打12317咨询服务电话……接受农户个人或他人代为申报"; seed 002:
"农户自愿申请。由农户向村“两委”提出书面申请".  :func:`submit_application` checks, in one transaction:

* the policy is one of the recorder's counties and the household is on its roster, in a village the
  recorder sees (a village clerk: their villages; the county's hotline staff: the whole county);
* the peril is one of the product's lines (its department: :data:`products.model.PERILS` ``source``);
  a person-keyed department needs the person, who must be a member of the household;
* amounts are yuan with at most two places, 0 ≤ amount ≤ :data:`tabular.money.MAX_STORED_YUAN`;
* the row it will become (:func:`report_file`) reads without an error through the department's own
  reader (:func:`claims.reports.read_report`), so a verified application never fails at import;
* each receipt is at most :data:`MAX_RECEIPT_BYTES`, at most :data:`MAX_RECEIPTS` of them, and its
  *content* is a PDF, JPEG or PNG (magic bytes) whose file suffix agrees with it.

The row of each department (amounts in yuan; ``amount`` = the bill or loss, ``compensated`` = what other
schemes paid on it; the number is the receipt's, else ``申报<id>``):

=========== ======================================================================================
medical     setl_id, id_no, setl_date = event date, medfee_sumamt = amount, hifp_pay = compensated,
            the other funds 0, fulamt_ownpay_amt = details.excluded (全自费, else 0): so
            self_paid = amount − compensated
education   id_no, school_year (details, else the event date's year), term, level, tuition = amount,
            other_aid = compensated, entry (details), record_no
disaster    household_no, village_code, event_date, disaster_type (details), assessed_loss = amount,
            other_compensation = compensated, disaster_no
accident    id_no, event_date, kind = the peril's (hospital / death / disability), grade (details),
            medical_cost = amount
=========== ======================================================================================
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.applications import CHANNELS, Application, ApplicationReceipt
from claims.lifecycle.audit import record
from claims.lifecycle.imports import short_name
from claims.lifecycle.registry import product_of
from claims.lifecycle.scope import Scope, policy_in_scope
from claims.lifecycle.store import Household, Person, Policy, ProductVersion, now
from claims.lifecycle.transitions import Actor
from claims.reports import read_report
from claims.reports.departments import SPECS
from products.model import PERILS
from tabular.errors import InvalidInputError, NotFoundError
from tabular.money import MAX_STORED_YUAN

#: Largest receipt scan (bytes) and most receipts per application.
MAX_RECEIPT_BYTES = 5 * 1024 * 1024
MAX_RECEIPTS = 5
#: Media type by the file's first bytes, and the suffixes each one may carry.
MAGIC = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
SUFFIXES = {"application/pdf": (".pdf",), "image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",)}
#: The departments an application may feed (income is the county's own monitoring, not a claim).
APPLICABLE = ("medical", "education", "disaster", "accident")
#: Department fields an application carries in ``details``, each with its Chinese label.
DETAIL_FIELDS = {"medical": {"excluded": "全自费金额（元）"},
                 "education": {"level": "学段", "school_year": "学年（起始年）", "term": "学期", "entry": "升学"},
                 "disaster": {"disaster_type": "灾害类型"},
                 "accident": {"grade": "伤残等级"}}
NUMBER_COLUMN = {"medical": "setl_id", "education": "record_no", "disaster": "disaster_no", "accident": None}


class ApplicationRefusedError(InvalidInputError):
    """An application (or a receipt) refused before anything was stored (bilingual message)."""


@dataclass(frozen=True)
class Receipt:
    """An uploaded receipt: its file name and bytes."""

    file_name: str
    content: bytes


@dataclass(frozen=True)
class ApplicationInput:
    """What the form (or the API) gives: amounts as yuan text, the date as a date."""

    policy_id: int
    household_no: str
    peril: str
    event_date: dt.date
    amount: str
    compensated: str = "0"
    id_no: str | None = None
    channel: str = "village"
    bill_no: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    note: str | None = None


def _refuse(zh: str, en: str) -> ApplicationRefusedError:
    return ApplicationRefusedError(f"{zh} / {en}")


def sniff(content: bytes) -> str | None:
    """The media type the bytes are (PDF, JPEG, PNG by their first bytes), None for anything else."""
    return next((media for magic, media in MAGIC if content.startswith(magic)), None)


def check_receipts(receipts: Sequence[Receipt], *, max_bytes: int = MAX_RECEIPT_BYTES,
                   max_count: int = MAX_RECEIPTS) -> list[str]:
    """Each receipt's media type; refuses too many, too large, or content that is no PDF/JPEG/PNG or does
    not match its suffix (a renamed .exe is refused by its bytes, a JPEG named .pdf by its suffix)."""
    if len(receipts) > max_count:
        raise _refuse(f"票据最多 {max_count} 个，收到 {len(receipts)} 个", f"at most {max_count} receipts, got {len(receipts)}")
    types = []
    for r in receipts:
        if len(r.content) > max_bytes:
            raise _refuse(f"票据 {r.file_name} 为 {len(r.content):,} 字节，超过上限 {max_bytes:,} 字节",
                          f"receipt {r.file_name} is {len(r.content):,} bytes, over the limit of {max_bytes:,}")
        media = sniff(r.content)
        suffix = "." + r.file_name.rsplit(".", 1)[-1].lower() if "." in r.file_name else ""
        if media is None or suffix not in SUFFIXES[media]:
            raise _refuse(f"票据 {r.file_name} 不是 PDF、JPEG 或 PNG 文件（按文件内容判断，扩展名须一致）",
                          f"receipt {r.file_name} is not a PDF, JPEG or PNG file (judged by its content; the "
                          f"suffix must agree)")
        types.append(media)
    return types


def parse_yuan(text: str | None, what: str) -> Decimal:
    """Yuan text (``1,234.5``) → Decimal with two places; blank → 0; negative, more than two decimals or
    above :data:`MAX_STORED_YUAN` refused."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "") or "0"
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise _refuse(f"{what}不是金额：{cleaned[:40]!r}", f"{what} is not an amount: {cleaned[:40]!r}") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")) or value > MAX_STORED_YUAN:
        raise _refuse(f"{what}须为 0 至 {MAX_STORED_YUAN:,} 元、最多两位小数：{cleaned[:40]}",
                      f"{what} must be 0 to {MAX_STORED_YUAN:,} yuan with at most two decimals: {cleaned[:40]}")
    return value.quantize(Decimal("0.01"))


def department_of(peril: str) -> str:
    """The department report a peril's lines read (``products.model.PERILS``)."""
    return PERILS[peril]["source"]


def perils_of(session: Session, policy_id: int) -> list[str]:
    """The perils of the policy's product lines that an application may feed, in the product's order."""
    version = session.scalar(select(ProductVersion).join(Policy, Policy.product_version_id == ProductVersion.id)
                             .where(Policy.id == policy_id))
    if version is None:
        return []
    perils = [line.peril for line in product_of(version).lines if department_of(line.peril) in APPLICABLE]
    return list(dict.fromkeys(perils))


def _money_text(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.2f}"


def report_cells(app: Application, person_name: str | None) -> dict[str, str]:
    """The department row an application becomes (canonical column → cell text; see the module table)."""
    d, number = app.details or {}, app.bill_no or f"申报{app.id}"
    amount, compensated = _money_text(app.amount), _money_text(app.compensated)
    if app.department == "medical":
        return {"setl_id": number, "id_no": app.id_no or "", "name": person_name or "",
                "setl_date": app.event_date.isoformat(), "medfee_sumamt": amount, "hifp_pay": compensated,
                "hifmi_pay": "0", "maf_pay": "0", "oth_pay": "0", "fulamt_ownpay_amt": d.get("excluded") or "0",
                "overlmt_selfpay": "0"}
    if app.department == "education":
        return {"id_no": app.id_no or "", "name": person_name or "",
                "school_year": str(d.get("school_year") or app.event_date.year), "term": d.get("term") or "",
                "level": d.get("level") or "", "tuition": amount, "accommodation": "0", "textbooks": "0",
                "other_aid": compensated, "entry": "是" if d.get("entry") else "", "record_no": number}
    if app.department == "disaster":
        return {"household_no": app.household_no, "village_code": app.village_code,
                "event_date": app.event_date.isoformat(), "disaster_type": d.get("disaster_type") or "",
                "assessed_loss": amount, "other_compensation": compensated, "disaster_no": number}
    kind = PERILS[app.peril].get("accident_kind", "hospital")
    return {"id_no": app.id_no or "", "name": person_name or "", "event_date": app.event_date.isoformat(),
            "kind": kind, "grade": str(d.get("grade") or ""), "medical_cost": amount}


def report_file(app: Application, person_name: str | None) -> tuple[bytes, dict[str, str]]:
    """The application as a one-row CSV of canonical headers, and the column mapping that reads it."""
    cells = report_cells(app, person_name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(cells))
    writer.writerow(list(cells.values()))
    return out.getvalue().encode("utf-8"), {c: c for c in cells}


def file_name_of(application_id: int) -> str:
    """The import batch's file name for an application: ``申报 #<id>.csv`` (the rows' source)."""
    return f"申报 #{application_id}.csv"


def read_application(app: Application, person_name: str | None) -> Any:
    """The application's row read by its department's reader; refused with the reader's words on an error."""
    data, columns = report_file(app, person_name)
    read = read_report(data, app.department, file_name=file_name_of(app.id or 0), columns=columns)
    errors = read.exceptions.loc[read.exceptions["severity"] == "error"] if len(read.exceptions) else read.exceptions
    if len(errors) or len(read.rows) != 1:
        detail = "；".join(f"{r.reason}: {r.detail}" for r in errors.itertuples()) or "no row"
        raise ApplicationRefusedError(f"申报内容无法作为{SPECS[app.department].label}记录读取 / the application cannot "
                                      f"be read as a {app.department} record: {detail}")
    return read


def _refuse_outside_period(policy: Policy, day: dt.date) -> None:
    """The row's event date (an education row's: the start of its term) must fall in the policy's period."""
    if not policy.period_start <= day <= policy.period_end:
        raise _refuse(f"日期 {day} 不在保单期间 {policy.period_start} 至 {policy.period_end} 内",
                      f"the date {day} is outside the policy period {policy.period_start} to {policy.period_end}")


def receipt_name(name: str) -> str:
    """A receipt's file name as kept: the last part of a path, control characters dropped, at most 255."""
    return short_name(name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "receipt")


def _checked_household(session: Session, scope: Scope, policy: Policy | None, household_no: str) -> Household:
    if policy is None or not policy_in_scope(session, scope, policy.id):
        raise NotFoundError(f"保单不存在 / policy does not exist: {policy.id if policy else '?'}")
    household = session.scalar(select(Household).where(Household.household_no == household_no.strip()))
    if household is None or household.village_code[:6] != policy.county or not scope.sees(household.village_code):
        raise NotFoundError(f"户 {household_no[:40]} 不在您负责的范围内或不存在 / household {household_no[:40]} does "
                            f"not exist or is outside your villages")
    return household


def _checked_person(session: Session, household: Household, id_no: str | None, department: str) -> Person | None:
    if not id_no:
        if SPECS[department].person_keyed:
            raise _refuse("该责任须填写申报人身份证号", "this peril needs the person's resident ID")
        return None
    person = session.scalar(select(Person).where(Person.id_no == id_no.strip().upper()))
    if person is None or person.household_no != household.household_no:
        raise _refuse(f"身份证号 {id_no[:18]} 不是户 {household.household_no} 的成员",
                      f"resident ID {id_no[:18]} is not a member of household {household.household_no}")
    return person


def submit_application(session: Session, given: ApplicationInput, actor: Actor, scope: Scope,
                       receipts: Sequence[Receipt] = ()) -> Application:
    """Record an application in ``submitted`` with its receipts (see the module docstring); audited."""
    media = check_receipts(receipts)
    policy = session.get(Policy, given.policy_id)
    household = _checked_household(session, scope, policy, given.household_no)
    if given.peril not in perils_of(session, given.policy_id):
        raise _refuse(f"该保单没有责任 {given.peril[:30]!r}", f"the policy has no line for peril {given.peril[:30]!r}")
    if given.channel not in CHANNELS:
        raise _refuse(f"申报渠道须为 {'、'.join(CHANNELS)}", f"the channel must be one of {', '.join(CHANNELS)}")
    department = department_of(given.peril)
    person = _checked_person(session, household, given.id_no, department)
    details = {k: str(v).strip() for k, v in given.details.items()
               if k in DETAIL_FIELDS[department] and v is not None and str(v).strip()}
    if "excluded" in details:
        details["excluded"] = _money_text(parse_yuan(details["excluded"], "全自费金额 / fully self-paid amount"))
    app = Application(policy_id=given.policy_id, household_no=household.household_no,
                      village_code=household.village_code, id_no=person.id_no if person else None,
                      peril=given.peril, department=department, channel=given.channel, event_date=given.event_date,
                      bill_no=(given.bill_no or "").strip()[:60] or None,
                      amount=parse_yuan(given.amount, "金额 / amount"),
                      compensated=parse_yuan(given.compensated, "已获补偿 / compensated"), details=details,
                      note=(given.note or "").strip() or None, state="submitted", created_by=actor.id,
                      created_at=now())
    if app.compensated > app.amount:
        raise _refuse("已获补偿不能超过金额", "the compensated part cannot exceed the amount")
    session.add(app)
    session.flush()  # the id names the row's number when the receipt has none
    read = read_application(app, person.name if person else None)
    _refuse_outside_period(policy, pd.Timestamp(read.rows[SPECS[department].event_date].iloc[0]).date())
    for r, kind in zip(receipts, media):
        session.add(ApplicationReceipt(application_id=app.id, file_name=receipt_name(r.file_name),
                                       media_type=kind, size=len(r.content),
                                       sha256=hashlib.sha256(r.content).hexdigest(), content=r.content))
    record(session, actor.id, "application_submitted", f"application {app.id}",
           {"household_no": app.household_no, "peril": app.peril, "amount": str(app.amount),
            "channel": app.channel, "receipts": len(receipts)}, actor_name=actor.name)
    session.flush()
    return app


__all__ = ["APPLICABLE", "DETAIL_FIELDS", "MAX_RECEIPTS", "MAX_RECEIPT_BYTES", "ApplicationInput",
           "ApplicationRefusedError", "Receipt", "check_receipts", "department_of", "file_name_of", "parse_yuan",
           "perils_of", "read_application", "report_file", "sniff", "submit_application"]
