"""Application settings from the environment (RELIEF_* and DATABASE_URL), overridable per app."""

from __future__ import annotations

import os
import secrets
from typing import Any


def from_env() -> dict[str, Any]:
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL"),
        # a random key per process unless one is configured: sessions then end with the process
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        "RELIEF_NOTICE_HOTLINE": os.environ.get("RELIEF_NOTICE_HOTLINE", "12317"),
        # background jobs on RQ (claims.lifecycle.jobs) when set, e.g. redis://127.0.0.1:6379/0; in-process if not
        "RELIEF_REDIS_URL": os.environ.get("RELIEF_REDIS_URL") or None,
        # an upload above RELIEF_IMPORT_JOB_MB is imported by a background job (default 5 MB: flask_app.views.imports),
        # and the jobs' files go to RELIEF_JOB_OUTPUTS (default <instance>/job-outputs: flask_app.document_jobs)
        "RELIEF_IMPORT_JOB_BYTES": (int(float(os.environ["RELIEF_IMPORT_JOB_MB"]) * 1024 * 1024)
                                    if os.environ.get("RELIEF_IMPORT_JOB_MB") else None),
        "RELIEF_JOB_OUTPUTS": os.environ.get("RELIEF_JOB_OUTPUTS") or None,
        "RELIEF_TODAY": os.environ.get("RELIEF_TODAY"),  # injected clock (YYYY-MM-DD), for demos and tests
        "RELIEF_LOCKOUT_AFTER": int(os.environ.get("RELIEF_LOCKOUT_AFTER", "5")),
        "RELIEF_LOCKOUT_MINUTES": int(os.environ.get("RELIEF_LOCKOUT_MINUTES", "15")),
        # a login session ends after this long unused, and this long after the login at the latest
        "RELIEF_SESSION_IDLE_MINUTES": float(os.environ.get("RELIEF_SESSION_IDLE_MINUTES", "30")),
        "RELIEF_SESSION_MAX_HOURS": float(os.environ.get("RELIEF_SESSION_MAX_HOURS", "12")),
        # serving (relief serve): worker threads, and the database pool sized with them (flask_app.db)
        "RELIEF_THREADS": int(os.environ.get("RELIEF_THREADS", "8")),
        "RELIEF_POOL_TIMEOUT": float(os.environ.get("RELIEF_POOL_TIMEOUT", "30")),  # seconds to wait for a connection
        # open client connections waitress keeps (keep-alive browsers and API clients; more wait to be accepted)
        "RELIEF_CONNECTION_LIMIT": int(os.environ.get("RELIEF_CONNECTION_LIMIT", "500")),
        # reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host/-Port/-Prefix are trusted
        # (0: none, the default — the headers are ignored; 1: one nginx/IIS in front; see docs/deployment.md)
        "RELIEF_TRUSTED_PROXIES": int(os.environ.get("RELIEF_TRUSTED_PROXIES", "0")),
        # the largest request body (RELIEF_MAX_UPLOAD_MB), refused with 413 before it is read (flask_app.uploads);
        # a workbook's size once unzipped and its cells: RELIEF_MAX_XLSX_UNCOMPRESSED_MB, RELIEF_MAX_CELLS (tabular.files)
        "MAX_CONTENT_LENGTH": int(float(os.environ.get("RELIEF_MAX_UPLOAD_MB", "100")) * 1024 * 1024),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "API_TITLE": "relief-engine API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",  # what the bundled Swagger UI (4.x) renders
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        # Swagger UI's assets come from the swagger-ui-bundle package, served by the app (no CDN on an intranet)
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs-assets/",
    }


def trust_proxies(app: Any) -> None:
    """Werkzeug's ``ProxyFix`` over the app, only when ``RELIEF_TRUSTED_PROXIES`` names a number of proxy hops:
    then ``request.is_secure``, ``remote_addr`` and the host come from the proxy's ``X-Forwarded-*`` headers
    (the last ``n`` values).  Off by default: a client could otherwise claim HTTPS or any address."""
    hops = int(app.config.get("RELIEF_TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
