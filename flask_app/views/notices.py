"""Pages: notices (filled in by its owner module; see flask_app/views/__init__.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notices", __name__)
