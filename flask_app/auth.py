"""Login (password, session cookie), lock-out after repeated failures, API tokens, CSRF, role checks.

Passwords: werkzeug's scrypt hashes.  API: ``Authorization: Bearer <token>`` (the sha256 of the token
is stored, never the token).  CSRF is required on every state-changing request that is not token-authenticated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from claims.lifecycle.models import User, UserVillage
from claims.lifecycle.scope import VillageScope
from claims.lifecycle.store import now
from claims.lifecycle.transitions import Actor
from flask_app import db
from flask_app.permissions import FULL_ID_ROLES, allowed

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

ROLE_NAMES = {
    "insurer_adjudicator": "保险公司理赔员", "insurer_supervisor": "保险公司理赔主管", "county_reviewer": "县乡村振兴局",
    "township_reviewer": "乡镇审核", "village_clerk": "村委会", "actuary": "精算", "admin": "系统管理员",
}


@dataclass
class CurrentUser(UserMixin):
    id: int
    username: str
    name: str
    role: str
    approval_limit: object = None
    villages: list[str] = field(default_factory=list)

    def get_id(self) -> str:
        return str(self.id)

    @property
    def actor(self) -> Actor:
        return Actor(id=self.id, role=self.role, approval_limit=self.approval_limit)  # type: ignore[arg-type]

    @property
    def scope(self) -> VillageScope:
        """The villages this user sees (:func:`claims.lifecycle.scope.scoped` applies it to a query)."""
        return VillageScope.of(self.role, self.villages)

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)

    @property
    def sees_full_ids(self) -> bool:
        return self.role in FULL_ID_ROLES


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def new_api_token() -> tuple[str, str]:
    """(token to give the user once, sha256 to store)."""
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def _load(user: User | None) -> CurrentUser | None:
    if user is None or not user.active:
        return None
    villages = list(db.session().scalars(select(UserVillage.village_code).where(UserVillage.user_id == user.id)))
    return CurrentUser(user.id, user.username, user.name, user.role, user.approval_limit, villages)


@login_manager.user_loader
def _user_loader(user_id: str) -> CurrentUser | None:
    return _load(db.session().get(User, int(user_id)))


@login_manager.request_loader
def _token_loader(req) -> CurrentUser | None:  # noqa: ANN001
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    digest = hashlib.sha256(header[7:].strip().encode()).hexdigest()
    return _load(db.session().scalar(select(User).where(User.api_token_hash == digest)))


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        with db.write() as s:
            user = s.scalar(select(User).where(User.username == username))
            if user is not None and user.locked_until and user.locked_until > now():
                flash("账户已锁定，请稍后再试 / account locked after repeated failures; try again later", "error")
                return render_template("login.html"), 423
            if user is None or not user.active or not user.password_hash or \
                    not check_password_hash(user.password_hash, password):
                if user is not None:
                    failures = user.failed_logins + 1
                    locked = now() + dt.timedelta(minutes=current_app.config["RELIEF_LOCKOUT_MINUTES"]) \
                        if failures >= current_app.config["RELIEF_LOCKOUT_AFTER"] else None
                    s.execute(update(User).where(User.id == user.id).values(
                        failed_logins=0 if locked else failures, locked_until=locked))
                flash("用户名或密码错误 / wrong username or password", "error")
                return render_template("login.html"), 401
            s.execute(update(User).where(User.id == user.id).values(failed_logins=0, locked_until=None))
            user_id = user.id
        login_user(_load(db.session().get(User, user_id)))
        target = request.args.get("next", "")
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("home.index"))
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # noqa: ANN201
    logout_user()
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录 / please log in"
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    app.register_blueprint(bp)

    @app.before_request
    def _guard():  # noqa: ANN202
        if request.endpoint in ("static",) or request.endpoint is None:
            return None
        token_auth = request.headers.get("Authorization", "").startswith("Bearer ")
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and not token_auth \
                and current_app.config.get("WTF_CSRF_ENABLED", True):
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
