"""API /api/v1/products: the stored product versions (产品版本) and their schedules."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from sqlalchemy import func, select

from claims.lifecycle.scope import policy_in_scope, scope_policies, scoped_versions
from claims.lifecycle.store import Policy, ProductVersion
from flask_app import db
from flask_app.permissions import EVERYONE, allow

blp = Blueprint("api_products", __name__, url_prefix="/api/v1/products",
                description="产品版本 / product versions (schedules, lines)")


class ProductVersionSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    family = fields.String(required=True)
    county = fields.String(required=True)
    year = fields.Integer(required=True)
    digest = fields.String(required=True, metadata={"description": "sha256 of the product document"})


class ProductDetailSchema(ProductVersionSchema):
    document = fields.Dict(required=True, metadata={"description": "产品文件 / the product document"})
    lines = fields.List(fields.Dict(), required=True, metadata={"description": "责任 / the product's lines"})


def default_policy_id(policy_id: int | None) -> int:
    """The given policy, or the newest one, of the user's counties; 422 problem when there is none (another
    county's policy is answered as a missing one)."""
    if policy_id is not None:
        if not policy_in_scope(db.session(), current_user.scope, policy_id):
            abort(422, message=f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
        return policy_id
    newest = db.session().scalar(select(func.max(Policy.id)).where(Policy.id.in_(scope_policies(current_user.scope))))
    if newest is None:
        abort(422, message="尚无保单 / no policy exists yet")
    return int(newest)


@blp.route("")
class ProductList(MethodView):
    @blp.response(200, ProductVersionSchema(many=True))
    def get(self):
        """产品版本列表 / list product versions"""
        return db.session().scalars(scoped_versions(current_user.scope, select(ProductVersion)).order_by(ProductVersion.id)).all()


@blp.route("/<int:version_id>")
class ProductDetail(MethodView):
    @blp.response(200, ProductDetailSchema)
    def get(self, version_id: int):
        """产品版本详情（文件与责任）/ one product version: document and lines"""
        version = db.session().scalar(scoped_versions(current_user.scope, select(ProductVersion)).where(
            ProductVersion.id == version_id))
        if version is None:
            abort(404, message=f"产品版本 {version_id} 不存在 / product version {version_id} does not exist")
        document = version.document or {}
        lines = [line for line in document.get("lines") or [] if isinstance(line, dict)]
        return {"id": version.id, "code": version.code, "name": version.name, "family": version.family,
                "county": version.county, "year": version.year, "digest": version.digest,
                "document": document, "lines": lines}


allow("api_products.ProductList", EVERYONE)
allow("api_products.ProductDetail", EVERYONE)
