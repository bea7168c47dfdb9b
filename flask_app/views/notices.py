"""Pages: public notices (公示) — list, post per village, print-ready page and PDF (one sheet for the 行政村 and
one per 自然村, each with its digest and QR code), posting records, objections, close due, and the public
digest check ``/notices/verify/<digest>`` (no login, no personal data).

Village clerks see and act on their own villages only.  The views call :mod:`claims.lifecycle.notices`; the notice
shows only what :func:`claims.lifecycle.notices.notice_table` holds (masked names, natural village, line, amount).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from claims.lifecycle.labels import NOTICE_STATES
from claims.lifecycle.models import Claim, Notice, NoticeLine, Objection
from claims.lifecycle.notice_postings import PHOTO_MAX_BYTES, NoticePosting
from claims.lifecycle.notice_sheets import postings_of, record_posting, verify_digest
from claims.lifecycle.notices import close_due as close_due_notices
from claims.lifecycle.notices import notice_required, post_notice, record_objection
from claims.lifecycle.scope import policy_in_scope, scope_policies, scoped
from claims.lifecycle.store import Policy, ProductVersion
from claims.lifecycle.villages import village_names
from flask_app import db, pdf
from flask_app.clock import today
from flask_app.display import hotline
from flask_app.permissions import READERS, allow, allowed
from flask_app.print_context import notice_context
from flask_app.views.args import bounded_int
from tabular.errors import ReliefError

bp = Blueprint("notices", __name__)

allow("notices.index", READERS)
allow("notices.create", {"county_reviewer", "village_clerk"})
allow("notices.show", READERS)
allow("notices.pdf", READERS)
allow("notices.objection", {"village_clerk"})
allow("notices.close_due", {"county_reviewer", "admin"})
allow("notices.posting", {"county_reviewer", "village_clerk"})
allow("notices.posting_photo", READERS)

STATES = NOTICE_STATES
PHOTO_LIMIT = PHOTO_MAX_BYTES


def _notice_or_404(session, notice_id: int) -> Notice:  # noqa: ANN001
    notice = session.scalar(scoped(current_user.scope, select(Notice).where(Notice.id == notice_id),
                                   Notice.village_code, policy=Notice.policy_id))
    if notice is None:
        abort(404)  # another county's or village's notice is not shown, not even its existence
    return notice


@bp.get("/notices")
def index():  # noqa: ANN201
    s = db.session()
    visible = scoped(current_user.scope, select(Notice), Notice.village_code, policy=Notice.policy_id)
    notices = s.scalars(visible.order_by(Notice.id.desc())).all()
    ids = [n.id for n in notices]
    lines = dict(s.execute(select(NoticeLine.notice_id, func.count()).where(NoticeLine.notice_id.in_(ids))
                           .group_by(NoticeLine.notice_id)).all()) if ids else {}
    totals = dict(s.execute(select(NoticeLine.notice_id, func.sum(NoticeLine.amount))
                            .where(NoticeLine.notice_id.in_(ids)).group_by(NoticeLine.notice_id)).all()) if ids else {}
    objections = dict(s.execute(select(Objection.notice_id, func.count()).where(Objection.notice_id.in_(ids))
                                .group_by(Objection.notice_id)).all()) if ids else {}
    filed = s.execute(scoped(current_user.scope,
                             select(Claim.policy_id, Claim.village_code, func.count(), func.sum(Claim.amount))
                             .where(Claim.state == "filed"))
                      .group_by(Claim.policy_id, Claim.village_code)
                      .order_by(Claim.policy_id, Claim.village_code)).all()
    policy_names = dict(s.execute(select(Policy.id, ProductVersion.name)
                                  .join(ProductVersion, Policy.product_version_id == ProductVersion.id)
                                  .where(Policy.id.in_(scope_policies(current_user.scope)))).all())
    names = village_names(s, [n.village_code for n in notices] + [row[1] for row in filed if row[1]])
    can_post = allowed("notices.create", current_user.role)
    can_close = allowed("notices.close_due", current_user.role)
    no_notice = {pid for pid in {row[0] for row in filed} if not notice_required(s, pid)}
    return render_template("notices_index.html", notices=notices, lines=lines, totals=totals,
                           objections=objections, filed=filed, names=names, policy_names=policy_names,
                           states=STATES, can_post=can_post, can_close=can_close, today=today(),
                           no_notice=no_notice)


@bp.post("/notices")
def create():  # noqa: ANN201
    village = request.form.get("village_code", "").strip()
    policy_id = bounded_int(request.form.get("policy_id", ""))
    days_text = request.form.get("days", "").strip()
    days = bounded_int(days_text, high=365) if days_text else None
    if days_text and days is None:
        flash("公示天数须为 1–365 的整数 / notice days must be a whole number from 1 to 365", "error")
        return redirect(url_for("notices.index"))
    if policy_id is None:
        flash("请选择保单 / choose a policy", "error")
        return redirect(url_for("notices.index"))
    if not village or not current_user.scope.sees(village) or \
            not policy_in_scope(db.session(), current_user.scope, policy_id):
        abort(403)
    try:
        with db.write() as s:
            notice = post_notice(s, policy_id, village, current_user.actor, posted_on=today(), days=days,
                                 hotline=hotline(s, village))
            notice_id = notice.id
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("notices.index"))
    flash(f"已张贴公示 {notice_id} / notice {notice_id} posted")
    return redirect(url_for("notices.show", notice_id=notice_id))


def verify_url(digest: str) -> str:
    """Where a sheet's QR code leads: ``RELIEF_PUBLIC_URL`` (the address residents can reach) or this host."""
    base = current_app.config.get("RELIEF_PUBLIC_URL")
    path = url_for("notices.verify", digest=digest)
    return base.rstrip("/") + path if base else url_for("notices.verify", digest=digest, _external=True)


def verify_prefix() -> str:
    """:func:`verify_url` without its digest: ``verify_prefix() + "/" + digest == verify_url(digest)``."""
    base = current_app.config.get("RELIEF_PUBLIC_URL")
    path = url_for("notices.verify_form")
    return base.rstrip("/") + path if base else url_for("notices.verify_form", _external=True)


def _sheet(notice_id: int) -> dict:
    """The notice's header and its sheets (行政村 first, then each 自然村), each with its QR code."""
    s = db.session()
    notice = _notice_or_404(s, notice_id)
    with db.write() as w:  # a notice posted before digests were kept gets them filed on first view
        return notice_context(s, w, notice, link=verify_url, hotline=hotline(s, notice.village_code))


@bp.get("/notices/<int:notice_id>")
def show(notice_id: int):  # noqa: ANN201
    ctx = _sheet(notice_id)
    s = db.session()
    on_notice = []
    if current_user.role == "village_clerk" and ctx["notice"].state == "posted":
        on_notice = s.execute(select(NoticeLine.claim_id, NoticeLine.masked_name, NoticeLine.line_name,
                                     NoticeLine.amount)
                              .join(Claim, Claim.id == NoticeLine.claim_id)
                              .where(NoticeLine.notice_id == notice_id, Claim.state == "on_notice",
                                     Claim.notice_id == notice_id)
                              .order_by(NoticeLine.id)).all()
    objections = s.execute(select(Objection.id, Objection.claim_id, Objection.text, Objection.state,
                                  Objection.recorded_at, NoticeLine.masked_name)
                           .join(NoticeLine, (NoticeLine.claim_id == Objection.claim_id)
                                 & (NoticeLine.notice_id == Objection.notice_id))
                           .where(Objection.notice_id == notice_id).order_by(Objection.id)).all()
    above_entitlement = s.execute(select(NoticeLine.claim_id, NoticeLine.masked_name, NoticeLine.line_name,
                                         NoticeLine.amount)
                                  .join(Claim, Claim.id == NoticeLine.claim_id)
                                  .where(NoticeLine.notice_id == notice_id, Claim.above_entitlement)
                                  .order_by(NoticeLine.id)).all()
    postings = postings_of(s, notice_id)
    can_record = allowed("notices.posting", current_user.role)
    return render_template("notices_show.html", on_notice=on_notice, objections=objections, states=STATES,
                           above_entitlement=above_entitlement, font_stack=pdf.FONT_STACK, postings=postings,
                           can_record=can_record, today=today(), **ctx)


@bp.get("/notices/<int:notice_id>.pdf", endpoint="pdf")
def pdf_file(notice_id: int):  # noqa: ANN201
    ctx = _sheet(notice_id)
    font = pdf.cjk_font()
    if font is None:
        html = render_template("notices_nofont.html", notice_id=notice_id, families=pdf.CJK_FAMILIES)
        return Response(html, status=503, mimetype="text/html", headers={"Retry-After": "3600"})
    html = render_template("notices_print.html", font_stack=pdf.FONT_STACK, **ctx)
    data, seconds = pdf.render_pdf(html, base_url=request.url_root)
    current_app.logger.info("notice %s PDF rendered in %.2fs (%d bytes, font %s)", notice_id, seconds, len(data),
                            font)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notice-{notice_id}.pdf"',
        "X-Render-Seconds": f"{seconds:.3f}"})


@bp.post("/notices/<int:notice_id>/objections")
def objection(notice_id: int):  # noqa: ANN201
    _notice_or_404(db.session(), notice_id)
    text = request.form.get("text", "").strip()
    claim_id = bounded_int(request.form.get("claim_id", ""))
    if claim_id is None:
        flash("请选择理赔 / choose a claim", "error")
        return redirect(url_for("notices.show", notice_id=notice_id))
    try:
        with db.write() as s:
            record_objection(s, claim_id, current_user.actor, text, notice_id=notice_id)
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("notices.show", notice_id=notice_id))
    flash(f"已登记对理赔 {claim_id} 的异议 / objection to claim {claim_id} recorded")
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.post("/notices/close-due")
def close_due():  # noqa: ANN201
    with db.write() as s:
        result = close_due_notices(s, today=today(), policies=scope_policies(current_user.scope))
    flash(f"截至 {today().isoformat()}：结束公示 {result['notices_closed']} 份，"
          f"{result['claims_payable']} 笔理赔转为可支付 / "
          f"{result['notices_closed']} notices closed, {result['claims_payable']} claims payable")
    return redirect(url_for("notices.index"))


@bp.post("/notices/<int:notice_id>/postings")
def posting(notice_id: int):  # noqa: ANN201
    """Record where and when the notice was put up (张贴记录), with an optional photo (JPEG/PNG)."""
    _notice_or_404(db.session(), notice_id)
    upload = request.files.get("photo")
    photo = upload.read(PHOTO_LIMIT + 1) if upload is not None and upload.filename else None
    try:
        posted_at = dt.datetime.fromisoformat(request.form.get("posted_at", "").strip() or today().isoformat())
        with db.write() as s:
            record_posting(s, notice_id, place=request.form.get("place", ""), posted_at=posted_at,
                           posted_by=current_user.id, posted_by_name=current_user.username, photo=photo)
    except ValueError as exc:  # InvalidInputError / NoticeError, or a date that is not one
        flash(str(exc) if isinstance(exc, ReliefError) else "张贴时间格式应为 YYYY-MM-DD [HH:MM] / posted at: "
              "YYYY-MM-DD [HH:MM]", "error")
        return redirect(url_for("notices.show", notice_id=notice_id))
    flash(f"已登记公示 {notice_id} 的张贴记录 / posting of notice {notice_id} recorded")
    return redirect(url_for("notices.show", notice_id=notice_id))


@bp.get("/notices/<int:notice_id>/postings/<int:posting_id>/photo")
def posting_photo(notice_id: int, posting_id: int):  # noqa: ANN201
    _notice_or_404(db.session(), notice_id)
    row = db.session().get(NoticePosting, posting_id)
    if row is None or row.notice_id != notice_id or row.photo is None:
        abort(404)
    return Response(row.photo, mimetype=row.photo_type or "application/octet-stream",
                    headers={"Content-Disposition": f'inline; filename="notice-{notice_id}-posting-{posting_id}"',
                             "X-Content-Type-Options": "nosniff"})


@bp.get("/notices/verify", endpoint="verify_form")
@bp.get("/notices/verify/<digest>")
def verify(digest: str | None = None):  # noqa: ANN201
    """Public (no login): was a list with this digest filed?  Village, period, rows and total only."""
    digest = (digest or request.args.get("digest", "")).strip().lower()[:64]
    found = verify_digest(db.session(), digest) if digest else None
    return render_template("notices_verify.html", digest=digest, found=found), (404 if digest and not found else 200)
