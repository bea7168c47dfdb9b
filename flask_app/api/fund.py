"""API /api/v1: fund."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_fund", __name__, url_prefix="/api/v1/fund", description="fund")
