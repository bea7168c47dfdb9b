"""Pages: background jobs (后台任务) — the list with progress, one job's page (it refreshes itself while the job
runs, then links to what the job made), its output files, and starting a job (:mod:`claims.lifecycle.jobs`): a
recompute of a policy's claims, the notices of every village, the report upward (:mod:`flask_app.document_jobs`);
the import page hands a large file to a job with :func:`submit_job`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from claims.lifecycle.jobs import STATES, TASKS, Job, fail_abandoned, list_jobs, progress_of, submit
from claims.lifecycle.scope import policy_in_scope, scope_policies
from claims.lifecycle.store import Policy
from claims.lifecycle.upward_report import report_period
from flask_app import clock, db
from flask_app.permissions import INSURER, allow
from flask_app.print_context import NOTICE_CHOICES, notice_params, outputs_folder, report_params
from flask_app.views.args import bounded_int
from tabular.errors import ReliefError

bp = Blueprint("jobs", __name__)
#: who sees the jobs of their counties: the insurer's staff, the county office, the actuary and the admin
JOB_READERS = INSURER | {"county_reviewer", "actuary", "admin"}
#: who starts a recompute of a whole policy: the insurer's supervisor and the admin
RECOMPUTERS = frozenset({"insurer_supervisor", "admin"})
allow("jobs.index", JOB_READERS)
allow("jobs.show", JOB_READERS)
allow("jobs.recompute", RECOMPUTERS)
#: who prints the notices of every village at once: the county office, the insurer's staff and the admin
NOTICE_PRINTERS = INSURER | {"county_reviewer", "admin"}
#: who makes the report upward as a job: those who read it (reports.REPORT_ROLES) and see the job list
REPORTERS = frozenset({"county_reviewer", "admin", "insurer_supervisor"})
allow("jobs.notices", NOTICE_PRINTERS)
allow("jobs.upward_report", REPORTERS)
allow("jobs.download", JOB_READERS)
#: a job result's figures by their Chinese names (a key not listed is shown as it is)
RESULT_LABELS = {
    "policy_id": "保单", "period": "报告期间", "payout_lines": "支付笔数", "payout_total": "支付合计（元）",
    "balance": "期末基金余额（元）", "pdf": "PDF", "notices": "公示份数", "villages": "行政村数", "lines": "公示笔数",
    "total": "公示合计（元）", "batch_id": "导入批次", "rows_read": "读取行数", "rows_stored": "入库行数",
    "rows_exception": "异常行数", "rows_duplicate": "重复行数", "rows_corrected": "更正行数",
    "claims_created": "新建理赔", "claims_updated": "更新理赔", "claims_withdrawn": "撤回理赔", "profile": "列映射方案",
    "created": "新建理赔", "updated": "更新理赔", "withdrawn": "撤回理赔", "flagged": "疑似重复",
}
#: what a finished job's page links to: kind → (endpoint, the result's key giving its argument, label)
OPENS = {"import": ("imports.report", "batch_id", "查看导入报告 / the import report")}


def _database_url() -> str:
    return db.factory().kw["bind"].url.render_as_string(hide_password=False)


def submit_job(kind: str, params: dict[str, Any], *, policy_id: int, title: str) -> int:
    """Record a job of ``kind`` for a policy of the user's counties (the job is the policy's county's) and hand
    it to RQ or this process once recorded; returns its id."""
    county = db.session().scalar(select(Policy.county).where(Policy.id == policy_id))
    with db.write() as s:
        job = submit(s, kind, params, database_url=_database_url(), broker_url=current_app.config.get("RELIEF_REDIS_URL"),
                     county=county, created_by=current_user.id, title=title)
        job_id = job.id
    flash(f"已提交后台任务 #{job_id} / job #{job_id} submitted")
    return job_id


def _outputs() -> Path:
    return outputs_folder(current_app.config, current_app.instance_path)


def _job_or_404(job_id: int) -> Job:
    job = db.session().get(Job, job_id)
    counties = current_user.scope.counties
    if job is None or (counties is not None and job.county not in counties):
        abort(404)  # another county's job is not shown, not even its existence
    return job


@bp.get("/jobs")
def index():  # noqa: ANN201
    if not current_app.config.get("RELIEF_REDIS_URL"):
        with db.write() as s:
            fail_abandoned(s)  # in-process jobs of a stopped process never finish: say so
    s = db.session()
    jobs = list_jobs(s, current_user.scope.counties)
    policies = list(s.scalars(select(Policy).where(Policy.id.in_(scope_policies(current_user.scope)))
                              .order_by(Policy.year.desc(), Policy.id)))
    return render_template("jobs_index.html", jobs=[(j, *progress_of(j)) for j in jobs], states=STATES,
                           kinds=TASKS, policies=policies, may_recompute=current_user.role in RECOMPUTERS,
                           may_print=current_user.role in NOTICE_PRINTERS, notice_choices=NOTICE_CHOICES,
                           may_report=current_user.role in REPORTERS,
                           broker=bool(current_app.config.get("RELIEF_REDIS_URL")))


@bp.get("/jobs/<int:job_id>")
def show(job_id: int):  # noqa: ANN201
    job = _job_or_404(job_id)
    percent, message = progress_of(job)
    result = dict(job.result or {})
    files = result.pop("files", [])
    opens = None
    if job.kind in OPENS and result.get(OPENS[job.kind][1]) is not None:
        endpoint, key, label = OPENS[job.kind]
        opens = (url_for(endpoint, **{key: result[key]}), label)
    return render_template("jobs_show.html", job=job, percent=percent, message=message, states=STATES, kinds=TASKS,
                           result=result, files=files, opens=opens, labels=RESULT_LABELS)


@bp.get("/jobs/<int:job_id>/files/<filename>")
def download(job_id: int, filename: str):  # noqa: ANN201
    """A file the job made: only a name its result lists, from this app's outputs folder (never a client path)."""
    job = _job_or_404(job_id)
    if job.state != "done" or filename not in {f["name"] for f in (job.result or {}).get("files", [])}:
        abort(404)
    path = _outputs() / str(job.id) / filename
    if not path.is_file():
        abort(404, description="任务的输出文件已不存在，请重新运行 / the job's file is gone: run the job again")
    return send_file(path, as_attachment=True, download_name=filename)


def _chosen_policy() -> int | None:
    """The form's policy when it is one of the user's counties, else None."""
    policy_id = bounded_int(request.form.get("policy_id", ""))
    if policy_id is None or not policy_in_scope(db.session(), current_user.scope, policy_id):
        return None
    return policy_id


@bp.post("/jobs/recompute")
def recompute():  # noqa: ANN201
    policy_id = _chosen_policy()
    if policy_id is None:
        flash("请选择保单 / choose a policy", "error")
        return redirect(url_for("jobs.index"))
    job_id = submit_job("recompute", {"policy_id": policy_id}, policy_id=policy_id,
                        title=f"重新计算保单 #{policy_id} 的理赔 / recompute policy #{policy_id}")
    return redirect(url_for("jobs.show", job_id=job_id))


@bp.post("/jobs/notices")
def notices() -> Response:
    """The notices of every village of a policy, as one zip (:func:`flask_app.document_jobs.village_notices`)."""
    from flask_app.views.notices import verify_prefix

    policy_id = _chosen_policy()
    if policy_id is None:
        flash("请选择保单 / choose a policy", "error")
        return redirect(url_for("jobs.index"))
    which = request.form.get("which", "posted")
    params = notice_params(policy_id, which, verify_prefix=verify_prefix(), output_dir=_outputs(),
                           hotline=current_app.config.get("RELIEF_NOTICE_HOTLINE"))
    job_id = submit_job("notices", params, policy_id=policy_id,
                        title=f"保单 #{policy_id} 全部村公示 / policy #{policy_id}: {NOTICE_CHOICES[params['which']]}")
    return redirect(url_for("jobs.show", job_id=job_id))


@bp.post("/jobs/upward-report")
def upward_report() -> Response:
    """The report upward of a month or quarter as PDF and Excel (:func:`flask_app.document_jobs.upward_report`)."""
    policy_id = _chosen_policy()
    period = request.form.get("period", "").strip()[:10]
    try:
        report_period(period)
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.index"))
    if policy_id is None:
        flash("请选择保单 / choose a policy", "error")
        return redirect(url_for("reports.index"))
    job_id = submit_job("upward_report", report_params(policy_id, period, today=clock.today(), output_dir=_outputs()),
                        policy_id=policy_id, title=f"上报报告 #{policy_id} {period} / report upward")
    return redirect(url_for("jobs.show", job_id=job_id))
