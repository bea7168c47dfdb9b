"""Pages: public notices (公示) — list, post per village, print-ready page and PDF, objections, close due.

Village clerks see and act on their own villages only.  The views call :mod:`claims.lifecycle.notices`; the notice
shows only what :func:`claims.lifecycle.notices.notice_table` holds (masked names, natural village, line, amount).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from claims.lifecycle.models import Claim, Notice, NoticeLine, Objection
from claims.lifecycle.notices import close_due as close_due_notices
from claims.lifecycle.notices import notice_table, post_notice, record_objection
from claims.lifecycle.scope import policy_in_scope, scope_policies, scoped
from claims.lifecycle.store import Division, Policy, ProductVersion
from flask_app import db, pdf
from flask_app.clock import today
from flask_app.permissions import READERS, allow, allowed
from flask_app.views.args import bounded_int
from tabular.errors import ReliefError

bp = Blueprint("notices", __name__)

allow("notices.index", READERS)
allow("notices.create", {"county_reviewer", "village_clerk"})
allow("notices.show", READERS)
allow("notices.pdf", READERS)
allow("notices.objection", {"village_clerk"})
allow("notices.close_due", {"county_reviewer", "admin"})

STATES = {"posted": "公示中", "ended": "已结束"}


def village_names(session, codes) -> dict[str, str]:  # noqa: ANN001
    codes = sorted(set(codes))
    if not codes:
        return {}
    found = dict(session.execute(select(Division.code, Division.name).where(Division.code.in_(codes))).all())
    return {c: found.get(c) or c for c in codes}


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
    return render_template("notices_index.html", notices=notices, lines=lines, totals=totals,
                           objections=objections, filed=filed, names=names, policy_names=policy_names,
                           states=STATES, can_post=can_post, can_close=can_close, today=today())


@bp.post("/notices")
def create():  # noqa: ANN201
    village = request.form.get("village_code", "").strip()
    policy_id = bounded_int(request.form.get("policy_id", ""))
    if policy_id is None:
        flash("请选择保单 / choose a policy", "error")
        return redirect(url_for("notices.index"))
    if not village or not current_user.scope.sees(village) or \
            not policy_in_scope(db.session(), current_user.scope, policy_id):
        abort(403)
    try:
        with db.write() as s:
            notice = post_notice(s, policy_id, village, current_user.actor, posted_on=today(),
                                 hotline=current_app.config.get("RELIEF_NOTICE_HOTLINE"))
            notice_id = notice.id
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("notices.index"))
    flash(f"已张贴公示 {notice_id} / notice {notice_id} posted")
    return redirect(url_for("notices.show", notice_id=notice_id))


def _sheet(notice_id: int) -> dict:
    s = db.session()
    notice = _notice_or_404(s, notice_id)
    df = notice_table(s, notice_id)
    head = df.attrs
    return {"notice": notice, "rows": df.to_dict(orient="records"), "columns": list(df.columns),
            "village_name": village_names(s, [notice.village_code])[notice.village_code],
            "posted_on": head["posted_on"], "end_on": head["end_on"], "days": head["days"],
            "hotline": head.get("hotline") or current_app.config.get("RELIEF_NOTICE_HOTLINE"),
            "total": head["total"], "count": len(df)}


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
    return render_template("notices_show.html", on_notice=on_notice, objections=objections, states=STATES,
                           above_entitlement=above_entitlement, font_stack=pdf.FONT_STACK, **ctx)


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
