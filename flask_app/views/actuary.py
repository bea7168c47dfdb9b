"""Pages: the actuary's page (精算) — start a budget run from the database history as a background job, the past
runs with their headline figures and reports, and the in-year monitoring of a policy (年内监测).

The rules live in the services: the run in :mod:`claims.lifecycle.budget_history` and its task in
:mod:`actuarial.budget_service`, the history rule in :mod:`claims.engine.history_rule`, the monitoring in
:mod:`claims.lifecycle.in_year`.  A report's files are served from the run's folder only
(:func:`claims.lifecycle.budget_runs.report_path`), for runs of the user's counties.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from claims.lifecycle.budget_history import close_failed, list_runs, run_in_scope, start_run
from claims.lifecycle.budget_runs import RUN_STATES, report_path
from claims.lifecycle.in_year import in_year
from claims.lifecycle.jobs import Job, fail_abandoned, progress_of
from claims.lifecycle.models import User
from claims.lifecycle.scope import policy_in_scope, scope_policies
from claims.lifecycle.store import Policy, ProductVersion
from flask_app import clock, db
from flask_app.permissions import allow
from flask_app.views.args import bounded_int
from tabular.errors import NotFoundError

bp = Blueprint("actuary", __name__)
#: who prices: the actuary, and the admin
ACTUARIES = frozenset({"actuary", "admin"})
for _endpoint in ("actuary.index", "actuary.start", "actuary.report"):
    allow(_endpoint, ACTUARIES)
#: The folder under the instance folder where the runs' reports live (one folder per run).
REPORTS = "budget-reports"
#: Budget years the form offers around the policy's: the policy's own year to three years on.
YEARS_AHEAD = 3


def reports_root() -> Path:
    """``RELIEF_BUDGET_REPORTS`` or ``<instance>/budget-reports``: the app's data, never the repository."""
    return Path(current_app.config.get("RELIEF_BUDGET_REPORTS") or Path(current_app.instance_path) / REPORTS)


def _database_url() -> str:
    return db.factory().kw["bind"].url.render_as_string(hide_password=False)


@bp.get("/actuary")
def index():  # noqa: ANN201
    with db.write() as w:
        if not current_app.config.get("RELIEF_REDIS_URL"):
            fail_abandoned(w)  # in-process jobs of a stopped process never finish: say so
        close_failed(w)  # and so do their runs
    s = db.session()
    policies = s.execute(select(Policy, ProductVersion.name)
                         .join(ProductVersion, ProductVersion.id == Policy.product_version_id)
                         .where(Policy.id.in_(scope_policies(current_user.scope)))
                         .order_by(Policy.year.desc(), Policy.id)).all()
    chosen = bounded_int(request.args.get("policy_id", ""))
    ids = [p.id for p, _name in policies]
    policy_id = chosen if chosen in ids else (ids[0] if ids else None)
    monitor = in_year(s, policy_id, clock.today()) if policy_id is not None else None
    runs = list_runs(s, current_user.scope)
    jobs = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_([r.job_id for r in runs if r.job_id] or [0])))}
    rows = [(r, *progress_of(jobs[r.job_id])) if r.job_id in jobs else (r, 0, None) for r in runs]
    running = any(j.state in ("queued", "running") for j in jobs.values())
    users = dict(s.execute(select(User.id, User.name).where(User.id.in_({r.created_by for r in runs} - {None} or [0])))
                 .all())
    return render_template("actuary_index.html", policies=policies, policy_id=policy_id, monitor=monitor, runs=rows,
                           states=RUN_STATES, running=running, years_ahead=YEARS_AHEAD, users=users)


@bp.post("/actuary/runs")
def start():  # noqa: ANN201
    """开始测算 / start a budget run for the chosen policy's county and family and year."""
    form = request.form
    policy_id = bounded_int(form.get("policy_id", ""))
    year = bounded_int(form.get("year", ""), low=2000, high=2100)
    if policy_id is None or year is None or not policy_in_scope(db.session(), current_user.scope, policy_id):
        flash("请选择保单和预算年度 / choose a policy and the year to budget", "error")
        return redirect(url_for("actuary.index"))
    with db.write() as s:
        run = start_run(s, policy_id, year, output_dir=str(reports_root()), database_url=_database_url(),
                        broker_url=current_app.config.get("RELIEF_REDIS_URL"), trial=form.get("trial") == "1",
                        created_by=current_user.id)
        run_id = run.id
    flash(f"已提交测算 #{run_id}（后台任务）/ budget run #{run_id} submitted as a background job")
    return redirect(url_for("actuary.index", policy_id=policy_id))


@bp.get("/actuary/runs/<int:run_id>/<path:filename>")
def report(run_id: int, filename: str):  # noqa: ANN201
    """A file of a run's report: report.html, its charts, its numbers; nothing else, and only runs of the user's
    counties (another county's run is not found, not even its existence)."""
    try:
        run = run_in_scope(db.session(), current_user.scope, run_id)
        path = report_path(reports_root(), run, filename)
    except NotFoundError:
        abort(404)
    return send_file(path, max_age=0)
