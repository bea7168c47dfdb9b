"""REST API under /api/v1 (flask-smorest + marshmallow), OpenAPI at /api/v1/openapi.json, UI at /api/v1/docs.

Errors are RFC 9457 problem details: flask-smorest's own error handler is replaced by one that
answers ``application/problem+json`` with a stable ``type`` and, for validation, the fields.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import HTTPException

from flask_app.api import applications, claims, fund, imports, notices, payouts, products  # noqa: E402
from flask_app.api.inputs import bound_pages
from flask_app.problems import http_error

API_MODULES: list[Any] = [products, imports, claims, applications, notices, payouts, fund]


class ProblemSchema(Schema):
    """RFC 9457 problem details (extension members allowed)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"example": "/problems/transition-refused"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "validation errors by location and field"})
    claim_ids = fields.List(fields.Integer(), metadata={"description": "claims changed by someone else (409)"})


PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        """Declare every error response as problem details in application/problem+json (what we answer)."""
        import http

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Any:  # noqa: D102
        return http_error(error)  # problem details for the API and JSON clients, an HTML page for a browser


def _serve_swagger_assets(app: Flask) -> None:
    """Swagger UI's files from the swagger-ui-bundle package at /api/v1/docs-assets/ (public, static)."""
    from flask import Blueprint, send_from_directory
    from swagger_ui_bundle import swagger_ui_path

    assets = Blueprint("swagger_assets", __name__, url_prefix="/api/v1/docs-assets")

    @assets.get("/<path:filename>")
    def asset(filename: str) -> Any:
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

    app.register_blueprint(assets)


def init_api(app: Flask) -> ProblemApi:
    api = ProblemApi(app, spec_kwargs={"info": {"description": "防贫保 / 助农保 claims and relief-fund engine"}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for module in API_MODULES:
        bound_pages(module.blp)  # page ≤ MAX_PAGE: a page of 10^20 is a 422, not an OFFSET overflow
        api.register_blueprint(module.blp)
    app.extensions["relief_api"] = api
    _serve_swagger_assets(app)
    return api
