"""``create_app(config)``: the staff web application and the REST API under /api/v1."""

from __future__ import annotations

from typing import Any

from flask import Flask

from flask_app import auth, db, display, headers, i18n, odd_input, problems, uploads
from flask_app.config import from_env, trust_proxies


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(from_env())
    app.config.update(config or {})
    trust_proxies(app)
    db.init_app(app)
    auth.init_app(app)
    odd_input.init_app(app)  # IDs in paths bounded to the database's integer (404), control characters → 400
    problems.init_app(app)
    headers.init_app(app)  # CSP, no framing, nosniff, Referrer-Policy, HSTS under HTTPS, no Server header
    uploads.init_app(app)  # first before_request hook: an over-limit body is refused unread (413)
    i18n.init_app(app)  # Chinese pages by default, English by the header's switch (cookie relief_lang)
    display.init_app(app)  # filters yuan and label; the app's clock for the times of new events

    from flask_app.views import register_views

    register_views(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/favicon.ico")
    def favicon():  # noqa: ANN202 - browsers ask for it at the root whatever the page links
        return app.send_static_file("favicon.ico")

    return app
