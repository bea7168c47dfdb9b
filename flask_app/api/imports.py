"""API /api/v1: imports."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_imports", __name__, url_prefix="/api/v1/imports", description="imports")
