"""API /api/v1: products."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_products", __name__, url_prefix="/api/v1/products", description="products")
