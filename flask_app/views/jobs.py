"""Pages: background jobs (后台任务) — the list with progress, one job's page (it refreshes itself while the job
runs), and starting a recompute of a policy's claims as a job (:mod:`claims.lifecycle.jobs`)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from claims.lifecycle.jobs import STATES, TASKS, Job, fail_abandoned, list_jobs, progress_of, submit
from claims.lifecycle.scope import policy_in_scope, scope_policies
from claims.lifecycle.store import Policy
from flask_app import db
from flask_app.permissions import INSURER, allow
from flask_app.views.args import bounded_int

bp = Blueprint("jobs", __name__)
#: who sees the jobs of their counties: the insurer's staff, the county office, the actuary and the admin
JOB_READERS = INSURER | {"county_reviewer", "actuary", "admin"}
#: who starts a recompute of a whole policy: the insurer's supervisor and the admin
RECOMPUTERS = frozenset({"insurer_supervisor", "admin"})
allow("jobs.index", JOB_READERS)
allow("jobs.show", JOB_READERS)
allow("jobs.recompute", RECOMPUTERS)


def _database_url() -> str:
    return db.factory().kw["bind"].url.render_as_string(hide_password=False)


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
                           broker=bool(current_app.config.get("RELIEF_REDIS_URL")))


@bp.get("/jobs/<int:job_id>")
def show(job_id: int):  # noqa: ANN201
    job = db.session().get(Job, job_id)
    counties = current_user.scope.counties
    if job is None or (counties is not None and job.county not in counties):
        abort(404)  # another county's job is not shown, not even its existence
    percent, message = progress_of(job)
    return render_template("jobs_show.html", job=job, percent=percent, message=message, states=STATES, kinds=TASKS)


@bp.post("/jobs/recompute")
def recompute():  # noqa: ANN201
    policy_id = bounded_int(request.form.get("policy_id", ""))
    if policy_id is None or not policy_in_scope(db.session(), current_user.scope, policy_id):
        flash("请选择保单 / choose a policy", "error")
        return redirect(url_for("jobs.index"))
    county = db.session().scalar(select(Policy.county).where(Policy.id == policy_id))
    with db.write() as s:
        job = submit(s, "recompute", {"policy_id": policy_id}, database_url=_database_url(),
                     broker_url=current_app.config.get("RELIEF_REDIS_URL"), county=county, created_by=current_user.id,
                     title=f"重新计算保单 #{policy_id} 的理赔 / recompute policy #{policy_id}")
        job_id = job.id
    flash(f"已提交后台任务 #{job_id} / job #{job_id} submitted")
    return redirect(url_for("jobs.show", job_id=job_id))
