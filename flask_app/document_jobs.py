"""Background jobs that make documents (后台任务, issue 15 item 5): the notices of every village of a policy at once,
and the county's report upward (上报市扶贫办备案) as PDF and Excel.

The documents are this layer's templates (``notices_print.html``, ``reports_print.html``) rendered by the app's
own Jinja environment (:func:`render`: its filters, globals and default language), then by WeasyPrint
(:mod:`flask_app.pdf`), so their tasks live here, not in :mod:`claims.lifecycle.job_tasks`;
:data:`claims.lifecycle.jobs.TASKS` names them by string and the claims layer never imports the web.  A task runs
in a worker without a request: what the page takes from the request and the configuration (the address a notice's
QR code leads to, the hotline, the app's date) is put into the job's ``params`` when it is submitted
(:func:`flask_app.print_context.notice_params`, :func:`~flask_app.print_context.report_params`).

Output files go to ``params["output_dir"]/<job id>/`` (``<instance>/job-outputs`` or ``RELIEF_JOB_OUTPUTS``,
:func:`flask_app.print_context.outputs_folder`); the result lists them under ``files`` (name, size, label) and
``/jobs/<id>/files/<name>`` serves them to the users of the job's county.  Without a Chinese font no PDF is made
(its boxes would be empty): the notices come as print-ready HTML and the report as Excel, and the result says so.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from claims.lifecycle.database import transaction
from claims.lifecycle.jobs import Progress
from claims.lifecycle.models import Notice
from claims.lifecycle.villages import county_hotline
from flask_app import pdf
from flask_app.print_context import notice_context
from tabular.errors import NotFoundError

#: The database the template-only app is configured with (in memory, never opened).
RENDER_DATABASE = "sqlite://"
MADE = "已生成 / made"
NO_FONT = "本机未安装中文字体，未生成 PDF / no Chinese (CJK) font installed: no PDF made"


@lru_cache(maxsize=1)
def _pages_app() -> Flask:
    """The web app itself, used only for its templates: the documents render with the very filters, globals and
    language the pages have (no database is opened; :data:`RENDER_DATABASE` is never connected to)."""
    from flask_app.app import create_app

    return create_app({"DATABASE_URL": RENDER_DATABASE, "SECRET_KEY": "documents only", "TESTING": False})


def render(template: str, **context: Any) -> str:
    """``template`` rendered as a page of the default language renders it, in a worker without a request."""
    from flask import render_template

    with _pages_app().test_request_context("/"):
        return render_template(template, **context)


def notice_print_html(ctx: dict[str, Any]) -> str:
    """The notice's print-ready page (every sheet), the document its PDF is made from."""
    return render("notices_print.html", font_stack=pdf.FONT_STACK, **ctx)


def _job_folder(params: dict[str, Any], progress: Progress) -> Path:
    folder = Path(params["output_dir"]) / str(progress.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _file(folder: Path, name: str, label: str) -> dict[str, Any]:
    return {"name": name, "bytes": (folder / name).stat().st_size, "label": label}


def village_notices(factory: sessionmaker[Session], params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The notices of every village of ``params["policy_id"]`` (公示 of each 行政村, its 自然村 sheets included) in one
    zip: per notice its print-ready HTML and, with a Chinese font, the same PDF ``/notices/<id>.pdf`` serves."""
    policy_id, which = int(params["policy_id"]), params.get("which", "posted")
    query = select(Notice).where(Notice.policy_id == policy_id).order_by(Notice.village_code, Notice.id)
    if which == "posted":
        query = query.where(Notice.state == "posted")
    with factory() as s:
        ids = list(s.scalars(query.with_only_columns(Notice.id)))
    if not ids:
        raise NotFoundError(f"保单 {policy_id} 没有{'公示中的' if which == 'posted' else ''}公示 / policy {policy_id} has no "
                            f"{'notice on display' if which == 'posted' else 'notice'}")
    font = pdf.cjk_font()
    prefix = params["verify_prefix"]
    folder = _job_folder(params, progress)
    name = f"notices-policy-{policy_id}-{which}.zip"
    villages, rows, total = set(), 0, Decimal("0.00")
    with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as out:
        for done, notice_id in enumerate(ids):
            progress(5 + 90 * done // len(ids), f"公示 {done + 1}/{len(ids)} / notice {done + 1} of {len(ids)}")
            with transaction(factory) as w:  # one session: SQLite's write lock would queue a second one
                notice = w.get(Notice, notice_id)
                fallback = county_hotline(w, notice.village_code, default=params.get("hotline"))  # as the page's
                ctx = notice_context(w, w, notice, link=lambda digest: f"{prefix}/{digest}", hotline=fallback)
            html = notice_print_html(ctx)
            stem = f"{notice.village_code}-{ctx['village_name']}-notice-{notice_id}"
            out.writestr(f"{stem}.html", html)
            if font is not None:
                out.writestr(f"{stem}.pdf", pdf.render_pdf(html)[0])
            villages.add(notice.village_code)
            rows += ctx["count"]
            total += ctx["total"]
    return {"policy_id": policy_id, "notices": len(ids), "villages": len(villages), "lines": rows,
            "total": f"{total:,.2f}", "pdf": MADE if font else NO_FONT,
            "files": [_file(folder, name, "全部村公示 (zip) / every village's notice")]}


def report_print_html(report: Any, today: dt.date) -> str:
    """The upward report's print-ready page, the document its PDF is made from."""
    from claims.lifecycle.upward_export import yuan
    from claims.lifecycle.upward_report import FUND_KINDS, totals

    return render("reports_print.html", report=report, fund_kinds=FUND_KINDS, yuan=yuan, totals=totals,
                  font_stack=pdf.FONT_STACK, today=today)


def upward_report(factory: sessionmaker[Session], params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The county's report upward for a month or a quarter (:func:`claims.lifecycle.upward_report.build_report`) as
    the Excel and the PDF ``/reports/<policy>/<period>.xlsx|.pdf`` serve; its totals in the result."""
    from claims.lifecycle.upward_export import report_xlsx, yuan
    from claims.lifecycle.upward_report import build_report

    policy_id, period = int(params["policy_id"]), params["period"]
    progress(10, "汇总支付名单、统计与基金情况 / gathering the payout list, statistics and fund position")
    with factory() as s:
        report = build_report(s, policy_id, period)
    folder = _job_folder(params, progress)
    stem = f"upward-report-{policy_id}-{report.period.label}"
    (folder / f"{stem}.xlsx").write_bytes(report_xlsx(report))
    files = [_file(folder, f"{stem}.xlsx", "上报报告 Excel / the report as Excel")]
    font = pdf.cjk_font()
    if font is not None:
        progress(50, "生成 PDF / making the PDF")
        data, _ = pdf.render_pdf(report_print_html(report, dt.date.fromisoformat(params["today"])))
        (folder / f"{stem}.pdf").write_bytes(data)
        files.append(_file(folder, f"{stem}.pdf", "上报报告 PDF / the report as PDF"))
    return {"policy_id": policy_id, "period": report.period.label, "payout_lines": len(report.payout_lines),
            "payout_total": f"{yuan(report.payout_total_fen):,.2f}",
            "balance": f"{yuan(report.fund_to_date['balance']):,.2f}", "pdf": MADE if font else NO_FONT,
            "files": files}


__all__ = ["notice_print_html", "render", "report_print_html", "upward_report", "village_notices"]
