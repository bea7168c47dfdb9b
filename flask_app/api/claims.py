"""API /api/v1/claims: the claims queue (filters, sort, pagination), detail, transitions (single and bulk).

Views only wire: the rules are in :mod:`claims.lifecycle.adjudication` and :mod:`claims.lifecycle.transitions` (the
transition table refuses a wrong state or role → 422, a stale version → 409).  Village clerks see only
their villages; resident IDs are masked for roles that do not need them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from claims.lifecycle import adjudication
from claims.lifecycle.counts import count_claims
from claims.lifecycle.models import Claim, ClaimEvent, ImportBatch, ImportRow
from claims.lifecycle.scope import scoped, search
from claims.lifecycle.workflow import ACTIONS, STATES
from flask_app import db
from flask_app.api.inputs import Text
from flask_app.permissions import READERS, allow
from flask_app.problems import problem
from products.model import PERILS
from tabular.money import MAX_STORED_YUAN as MAX_YUAN
from tabular.resident_id import mask_id

blp = Blueprint("api_claims", __name__, url_prefix="/api/v1/claims",
                description="理赔 / claims: queue, detail, transitions")

#: Roles that may act on claims at all (the transition table decides which action in which state).
ACTING = frozenset({"insurer_adjudicator", "insurer_supervisor", "county_reviewer", "township_reviewer",
                    "village_clerk"})
SINGLE_ACTIONS = adjudication.SINGLE_ACTIONS
LIST_ACTIONS = (*adjudication.BULK_ACTIONS, "reject")
RESIDENT_ID = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9Xx])")
SORTS = {"id": Claim.id, "amount": Claim.amount, "village_code": Claim.village_code, "state": Claim.state,
         "line_id": Claim.line_id, "updated_at": Claim.updated_at}


def Money(**kw: Any) -> fields.Decimal:
    """Money: a string with two decimals ("1234.50") in JSON and in the OpenAPI document."""
    metadata = {"type": "string", "format": "decimal", "example": "1234.50", **kw.pop("metadata", {})}
    return fields.Decimal(places=2, as_string=True, metadata=metadata, **kw)


class Timestamp(fields.DateTime):
    """A stored timestamp (naive UTC in the database) as RFC 3339 with its offset: 2025-03-01T08:00:00+00:00."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def refuse(exc: Exception, status: int = 422, slug: str = "invalid-request",
           title: str = "请求无效 / invalid request") -> None:
    """Answer an error (bilingual message) as the problem of this endpoint's kind; never returns."""
    abort(problem(status, slug, title, str(exc)))



# ------------------------------------------------------------------------------------------ schemas

def amount_range(value: Any) -> None:
    """0 ≤ amount ≤ 999,999,999,999.99, NUMERIC(14, 2) (a plain validator: the OpenAPI document keeps numbers as numbers)."""
    if not 0 <= value <= MAX_YUAN:
        raise ValidationError(f"金额须在 0 至 {MAX_YUAN:,} 元之间 / amount must be from 0 to {MAX_YUAN:,} yuan")


class ClaimQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(list(STATES)), metadata={"description": "状态 / state"})
    village_code = Text(validate=validate.Length(max=12), metadata={"description": "行政村代码 / village"})
    line_id = Text(validate=validate.Length(max=40), metadata={"description": "责任 / line"})
    min_amount = fields.Decimal(validate=amount_range, places=2, allow_nan=False,
                                metadata={"description": "金额下限 / amount from"})
    max_amount = fields.Decimal(validate=amount_range, places=2, allow_nan=False,
                                metadata={"description": "金额上限 / amount up to"})
    above_entitlement = fields.Boolean(metadata={"description": "超核定 / only (true) or no (false) claims above "
                                                                "the computed entitlement"})
    batch_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                              metadata={"description": "导入批次 / claims touched by this import batch"})
    q = Text(validate=validate.Length(min=1, max=40),
                      metadata={"description": "身份证号、户编号或姓名（可见完整身份证号的角色可按前缀；其他角色须输入完整"
                                               "号码）/ resident ID, household number or name (a prefix of the ID "
                                               "only for roles that see full IDs; others give the whole number)"})
    sort = fields.String(load_default="id", validate=validate.OneOf([*SORTS, *(f"-{k}" for k in SORTS)]),
                         metadata={"description": "排序，- 为倒序 / sort key, '-' for descending"})


class ClaimSchema(Schema):
    id = fields.Integer(required=True)
    policy_id = fields.Integer(required=True)
    line_id = fields.String(required=True)
    peril = fields.String(required=True)
    unit_type = fields.String(required=True)
    unit_id = fields.String(required=True, metadata={"description": "身份证号（按角色脱敏）/ resident ID, masked by role"})
    household_no = fields.String(required=True)
    village_code = fields.String(allow_none=True)
    natural_village = fields.String(allow_none=True)
    state = fields.String(required=True)
    state_label = fields.String(required=True)
    computed_amount = Money(required=True)
    amount = Money(required=True)
    adjustment_reason = fields.String(allow_none=True)
    proposed_amount = Money(allow_none=True)
    above_entitlement = fields.Boolean(required=True, metadata={
        "description": "超核定：核定或拟核定金额高于计算应赔 / amount or proposal above the computed entitlement"})
    notice_id = fields.Integer(allow_none=True)
    version = fields.Integer(required=True)
    updated_at = Timestamp(required=True)


class EventSchema(Schema):
    id = fields.Integer(required=True)
    at = Timestamp(required=True)
    actor_id = fields.Integer(allow_none=True)
    role = fields.String(required=True)
    action = fields.String(required=True)
    action_label = fields.String(required=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(required=True)
    reason_code = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    amount_before = Money(allow_none=True)
    amount_after = Money(allow_none=True)


class ClaimDetailSchema(ClaimSchema):
    base = Money(required=True)
    entitlement = Money(required=True)
    paid_before = Money(required=True)
    trace = fields.String(required=True, metadata={"description": "计算过程 / calculation trace"})
    flags = fields.String(allow_none=True)
    reverses_claim_id = fields.Integer(allow_none=True)
    events = fields.List(fields.Nested(EventSchema), required=True)


class TransitionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(SINGLE_ACTIONS))
    expected_version = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    amount = fields.Decimal(allow_none=True, places=None, allow_nan=False,
                            validate=amount_range, metadata={"type": "string"})
    reason_code = Text(allow_none=True, validate=validate.Length(max=40))
    note = Text(allow_none=True, multiline=True, validate=validate.Length(max=2000))


class BulkTransitionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(LIST_ACTIONS))
    claim_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)), required=True,
                            validate=validate.Length(min=1, max=100_000))
    reason_code = Text(allow_none=True, validate=validate.Length(max=40))
    note = Text(allow_none=True, multiline=True, validate=validate.Length(max=2000))


class BulkResultSchema(Schema):
    action = fields.String(required=True)
    moved = fields.Integer(required=True)


# ------------------------------------------------------------------------------------------ helpers

def show_id(unit_type: str, unit_id: str) -> str:
    if unit_type == "person" and not current_user.sees_full_ids and len(unit_id) >= 10:
        return mask_id(unit_id)
    return unit_id


def filtered(args: dict[str, Any]) -> Any:
    """The WHERE clause of the queue: one statement, index-friendly conditions only."""
    conditions = []
    if args.get("state"):
        conditions.append(Claim.state == args["state"])
    if args.get("village_code"):
        conditions.append(Claim.village_code == args["village_code"])
    if args.get("line_id"):
        conditions.append(Claim.line_id == args["line_id"])
    if args.get("min_amount") is not None:
        conditions.append(Claim.amount >= args["min_amount"])
    if args.get("max_amount") is not None:
        conditions.append(Claim.amount <= args["max_amount"])
    if args.get("above_entitlement") is not None:
        conditions.append(Claim.above_entitlement == args["above_entitlement"])
    if args.get("q"):  # masked IDs: the whole ID, household number or a name only (never a prefix)
        conditions.append(search(args["q"], prefix=current_user.sees_full_ids))
    if args.get("batch_id") is not None:
        # the claims the batch's rows feed: units or households in the rows, on the perils of its department
        rows = select(ImportRow.unit_key).where(ImportRow.batch_id == args["batch_id"])
        department = db.session().scalar(select(ImportBatch.department).where(ImportBatch.id == args["batch_id"]))
        perils = [p for p, spec in PERILS.items() if spec["source"] == department] or ["-"]
        conditions.append(or_(Claim.unit_id.in_(rows), Claim.household_no.in_(rows)))
        conditions.append(Claim.peril.in_(perils))
    return conditions


def claim_dict(c: Any) -> dict[str, Any]:
    d = {k: getattr(c, k) for k in ClaimSchema._declared_fields if k not in ("state_label",) and hasattr(c, k)}
    d["unit_id"] = show_id(c.unit_type, c.unit_id)
    d["state_label"] = STATES.get(c.state, c.state)
    return d


def load_claim(session: Session, claim_id: int) -> Claim:
    claim = scoped(current_user.scope, select(Claim).where(Claim.id == claim_id))
    found = session.scalar(claim)
    if found is None:
        abort(404, message=f"理赔 {claim_id} 不存在 / claim {claim_id} does not exist")
    return found


def detail(session: Session, claim: Claim) -> dict[str, Any]:
    d = claim_dict(claim)
    for k in ("base", "entitlement", "paid_before", "trace", "flags", "reverses_claim_id"):
        d[k] = getattr(claim, k)
    if not current_user.sees_full_ids:  # free text (e.g. a duplicate's detail) must not leak an ID either
        d["trace"], d["flags"] = (RESIDENT_ID.sub(r"\1********\2", v) if v else v for v in (d["trace"], d["flags"]))
    events = session.scalars(select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.id)).all()
    d["events"] = [{**{k: getattr(e, k) for k in EventSchema._declared_fields if hasattr(e, k)},
                    "action_label": ACTIONS.get(e.action, e.action)} for e in events]
    return d


# ------------------------------------------------------------------------------------------ views

@blp.route("")
class ClaimList(MethodView):
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any):
        """理赔队列 / the claims queue: filters, sort, pagination (X-Pagination header)"""
        session = db.session()
        conditions = filtered(args)
        count = scoped(current_user.scope, select(func.count()).select_from(Claim).where(*conditions))
        pagination_parameters.item_count = count_claims(session, count)
        key = args.get("sort") or "id"
        column = SORTS[key.lstrip("-")]
        order = [column.desc() if key.startswith("-") else column.asc()]
        if column is not Claim.id:
            order.append(Claim.id.desc() if key.startswith("-") else Claim.id.asc())
        columns = [getattr(Claim, k) for k in ClaimSchema._declared_fields if k != "state_label"]
        query = scoped(current_user.scope, select(*columns).where(*conditions)).order_by(*order) \
            .limit(pagination_parameters.page_size).offset(pagination_parameters.first_item)
        return [claim_dict(row) for row in session.execute(query)]


@blp.route("/<int:claim_id>")
class ClaimDetail(MethodView):
    @blp.response(200, ClaimDetailSchema)
    def get(self, claim_id: int):
        """理赔详情：计算过程与历史 / one claim with its trace and events"""
        session = db.session()
        return detail(session, load_claim(session, claim_id))


@blp.route("/<int:claim_id>/transitions")
class ClaimTransition(MethodView):
    @blp.arguments(TransitionSchema)
    @blp.response(200, ClaimDetailSchema)
    @blp.alt_response(409, description="已被他人修改 / changed by someone else (application/problem+json)")
    def post(self, body: dict[str, Any], claim_id: int):
        """对一笔理赔执行操作 / act on one claim (verify, approve, return, reject, or a forward action)"""
        load_claim(db.session(), claim_id)
        with db.write() as s:
            adjudication.act(s, claim_id, body["action"], current_user.actor,
                             expected_version=body["expected_version"], amount=body.get("amount"),
                             reason_code=body.get("reason_code"), note=body.get("note"))
        session = db.session()
        session.expire_all()
        return detail(session, load_claim(session, claim_id))


@blp.route("/transitions")
class ClaimBulkTransition(MethodView):
    @blp.arguments(BulkTransitionSchema)
    @blp.response(200, BulkResultSchema)
    @blp.alt_response(409, description="部分理赔已被他人修改 / some claims changed (application/problem+json)")
    def post(self, body: dict[str, Any]):
        """批量操作（全部成功或全部不变）/ one action for a list of claims, all or nothing"""
        actor = current_user.actor
        with db.write() as s:
            if body["action"] == "reject":
                moved = adjudication.reject(s, body["claim_ids"], actor, reason_code=body.get("reason_code") or "",
                                            note=body.get("note"))
            else:
                moved = adjudication.bulk(s, body["claim_ids"], body["action"], actor,
                                          reason_code=body.get("reason_code"), note=body.get("note"))
        return {"action": body["action"], "moved": moved}


allow("api_claims.ClaimList", READERS)
allow("api_claims.ClaimDetail", READERS)
allow("api_claims.ClaimTransition", ACTING)
allow("api_claims.ClaimBulkTransition", ACTING)

__all__ = ["Money", "Timestamp", "blp", "refuse"]
