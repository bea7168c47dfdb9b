"""Pages: claims (filled in by its owner module; see flask_app/views/__init__.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("claims", __name__)
