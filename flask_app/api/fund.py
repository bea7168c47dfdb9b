"""API /api/v1/fund: the relief fund per policy (基金): premiums, claims paid, balance, loss ratio."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from claims.lifecycle.fund import fund_summary
from claims.lifecycle.scope import scope_policies
from claims.lifecycle.store import Policy
from flask_app import db
from flask_app.api.claims import Money
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
