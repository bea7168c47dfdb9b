"""The login session's server-side checks, the cookie's ``Secure`` flag, and where a login may lead.

A session carries the user's session version (``users.session_version``) from its login, the login time and
the time it was last used.  It is alive only while the version is still the user's (logout and a password
change increment it: a copied cookie dies with them), it was used within ``RELIEF_SESSION_IDLE_MINUTES``
and it began within ``RELIEF_SESSION_MAX_HOURS``.
"""

from __future__ import annotations

import time
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface

VERSION, LOGIN_AT, SEEN_AT = "_relief_sv", "_relief_login_at", "_relief_seen_at"
#: flask-login's own keys of a logged-in session
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember")
#: the last-use time is written back at most this often (seconds), not on every request
_SEEN_RESOLUTION = 60


def _clock() -> float:
    return time.time()


def stamp(version: int) -> None:
    """Mark a session just logged in with the user's session version."""
    t = int(_clock())
    session[VERSION] = version
    session[LOGIN_AT] = t
    session[SEEN_AT] = t


def alive(version: int) -> bool:
    """Whether this request's session may still act for a user whose session version is ``version``;
    refreshes the last-use time."""
    login_at, seen = session.get(LOGIN_AT), session.get(SEEN_AT)
    if session.get(VERSION) != version or not isinstance(login_at, int) or not isinstance(seen, int):
        return False
    t = _clock()
    config = current_app.config
    if t - seen > 60 * config["RELIEF_SESSION_IDLE_MINUTES"] or t - login_at > 3600 * config["RELIEF_SESSION_MAX_HOURS"]:
        return False
    if t - seen >= _SEEN_RESOLUTION:
        session[SEEN_AT] = int(t)
    return True


def forget() -> None:
    """Drop the login from this session (the CSRF token stays: a form open in another tab still posts)."""
    for key in (*_LOGIN_KEYS, VERSION, LOGIN_AT, SEEN_AT):
        session.pop(key, None)


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path on this site, else ``default``: one leading ``/`` (never ``//``), no
    backslash, no control character (after URL-decoding: ``%09``, ``%0A``), no scheme or host."""
    if not target:
        return default
    decoded = unquote(target)
    for text in (target, decoded):
        if not text.startswith("/") or text.startswith("//") or "\\" in text:
            return default
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
            return default
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return default
    return target


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with ``Secure`` whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    app.config.setdefault("RELIEF_SESSION_IDLE_MINUTES", 30)
    app.config.setdefault("RELIEF_SESSION_MAX_HOURS", 12)
    app.session_interface = SessionInterface()
