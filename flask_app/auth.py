"""Login (password, session cookie), lock-out after repeated failures, API tokens, CSRF, role checks.

Passwords: werkzeug's scrypt hashes.  API: ``Authorization: Bearer <token>``, checked by
:mod:`flask_app.tokens` (the API only; the sha256 of the token is stored, never the token).  CSRF is required
on every state-changing request except one that carries a live API token and no session cookie (:func:`csrf_exempt`).

Passwords are checked outside any write transaction.  A refused login answers the same (status, text, and the
time scrypt takes) whether the user is unknown, the password wrong or the account locked.  Sessions are
checked on every request (:mod:`flask_app.sessions`): logout and a password change end every session of the user.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from functools import cache

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from claims.lifecycle import logins
from claims.lifecycle.models import User
from claims.lifecycle.scope import NOTHING, Scope, user_scope
from claims.lifecycle.transitions import Actor
from flask_app import db, sessions
from flask_app.permissions import FULL_ID_ROLES, allowed
from flask_app.tokens import has_live_token, request_user

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

ROLE_NAMES = {
    "insurer_adjudicator": "保险公司理赔员", "insurer_supervisor": "保险公司理赔主管", "county_reviewer": "县乡村振兴局",
    "township_reviewer": "乡镇审核", "village_clerk": "村委会", "actuary": "精算", "admin": "系统管理员",
    "city_viewer": "市级查看",
}


@dataclass
class CurrentUser(UserMixin):
    id: int
    username: str
    name: str
    role: str
    approval_limit: object = None
    villages: list[str] = field(default_factory=list)
    #: The counties and villages this user sees (:func:`claims.lifecycle.scope.scoped` applies it).
    scope: Scope = NOTHING

    def get_id(self) -> str:
        return str(self.id)

    @property
    def actor(self) -> Actor:
        return Actor(id=self.id, role=self.role, approval_limit=self.approval_limit)  # type: ignore[arg-type]

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)

    @property
    def sees_full_ids(self) -> bool:
        return self.role in FULL_ID_ROLES


#: the one answer to every refused login (unknown user, wrong password, locked or inactive account)
LOGIN_REFUSED = "用户名或密码错误，或账户已暂时锁定 / wrong username or password, or the account is locked for a while"


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@cache
def _dummy_hash() -> str:
    """A hash an unknown user's password is checked against, so that refusing them costs the same scrypt."""
    return generate_password_hash(secrets.token_urlsafe(16))


def change_password(user_id: int, password: str) -> None:
    """Set a user's password (hashed before the write transaction); every session of the user ends."""
    password_hash = hash_password(password)
    with db.write() as s:
        logins.set_password_hash(s, user_id, password_hash)


def _load(user: User | None) -> CurrentUser | None:
    if user is None or not user.active:
        return None
    villages, scope = user_scope(db.session(), user.id, user.role)
    return CurrentUser(user.id, user.username, user.name, user.role, user.approval_limit, villages, scope)


@login_manager.user_loader
def _user_loader(user_id: str) -> CurrentUser | None:
    """The session's user while the session is alive (its version still the user's, not idle, not too old)."""
    user = db.session().get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not sessions.alive(user.session_version):
        sessions.forget()
        return None
    return _load(user)


@login_manager.request_loader
def _token_loader(req) -> CurrentUser | None:  # noqa: ANN001
    """An API request's bearer token (flask_app/tokens.py: the API only, within its scope, while live)."""
    return _load(request_user(req))


def csrf_exempt(req) -> bool:  # noqa: ANN001
    """Only a request with a live API token and no session cookie skips CSRF (a browser always sends its
    cookie, so a stray ``Authorization`` header cannot switch the check off)."""
    return current_app.config["SESSION_COOKIE_NAME"] not in req.cookies and has_live_token(req)


def _candidate(username: str) -> logins.Candidate:
    if not username or len(username) > 60 or not username.isprintable():
        return logins.Candidate(None)  # never looked up (a NUL byte is an error on PostgreSQL)
    user = db.session().scalar(select(User).where(User.username == username))
    if user is None:
        return logins.Candidate(None)
    return logins.Candidate(user.id, bool(user.active), bool(user.password_hash))


def _check(username: str, password: str) -> tuple[logins.Candidate, bool]:
    """The account and whether the password is its own; the same scrypt work for an unknown user."""
    candidate = _candidate(username)
    stored = db.session().scalar(select(User.password_hash).where(User.id == candidate.id)) \
        if candidate.has_password else None
    ok = check_password_hash(stored or _dummy_hash(), password)
    return candidate, ok and stored is not None


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if request.method != "POST":
        return render_template("login.html")
    username = request.form.get("username", "").strip()
    candidate, password_ok = _check(username, request.form.get("password", ""))  # before any write transaction
    config = current_app.config
    with db.write() as s:
        outcome = logins.settle(s, candidate, password_ok, username=username, limit=config["RELIEF_LOCKOUT_AFTER"],
                                lock_for=dt.timedelta(minutes=config["RELIEF_LOCKOUT_MINUTES"]),
                                remote_addr=request.remote_addr)
    user = _load(db.session().get(User, outcome.user_id)) if outcome.ok else None
    if user is None:  # refused (or deactivated in between): one answer for every reason
        flash(LOGIN_REFUSED, "error")
        return render_template("login.html"), 401
    login_user(user)
    sessions.stamp(outcome.session_version)
    return redirect(sessions.safe_next(request.args.get("next"), url_for("home.index")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # noqa: ANN201
    """End this session and every other one of the user (a copied cookie dies too)."""
    with db.write() as s:
        logins.end_sessions(s, current_user.id)
        logins.record(s, user_id=current_user.id, username=current_user.username, kind="logout", success=True,
                      reason=None, remote_addr=request.remote_addr)
    logout_user()
    sessions.forget()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录 / please log in"
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    sessions.init_app(app)
    app.register_blueprint(bp)

    @app.before_request
    def _guard():  # noqa: ANN202
        if request.endpoint in ("static",) or request.endpoint is None:
            return None
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and current_app.config.get("WTF_CSRF_ENABLED", True) \
                and not csrf_exempt(request):
            csrf.protect()
        if allowed(request.endpoint, None):
            return None
        if not current_user.is_authenticated:
            if request.path.startswith("/api/"):
                abort(401)
            return login_manager.unauthorized()
        if not allowed(request.endpoint, current_user.role):
            abort(403)
        return None
