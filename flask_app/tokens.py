"""The API's bearer tokens: the one place an ``Authorization: Bearer <token>`` header is checked.

A token authenticates requests under ``/api/`` only: on a page it is ignored (the page asks for a login).
An unknown, expired or revoked token, or one whose user is deactivated, authenticates nobody (the API
answers 401); a read-scope token may only read (a write answers 403).  The rules of a token are in
:mod:`claims.lifecycle.api_tokens`; ``flask_app/auth.py``'s request loader calls :func:`request_user`.
"""

from __future__ import annotations

from flask import Request, abort, g

from claims.lifecycle.api_tokens import READ_METHODS, find_token, needs_touch, touch
from claims.lifecycle.models import User
from flask_app import db

API_PREFIX = "/api/"


def bearer_secret(header: str | None) -> str | None:
    """The token text of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, value = (header or "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _found(secret: str):  # noqa: ANN202 - find_token's (token, user) or None
    """:func:`find_token` once per request and secret (the CSRF exemption and the request loader both ask)."""
    seen = g.setdefault("relief_tokens", {})
    if secret not in seen:
        seen[secret] = find_token(db.session(), secret)
    return seen[secret]


def user_for_bearer(header: str | None, method: str = "GET") -> User | None:
    """The user a live token in ``header`` stands for (its use recorded), or None.  A read-scope token on a
    writing ``method`` is refused with 403."""
    secret = bearer_secret(header)
    if secret is None:
        return None
    found = _found(secret)
    if found is None:
        return None
    token, user = found
    if needs_touch(token):
        token_id = token.id
        with db.write() as s:
            touch(s, token_id)
    if token.scope != "write" and method.upper() not in READ_METHODS:
        abort(403, description="只读令牌不能修改数据 / a read-only token cannot change anything")
    return user


def request_user(req: Request) -> User | None:
    """The user of an API request's bearer token; None on a page (tokens never open the pages)."""
    if not req.path.startswith(API_PREFIX):
        return None
    return user_for_bearer(req.headers.get("Authorization"), req.method)


def has_live_token(req: Request) -> bool:
    """True when an API request carries a live token (for the CSRF exemption: a token, not a cookie)."""
    secret = bearer_secret(req.headers.get("Authorization"))
    return req.path.startswith(API_PREFIX) and secret is not None and _found(secret) is not None
