"""Security headers on every response: a Content-Security-Policy without inline script, no framing, no
MIME sniffing, a same-origin Referer, HSTS under HTTPS.  The app sets no ``Server`` header: ``relief serve``
runs waitress without one (``flask_app/cli/demo.py``); only Werkzeug's development server names itself.

The pages carry no inline script (their behaviour is ``static/app.js``); inline *style* attributes remain in
a few templates, hence ``style-src 'unsafe-inline'``.  The one page with an inline script is the API docs
page flask-smorest renders (Swagger UI's start-up): that script is allowed by its sha256 on that page only.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

POLICY = ("default-src 'self'; script-src 'self'{extra}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
          "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
#: the endpoints whose own inline scripts (the third-party page they render) are allowed by hash
INLINE_SCRIPT_ENDPOINTS = frozenset({"api-docs.openapi_swagger_ui"})
HSTS = "max-age=31536000; includeSubDomains"

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def _script_hashes(response: Response) -> str:
    body = response.get_data()
    return "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(m).digest()).decode()}'"
                   for m in _INLINE_SCRIPT.findall(body))


def secure(response: Response) -> Response:
    """Add the security headers to one response."""
    h = response.headers
    extra = _script_hashes(response) if request.endpoint in INLINE_SCRIPT_ENDPOINTS \
        and response.mimetype == "text/html" and not response.is_streamed else ""
    h["Content-Security-Policy"] = POLICY.format(extra=extra)
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        h["Strict-Transport-Security"] = HSTS
    h.pop("Server", None)  # no name or version for a scanner (waitress adds none: ident="")
    return response


def init_app(app: Flask) -> None:
    app.after_request(secure)
