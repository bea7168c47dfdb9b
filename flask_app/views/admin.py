"""Pages: user administration (系统管理, admin only) — users (create, deactivate, password, role, villages,
approval limit) and their API tokens (issue, list, revoke).

The rules and the audit are in :mod:`claims.lifecycle.users` and :mod:`claims.lifecycle.api_tokens`; these
views only read the forms, call them in one transaction, and show the result.  A new token's secret is shown
once, in the answer to the form that issued it (never put in the session or a redirect).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from claims.lifecycle import api_tokens
from claims.lifecycle import users as svc
from claims.lifecycle import villages as registry
from claims.lifecycle.store import Division, Policy
from flask_app import db
from flask_app.auth import hash_password
from flask_app.permissions import allow
from tabular.errors import ReliefError

bp = Blueprint("admin", __name__, url_prefix="/admin")
for _endpoint in ("users", "create_user", "user", "change_user", "issue_token", "revoke_token", "tokens", "villages",
                  "set_hotline"):
    allow(f"admin.{_endpoint}", {"admin"})


def _operator() -> svc.Operator:
    return svc.Operator(current_user.id, current_user.username)


def _form(name: str) -> str:
    return request.form.get(name, "")


def _apply(change: Callable[[Any], Any], done: str) -> bool:
    """Run one change in a transaction; a refused change is flashed (nothing written)."""
    try:
        with db.write() as s:
            change(s)
    except ReliefError as exc:
        flash(str(exc), "error")
        return False
    flash(done)
    return True


@bp.get("/users")
def users():  # noqa: ANN201
    s = db.session()
    rows = svc.list_users(s)
    return render_template("admin_users.html", rows=rows, roles=svc.ASSIGNABLE_ROLES, min_password=svc.MIN_PASSWORD,
                           village_names=registry.village_names(s, [v for r in rows for v in r["villages"]]))


@bp.post("/users")
def create_user():  # noqa: ANN201
    username = _form("username").strip()
    try:  # the password hashed before the write transaction
        password_hash = svc.hash_new_password(_form("password"), hash_password) if _form("password") else None
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))

    def create(s: Any) -> None:
        counties = _form("counties").strip()
        svc.create_user(s, username, _form("name"), _form("role"), approval_limit=_form("approval_limit"),
                        villages=svc.parse_villages(_form("villages")), by=_operator(), password_hash=password_hash,
                        counties=svc.parse_counties(counties) if counties else None)

    _apply(create, f"已添加用户 / user added: {username}")
    return redirect(url_for("admin.users"))


def _user_page(user_id: int, status: int = 200, **extra: Any) -> Any:
    s = db.session()
    user = svc.user_by_id(s, user_id)
    return render_template("admin_user.html", u=user, villages=svc.villages_of(s, user_id),
                           counties=svc.counties_of(s, user_id),
                           tokens=api_tokens.list_tokens(s, user_id), events=svc.user_events(s, user_id, 100),
                           roles=svc.ASSIGNABLE_ROLES, scopes=api_tokens.SCOPES, default_days=api_tokens.DEFAULT_DAYS,
                           max_days=api_tokens.MAX_DAYS, min_password=svc.MIN_PASSWORD, **extra), status


@bp.get("/users/<int:user_id>")
def user(user_id: int):  # noqa: ANN201
    return _user_page(user_id)


#: form action → (the change: session, operator, user, the password's hash; its message)
CHANGES: dict[str, tuple[Callable[..., None], str]] = {
    "role": (lambda s, op, u, _: svc.set_role(s, op, u, _form("role")), "已改角色 / role changed"),
    "villages": (lambda s, op, u, _: svc.set_villages(s, op, u, _form("villages")), "已设置行政村 / villages set"),
    "counties": (lambda s, op, u, _: svc.set_counties(s, op, u, _form("counties")), "已设置服务的县 / counties set"),
    "limit": (lambda s, op, u, _: svc.set_limit(s, op, u, _form("approval_limit")), "已设置核定权限 / limit set"),
    "password": (lambda s, op, u, password_hash: svc.reset_password(s, op, u, password_hash),
                 "已重设密码 / password reset"),
    "deactivate": (lambda s, op, u, _: svc.deactivate_user(s, op, u), "已停用 / deactivated"),
    "activate": (lambda s, op, u, _: svc.activate_user(s, op, u), "已启用 / activated"),
}


@bp.post("/users/<int:user_id>")
def change_user(user_id: int):  # noqa: ANN201
    svc.user_by_id(db.session(), user_id)  # an unknown user: 404
    back = redirect(url_for("admin.user", user_id=user_id))
    action = _form("action")
    if action not in CHANGES:
        flash(f"未知操作 {action!r} / unknown action", "error")
        return back
    try:  # a new password is hashed before the write transaction
        password_hash = svc.hash_new_password(_form("password"), hash_password) if action == "password" else None
    except ReliefError as exc:
        flash(str(exc), "error")
        return back
    change, done = CHANGES[action]
    _apply(lambda s: change(s, _operator(), svc.user_by_id(s, user_id), password_hash), done)
    return back


@bp.post("/users/<int:user_id>/tokens")
def issue_token(user_id: int):  # noqa: ANN201
    svc.user_by_id(db.session(), user_id)  # an unknown user: 404
    try:
        days = int(_form("days") or api_tokens.DEFAULT_DAYS)
    except ValueError:
        days = -1
    try:
        with db.write() as s:
            token, secret = api_tokens.issue_token(s, _operator(), svc.user_by_id(s, user_id), _form("name"),
                                               _form("scope"), days=days)
            issued = {"id": token.id, "name": token.name, "scope": token.scope, "expires_at": token.expires_at}
    except ReliefError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    page, status = _user_page(user_id, issued=issued, secret=secret)
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"  # the secret is in this page only: never kept by a cache
    return response


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):  # noqa: ANN201
    owner: dict[str, int] = {}

    def revoke(s: Any) -> None:
        token = api_tokens.token_by_id(s, token_id)
        owner["id"] = token.user_id
        api_tokens.revoke_token(s, _operator(), token)

    _apply(revoke, f"已吊销令牌 / token revoked: #{token_id}")
    back = _form("back")
    if back == "tokens" or "id" not in owner:
        return redirect(url_for("admin.tokens"))
    return redirect(url_for("admin.user", user_id=owner["id"]))


@bp.get("/tokens")
def tokens():  # noqa: ANN201
    return render_template("admin_tokens.html", rows=api_tokens.list_tokens(db.session()))


@bp.get("/villages")
def villages():  # noqa: ANN201
    """The village registry (村名录, imported by ``relief villages import``) and each county's one hotline."""
    s = db.session()
    counties = sorted(set(s.scalars(select(Policy.county))) | set(s.scalars(select(Division.code)
                                                                             .where(Division.level == "county"))))
    return render_template("admin_villages.html", villages=registry.villages(s),
                           hotlines={c: registry.county_hotline(s, c) for c in counties})


@bp.post("/villages/hotline")
def set_hotline():  # noqa: ANN201
    county, number = _form("county").strip(), _form("hotline").strip()
    _apply(lambda s: registry.set_hotline(s, county, number, actor_id=current_user.id,
                                          actor_name=current_user.username),
           f"县 {county[:6]} 热线已设为 {number or '（未设置）'} / the county's hotline is set")
    return redirect(url_for("admin.villages"))
