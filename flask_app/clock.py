"""The app's idea of today: the real date, or RELIEF_TODAY (a fixed date for demos and browser tests)."""

from __future__ import annotations

import datetime as dt

from flask import current_app


def today() -> dt.date:
    fixed = current_app.config.get("RELIEF_TODAY")
    return dt.date.fromisoformat(fixed) if fixed else dt.date.today()
