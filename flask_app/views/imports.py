"""Pages: imports (filled in by its owner module; see flask_app/views/__init__.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("imports", __name__)
