"""API /api/v1: payouts."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_payouts", __name__, url_prefix="/api/v1/payouts", description="payouts")
