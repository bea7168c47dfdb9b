"""Staff users: create, look up, administer (deactivate, password, role, villages, approval limit), and the
:class:`~claims.lifecycle.transitions.Actor` a user acts as.

Every administrative change is a :class:`~claims.lifecycle.models.UserEvent` naming its actor (an
:class:`Operator`: the admin on the page, the user named by the CLI's ``--by``, or the CLI's operating-system
login) and what changed, before and after.  The rules live here; the admin page and ``relief users`` only
wire forms and options to these functions.  A new password is checked and hashed by :func:`hash_new_password`
with the caller's ``hasher`` (the web's scrypt, ``flask_app.auth.hash_password``: this layer imports no web
framework) before the write transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from claims.lifecycle.logins import set_password_hash
from claims.lifecycle.models import ApiToken, User, UserCounty, UserEvent, UserVillage
from claims.lifecycle.store import MAX_ROW_ID, Policy, now
from claims.lifecycle.transitions import Actor
from tabular.errors import InvalidInputError, NotAllowedError, NotFoundError, StateConflictError
from tabular.money import MAX_STORED_YUAN

ROLES: dict[str, str] = {
    "insurer_adjudicator": "保险公司理赔员", "insurer_supervisor": "保险公司理赔主管", "county_reviewer": "县级审核",
    "township_reviewer": "乡镇审核", "village_clerk": "村级经办", "actuary": "精算", "admin": "管理员", "system": "系统",
    "city_viewer": "市级查看",
}
#: The roles an administrator may give a person ('system' is the engine's own actor, never a login).
ASSIGNABLE_ROLES: dict[str, str] = {k: v for k, v in ROLES.items() if k != "system"}
#: Roles whose work is bounded by an approval limit (they verify amounts).
LIMIT_ROLES = frozenset({"insurer_adjudicator", "insurer_supervisor"})
#: Shortest password an administrator may set.
MIN_PASSWORD = 10
#: Largest approval limit (yuan): NUMERIC(14, 2).
_VILLAGE = re.compile(r"\d{12}")
_COUNTY = re.compile(r"\d{6}")
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,60}")


class UserError(NotFoundError):
    """Unknown user (bilingual message); the base of every error of this module."""


class UserRuleError(InvalidInputError, UserError):
    """A value the rules refuse: unknown role, malformed village code or limit, short password …"""


class UsernameTakenError(StateConflictError, UserError):
    """The username exists already."""


class LastAdminError(NotAllowedError, UserError):
    """The change would leave no active administrator."""


@dataclass(frozen=True)
class Operator:
    """Who makes an administrative change: a user (``id``), or the CLI's operator (``id`` None, ``label``
    the operating-system login) when no user is named."""

    id: int | None
    label: str

    @classmethod
    def of(cls, user: User) -> Operator:
        return cls(user.id, user.username)


def record(session: Session, by: Operator, user_id: int, action: str, **detail: Any) -> None:
    """Add the audit event of one change (``detail``: what changed, JSON)."""
    session.add(UserEvent(actor_id=by.id, actor=by.label[:80], user_id=user_id, action=action, detail=detail))


def _role(role: str, allowed: dict[str, str] = ROLES) -> str:
    if role not in allowed:
        raise UserRuleError(f"未知角色 {role!r}（可用：{'、'.join(allowed)}） / unknown role {role!r} (use one of: "
                            f"{', '.join(allowed)})")
    return role


def parse_limit(value: Decimal | int | str | None) -> Decimal | None:
    """An approval limit in yuan (≥ 0, at most two decimals, below 10¹²), or None (empty text: none)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        limit = Decimal(str(value).strip())
    except InvalidOperation:
        limit = Decimal("NaN")
    if not limit.is_finite() or limit < 0 or limit > MAX_STORED_YUAN or limit != limit.quantize(Decimal("0.01")):
        raise UserRuleError(f"核定权限须为 0 至 {MAX_STORED_YUAN} 元、最多两位小数：{value!r} / approval limit must be an amount "
                            f"from 0 to {MAX_STORED_YUAN} yuan with at most two decimals: {value!r}")
    return limit.quantize(Decimal("0.01"))


def parse_villages(codes: Iterable[str] | str) -> list[str]:
    """12-digit village codes (text: separated by commas, spaces or new lines), sorted, each once."""
    items = re.split(r"[\s,，、;；]+", codes) if isinstance(codes, str) else list(codes)
    found = sorted({c.strip() for c in items if c.strip()})
    bad = [c for c in found if not _VILLAGE.fullmatch(c)]
    if bad:
        raise UserRuleError(f"行政村代码须为 12 位数字：{', '.join(bad[:5])} / village codes are 12 digits: "
                            f"{', '.join(bad[:5])}")
    return found


def parse_counties(codes: Iterable[str] | str) -> list[str]:
    """6-digit county codes (as ``Policy.county``; text: separated by commas or spaces), sorted, each once."""
    items = re.split(r"[\s,，、;；]+", codes) if isinstance(codes, str) else list(codes)
    found = sorted({c.strip() for c in items if c.strip()})
    bad = [c for c in found if not _COUNTY.fullmatch(c)]
    if bad:
        raise UserRuleError(f"县代码须为 6 位数字：{', '.join(bad[:5])} / county codes are 6 digits: {', '.join(bad[:5])}")
    return found


def counties_of(session: Session, user_id: int) -> list[str]:
    return list(session.scalars(select(UserCounty.county).where(UserCounty.user_id == user_id)
                                .order_by(UserCounty.county)))


def _link_counties(session: Session, user_id: int, codes: list[str]) -> None:
    session.execute(delete(UserCounty).where(UserCounty.user_id == user_id))
    if codes:
        session.execute(insert(UserCounty.__table__), [{"user_id": user_id, "county": c} for c in codes])


def create_user(session: Session, username: str, name: str, role: str, *,
                approval_limit: Decimal | int | str | None = None, villages: Iterable[str] = (),
                by: Operator | None = None, password_hash: str | None = None,
                counties: Iterable[str] | None = None) -> User:
    """Add a user with one role; village clerks are scoped to ``villages`` (12-digit codes), township
    reviewers to their townships.  The user serves ``counties`` (6-digit codes, as ``Policy.county``:
    :mod:`claims.lifecycle.scope`); None: every county that has a policy now (a one-county deployment).
    With ``by`` the creation is audited; with ``password_hash`` (:func:`hash_new_password`) the user can log in
    at once."""
    _role(role, ROLES if by is None else ASSIGNABLE_ROLES)
    if not _USERNAME.fullmatch(username or ""):
        raise UserRuleError(f"用户名须为 1–60 个字母、数字或 _ . @ - ：{username!r} / a username is 1–60 letters, "
                            f"digits or _ . @ -: {username!r}")
    name = (name or "").strip()
    if not name or len(name) > 60 or any(ord(c) < 32 for c in name):
        raise UserRuleError("姓名须为 1–60 个字符 / a name is 1–60 characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTakenError(f"用户名 {username!r} 已存在 / username {username!r} already exists")
    limit = parse_limit(approval_limit)
    codes = parse_villages(villages)
    county_codes = sorted(set(session.scalars(select(Policy.county).distinct()))) if counties is None \
        else parse_counties(counties)
    user = User(username=username, name=name, role=role, approval_limit=limit, active=True,
                password_hash=password_hash)
    session.add(user)
    session.flush()
    if codes:
        session.execute(insert(UserVillage.__table__), [{"user_id": user.id, "village_code": c} for c in codes])
    _link_counties(session, user.id, county_codes)
    if by is not None:
        record(session, by, user.id, "created", username=username, name=name, role=role,
               approval_limit=None if limit is None else str(limit), villages=codes, counties=county_codes,
               password=password_hash is not None)
    return user


def get_user(session: Session, username: str) -> User:
    """The user called ``username``; :class:`UserError` if there is none."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"用户 {username!r} 不存在（请先用 relief users create 添加） / no user {username!r} "
                        f"(add one with relief users create)")
    return user


def user_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id <= MAX_ROW_ID else None
    if user is None:
        raise UserError(f"用户 #{user_id} 不存在 / no user #{user_id}")
    return user


def villages_of(session: Session, user_id: int) -> list[str]:
    return list(session.scalars(select(UserVillage.village_code).where(UserVillage.user_id == user_id)
                                .order_by(UserVillage.village_code)))


def hash_new_password(password: str, hasher: Callable[[str], str]) -> str:
    """A new password checked against the rules, hashed by ``hasher`` — called before the write transaction
    (scrypt takes its time; SQLite's write lock is not held meanwhile)."""
    if len(password) < MIN_PASSWORD or len(password) > 200 or "\x00" in password:
        raise UserRuleError(f"密码须为 {MIN_PASSWORD}–200 个字符 / a password is {MIN_PASSWORD} to 200 characters")
    return hasher(password)


def _other_active_admins(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id)) or 0


def _keep_an_admin(session: Session, user: User) -> None:
    if user.role == "admin" and user.active and not _other_active_admins(session, user):
        raise LastAdminError(f"{user.username} 是唯一在用的管理员，不能停用或改角色 / {user.username} is the only active "
                             f"administrator: add another before deactivating them or changing their role")


def deactivate_user(session: Session, by: Operator, user: User) -> None:
    """The user can no longer log in or use a token (their tokens are revoked, their sessions end)."""
    if not user.active:
        return
    _keep_an_admin(session, user)
    user.active = False
    user.session_version = (user.session_version or 0) + 1
    revoked = list(session.scalars(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                   .values(revoked_at=now()).returning(ApiToken.id)))
    record(session, by, user.id, "deactivated", tokens_revoked=revoked)


def activate_user(session: Session, by: Operator, user: User) -> None:
    if user.active:
        return
    user.active = True
    user.failed_logins, user.locked_until = 0, None
    record(session, by, user.id, "activated")


def reset_password(session: Session, by: Operator, user: User, password_hash: str) -> None:
    """Set a new password (:func:`hash_new_password`): the lock-out is lifted and every session of the user
    ends (:func:`claims.lifecycle.logins.set_password_hash`, the one place a password changes)."""
    set_password_hash(session, user.id, password_hash)
    session.refresh(user)
    record(session, by, user.id, "password_reset")


def set_role(session: Session, by: Operator, user: User, role: str) -> None:
    _role(role, ASSIGNABLE_ROLES)
    if role == user.role:
        return
    if role != "admin":
        _keep_an_admin(session, user)
    before = user.role
    user.role = role
    if role not in LIMIT_ROLES and user.approval_limit is not None:
        record(session, by, user.id, "limit_changed", before=str(user.approval_limit), after=None)
        user.approval_limit = None
    record(session, by, user.id, "role_changed", before=before, after=role)


def set_villages(session: Session, by: Operator, user: User, codes: Iterable[str] | str) -> None:
    """Replace the user's villages (what a village clerk sees, a township reviewer acts on)."""
    after = parse_villages(codes)
    before = villages_of(session, user.id)
    if after == before:
        return
    session.execute(delete(UserVillage).where(UserVillage.user_id == user.id))
    if after:
        session.execute(insert(UserVillage.__table__), [{"user_id": user.id, "village_code": c} for c in after])
    record(session, by, user.id, "villages_changed", before=before, after=after)


def set_counties(session: Session, by: Operator, user: User, codes: Iterable[str] | str) -> None:
    """Replace the counties the user serves (what they see: :mod:`claims.lifecycle.scope`)."""
    after = parse_counties(codes)
    before = counties_of(session, user.id)
    if after == before:
        return
    _link_counties(session, user.id, after)
    record(session, by, user.id, "counties_changed", before=before, after=after)


def set_limit(session: Session, by: Operator, user: User, limit: Decimal | int | str | None) -> None:
    """The approval limit (yuan; None: none) of an insurer user."""
    value = parse_limit(limit)
    if value is not None and user.role not in LIMIT_ROLES:
        raise UserRuleError(f"只有保险公司理赔角色有核定权限（{user.username} 是 {user.role}） / only insurer roles carry "
                            f"an approval limit ({user.username} is {user.role})")
    if value == user.approval_limit:
        return
    before = user.approval_limit
    user.approval_limit = value
    record(session, by, user.id, "limit_changed", before=None if before is None else str(before),
           after=None if value is None else str(value))


def list_users(session: Session) -> list[dict[str, Any]]:
    """Every user with their villages, by username."""
    villages: dict[int, list[str]] = {}
    for uid, code in session.execute(select(UserVillage.user_id, UserVillage.village_code)
                                     .order_by(UserVillage.village_code)):
        villages.setdefault(uid, []).append(code)
    return [{"user": u, "villages": villages.get(u.id, [])}
            for u in session.scalars(select(User).where(User.role != "system").order_by(User.username))]


def user_events(session: Session, user_id: int | None = None, limit: int = 200) -> list[UserEvent]:
    """The latest administrative events, newest first (of one user when ``user_id`` is given)."""
    q = select(UserEvent).order_by(UserEvent.id.desc()).limit(limit)
    if user_id is not None:
        q = q.where(UserEvent.user_id == user_id)
    return list(session.scalars(q))


def actor_of(user: User) -> Actor:
    return Actor.of(user)


__all__ = ["ASSIGNABLE_ROLES", "LIMIT_ROLES", "LastAdminError", "MIN_PASSWORD", "Operator", "ROLES", "UserError",
           "UserRuleError", "UsernameTakenError", "activate_user", "actor_of", "counties_of", "create_user",
           "deactivate_user", "get_user", "hash_new_password", "list_users", "parse_counties", "parse_limit",
           "parse_villages", "record",
           "reset_password", "set_counties", "set_limit", "set_role", "set_villages", "user_by_id", "user_events",
           "villages_of"]
