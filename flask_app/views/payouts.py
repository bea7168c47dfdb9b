"""Pages: payout batches (支付批次) — build from payable claims, review, bank file (Excel/CSV), bank return."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select

from claims.lifecycle.batch_cosign import BATCH_STATES, BATCH_TRANSITIONS, apply_batch_action, signoff_of
from claims.lifecycle.models import Claim, PayoutBatch, PayoutLine
from claims.lifecycle.payout_lists import LINE_STATES, mask_account, payout_list_xlsx
from claims.lifecycle.payouts import build_batch, export_bank_file, import_bank_return
from claims.lifecycle.scope import policy_in_scope, scope_policies, scoped
from claims.lifecycle.store import Policy, ProductVersion
from claims.lifecycle.villages import village_names
from flask_app import db
from flask_app.clock import today
from flask_app.permissions import INSURER, allow
from flask_app.views.args import bounded_int
from tabular.errors import ReliefError

bp = Blueprint("payouts", __name__)

PAYOUT_ROLES = INSURER | {"admin"}
for _endpoint in ("payouts.create", "payouts.bank_file", "payouts.bank_return"):
    allow(_endpoint, PAYOUT_ROLES)
#: Who reads batches and their lists: the payers and the county office (扶贫办), which sees accounts masked
#: (:func:`claims.lifecycle.payout_lists.mask_account`); the bank file with full accounts stays the payers'.
PAYOUT_READERS = PAYOUT_ROLES | {"county_reviewer"}
for _endpoint in ("payouts.index", "payouts.show", "payouts.list_xlsx"):
    allow(_endpoint, PAYOUT_READERS)

#: The county office co-signs a batch (会签, claims.lifecycle.batch_cosign's transition table); the admin too.
allow("payouts.cosign", {"county_reviewer", "admin"})


def _policy_names(s) -> dict[int, str]:  # noqa: ANN001
    return dict(s.execute(select(Policy.id, ProductVersion.name)
                          .join(ProductVersion, Policy.product_version_id == ProductVersion.id)
                          .where(Policy.id.in_(scope_policies(current_user.scope)))).all())


def _batches():  # noqa: ANN202
    """Payout batches of the user's counties (a county-wide object: :func:`scoped` with no village)."""
    return scoped(current_user.scope, select(PayoutBatch), None, policy=PayoutBatch.policy_id)


def _batch_or_404(s, batch_id: int) -> PayoutBatch:  # noqa: ANN001
    batch = s.scalar(_batches().where(PayoutBatch.id == batch_id))
    if batch is None:
        abort(404)  # another county's batch is not shown, not even its existence
    return batch


@bp.get("/payouts")
def index():  # noqa: ANN201
    s = db.session()
    batches = s.scalars(_batches().order_by(PayoutBatch.id.desc())).all()
    counts: dict[int, dict[str, int]] = {}
    visible = [b.id for b in batches] or [0]
    for batch_id, status, n in s.execute(select(PayoutLine.batch_id, PayoutLine.status, func.count())
                                         .where(PayoutLine.batch_id.in_(visible))
                                         .group_by(PayoutLine.batch_id, PayoutLine.status)).all():
        counts.setdefault(batch_id, {})[status] = n
    payable = s.execute(scoped(current_user.scope, select(Claim.policy_id, func.count(), func.sum(Claim.amount))
                               .where(Claim.state == "payable"))
                        .group_by(Claim.policy_id).order_by(Claim.policy_id)).all()
    return render_template("payouts_index.html", batches=batches, counts=counts, payable=payable,
                           policy_names=_policy_names(s), states=BATCH_STATES, period=today().strftime("%Y-%m"),
                           can_build=current_user.role in INSURER)


@bp.post("/payouts")
def create():  # noqa: ANN201
    period = request.form.get("period", "").strip()
    policy_id = bounded_int(request.form.get("policy_id", ""))
    if policy_id is None:
        flash("请选择保单 / choose a policy", "error")
        return redirect(url_for("payouts.index"))
    if not period:
        flash("请填写期间 / the period is required (e.g. 2025-03)", "error")
        return redirect(url_for("payouts.index"))
    if not policy_in_scope(db.session(), current_user.scope, policy_id):
        flash(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist", "error")
        return redirect(url_for("payouts.index"))
    try:
        with db.write() as s:
            batch = build_batch(s, policy_id, period, current_user.actor)
            batch_id = batch.id
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("payouts.index"))
    flash(f"已生成支付批次 {batch_id} / payout batch {batch_id} built")
    return redirect(url_for("payouts.show", batch_id=batch_id))


@bp.get("/payouts/<int:batch_id>")
def show(batch_id: int):  # noqa: ANN201
    s = db.session()
    batch = _batch_or_404(s, batch_id)
    lines = s.execute(scoped(current_user.scope,
                             select(PayoutLine, Claim.village_code, Claim.line_id, Claim.above_entitlement)
                             .join(Claim, Claim.id == PayoutLine.claim_id).where(PayoutLine.batch_id == batch_id))
                      .order_by(PayoutLine.id)).all()
    sums: dict[str, tuple[int, object]] = {}
    for ln, *_ in lines:
        n, total = sums.get(ln.status, (0, 0))
        sums[ln.status] = (n + 1, total + ln.amount)
    return render_template("payouts_show.html", batch=batch, lines=lines, sums=sums,
                           village_names=village_names(s, [row[1] for row in lines]),
                           policy_name=_policy_names(s).get(batch.policy_id, batch.policy_id),
                           states=BATCH_STATES, line_states=LINE_STATES, payer=current_user.role in PAYOUT_ROLES,
                           mask_account=mask_account, signoff=signoff_of(s, batch_id),
                           can_cosign=current_user.role in BATCH_TRANSITIONS.get((batch.state, "county_cosign"),
                                                                                 (frozenset(), ""))[0])


@bp.post("/payouts/<int:batch_id>/cosign")
def cosign(batch_id: int):  # noqa: ANN201
    """县扶贫办会签 / the county office co-signs the batch (a row of the batch workflow's transition table)."""
    _batch_or_404(db.session(), batch_id)
    try:
        with db.write() as s:
            apply_batch_action(s, s.get(PayoutBatch, batch_id), "county_cosign", current_user.actor,
                               note=request.form.get("note", ""))
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("payouts.show", batch_id=batch_id))
    flash(f"支付批次 {batch_id} 已会签 / payout batch {batch_id} co-signed")
    return redirect(url_for("payouts.show", batch_id=batch_id))


@bp.get("/payouts/<int:batch_id>/list.xlsx", endpoint="list_xlsx")
def list_xlsx(batch_id: int):  # noqa: ANN201
    """支付清单 (accounts masked): what the county office exports; the bank file is the payers'."""
    s = db.session()
    batch = _batch_or_404(s, batch_id)
    return send_file(io.BytesIO(payout_list_xlsx(s, batch)), as_attachment=True,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     download_name=f"payout-list-{batch_id}-{_file_safe(batch.period)}.xlsx")


def _file_safe(text: str) -> str:
    """A period as part of a file name: letters, digits and '-' only (an old batch's period may hold CR/LF)."""
    return re.sub(r"[^0-9A-Za-z-]", "_", text or "")[:20]


@bp.get("/payouts/<int:batch_id>/bank.<fmt>")
def bank_file(batch_id: int, fmt: str):  # noqa: ANN201
    if fmt not in ("xlsx", "csv"):
        abort(404)
    s = db.session()
    batch = _batch_or_404(s, batch_id)
    tmp = Path(tempfile.mkdtemp(prefix="relief-bank-"))
    path = export_bank_file(s, batch_id, tmp / f"bank-{batch_id}.{fmt}")
    data = path.read_bytes()
    path.unlink()
    tmp.rmdir()
    mimetype = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx"
                else "text/csv")
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=f"payout-batch-{batch_id}-{_file_safe(batch.period)}.{fmt}")


@bp.post("/payouts/<int:batch_id>/return")
def bank_return(batch_id: int):  # noqa: ANN201
    _batch_or_404(db.session(), batch_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择回盘文件 / choose the bank return file", "error")
        return redirect(url_for("payouts.show", batch_id=batch_id))
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        flash("回盘文件须为 .csv 或 .xlsx / the bank return must be .csv or .xlsx", "error")
        return redirect(url_for("payouts.show", batch_id=batch_id))
    with tempfile.TemporaryDirectory(prefix="relief-return-") as tmp:
        path = Path(tmp) / f"return{suffix}"
        upload.save(path)
        try:
            with db.write() as s:
                result = import_bank_return(s, batch_id, path, current_user.actor)
        except (ReliefError, ValueError) as exc:  # ValueError: a file pandas cannot read (bad CSV, not UTF-8)
            flash(str(exc), "error")
            return redirect(url_for("payouts.show", batch_id=batch_id))
    flash(f"回盘已导入：成功 {result['paid']} 笔，失败 {result['failed']} 笔 / bank return: "
          f"{result['paid']} paid, {result['failed']} failed")
    return redirect(url_for("payouts.show", batch_id=batch_id))
