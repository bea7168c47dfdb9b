"""The county's report upward (上报市扶贫办备案): a month's or a quarter's payout list, statistics and fund position.

Seed 001 keeps a monthly ledger and a quarterly report (月台账/季报), seed 002 asks for monthly statistics
(每月统计上报), seed 003 for the filing with the city office (上报市扶贫办备案).  One report per policy and
period (``2025-02`` a month, ``2025-Q1`` a quarter) holds three parts, all money in integer fen:

* **Payout list** (支付名单): the period's paid payout lines — lines ``paid`` of the policy's payout batches
  whose ``period`` (the payout month, YYYY-MM) falls in the report period, by village then claim.
  ``payout_total_fen = Σ line amounts``.
* **Statistics** (统计): the policy's claims (not rejected or reversed) by township / village / line /
  category (the household's 类别): ``claims`` (count), ``amount_fen`` (Σ claim amounts, 核定金额),
  ``paid_in_period_fen`` (Σ the period's paid lines) and ``paid_to_date_fen`` (Σ paid lines of batches up
  to the period's last month).  Σ ``paid_in_period_fen`` over the rows = ``payout_total_fen``.
* **Fund position** (基金情况) at the period's end: the ledger's entries of each kind up to its last month
  and those within the period.  An entry's month (:func:`ledger_month`) is the payout month of the batch it
  pays (reference ``batch:<id>``: the bank's return may come later), else the month of its date.
  ``balance = premium_received − claims_paid + reversals + recoveries + settlements + carry_over``
  (:mod:`claims.lifecycle.fund`), the period's ``claims_paid_fen`` = the payout list's total.

Scoping is the caller's: the report is county-wide (only roles seeing whole counties open it), so the caller
checks the policy with :func:`claims.lifecycle.scope.policy_in_scope` first.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.models import Claim, FundEntry, ImportBatch, PayoutBatch, PayoutLine
from claims.lifecycle.scope import TOWNSHIP_PREFIX
from claims.lifecycle.store import Household, Policy, ProductVersion
from claims.lifecycle.villages import village_names
from tabular.errors import InvalidInputError, NotFoundError

#: A report period: a month ``2025-02`` or a quarter ``2025-Q1``.
PERIOD = re.compile(r"(?P<year>(19|20)\d\d)-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4]))")
MONTH = re.compile(r"(19|20)\d\d-(0[1-9]|1[0-2])")
#: Claims left out of the statistics: rejected (拒赔) and reversed (冲正, the correction is a new claim).
NOT_COUNTED = ("rejected", "reversed")
#: Fund ledger kinds in the position, in the order shown, with their Chinese label.
FUND_KINDS = {"premium_received": "保费收入", "claims_paid": "赔款支付", "reversals": "冲正退回",
              "recoveries": "追回款", "settlements": "年终结算", "carry_over": "结转", "balance": "基金余额"}
#: Statistics dimensions → Chinese column label.
DIMENSIONS = {"township": "乡镇", "village": "行政村", "line": "险种责任", "category": "类别", "month": "月份"}


class ReportPeriodError(InvalidInputError):
    """A report period that is neither a month nor a quarter (bilingual message)."""


@dataclass(frozen=True)
class ReportPeriod:
    """The months a report covers: ``label`` as given, ``months`` YYYY-MM in order."""

    label: str
    months: tuple[str, ...]

    @property
    def last(self) -> str:
        return self.months[-1]

    @property
    def quarterly(self) -> bool:
        return len(self.months) > 1


def report_period(text: str) -> ReportPeriod:
    """``2025-02`` → the month; ``2025-Q1`` → 2025-01, 2025-02, 2025-03; anything else ReportPeriodError."""
    m = PERIOD.fullmatch(text or "")
    if m is None:
        raise ReportPeriodError(f"报告期间须为年-月（如 2025-02）或年-季度（如 2025-Q1）：{str(text)[:20]!r} / a report "
                                f"period is a month YYYY-MM or a quarter YYYY-Qn")
    year = m["year"]
    if m["month"]:
        return ReportPeriod(text, (f"{year}-{m['month']}",))
    q = int(m["quarter"])
    return ReportPeriod(text, tuple(f"{year}-{3 * (q - 1) + i:02d}" for i in (1, 2, 3)))


def fen(amount: Decimal | None) -> int:
    """Yuan (two places, as stored) → integer fen, exactly: 1,368.71 → 136871."""
    return 0 if amount is None else int(Decimal(amount) * 100)


def ledger_month(at: Any, reference: str | None, batch_periods: dict[int, str]) -> str:
    """The month (YYYY-MM) a ledger entry belongs to: its batch's payout month for ``batch:<id>``, else its date's."""
    if reference and reference.startswith("batch:") and reference[6:].isdigit():
        period = batch_periods.get(int(reference[6:]))
        if period:
            return period
    return at.strftime("%Y-%m")


@dataclass
class UpwardReport:
    """One report (see the module docstring); money in fen."""

    policy_id: int
    county: str
    product_name: str
    year: int
    period: ReportPeriod
    payout_lines: list[dict[str, Any]] = field(default_factory=list)
    statistics: list[dict[str, Any]] = field(default_factory=list)
    fund_to_date: dict[str, int] = field(default_factory=dict)
    fund_in_period: dict[str, int] = field(default_factory=dict)

    @property
    def payout_total_fen(self) -> int:
        return sum(row["amount_fen"] for row in self.payout_lines)


def line_names(session: Session, policy_id: int) -> dict[str, str]:
    """line id → its name in the policy's product document (险种责任名称)."""
    doc = session.scalar(select(ProductVersion.document).join(Policy, Policy.product_version_id == ProductVersion.id)
                         .where(Policy.id == policy_id)) or {}
    return {str(ln.get("id")): str(ln.get("name") or ln.get("peril") or ln.get("id"))
            for ln in doc.get("lines") or [] if isinstance(ln, dict)}


def paid_frame(session: Session, policy_id: int, last_month: str) -> list[dict[str, Any]]:
    """Every paid payout line of the policy's batches up to ``last_month``, one dict each: claim id, village,
    township, line id, category, month (the batch's payout month), amount in fen, payee (name, masked ID),
    batch id; ordered by village, claim."""
    rows = session.execute(
        select(PayoutLine.claim_id, Claim.village_code, Claim.line_id, Household.category, PayoutBatch.period,
               PayoutLine.amount, PayoutLine.payee_name, PayoutLine.payee_id_masked, PayoutBatch.id)
        .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id).join(Claim, Claim.id == PayoutLine.claim_id)
        .outerjoin(Household, Household.household_no == Claim.household_no)
        .where(PayoutBatch.policy_id == policy_id, PayoutLine.status == "paid", PayoutBatch.period <= last_month)
        .order_by(Claim.village_code, PayoutLine.claim_id, PayoutLine.id)).all()
    return [{"claim_id": cid, "village": v or "", "township": (v or "")[:TOWNSHIP_PREFIX], "line": line,
             "category": cat or "", "month": period, "amount_fen": fen(amount), "payee_name": name,
             "payee_id_masked": masked, "batch_id": batch_id}
            for cid, v, line, cat, period, amount, name, masked, batch_id in rows]


def fund_position(session: Session, policy_id: int, period: ReportPeriod) -> tuple[dict[str, int], dict[str, int]]:
    """(position at the period's end, flows within the period), each kind of :data:`FUND_KINDS` in fen, from
    the ledger's entries by :func:`ledger_month`; claims paid as a positive number, the rest signed."""
    batch_periods = dict(session.execute(select(PayoutBatch.id, PayoutBatch.period)
                                         .where(PayoutBatch.policy_id == policy_id)).all())
    to_date: dict[str, int] = defaultdict(int)
    within: dict[str, int] = defaultdict(int)
    kinds = {"premium_received": ("premium_received", 1), "claim_paid": ("claims_paid", -1),
             "reversal": ("reversals", 1), "recovery": ("recoveries", 1), "settlement": ("settlements", 1),
             "carry_over": ("carry_over", 1)}
    for at, kind, amount, reference in session.execute(
            select(FundEntry.at, FundEntry.kind, FundEntry.amount, FundEntry.reference)
            .where(FundEntry.policy_id == policy_id)).all():
        if kind not in kinds:
            continue  # premium due is not cash
        month = ledger_month(at, reference, batch_periods)
        name, sign = kinds[kind]
        if month <= period.last:
            to_date[name] += sign * fen(amount)
            if month >= period.months[0]:
                within[name] += sign * fen(amount)
    for totals in (to_date, within):
        totals["balance"] = (totals["premium_received"] - totals["claims_paid"] + totals["reversals"]
                             + totals["recoveries"] + totals["settlements"] + totals["carry_over"])
    return ({k: to_date[k] for k in FUND_KINDS}, {k: within[k] for k in FUND_KINDS})


def report_months(session: Session, policy_id: int) -> tuple[list[Any], list[str]]:
    """(import times ascending, their batch's period) of the policy's import batches whose period is a month."""
    rows = session.execute(select(ImportBatch.imported_at, ImportBatch.period).where(ImportBatch.policy_id == policy_id)
                           .order_by(ImportBatch.imported_at, ImportBatch.id)).all()
    kept = [(at, period) for at, period in rows if period and MONTH.fullmatch(period)]
    return [at for at, _ in kept], [period for _, period in kept]


def claim_month(created: Any, times: list[Any], periods: list[str]) -> str:
    """The month a claim is counted in: the period of the last department file imported before it was computed
    (the report that brought it: recompute follows each import), else the month it was computed in."""
    i = bisect_right(times, created)
    return periods[i - 1] if i else created.strftime("%Y-%m")


def claim_frame(session: Session, policy_id: int) -> list[dict[str, Any]]:
    """The policy's counted claims (not :data:`NOT_COUNTED`), one dict each: id, village code, township code,
    line id, category (the household's 类别), month (:func:`claim_month`), amount in fen."""
    rows = session.execute(select(Claim.id, Claim.village_code, Claim.line_id, Household.category, Claim.created_at,
                                  Claim.amount)
                           .outerjoin(Household, Household.household_no == Claim.household_no)
                           .where(Claim.policy_id == policy_id, Claim.state.not_in(NOT_COUNTED))).all()
    times, periods = report_months(session, policy_id)
    return [{"claim_id": cid, "village": v or "", "township": (v or "")[:TOWNSHIP_PREFIX], "line": line,
             "category": cat or "", "month": claim_month(created, times, periods), "amount_fen": fen(amount)}
            for cid, v, line, cat, created, amount in rows]


def statistics(claims: list[dict[str, Any]], paid: list[dict[str, Any]], dims: tuple[str, ...],
               months: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Claims and amounts grouped by ``dims`` (of :data:`DIMENSIONS`), one dict per group in key order:
    ``claims`` = count, ``amount_fen`` = Σ claim amounts, ``paid_to_date_fen`` = Σ ``paid`` lines,
    ``paid_in_period_fen`` = Σ ``paid`` lines whose month is one of ``months``.  A claim falls in the month it
    was reported (:func:`claim_month`), a paid line in its payout month; a paid line of a claim since reversed
    still counts as paid."""
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad:
        raise InvalidInputError(f"未知的统计维度 {bad[0][:20]!r} / unknown dimension (one of {', '.join(DIMENSIONS)})")
    groups: dict[tuple[str, ...], dict[str, int]] = defaultdict(
        lambda: {"claims": 0, "amount_fen": 0, "paid_in_period_fen": 0, "paid_to_date_fen": 0})
    for c in claims:
        g = groups[tuple(c[d] for d in dims)]
        g["claims"] += 1
        g["amount_fen"] += c["amount_fen"]
    for p in paid:
        g = groups[tuple(p[d] for d in dims)]
        g["paid_to_date_fen"] += p["amount_fen"]
        if p["month"] in months:
            g["paid_in_period_fen"] += p["amount_fen"]
    return [{**dict(zip(dims, key, strict=True)), **values} for key, values in sorted(groups.items())]


def totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Σ of each count and amount column of :func:`statistics` rows."""
    keys = ("claims", "amount_fen", "paid_in_period_fen", "paid_to_date_fen")
    return {k: sum(r[k] for r in rows) for k in keys}


def labels(session: Session, policy_id: int, rows: list[dict[str, Any]]) -> None:
    """Add ``<dim>_name`` (village and township names, line names) to rows, in place."""
    codes = {r[d] for r in rows for d in ("village", "township") if r.get(d)}
    names, lines = village_names(session, codes), line_names(session, policy_id)  # 行政村 and 乡镇 codes
    for r in rows:
        for d in ("village", "township"):
            if d in r:
                r[f"{d}_name"] = names.get(r[d], r[d]) if r[d] else "（未知）"
        if "line" in r:
            r["line_name"] = lines.get(r["line"], r["line"])


def build_report(session: Session, policy_id: int, period_text: str) -> UpwardReport:
    """The report of ``policy_id`` for ``period_text`` (a month or a quarter; see the module docstring)."""
    period = report_period(period_text)
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise NotFoundError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
    name = session.scalar(select(ProductVersion.name).where(ProductVersion.id == policy.product_version_id)) or ""
    paid = paid_frame(session, policy_id, period.last)
    stats = statistics(claim_frame(session, policy_id), paid, ("township", "village", "line", "category"),
                       period.months)
    payout = [p for p in paid if p["month"] in period.months]
    labels(session, policy_id, stats)
    labels(session, policy_id, payout)
    to_date, within = fund_position(session, policy_id, period)
    return UpwardReport(policy_id=policy_id, county=policy.county, product_name=name, year=policy.year,
                        period=period, payout_lines=payout, statistics=stats, fund_to_date=to_date,
                        fund_in_period=within)


__all__ = ["DIMENSIONS", "FUND_KINDS", "ReportPeriod", "ReportPeriodError", "UpwardReport", "build_report",
           "claim_frame", "claim_month", "fen", "fund_position", "labels", "ledger_month", "line_names", "paid_frame",
           "report_period", "statistics", "totals"]
