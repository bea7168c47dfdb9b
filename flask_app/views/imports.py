"""Pages: department file imports — upload, validation report (rows read, exceptions by reason with
line numbers, downloadable as CSV), batch history.  The import itself is :func:`claims.imports.import_report`.
"""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from claims.imports import AlreadyImportedError, ImportRefusedError, import_report
from claims.models import ImportBatch, ImportException, User
from claims.reports import DEPARTMENTS, REASONS, ReportFileError
from products.store import Policy

from .. import db
from ..permissions import INSURER, allow

bp = Blueprint("imports", __name__)
IMPORT_ROLES = INSURER | {"admin"}
allow("imports.index", IMPORT_ROLES)
allow("imports.upload", IMPORT_ROLES)
allow("imports.report", IMPORT_ROLES)
allow("imports.exceptions_csv", IMPORT_ROLES)



DEPARTMENT_NAMES = {"medical": "医保（医疗费用结算）", "education": "教育（学费与升学）", "disaster": "应急管理（灾害损失）",
                    "accident": "意外（伤残与身故）", "income": "收入监测"}
#: How many line numbers a reason lists on the page (all are in the CSV).
LINES_SHOWN = 200


def _policies() -> list:
    return db.session().execute(select(Policy.id, Policy.county, Policy.year).order_by(Policy.id.desc())).all()


@bp.get("/imports")
def index():
    s = db.session()
    batches = s.execute(select(ImportBatch, User.name).outerjoin(User, User.id == ImportBatch.imported_by)
                        .order_by(ImportBatch.id.desc()).limit(500)).all()
    return render_template("imports_index.html", batches=batches, departments=DEPARTMENTS,
                           department_names=DEPARTMENT_NAMES, policies=_policies())


@bp.post("/imports")
def upload():
    department = request.form.get("department", "")
    period = request.form.get("period", "").strip() or None
    upload = request.files.get("file")
    policies = _policies()
    try:
        policy_id = int(request.form.get("policy_id") or (policies[0][0] if policies else 0))
    except ValueError:
        policy_id = 0
    if department not in DEPARTMENTS:
        flash(f"请选择部门 / choose a department ({', '.join(DEPARTMENTS)})", "error")
        return redirect(url_for("imports.index"))
    if upload is None or not upload.filename:
        flash("请选择文件 / choose a file to upload", "error")
        return redirect(url_for("imports.index"))
    data = upload.read()
    try:
        result = import_report(db.factory(), policy_id, department, data, actor=current_user.actor,
                               file_name=upload.filename, period=period)
    except AlreadyImportedError as exc:
        flash(f"已导入过 / already imported: {exc}", "error")
        return redirect(url_for("imports.report", batch_id=exc.batch_id))
    except (ImportRefusedError, ReportFileError, ValueError) as exc:
        flash(f"导入被拒绝，未做任何更改 / import refused, nothing was changed: {exc}", "error")
        return redirect(url_for("imports.index"))
    flash(f"导入完成：新建理赔 {result.claims_created} 笔，更新 {result.claims_updated} 笔 / imported: "
          f"{result.claims_created} claim(s) created, {result.claims_updated} updated, "
          f"{result.claims_withdrawn} withdrawn", "ok")
    return redirect(url_for("imports.report", batch_id=result.batch_id))


@bp.get("/imports/<int:batch_id>")
def report(batch_id: int):
    s = db.session()
    batch = s.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
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
    batch = s.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["文件 file", "行号 line", "原因代码 reason", "原因 reason text", "级别 severity", "详情 detail"])
    for line, reason, severity, detail in s.execute(
            select(ImportException.line, ImportException.reason, ImportException.severity, ImportException.detail)
            .where(ImportException.batch_id == batch_id).order_by(ImportException.line, ImportException.id)):
        writer.writerow([batch.file_name, line, reason, REASONS.get(reason, reason), severity, detail])
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=import-{batch_id}-exceptions.csv"})
