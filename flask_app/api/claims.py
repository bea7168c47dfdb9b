"""API /api/v1: claims."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_claims", __name__, url_prefix="/api/v1/claims", description="claims")
