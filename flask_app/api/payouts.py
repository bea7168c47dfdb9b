"""API /api/v1/payouts: payout batches (支付批次) — build, lines, bank return (回盘)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from claims.lifecycle.models import PayoutBatch, PayoutLine
from claims.lifecycle.payouts import PayoutError, build_batch, import_bank_return
from claims.lifecycle.scope import scoped
from flask_app import db
from flask_app.api.claims import Money, Timestamp, refuse
from flask_app.api.inputs import Id, Text
from flask_app.api.products import default_policy_id
from flask_app.permissions import INSURER, allow

blp = Blueprint("api_payouts", __name__, url_prefix="/api/v1/payouts",
                description="支付批次 / payout batches and bank returns")


class PayoutBatchSchema(Schema):
    id = fields.Integer(required=True)
    policy_id = fields.Integer(required=True)
    period = fields.String(required=True)
    state = fields.String(required=True)
    total = Money(required=True)
    created_by = fields.Integer(allow_none=True)
    created_at = Timestamp(required=True)


class PayoutLineSchema(Schema):
    claim_id = fields.Integer(required=True)
    payee_name = fields.String(required=True)
    payee_id_masked = fields.String(required=True)
    account = fields.String(allow_none=True)
    amount = Money(required=True)
    status = fields.String(required=True)
    bank_reason = fields.String(allow_none=True)


class PayoutDetailSchema(PayoutBatchSchema):
    lines = fields.List(fields.Nested(PayoutLineSchema), required=True)


class BuildSchema(Schema):
    period = Text(required=True, validate=validate.Length(min=1, max=20),
                           metadata={"description": "期间 / period, e.g. 2025-03"})
    policy_id = Id()


class ReturnFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "银行回盘文件 / bank return (csv or xlsx)"})


class ReturnResultSchema(Schema):
    paid = fields.Integer(required=True)
    failed = fields.Integer(required=True)


def batch_dict(batch: PayoutBatch) -> dict[str, Any]:
    return {k: getattr(batch, k) for k in PayoutBatchSchema._declared_fields}


@blp.route("")
class PayoutList(MethodView):
    @blp.response(200, PayoutBatchSchema(many=True))
    def get(self):
        """支付批次列表 / payout batches, newest first"""
        return db.session().scalars(scoped(current_user.scope, select(PayoutBatch), None, policy=PayoutBatch.policy_id)
                                    .order_by(PayoutBatch.id.desc())).all()

    @blp.arguments(BuildSchema)
    @blp.response(201, PayoutBatchSchema)
    def post(self, body: dict[str, Any]):
        """生成支付批次（全部可支付理赔）/ build the period's batch of all payable claims"""
        policy_id = default_policy_id(body.get("policy_id"))
        with db.write() as s:
            batch = build_batch(s, policy_id, body["period"], current_user.actor)
            result = batch_dict(batch)
        return result


def load_batch(batch_id: int) -> PayoutBatch:
    query = select(PayoutBatch).where(PayoutBatch.id == batch_id)
    batch = db.session().scalar(scoped(current_user.scope, query, None, policy=PayoutBatch.policy_id))
    if batch is None:  # another county's batch is answered as a missing one
        abort(404, message=f"支付批次 {batch_id} 不存在 / payout batch {batch_id} does not exist")
    return batch


@blp.route("/<int:batch_id>")
class PayoutDetail(MethodView):
    @blp.response(200, PayoutDetailSchema)
    def get(self, batch_id: int):
        """支付批次明细 / a batch with its lines"""
        batch = load_batch(batch_id)
        lines = db.session().scalars(select(PayoutLine).where(PayoutLine.batch_id == batch_id)
                                     .order_by(PayoutLine.id)).all()
        return {**batch_dict(batch), "lines": lines}


@blp.route("/<int:batch_id>/return")
class PayoutReturn(MethodView):
    @blp.arguments(ReturnFileSchema, location="files")
    @blp.response(200, ReturnResultSchema)
    def post(self, files: dict[str, Any], batch_id: int):
        """导入银行回盘 / reconcile the bank's return file"""
        load_batch(batch_id)
        upload = files["file"]
        suffix = Path(upload.filename or "return.csv").suffix.lower()
        suffix = suffix if suffix in (".csv", ".xlsx", ".xlsm") else ".csv"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"return{suffix}"
            upload.save(path)
            try:
                with db.write() as s:
                    return import_bank_return(s, batch_id, path, current_user.actor)
            except PayoutError:
                raise
            except Exception as exc:  # noqa: BLE001 - an unreadable file (pandas/openpyxl errors) is the caller's mistake
                refuse(exc, slug="payout-refused", title="支付操作被拒绝 / payout action refused")


allow("api_payouts.PayoutList", INSURER)
allow("api_payouts.PayoutDetail", INSURER)
allow("api_payouts.PayoutReturn", INSURER)
