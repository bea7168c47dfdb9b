"""Pages: department file imports — upload, validation report (rows read, exceptions by reason with
line numbers, downloadable as CSV), batch history; the column mapping of a file whose required headers
are not recognised (the file's first rows, a dropdown per field, saved as a named profile) and the saved
profiles as YAML.  The import itself is :func:`claims.lifecycle.mapping_profiles.import_mapped`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from claims.lifecycle.imports import AlreadyImportedError
from claims.lifecycle.mapping_profiles import (
    NAME_MAX,
    MappedImport,
    import_mapped,
    list_profiles,
    profile_yaml,
)
from claims.lifecycle.models import ImportBatch, ImportException, MappingProfile, User
from claims.lifecycle.scope import policy_in_scope, scope_policies, scoped
from claims.lifecycle.store import Policy
from claims.reports import DEPARTMENTS, REASONS, SPECS, ReportFileError, read_report
from claims.reports.reader import UnmatchedColumns
from flask_app import db, uploads
from flask_app.permissions import INSURER, allow
from flask_app.views.args import bounded_int
from tabular.errors import ReliefError
from tabular.safe_cells import formula_safe

bp = Blueprint("imports", __name__)
#: The insurer's staff, the admin, and the county office, to which the departments report (seed 003:
#: "人社、教育、民政、医保每月向区扶贫办报送").
IMPORT_ROLES = INSURER | {"admin", "county_reviewer"}
allow("imports.index", IMPORT_ROLES)
allow("imports.upload", IMPORT_ROLES)
allow("imports.report", IMPORT_ROLES)
allow("imports.exceptions_csv", IMPORT_ROLES)
allow("imports.mapping", IMPORT_ROLES)
allow("imports.map_upload", IMPORT_ROLES)
allow("imports.profile_download", IMPORT_ROLES)

#: Each department's Chinese name (its Spec's label).
DEPARTMENT_NAMES = {department: spec.label for department, spec in SPECS.items()}
#: How many line numbers a reason lists on the page (all are in the CSV).
LINES_SHOWN = 200
#: An upload above this size (bytes; ``RELIEF_IMPORT_JOB_MB`` overrides) is imported by a background job
#: (:func:`claims.lifecycle.job_tasks.import_file`) instead of in the request: 5 MB is about 50,000 rows of a
#: medical export, some ten seconds of reading and screening, past which a browser waiting on one request
#: shows nothing.  The upload page then shows the job's progress and, once done, links to the import report.
JOB_IMPORT_BYTES = 5 * 1024 * 1024


def _policies() -> list:
    """The policies of the user's counties, newest first."""
    return db.session().execute(select(Policy.id, Policy.county, Policy.year)
                                .where(Policy.id.in_(scope_policies(current_user.scope)))
                                .order_by(Policy.id.desc())).all()


def _batch_or_404(s, batch_id: int) -> ImportBatch:  # noqa: ANN001
    """An import batch of the user's counties (a county-wide object: :func:`scoped` with no village)."""
    batch = s.scalar(scoped(current_user.scope, select(ImportBatch).where(ImportBatch.id == batch_id), None,
                            policy=ImportBatch.policy_id))
    if batch is None:
        abort(404)  # another county's batch is not shown, not even its existence
    return batch


@bp.get("/imports")
def index():
    s = db.session()
    batches = s.execute(scoped(current_user.scope, select(ImportBatch, User.name), None, policy=ImportBatch.policy_id)
                        .outerjoin(User, User.id == ImportBatch.imported_by)
                        .order_by(ImportBatch.id.desc()).limit(500)).all()
    return render_template("imports_index.html", batches=batches, departments=DEPARTMENTS,
                           department_names=DEPARTMENT_NAMES, policies=_policies(), profiles=list_profiles(s))


def _imported(done: MappedImport) -> Response:
    """The import's report page, with what was created and the profile used or saved."""
    r = done.result
    via = f"（按映射方案“{done.profile}”读取列 / columns read with mapping profile {done.profile!r}）" if done.profile else ""
    saved = f"；已保存映射方案“{done.saved}” / mapping profile {done.saved!r} saved" if done.saved else ""
    if done.save_refused:
        saved = f"；映射方案未保存 / the mapping profile was not saved: {done.save_refused}"
    flash(f"导入完成：新建理赔 {r.claims_created} 笔，更新 {r.claims_updated} 笔 / imported: {r.claims_created} "
          f"claim(s) created, {r.claims_updated} updated, {r.claims_withdrawn} withdrawn{via}{saved}", "ok")
    return redirect(url_for("imports.report", batch_id=r.batch_id))


@bp.post("/imports")
def upload():
    department = request.form.get("department", "")
    period = request.form.get("period", "").strip() or None
    upload = request.files.get("file")
    policies = _policies()
    policy_id = bounded_int(request.form.get("policy_id") or (policies[0][0] if policies else 0)) or 0
    if department not in DEPARTMENTS:
        flash(f"请选择部门 / choose a department ({', '.join(DEPARTMENTS)})", "error")
        return redirect(url_for("imports.index"))
    if policy_id not in {p[0] for p in policies}:  # none, or another county's: answered as missing
        flash(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist", "error")
        return redirect(url_for("imports.index"))
    if upload is None or not upload.filename:
        flash("请选择文件 / choose a file to upload", "error")
        return redirect(url_for("imports.index"))
    with uploads.saved(upload) as path:  # read from disk in pieces, never upload.read()
        if path.stat().st_size > (current_app.config.get("RELIEF_IMPORT_JOB_BYTES") or JOB_IMPORT_BYTES):
            return _import_as_job(path, department, policy_id, period, upload.filename)
        return _import_upload(path, department, policy_id, period, upload.filename)


def _import_as_job(path: Path, department: str, policy_id: int, period: str | None, file_name: str) -> Response:
    """A large upload handed to a background import (the job deletes the file once read): the job's page."""
    from flask_app.views.jobs import submit_job

    actor = current_user.actor
    params = {"policy_id": policy_id, "department": department, "path": str(uploads.hand_to_job(path)),
              "file_name": file_name[:ImportBatch.file_name.type.length], "period": period, "actor_id": actor.id,
              "actor_role": actor.role, "actor_name": actor.name}
    job_id = submit_job("import", params, policy_id=policy_id,
                        title=f"导入{DEPARTMENT_NAMES[department]}报告 {file_name[:80]} / import {department}")
    return redirect(url_for("jobs.show", job_id=job_id))


def _import_upload(path: Path, department: str, policy_id: int, period: str | None, file_name: str) -> Response:
    """Import the saved upload; a file whose columns are not recognised is kept for the mapping page."""
    try:
        done = import_mapped(db.factory(), policy_id, department, path, actor=current_user.actor,
                             file_name=file_name, period=period)
    except AlreadyImportedError as exc:
        flash(f"已导入过 / already imported: {exc}", "error")
        return redirect(url_for("imports.report", batch_id=exc.batch_id))
    except ReportFileError as exc:
        if exc.unmatched is None:
            flash(f"导入被拒绝，未做任何更改 / import refused, nothing was changed: {exc}", "error")
            return redirect(url_for("imports.index"))
        try:
            digest = uploads.keep(path)
        except uploads.PendingUploadError as too_big:
            flash(f"导入被拒绝，未做任何更改 / import refused, nothing was changed: {exc} — {too_big}", "error")
            return redirect(url_for("imports.index"))
        return redirect(url_for("imports.mapping", digest=digest, department=department, policy_id=policy_id,
                                period=period or "", file_name=file_name))
    except (ReliefError, ValueError) as exc:  # ValueError: what the file readers let through unnamed
        flash(f"导入被拒绝，未做任何更改 / import refused, nothing was changed: {exc}", "error")
        return redirect(url_for("imports.index"))
    return _imported(done)


def _pending(digest: str, source: Mapping[str, str]) -> tuple[bytes, str, str, int, str | None]:
    """The kept upload and the import's fields from the query (GET) or the form (POST); 404 when gone."""
    data = uploads.load(digest)
    department = source.get("department", "")
    if data is None or department not in DEPARTMENTS:
        abort(404, description="待映射的上传已不存在（超过一天或已导入），请重新上传 / the upload waiting for its "
                               "mapping is gone (older than a day, or imported); upload the file again")
    file_name = (source.get("file_name") or "upload")[:ImportBatch.file_name.type.length]
    policy_id = bounded_int(source.get("policy_id") or 0) or 0
    if not policy_in_scope(db.session(), current_user.scope, policy_id):
        abort(404)  # another county's policy is answered as a missing one
    return data, department, file_name, policy_id, (source.get("period") or "").strip() or None


def _unmatched(data: bytes, department: str, file_name: str) -> UnmatchedColumns | None:
    """What the mapping page shows: the file's headers, first rows and missing columns (None: none missing)."""
    try:
        read_report(data, department, file_name=file_name)
    except ReportFileError as exc:
        if exc.unmatched is None:
            raise
        return exc.unmatched
    return None


def _mapping_page(digest: str, data: bytes, department: str, file_name: str, policy_id: int, period: str | None,
                  chosen: dict[str, str] | None = None, profile_name: str | None = None,
                  status: int = 200) -> Response | tuple[str, int]:
    """The mapping form: the header line, the first rows, a dropdown per field (required first) preset to
    the person's choice or to what the alias table recognised, and the profile name."""
    try:
        unmatched = _unmatched(data, department, file_name)
    except ReportFileError as exc:
        flash(f"导入被拒绝，未做任何更改 / import refused, nothing was changed: {exc}", "error")
        return redirect(url_for("imports.index"))
    if unmatched is None:
        flash("该文件的列均已识别，请直接上传导入 / every column of this file is recognised; upload it to import", "ok")
        return redirect(url_for("imports.index"))
    spec = SPECS[department]
    fields = [{"name": c, "label": col.aliases[0] if col.aliases else c, "required": c in spec.required,
               "chosen": (chosen if chosen is not None else unmatched.matched).get(c, "")}
              for c, col in sorted(spec.columns.items(), key=lambda item: item[0] not in spec.required)]
    if profile_name is None:  # first showing: the file's name without its extension
        profile_name = file_name.rsplit(".", 1)[0][:NAME_MAX]
    return render_template("imports_mapping.html", digest=digest, department=department, file_name=file_name,
                           policy_id=policy_id, period=period or "", unmatched=unmatched, fields=fields,
                           department_names=DEPARTMENT_NAMES, profile_name=profile_name, name_max=NAME_MAX), status


@bp.get("/imports/mapping/<digest>")
def mapping(digest: str):
    data, department, file_name, policy_id, period = _pending(digest, request.args)
    return _mapping_page(digest, data, department, file_name, policy_id, period)


@bp.post("/imports/mapping/<digest>")
def map_upload(digest: str):
    data, department, file_name, policy_id, period = _pending(digest, request.form)
    columns = {c: request.form[f"col-{c}"] for c in SPECS[department].columns if request.form.get(f"col-{c}")}
    profile_name = request.form.get("profile_name", "")
    try:
        done = import_mapped(db.factory(), policy_id, department, data, actor=current_user.actor,
                             file_name=file_name, period=period, columns=columns, save_as=profile_name)
    except AlreadyImportedError as exc:
        uploads.discard(digest)
        flash(f"已导入过 / already imported: {exc}", "error")
        return redirect(url_for("imports.report", batch_id=exc.batch_id))
    except (ReliefError, ValueError) as exc:  # ValueError: what the file readers let through unnamed
        flash(f"导入被拒绝，未做任何更改 / import refused, nothing was changed: {exc}", "error")
        return _mapping_page(digest, data, department, file_name, policy_id, period, columns, profile_name, 422)
    uploads.discard(digest)
    return _imported(done)


@bp.get("/imports/profiles/<int:profile_id>.yaml")
def profile_download(profile_id: int):
    profile = db.session().get(MappingProfile, profile_id)
    if profile is None:
        abort(404)
    return Response(profile_yaml(profile).encode("utf-8"), mimetype="application/yaml", headers={
        "Content-Disposition": f"attachment; filename=mapping-{profile.department}-{profile.id}.yaml"})


@bp.get("/imports/<int:batch_id>")
def report(batch_id: int):
    s = db.session()
    batch = _batch_or_404(s, batch_id)
    by_reason = s.execute(select(ImportException.reason, ImportException.severity, func.count())
                          .where(ImportException.batch_id == batch_id)
                          .group_by(ImportException.reason, ImportException.severity)
                          .order_by(func.count().desc())).all()
    groups = []
    for reason, severity, n in by_reason:
        lines = list(s.scalars(select(ImportException.line).where(
            ImportException.batch_id == batch_id, ImportException.reason == reason,
            ImportException.severity == severity).order_by(ImportException.line).limit(LINES_SHOWN)))
        example = s.scalar(select(ImportException.detail).where(
            ImportException.batch_id == batch_id, ImportException.reason == reason).limit(1))
        groups.append({"reason": reason, "label": REASONS.get(reason, reason), "severity": severity, "count": n,
                       "lines": lines, "more": n - len(lines), "example": example})
    return render_template("imports_report.html", batch=batch, groups=groups, department_names=DEPARTMENT_NAMES)


@bp.get("/imports/<int:batch_id>/exceptions.csv")
def exceptions_csv(batch_id: int):
    s = db.session()
    batch = _batch_or_404(s, batch_id)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["文件 file", "行号 line", "原因代码 reason", "原因 reason text", "级别 severity", "详情 detail"])
    for line, reason, severity, detail in s.execute(
            select(ImportException.line, ImportException.reason, ImportException.severity, ImportException.detail)
            .where(ImportException.batch_id == batch_id).order_by(ImportException.line, ImportException.id)):
        writer.writerow(formula_safe([batch.file_name, line, reason, REASONS.get(reason, reason), severity, detail]))
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=import-{batch_id}-exceptions.csv"})
