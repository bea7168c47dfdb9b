"""Pages: the fund (基金) per policy — premiums, claims paid, reversals, recoveries, balance, loss ratio,
monthly chart, and the policy's overpayments to recover (:mod:`claims.lifecycle.recovery`).

The chart is a server-rendered inline SVG (no JavaScript, no CDN): premiums received against claims paid,
by month of the fund ledger (:func:`claims.lifecycle.fund.monthly_flows`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from claims.lifecycle.fund import PAYERS, fund_summary, monthly_flows, record_premium, settle_year
from claims.lifecycle.fund_year import carry_over, next_policy, settlement_preview
from claims.lifecycle.recovery import list_recoveries
from claims.lifecycle.scope import policy_in_scope, scope_policies
from claims.lifecycle.store import Policy, ProductVersion
from flask_app import clock, db
from flask_app.permissions import INSURER, allow
from tabular.errors import ReliefError

bp = Blueprint("fund", __name__)
allow("fund.index", INSURER | {"county_reviewer", "actuary", "admin", "city_viewer"})
#: who operates the fund: the county office (扶贫办/乡村振兴局) and the insurer's supervisor, and the admin
FUND_OPERATORS = frozenset({"insurer_supervisor", "county_reviewer", "admin"})
for _endpoint in ("fund.premium", "fund.settle", "fund.carry"):
    allow(_endpoint, FUND_OPERATORS)

SERIES = (("premium", "保费收入 Premiums", "#2f6f9f"), ("paid", "赔款支付 Claims paid", "#b42318"))


def _nice(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if m * step >= value:
            return m * step
    return 10.0 * step


def bar_chart(data: dict[str, dict[str, Decimal]], *, width: int = 760, height: int = 280,
              series: tuple[tuple[str, str, str], ...] = SERIES,
              label: str = "保费与赔款（按月）premiums vs claims paid by month",
              empty: str = "暂无资金记录 / no fund entries yet") -> Markup:
    """A grouped bar chart (one group per key of ``data``, one bar per ``series``: (key, label, colour)) as
    inline SVG markup; ``label`` its accessible name, ``empty`` the text shown without data."""
    left, right, top, bottom = 80, 16, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice(float(max([v for m in data.values() for v in m.values()] + [Decimal(0)])))
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="100%" style="max-width:{width}px" '
             f'aria-label="{escape(label)}">')]
    for i in range(5):
        v = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#d9e2ec"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#616e7c">'
                     f'{v:,.0f}</text>')
    n = max(len(data), 1)
    group = plot_w / n
    bar = min(group * 0.8 / len(series), 40)
    for gi, (month, values) in enumerate(data.items()):
        x0 = left + gi * group + (group - bar * len(series)) / 2
        for si, (key, name, colour) in enumerate(series):
            v = float(values.get(key, 0))
            h = plot_h * max(v, 0) / peak
            parts.append(f'<rect x="{x0 + si * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 2:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{escape(month)} {escape(name)}: '
                         f'{v:,.2f}</title></rect>')
        parts.append(f'<text x="{left + gi * group + group / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'font-size="12" fill="#1f2933">{escape(month)}</text>')
    if not data:
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" fill="#616e7c">'
                     f'{escape(empty)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#1f2933"/>')
    for si, (_, name, colour) in enumerate(series):
        x = left + si * 200
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 18}" y="18" font-size="12" fill="#1f2933">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@bp.get("/fund")
def index():  # noqa: ANN201
    s = db.session()
    policies = s.execute(select(Policy, ProductVersion.name, ProductVersion.code)
                         .join(ProductVersion, Policy.product_version_id == ProductVersion.id)
                         .where(Policy.id.in_(scope_policies(current_user.scope)))
                         .order_by(Policy.year.desc(), Policy.id)).all()
    rows = []
    for policy, name, code in policies:
        data = monthly_flows(s, policy.id)
        following = next_policy(s, policy)
        rows.append({"policy": policy, "name": name, "code": code, "summary": fund_summary(s, policy.id),
                     "months": data, "chart": bar_chart(data), "recoveries": list_recoveries(s, policy.id),
                     "preview": settlement_preview(s, policy.id), "next": following})
    return render_template("fund_index.html", rows=rows, payers=PAYERS, operator=current_user.role in FUND_OPERATORS,
                           today=clock.today().isoformat())


def _policy_or_404(policy_id: int) -> int:
    if not policy_in_scope(db.session(), current_user.scope, policy_id):
        abort(404)  # another county's policy is not shown, not even its existence
    return policy_id


def _done(message: str, error: bool = False):  # noqa: ANN202
    flash(message, "error" if error else "message")
    return redirect(url_for("fund.index"))


@bp.post("/fund/<int:policy_id>/premium")
def premium(policy_id: int):  # noqa: ANN201
    """登记保费 / record a premium received: amount (yuan), payer (财政/个人/其他), date received, reference."""
    _policy_or_404(policy_id)
    form = request.form
    try:
        amount = Decimal(form.get("amount", "").strip().replace(",", ""))
        received_on = dt.date.fromisoformat(form.get("received_on", "").strip())
    except (InvalidOperation, ValueError):
        return _done("请填写金额（元）和到账日期 / enter the amount (yuan) and the date received", error=True)
    reference = form.get("reference", "").strip()[:60] or None
    try:
        with db.write() as s:
            record_premium(s, policy_id, "premium_received", amount, reference, actor_id=current_user.id,
                           payer=form.get("payer", "").strip() or None, received_on=received_on)
    except ReliefError as exc:
        return _done(str(exc), error=True)
    return _done(f"已登记保费 {amount:,.2f} 元 / premium of {amount:,.2f} yuan recorded")


@bp.post("/fund/<int:policy_id>/settle")
def settle(policy_id: int):  # noqa: ANN201
    """过账年终结算 / post the year-end settlement previewed on the page."""
    _policy_or_404(policy_id)
    try:
        with db.write() as s:
            entry = settle_year(s, policy_id, actor_id=current_user.id)
    except ReliefError as exc:
        return _done(str(exc), error=True)
    amount = Decimal(0) if entry is None else entry.amount
    return _done(f"年终结算已过账：{amount:,.2f} 元 / year-end settlement posted: {amount:,.2f} yuan")


@bp.post("/fund/<int:policy_id>/carry-over")
def carry(policy_id: int):  # noqa: ANN201
    """结转至下一年度 / carry the closing balance over to the county's next-year policy."""
    _policy_or_404(policy_id)
    try:
        with db.write() as s:
            moved = carry_over(s, policy_id, actor_id=current_user.id)
    except ReliefError as exc:
        return _done(str(exc), error=True)
    if moved is None:
        return _done("余额为 0，无需结转 / the balance is 0: nothing to carry over")
    return _done(f"已结转 {moved[1].amount:,.2f} 元至保单 #{moved[1].policy_id} / {moved[1].amount:,.2f} yuan carried "
                 f"over to policy #{moved[1].policy_id}")
