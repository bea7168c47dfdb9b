"""Staff users: create, look up, and the :class:`~claims.lifecycle.transitions.Actor` a user acts as."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from claims.lifecycle.models import User, UserVillage
from claims.lifecycle.transitions import Actor
from tabular.errors import NotFoundError

ROLES: dict[str, str] = {
    "insurer_adjudicator": "保险公司理赔员", "insurer_supervisor": "保险公司理赔主管", "county_reviewer": "县级审核",
    "township_reviewer": "乡镇审核", "village_clerk": "村级经办", "actuary": "精算", "admin": "管理员", "system": "系统",
}


class UserError(NotFoundError):
    """Unknown user, unknown role or duplicate username (bilingual message)."""


def create_user(session: Session, username: str, name: str, role: str, *,
                approval_limit: Decimal | int | str | None = None, villages: Iterable[str] = ()) -> User:
    """Add a user with one role; village clerks are scoped to ``villages`` (12-digit codes)."""
    if role not in ROLES:
        raise UserError(f"未知角色 {role!r}（可用：{'、'.join(ROLES)}） / unknown role {role!r} (use one of: "
                        f"{', '.join(ROLES)})")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"用户名 {username!r} 已存在 / username {username!r} already exists")
    limit = None if approval_limit is None else Decimal(str(approval_limit))
    user = User(username=username, name=name, role=role, approval_limit=limit, active=True)
    session.add(user)
    session.flush()
    codes = sorted(set(villages))
    if codes:
        session.execute(insert(UserVillage.__table__), [{"user_id": user.id, "village_code": c} for c in codes])
    return user


def get_user(session: Session, username: str) -> User:
    """The user called ``username``; :class:`UserError` if there is none."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"用户 {username!r} 不存在（请先用 relief users add 添加） / no user {username!r} "
                        f"(add one with relief users add)")
    return user


def actor_of(user: User) -> Actor:
    return Actor.of(user)


__all__ = ["ROLES", "UserError", "actor_of", "create_user", "get_user"]
