"""REST API under /api/v1 (flask-smorest + marshmallow), OpenAPI at /api/v1/openapi.json, UI at /api/v1/docs.

Errors are RFC 9457 problem details: flask-smorest's own error handler is replaced by one that
answers ``application/problem+json`` with a stable ``type`` and, for validation, the fields.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from ..problems import problem

from . import claims, fund, imports, notices, payouts, products  # noqa: E402

API_MODULES: list[Any] = [products, imports, claims, notices, payouts, fund]


class ProblemApi(Api):
    def handle_http_exception(self, error: HTTPException) -> Any:  # noqa: D102
        data = getattr(error, "data", None) or {}
        errors = data.get("messages") if isinstance(data, dict) else None
        slug = {422: "validation", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed", 409: "conflict", 400: "bad-request"}.get(error.code or 500, "http-error")
        return problem(error.code or 500, slug, error.name, error.description, **({"errors": errors} if errors else {}))


def init_api(app: Flask) -> ProblemApi:
    api = ProblemApi(app, spec_kwargs={"info": {"description": "防贫保 / 助农保 claims and relief-fund engine"}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for module in API_MODULES:
        api.register_blueprint(module.blp)
    app.extensions["relief_api"] = api
    return api
