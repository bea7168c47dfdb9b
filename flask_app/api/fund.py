"""API /api/v1/fund: the relief fund per policy (基金): premiums, claims paid, balance, loss ratio."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from claims.lifecycle.fund import PAYERS, fund_summary, record_premium, settle_year
from claims.lifecycle.fund_year import carry_over, settlement_preview
from claims.lifecycle.scope import policy_in_scope, scope_policies
from claims.lifecycle.store import Policy
from flask_app import db
from flask_app.api.claims import Money
from flask_app.api.inputs import Text
from flask_app.permissions import INSURER, allow

blp = Blueprint("api_fund", __name__, url_prefix="/api/v1/fund", description="基金 / the fund per policy")


class FundSchema(Schema):
    policy_id = fields.Integer(required=True)
    county = fields.String(required=True)
    year = fields.Integer(required=True)
    premium_due = Money(required=True, metadata={"description": "应收保费"})
    premium_received = Money(required=True, metadata={"description": "实收保费"})
    claims_paid = Money(required=True, metadata={"description": "已付赔款"})
    reversals = Money(required=True, metadata={"description": "冲正"})
    recoveries = Money(required=True, metadata={"description": "追回多付 / overpayments recovered"})
    net_claims = Money(required=True, metadata={"description": "净赔款"})
    settlements = Money(required=True, metadata={"description": "结算"})
    carry_over = Money(required=True, metadata={"description": "结转：− 转出至下年，+ 上年转入 / carry-over, signed"})
    balance = Money(required=True, metadata={"description": "余额"})
    loss_ratio = fields.Decimal(places=4, as_string=True, allow_none=True,
                                metadata={"type": "string", "description": "赔付率 / loss ratio (null: no premium)"})


@blp.route("")
class Fund(MethodView):
    @blp.response(200, FundSchema(many=True))
    def get(self):
        """各保单基金情况 / fund summary per policy"""
        session = db.session()
        return [{"policy_id": p.id, "county": p.county, "year": p.year, **fund_summary(session, p.id)}
                for p in session.scalars(select(Policy).where(Policy.id.in_(scope_policies(current_user.scope)))
                                         .order_by(Policy.id))]


allow("api_fund.Fund", INSURER | {"county_reviewer", "actuary", "admin", "city_viewer"})


class PremiumSchema(Schema):
    # no places: an amount with more than two decimals is refused by the service, never rounded here
    amount = fields.Decimal(required=True, as_string=True, metadata={
        "type": "string", "format": "decimal", "example": "63000.00", "description": "实收保费（元）/ premium, yuan"})
    payer = fields.String(required=True, validate=validate.OneOf([*PAYERS, *PAYERS.values()]),
                          metadata={"description": "缴费来源 财政/个人/其他 (government/individual/other)"})
    received_on = fields.Date(required=True, metadata={"description": "到账日期 / date received"})
    reference = Text(load_default=None, validate=validate.Length(max=60), metadata={"description": "凭证号"})


class EntrySchema(Schema):
    id = fields.Integer()
    policy_id = fields.Integer()
    kind = fields.String()
    amount = Money()
    payer = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)


class SettlementSchema(Schema):
    policy_id = fields.Integer()
    rule = fields.Dict()
    premium = Money(metadata={"description": "P 实收保费"})
    net_claims = Money(metadata={"description": "L 净赔款"})
    amount = Money(metadata={"description": "结算额：− 退还财政，+ 财政补足 / − refund, + top-up"})
    balance_before = Money()
    balance_after = Money()
    settled = fields.Boolean()


class CarryOverSchema(Schema):
    out = fields.Nested(EntrySchema, allow_none=True)
    into = fields.Nested(EntrySchema, allow_none=True, data_key="in")


def _policy(policy_id: int) -> int:
    if not policy_in_scope(db.session(), current_user.scope, policy_id):
        abort(404, message=f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
    return policy_id


def _entry(entry: Any) -> dict[str, Any]:
    return {k: getattr(entry, k) for k in EntrySchema._declared_fields}


@blp.route("/<int:policy_id>/premiums")
class Premiums(MethodView):
    @blp.arguments(PremiumSchema)
    @blp.response(201, EntrySchema)
    def post(self, body: dict[str, Any], policy_id: int):
        """登记实收保费 / record a premium received (payer, date, reference)"""
        _policy(policy_id)
        with db.write() as s:
            entry = record_premium(s, policy_id, "premium_received", body["amount"], body.get("reference"),
                                   actor_id=current_user.id, payer=body["payer"], received_on=body["received_on"])
            return _entry(entry)


@blp.route("/<int:policy_id>/settlement")
class Settlement(MethodView):
    @blp.response(200, SettlementSchema)
    def get(self, policy_id: int):
        """年终结算预览（或已过账的结算）/ the year-end settlement, previewed (or as posted)"""
        return asdict(settlement_preview(db.session(), _policy(policy_id)))

    @blp.response(201, SettlementSchema)
    def post(self, policy_id: int):
        """过账年终结算 / post the year-end settlement (once per policy)"""
        _policy(policy_id)
        with db.write() as s:
            settle_year(s, policy_id, actor_id=current_user.id)
            return asdict(settlement_preview(s, policy_id))


@blp.route("/<int:policy_id>/carry-over")
class CarryOver(MethodView):
    @blp.response(201, CarryOverSchema)
    def post(self, policy_id: int):
        """结转余额至同县下一年度保单 / carry the closing balance over to the county's next-year policy"""
        _policy(policy_id)
        with db.write() as s:
            moved = carry_over(s, policy_id, actor_id=current_user.id)
            return {"out": None, "into": None} if moved is None else {"out": _entry(moved[0]), "into": _entry(moved[1])}


#: the county office and the insurer's supervisor operate the fund (as on the fund page)
for _name in ("Premiums", "Settlement", "CarryOver"):
    allow(f"api_fund.{_name}", {"insurer_supervisor", "county_reviewer", "admin"})
