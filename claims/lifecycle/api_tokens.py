"""API tokens: issue, list, revoke, and the one check of a presented secret (:func:`find_token`).

A token is a random 32-byte secret (URL-safe text), shown once when issued; only its SHA-256 is stored
(:class:`~claims.lifecycle.models.ApiToken`).  It belongs to one user and acts as that user, within its scope:
``read`` (GET and HEAD) or ``write`` (whatever the user's role may do), until it expires or is revoked.  It
opens the API only (``flask_app/tokens.py``), never the pages.  Issuing and revoking are audited as
:class:`~claims.lifecycle.models.UserEvent` rows, like every other change to a user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from claims.lifecycle.models import ApiToken, User
from claims.lifecycle.store import MAX_ROW_ID, now
from claims.lifecycle.users import Operator, UserError, UserRuleError, record

SCOPES: dict[str, str] = {"read": "只读 / read only", "write": "读写 / read and write"}
#: Methods a read-scope token may use.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_DAYS = 90
MAX_DAYS = 366
#: ``last_used_at`` is written at most once per this interval per token (no write on every request).
TOUCH_EVERY = dt.timedelta(seconds=60)


def digest(secret: str) -> str:
    """The stored form of a token: sha256 of its text, hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    """A fresh token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def issue_token(session: Session, by: Operator, user: User, name: str, scope: str = "read", *,
                days: int = DEFAULT_DAYS, secret: str | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: (its row, the secret to hand over once).  ``secret`` fixes the text (tests,
    a migration of known tokens); by default it is random."""
    name = (name or "").strip()
    if not name or len(name) > 60 or any(ord(c) < 32 for c in name):
        raise UserRuleError("令牌名称须为 1–60 个字符 / a token name is 1–60 characters")
    if scope not in SCOPES:
        raise UserRuleError(f"令牌范围须为 read 或 write：{scope!r} / a token's scope is read or write: {scope!r}")
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise UserRuleError(f"有效期须为 1–{MAX_DAYS} 天：{days!r} / a token lasts 1 to {MAX_DAYS} days: {days!r}")
    if not user.active or user.role == "system":
        raise UserRuleError(f"{user.username} 未启用，不能发放令牌 / {user.username} is not active: no token")
    secret = secret or new_secret()
    at = now()
    token = ApiToken(user_id=user.id, name=name, scope=scope, token_hash=digest(secret), created_at=at,
                     expires_at=at + dt.timedelta(days=days))
    session.add(token)
    session.flush()
    record(session, by, user.id, "token_issued", token_id=token.id, name=name, scope=scope,
           expires_at=token.expires_at.isoformat(timespec="seconds"))
    return token, secret


def token_by_id(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id) if 0 < token_id <= MAX_ROW_ID else None
    if token is None:
        raise UserError(f"令牌 #{token_id} 不存在 / no token #{token_id}")
    return token


def revoke_token(session: Session, by: Operator, token: ApiToken) -> bool:
    """Revoke ``token`` (at once, for good); False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now()
    record(session, by, token.user_id, "token_revoked", token_id=token.id, name=token.name)
    return True


def token_state(token: ApiToken, at: dt.datetime | None = None) -> str:
    """active, expired or revoked."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= (at or now()) else "active"


def list_tokens(session: Session, user_id: int | None = None, *, live_only: bool = False) -> list[dict[str, Any]]:
    """Tokens with their user's name and state, newest first (never a secret: none is stored)."""
    q = (select(ApiToken, User.username).join(User, ApiToken.user_id == User.id).order_by(ApiToken.id.desc()))
    if user_id is not None:
        q = q.where(ApiToken.user_id == user_id)
    at = now()
    rows = [{"token": t, "username": u, "state": token_state(t, at)} for t, u in session.execute(q)]
    return [r for r in rows if r["state"] == "active"] if live_only else rows


def find_token(session: Session, secret: str, at: dt.datetime | None = None) -> tuple[ApiToken, User] | None:
    """The live token whose secret this is, and its active user; None for any other text (unknown,
    expired, revoked, or its user deactivated)."""
    if not secret or len(secret) > 200:
        return None
    at = at or now()
    row = session.execute(select(ApiToken, User).join(User, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None), ApiToken.expires_at > at,
        User.active.is_(True))).first()
    return None if row is None else (row[0], row[1])


def needs_touch(token: ApiToken, at: dt.datetime | None = None) -> bool:
    at = at or now()
    return token.last_used_at is None or token.last_used_at <= at - TOUCH_EVERY


def touch(session: Session, token_id: int, at: dt.datetime | None = None) -> None:
    """Record a use of the token (only when the last recorded use is older than :data:`TOUCH_EVERY`)."""
    at = at or now()
    session.execute(update(ApiToken).where(ApiToken.id == token_id, or_(
        ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= at - TOUCH_EVERY)).values(last_used_at=at))


__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "READ_METHODS", "SCOPES", "digest", "find_token", "issue_token",
           "list_tokens", "needs_touch", "new_secret", "revoke_token", "token_by_id", "token_state", "touch"]
