"""API /api/v1/applications: household applications (申报) — list, detail, record (without receipts: the pages
take the scans), verify and reject.

Views only wire: the rules are :mod:`claims.lifecycle.application_intake` and
:mod:`claims.lifecycle.application_review`; every query is scoped to the user's counties and villages.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from claims.lifecycle.application_intake import ApplicationInput, submit_application
from claims.lifecycle.application_review import (
    application_in_scope,
    reject_application,
    verify_application,
    visible,
)
from claims.lifecycle.applications import APPLICATION_STATES, CHANNELS, Application
from flask_app import db
from flask_app.api.claims import Money, Timestamp, amount_range
from flask_app.api.inputs import Id, Text
from flask_app.api.products import default_policy_id
from flask_app.permissions import FULL_ID_ROLES, INSURER, REVIEWERS, allow
from products.model import PERILS
from tabular.resident_id import mask_id

blp = Blueprint("api_applications", __name__, url_prefix="/api/v1/applications",
                description="申报 / household applications: record, verify, reject")

APPLY_ROLES = frozenset({"village_clerk", "county_reviewer"})
READ_ROLES = INSURER | REVIEWERS | {"admin"}


class ApplicationQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(APPLICATION_STATES), metadata={"description": "状态 / state"})
    peril = fields.String(validate=validate.OneOf(list(PERILS)), metadata={"description": "责任 / peril"})
    household_no = Text(validate=validate.Length(min=1, max=40), metadata={"description": "户编号 / household"})


class ApplicationSchema(Schema):
    id = fields.Integer(required=True)
    policy_id = fields.Integer(required=True)
    household_no = fields.String(required=True)
    village_code = fields.String(required=True)
    id_no = fields.String(allow_none=True, metadata={"description": "身份证号（按角色脱敏）/ resident ID, masked by role"})
    peril = fields.String(required=True)
    department = fields.String(required=True)
    channel = fields.String(required=True)
    event_date = fields.Date(required=True)
    bill_no = fields.String(allow_none=True)
    amount = Money(required=True)
    compensated = Money(required=True)
    details = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    note = fields.String(allow_none=True)
    state = fields.String(required=True)
    reason = fields.String(allow_none=True)
    created_at = Timestamp(required=True)
    decided_at = Timestamp(allow_none=True)
    batch_id = fields.Integer(allow_none=True)
    duplicate_row_id = fields.Integer(allow_none=True)


class ApplicationCreateSchema(Schema):
    policy_id = Id()
    household_no = Text(required=True, validate=validate.Length(min=1, max=40))
    id_no = Text(validate=validate.Length(max=18))
    peril = Text(required=True, validate=validate.Length(min=1, max=30))
    channel = fields.String(load_default="village", validate=validate.OneOf(CHANNELS))
    event_date = fields.Date(required=True)
    amount = fields.Decimal(required=True, places=2, as_string=True, allow_nan=False, validate=amount_range)
    compensated = fields.Decimal(load_default=0, places=2, as_string=True, allow_nan=False, validate=amount_range)
    bill_no = Text(validate=validate.Length(max=60))
    details = fields.Dict(keys=Text(validate=validate.Length(max=20)), values=Text(validate=validate.Length(max=40)))
    note = Text(multiline=True, validate=validate.Length(max=2000))


class RejectSchema(Schema):
    reason = Text(required=True, multiline=True, validate=validate.Length(min=1, max=500))


def _shown(app: Application) -> dict[str, Any]:
    out = {k: getattr(app, k) for k in ApplicationSchema._declared_fields}
    if app.id_no and current_user.role not in FULL_ID_ROLES:
        out["id_no"] = mask_id(app.id_no)
    return out


@blp.route("")
class ApplicationList(MethodView):
    @blp.arguments(ApplicationQuerySchema, location="query")
    @blp.response(200, ApplicationSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any):
        """申报列表（最新在前）/ applications, newest first"""
        query = visible(current_user.scope, select(Application))
        for name in ("state", "peril", "household_no"):
            if args.get(name):
                query = query.where(getattr(Application, name) == args[name])
        page, size = pagination_parameters.page, pagination_parameters.page_size
        pagination_parameters.item_count = db.session().scalar(select(func.count()).select_from(query.subquery()))
        apps = db.session().scalars(query.order_by(Application.id.desc()).offset((page - 1) * size).limit(size)).all()
        return [_shown(a) for a in apps]


@blp.route("", endpoint="ApplicationCreate")
class ApplicationCreate(MethodView):
    @blp.arguments(ApplicationCreateSchema)
    @blp.response(201, ApplicationSchema)
    def post(self, body: dict[str, Any]):
        """登记农户申报（票据扫描件请在页面上传）/ record an application (receipt scans: on the page)"""
        given = ApplicationInput(policy_id=default_policy_id(body.get("policy_id")), household_no=body["household_no"],
                                 id_no=body.get("id_no") or None, peril=body["peril"], event_date=body["event_date"],
                                 amount=str(body["amount"]), compensated=str(body["compensated"]),
                                 channel=body["channel"], bill_no=body.get("bill_no") or None,
                                 details=body.get("details") or {}, note=body.get("note"))
        with db.write() as s:
            app = submit_application(s, given, current_user.actor, current_user.scope)
            return _shown(app)


@blp.route("/<int:application_id>")
class ApplicationDetail(MethodView):
    @blp.response(200, ApplicationSchema)
    def get(self, application_id: int):
        """一件申报 / one application"""
        return _shown(application_in_scope(db.session(), current_user.scope, application_id))


@blp.route("/<int:application_id>/verify")
class ApplicationVerify(MethodView):
    @blp.response(200, ApplicationSchema)
    def post(self, application_id: int):
        """核实：计入部门记录（或判为重复）/ verify: becomes a department row, or a duplicate"""
        verify_application(db.factory(), application_id, current_user.actor, current_user.scope)
        db.session().rollback()  # a fresh read after the service's own transactions
        return _shown(application_in_scope(db.session(), current_user.scope, application_id))


@blp.route("/<int:application_id>/reject")
class ApplicationReject(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, ApplicationSchema)
    def post(self, body: dict[str, Any], application_id: int):
        """驳回（须填理由）/ reject, with a reason"""
        with db.write() as s:
            reject_application(s, application_id, current_user.actor, current_user.scope, body["reason"])
            return _shown(application_in_scope(s, current_user.scope, application_id))


allow("api_applications.ApplicationList", READ_ROLES)
allow("api_applications.ApplicationCreate", APPLY_ROLES)
allow("api_applications.ApplicationDetail", READ_ROLES)
allow("api_applications.ApplicationVerify", INSURER)
allow("api_applications.ApplicationReject", INSURER)
