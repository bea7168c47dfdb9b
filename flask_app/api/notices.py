"""API /api/v1/notices: public notices (公示) per village, their rows as printed, objections (异议)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from claims.lifecycle.models import Notice
from claims.lifecycle.notices import notice_table, post_notice, record_objection
from claims.lifecycle.scope import scoped
from flask_app import db
from flask_app.api.claims import Money, Timestamp, refuse
from flask_app.api.inputs import Id, Text
from flask_app.api.products import default_policy_id
from flask_app.clock import today
from flask_app.display import hotline
from flask_app.permissions import READERS, allow
from tabular.errors import ReliefError

blp = Blueprint("api_notices", __name__, url_prefix="/api/v1/notices",
                description="公示 / public notices and objections")


class NoticeSchema(Schema):
    id = fields.Integer(required=True)
    policy_id = fields.Integer(required=True)
    village_code = fields.String(required=True)
    posted_on = fields.Date(required=True)
    end_on = fields.Date(required=True)
    days = fields.Integer(required=True)
    state = fields.String(required=True)
    hotline = fields.String(allow_none=True)


class NoticeCreateSchema(Schema):
    village_code = Text(required=True, validate=validate.Length(min=1, max=12))
    posted_on = fields.Date(metadata={"description": "张贴日期 / posting date (default today)"})
    days = fields.Integer(validate=validate.Range(min=1, max=365), metadata={"description": "公示天数 / days"})
    policy_id = Id()


class NoticeRowSchema(Schema):
    no = fields.Integer(required=True, metadata={"description": "序号"})
    name = fields.String(required=True, metadata={"description": "姓名（脱敏）/ masked name"})
    natural_village = fields.String(required=True, metadata={"description": "自然村"})
    line = fields.String(required=True, metadata={"description": "类别/责任"})
    amount = Money(required=True, metadata={"description": "金额(元)"})


class NoticeDetailSchema(NoticeSchema):
    total = Money(required=True)
    rows = fields.List(fields.Nested(NoticeRowSchema), required=True)


class ObjectionCreateSchema(Schema):
    claim_id = Id(required=True)
    text = Text(required=True, multiline=True, validate=validate.Length(min=1, max=2000))


class ObjectionSchema(Schema):
    id = fields.Integer(required=True)
    notice_id = fields.Integer(required=True)
    claim_id = fields.Integer(required=True)
    recorded_by = fields.Integer(allow_none=True)
    recorded_at = Timestamp(required=True)
    text = fields.String(required=True)
    state = fields.String(required=True)


def load_notice(notice_id: int) -> Notice:
    query = select(Notice).where(Notice.id == notice_id)
    notice = db.session().scalar(scoped(current_user.scope, query, Notice.village_code, policy=Notice.policy_id))
    if notice is None:
        abort(404, message=f"公示 {notice_id} 不存在 / notice {notice_id} does not exist")
    return notice


@blp.route("")
class NoticeList(MethodView):
    @blp.response(200, NoticeSchema(many=True))
    def get(self):
        """公示列表 / notices, newest first"""
        return db.session().scalars(scoped(current_user.scope, select(Notice), Notice.village_code,
                                           policy=Notice.policy_id).order_by(Notice.id.desc())).all()


@blp.route("", endpoint="NoticeCreate")
class NoticeCreate(MethodView):
    @blp.arguments(NoticeCreateSchema)
    @blp.response(201, NoticeSchema)
    def post(self, body: dict[str, Any]):
        """张贴本村已备案理赔的公示 / post a village's filed claims on a new notice"""
        if not current_user.scope.sees(body["village_code"]):
            abort(403, message=f"您不负责村 {body['village_code']} / you are not a clerk of this village")
        policy_id = default_policy_id(body.get("policy_id"))
        try:
            with db.write() as s:
                notice = post_notice(s, policy_id, body["village_code"], current_user.actor,
                                     posted_on=body.get("posted_on") or today(), days=body.get("days"),
                                     hotline=hotline(s, body["village_code"]))
                notice_id = notice.id
        except ReliefError as exc:  # a transition or a conflict while posting is a refused notice too
            refuse(exc, slug="notice-refused", title="公示操作被拒绝 / notice action refused")
        return load_notice(notice_id)


@blp.route("/<int:notice_id>")
class NoticeDetail(MethodView):
    @blp.response(200, NoticeDetailSchema)
    def get(self, notice_id: int):
        """公示内容（与张贴件一致）/ the notice exactly as posted"""
        notice = load_notice(notice_id)
        table = notice_table(db.session(), notice_id)
        rows = [{"no": int(r[0]), "name": r[1], "natural_village": r[2], "line": r[3], "amount": r[4]}
                for r in table.itertuples(index=False)]
        return {**{k: getattr(notice, k) for k in NoticeSchema._declared_fields}, "total": table.attrs["total"],
                "rows": rows}


@blp.route("/<int:notice_id>/objections")
class NoticeObjections(MethodView):
    @blp.arguments(ObjectionCreateSchema)
    @blp.response(201, ObjectionSchema)
    def post(self, body: dict[str, Any], notice_id: int):
        """登记异议（理赔转为有异议）/ record an objection: the claim becomes disputed"""
        load_notice(notice_id)
        with db.write() as s:
            objection = record_objection(s, body["claim_id"], current_user.actor, body["text"], notice_id=notice_id)
            result = {k: getattr(objection, k) for k in ObjectionSchema._declared_fields}
        return result


allow("api_notices.NoticeList", READERS)
allow("api_notices.NoticeCreate", {"county_reviewer", "village_clerk"})
allow("api_notices.NoticeDetail", READERS)
allow("api_notices.NoticeObjections", {"village_clerk"})
