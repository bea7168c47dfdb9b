"""Pages: household applications (申报) — the form for village clerks and the county's hotline staff, the list
with filters, an application with its receipts, and the insurer's verify / reject.

Seed 000 "农户自主申报……拨打12317咨询服务电话……接受农户个人或他人代为申报"; seed 002 "农户自愿申请".  The rules
are :mod:`claims.lifecycle.application_intake` (what may be recorded, receipts) and
:mod:`claims.lifecycle.application_review` (verify into a 申报 batch, duplicates, reject); every query is
scoped (:func:`claims.lifecycle.application_review.visible`).  The county's hotline staff use the
``county_reviewer`` role (county-wide, no role of their own).
"""

from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from claims.lifecycle.application_intake import (
    DETAIL_FIELDS,
    MAX_RECEIPT_BYTES,
    MAX_RECEIPTS,
    ApplicationInput,
    Receipt,
    perils_of,
    submit_application,
)
from claims.lifecycle.application_review import (
    application_in_scope,
    application_rows,
    reject_application,
    verify_application,
    visible,
)
from claims.lifecycle.applications import APPLICATION_STATES, CHANNELS, Application, ApplicationReceipt
from claims.lifecycle.labels import APPLICATION_CHANNEL_NAMES, APPLICATION_STATE_NAMES
from claims.lifecycle.models import ImportBatch, User
from claims.lifecycle.scope import scope_policies
from claims.lifecycle.store import Policy, ProductVersion
from claims.lifecycle.villages import village_names, village_options
from flask_app import db
from flask_app.permissions import FULL_ID_ROLES, INSURER, REVIEWERS, allow, allowed
from flask_app.views.args import bounded_int
from products.model import PERILS
from tabular.errors import ReliefError
from tabular.resident_id import mask_id

bp = Blueprint("applications", __name__)
#: Who records applications: the village clerk (村“两委”) and the county's hotline staff (12317).
APPLY_ROLES = frozenset({"village_clerk", "county_reviewer"})
READ_ROLES = INSURER | REVIEWERS | {"admin"}
allow("applications.index", READ_ROLES)
allow("applications.new", APPLY_ROLES)
allow("applications.create", APPLY_ROLES)
allow("applications.show", READ_ROLES)
allow("applications.receipt", READ_ROLES)
allow("applications.verify", INSURER)
allow("applications.reject", INSURER)

STATE_NAMES = APPLICATION_STATE_NAMES
CHANNEL_NAMES = APPLICATION_CHANNEL_NAMES
LIST_LIMIT = 500


def _policies() -> list:
    """(id, product name, year) of the policies of the user's counties, newest first."""
    return db.session().execute(select(Policy.id, ProductVersion.name, Policy.year)
                                .join(ProductVersion, ProductVersion.id == Policy.product_version_id)
                                .where(Policy.id.in_(scope_policies(current_user.scope)))
                                .order_by(Policy.id.desc())).all()


def _peril_names() -> dict[str, str]:
    return {p: spec["zh"] for p, spec in PERILS.items()}


def _form_page(values: dict, status: int = 200):  # noqa: ANN202
    s = db.session()
    policies = _policies()
    perils = list(dict.fromkeys(p for pol in policies for p in perils_of(s, pol[0])))
    return render_template("applications_form.html", policies=policies, perils=perils, peril_names=_peril_names(),
                           channels=CHANNELS, channel_names=CHANNEL_NAMES, detail_fields=DETAIL_FIELDS, values=values,
                           max_mb=MAX_RECEIPT_BYTES // (1024 * 1024), max_receipts=MAX_RECEIPTS), status


@bp.get("/applications/new")
def new():  # noqa: ANN201
    channel = "hotline" if current_user.role == "county_reviewer" else "village"
    return _form_page({"channel": channel})


def _receipts() -> list[Receipt]:
    """The uploaded receipts, each read to one byte over the limit at most (the service refuses it then)."""
    files = [f for f in request.files.getlist("receipts") if f and f.filename]
    return [Receipt(f.filename or "receipt", f.stream.read(MAX_RECEIPT_BYTES + 1)) for f in files[:MAX_RECEIPTS + 1]]


def _input(form) -> ApplicationInput:  # noqa: ANN001
    try:
        day = dt.date.fromisoformat(form.get("event_date", "").strip())
    except ValueError:
        raise ApplicationDateError("请填写日期（YYYY-MM-DD）/ enter the date as YYYY-MM-DD") from None
    details = {name: form.get(name, "") for fields in DETAIL_FIELDS.values() for name in fields}
    return ApplicationInput(policy_id=bounded_int(form.get("policy_id")) or 0,
                            household_no=form.get("household_no", "")[:40], id_no=form.get("id_no", "")[:18] or None,
                            peril=form.get("peril", ""), event_date=day, amount=form.get("amount", "")[:40],
                            compensated=form.get("compensated", "")[:40] or "0", channel=form.get("channel", ""),
                            bill_no=form.get("bill_no", "")[:60] or None, details=details,
                            note=form.get("note", "")[:2000] or None)


class ApplicationDateError(ReliefError, ValueError):
    """The form's date is not a date."""


@bp.post("/applications")
def create():  # noqa: ANN201
    try:
        given = _input(request.form)
        with db.write() as s:
            app = submit_application(s, given, current_user.actor, current_user.scope, _receipts())
            app_id = app.id
    except ReliefError as exc:
        flash(f"申报未保存 / the application was not saved: {exc}", "error")
        return _form_page(request.form.to_dict(), 400)
    flash(f"已登记申报 {app_id}，待保险公司核实 / application {app_id} recorded, waiting for the insurer", "ok")
    return redirect(url_for("applications.show", application_id=app_id))


@bp.get("/applications")
def index():  # noqa: ANN201
    s = db.session()
    query = visible(current_user.scope, select(Application))
    state, peril = request.args.get("state", ""), request.args.get("peril", "")
    village, household = request.args.get("village", "").strip(), request.args.get("household", "").strip()
    if state in APPLICATION_STATES:
        query = query.where(Application.state == state)
    if peril in PERILS:
        query = query.where(Application.peril == peril)
    if village:
        query = query.where(Application.village_code == village[:12])
    if household:
        query = query.where(Application.household_no == household[:40])
    apps = s.scalars(query.order_by(Application.id.desc()).limit(LIST_LIMIT)).all()
    return render_template("applications_index.html", apps=apps, states=STATE_NAMES, channel_names=CHANNEL_NAMES,
                           village_names=village_names(s, [a.village_code for a in apps]),
                           village_options=village_options(s, current_user.scope),
                           peril_names=_peril_names(), filters={"state": state, "peril": peril, "village": village,
                                                                "household": household},
                           can_apply=allowed("applications.new", current_user.role), limit=LIST_LIMIT)


def _shown_id(id_no: str | None) -> str:
    if not id_no:
        return ""
    return id_no if current_user.role in FULL_ID_ROLES else mask_id(id_no)


@bp.get("/applications/<int:application_id>")
def show(application_id: int):  # noqa: ANN201
    s = db.session()
    app = application_in_scope(s, current_user.scope, application_id)
    receipts = s.execute(select(ApplicationReceipt.id, ApplicationReceipt.file_name, ApplicationReceipt.media_type,
                                ApplicationReceipt.size).where(ApplicationReceipt.application_id == app.id)
                         .order_by(ApplicationReceipt.id)).all()
    ids = [u for u in (app.created_by, app.decided_by) if u]
    users = dict(s.execute(select(User.id, User.name).where(User.id.in_(ids or [0]))).all())
    batch = s.get(ImportBatch, app.batch_id) if app.batch_id else None
    return render_template("applications_show.html", app=app, receipts=receipts, users=users, batch=batch,
                           rows=application_rows(s, app), states=STATE_NAMES, channel_names=CHANNEL_NAMES,
                           village_names=village_names(s, [app.village_code]),
                           peril_names=_peril_names(), id_no=_shown_id(app.id_no), detail_fields=DETAIL_FIELDS,
                           can_see_batch=allowed("imports.report", current_user.role),
                           can_decide=app.state == "submitted" and allowed("applications.verify", current_user.role))


@bp.get("/applications/<int:application_id>/receipts/<int:receipt_id>")
def receipt(application_id: int, receipt_id: int):  # noqa: ANN201
    """A receipt as a download (attachment, its sniffed type, nosniff): never shown inline."""
    s = db.session()
    app = application_in_scope(s, current_user.scope, application_id)
    found = s.scalar(select(ApplicationReceipt).where(ApplicationReceipt.id == receipt_id,
                                                      ApplicationReceipt.application_id == app.id))
    if found is None:
        abort(404)
    response = send_file(io.BytesIO(found.content), mimetype=found.media_type, as_attachment=True,
                         download_name=found.file_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/applications/<int:application_id>/verify")
def verify(application_id: int):  # noqa: ANN201
    try:
        done = verify_application(db.factory(), application_id, current_user.actor, current_user.scope)
    except ReliefError as exc:
        flash(f"未做任何更改 / nothing was changed: {exc}", "error")
        return redirect(url_for("applications.show", application_id=application_id))
    if done.state == "duplicate":
        flash("与已导入的部门记录重复，未计入 / duplicates a stored department record; not counted", "error")
    else:
        flash(f"已核实：新建理赔 {done.claims_created} 笔，更新 {done.claims_updated} 笔 / verified: "
              f"{done.claims_created} claim(s) created, {done.claims_updated} updated", "ok")
    return redirect(url_for("applications.show", application_id=application_id))


@bp.post("/applications/<int:application_id>/reject")
def reject(application_id: int):  # noqa: ANN201
    try:
        with db.write() as s:
            reject_application(s, application_id, current_user.actor, current_user.scope,
                               request.form.get("reason", ""))
    except ReliefError as exc:
        flash(f"未做任何更改 / nothing was changed: {exc}", "error")
        return redirect(url_for("applications.show", application_id=application_id))
    flash(f"已驳回申报 {application_id} / application {application_id} rejected", "ok")
    return redirect(url_for("applications.show", application_id=application_id))
