"""API /api/v1: notices."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_notices", __name__, url_prefix="/api/v1/notices", description="notices")
