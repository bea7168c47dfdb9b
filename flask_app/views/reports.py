"""Pages: the county's reports upward (上报市扶贫办备案) and its statistics.

``/reports``: pick a policy and a month or quarter; the report (:mod:`claims.lifecycle.upward_report`: payout
list, statistics, fund position) shown on the page, as Excel (``.xlsx``) and as PDF (WeasyPrint; 503 with the
reason when no CJK font is installed); below, which department sent which month (:mod:`claims.lifecycle.
completeness`).  ``/statistics``: claims and amounts by township / village / line / category / month, with a
bar chart (:func:`flask_app.views.fund.bar_chart`) and Excel export.  Every policy is checked against the user's
counties (:func:`claims.lifecycle.scope.policy_in_scope`).
"""

from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, Response, abort, current_app, render_template, request, send_file
from flask_login import current_user
from sqlalchemy import select

from claims.lifecycle.scope import policy_in_scope, scope_policies
from claims.lifecycle.store import Policy, ProductVersion
from claims.lifecycle.upward_export import report_xlsx, statistics_xlsx, yuan
from claims.lifecycle.upward_report import (
    DIMENSIONS,
    FUND_KINDS,
    build_report,
    claim_frame,
    labels,
    paid_frame,
    report_period,
    statistics,
    totals,
)
from flask_app import clock, db, pdf
from flask_app.permissions import allow, allowed
from flask_app.views.args import bounded_int
from flask_app.views.fund import bar_chart
from tabular.errors import ReliefError

bp = Blueprint("reports", __name__)

#: Who reads the county's reports: the county office, its city's viewers, the insurer's supervisor, the admin.
REPORT_ROLES = frozenset({"county_reviewer", "admin", "city_viewer", "insurer_supervisor"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The statistics chart's two series: amount computed (核定) and amount paid (已支付), in yuan.
STAT_SERIES = (("amount", "核定金额 Computed", "#2f6f9f"), ("paid", "已支付 Paid", "#b42318"))


for _endpoint in ("reports.index", "reports.xlsx", "reports.pdf", "reports.statistics", "reports.statistics_xlsx"):
    allow(_endpoint, REPORT_ROLES)


def _policies() -> list[tuple[Policy, str]]:
    return list(db.session().execute(select(Policy, ProductVersion.name)
                                     .join(ProductVersion, Policy.product_version_id == ProductVersion.id)
                                     .where(Policy.id.in_(scope_policies(current_user.scope)))
                                     .order_by(Policy.year.desc(), Policy.id)).all())


def _policy_or_404(policy_id: int | None) -> int:
    if policy_id is None or not policy_in_scope(db.session(), current_user.scope, policy_id):
        abort(404)  # another county's policy is not shown, not even its existence
    return policy_id


def _report_or_404(policy_id: int, period: str):  # noqa: ANN202
    _policy_or_404(policy_id)
    try:
        return build_report(db.session(), policy_id, period)
    except ReliefError:
        abort(404)  # not a month or a quarter: no such report


def _default_period() -> str:
    """Last month of the app's clock: the month a monthly report is sent for."""
    first = clock.today().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


@bp.get("/reports")
def index():  # noqa: ANN201
    from claims.lifecycle.completeness import completeness

    policies = _policies()
    chosen = bounded_int(request.args.get("policy", "")) or (policies[0][0].id if policies else None)
    period = (request.args.get("period") or _default_period()).strip()[:10]
    report, error, board = None, None, None
    if chosen is not None:
        _policy_or_404(chosen)
        try:
            report_period(period)
            report = build_report(db.session(), chosen, period)
        except ReliefError as exc:
            error = str(exc)
        board = completeness(db.session(), chosen, clock.today())
    quarter = None
    if report is not None and not report.period.quarterly:  # the quarter the month is in: its 季报
        quarter = f"{period[:4]}-Q{(int(period[5:7]) - 1) // 3 + 1}"
    return render_template("reports_index.html", policies=policies, chosen=chosen, period=period, report=report,
                           error=error, fund_kinds=FUND_KINDS, yuan=yuan, totals=totals, board=board, quarter=quarter,
                           may_job=allowed("jobs.upward_report", current_user.role))


@bp.get("/reports/<int:policy_id>/<period>.xlsx", endpoint="xlsx")
def report_excel(policy_id: int, period: str):  # noqa: ANN201
    report = _report_or_404(policy_id, period)
    return send_file(io.BytesIO(report_xlsx(report)), mimetype=XLSX, as_attachment=True,
                     download_name=f"upward-report-{policy_id}-{report.period.label}.xlsx")


@bp.get("/reports/<int:policy_id>/<period>.pdf", endpoint="pdf")
def report_pdf(policy_id: int, period: str):  # noqa: ANN201
    report = _report_or_404(policy_id, period)
    font = pdf.cjk_font()
    if font is None:
        html = render_template("reports_nofont.html", policy_id=policy_id, period=report.period.label,
                               families=pdf.CJK_FAMILIES)
        return Response(html, status=503, mimetype="text/html", headers={"Retry-After": "3600"})
    html = render_template("reports_print.html", report=report, fund_kinds=FUND_KINDS, yuan=yuan, totals=totals,
                           font_stack=pdf.FONT_STACK, today=clock.today())
    data, seconds = pdf.render_pdf(html, base_url=request.url_root)
    current_app.logger.info("upward report %s %s PDF in %.2fs (%d bytes)", policy_id, period, seconds, len(data))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="upward-report-{policy_id}-{report.period.label}.pdf"'})


def _statistics(policy_id: int, by: str) -> list[dict]:
    s = db.session()
    rows = statistics(claim_frame(s, policy_id), paid_frame(s, policy_id, "9999-12"), (by,))
    labels(s, policy_id, rows)
    return rows


def _by() -> str:
    by = request.args.get("by", "township")
    return by if by in DIMENSIONS else "township"


@bp.get("/statistics", endpoint="statistics")
def statistics_page():  # noqa: ANN201
    policies = _policies()
    chosen = bounded_int(request.args.get("policy", "")) or (policies[0][0].id if policies else None)
    by = _by()
    rows: list[dict] = []
    if chosen is not None:
        rows = _statistics(_policy_or_404(chosen), by)
    name_key = f"{by}_name" if by in ("township", "village", "line") else by
    chart = bar_chart({str(r.get(name_key) or "—"): {"amount": yuan(r["amount_fen"]),
                                                     "paid": yuan(r["paid_to_date_fen"])} for r in rows},
                      series=STAT_SERIES, label=f"按{DIMENSIONS[by]}统计 / by {by}", empty="暂无理赔 / no claims")
    return render_template("reports_statistics.html", policies=policies, chosen=chosen, by=by, rows=rows,
                           name_key=name_key, dimensions=DIMENSIONS, chart=chart, total=totals(rows), yuan=yuan)


@bp.get("/statistics.xlsx", endpoint="statistics_xlsx")
def statistics_xlsx_file():  # noqa: ANN201
    by = _by()
    policy_id = _policy_or_404(bounded_int(request.args.get("policy", "")))
    data = statistics_xlsx(_statistics(policy_id, by), (by,))
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"statistics-{policy_id}-{by}.xlsx")
