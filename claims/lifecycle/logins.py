"""Login bookkeeping: the failure counter and its lock (one atomic UPDATE … RETURNING), session versions,
password changes and the login events (every attempt, success or failure, and every logout).

The password itself is checked by the caller *before* the write transaction (scrypt is slow; on SQLite a
write transaction holds the database's write lock): :func:`settle` only records what the check found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, insert, literal, null, or_, update
from sqlalchemy.orm import Session

from claims.lifecycle.models import LoginEvent, User
from claims.lifecycle.store import now

#: what a refused attempt records as its reason (one answer to the client for all of them)
UNKNOWN_USER, WRONG_PASSWORD, LOCKED, INACTIVE, NO_PASSWORD = (
    "unknown-user", "wrong-password", "locked", "inactive", "no-password")


@dataclass(frozen=True)
class Candidate:
    """The account a login names, as read before the password check (``None`` fields: no such user)."""

    id: int | None
    active: bool = False
    has_password: bool = False


@dataclass(frozen=True)
class Outcome:
    user_id: int | None
    session_version: int | None  # set on success only
    reason: str | None  # None on success

    @property
    def ok(self) -> bool:
        return self.reason is None


def _unlocked(at: dt.datetime):  # noqa: ANN202 - a SQL condition
    return or_(User.locked_until.is_(None), User.locked_until <= at)


def count_failure(s: Session, user_id: int, *, limit: int, lock_for: dt.timedelta,
                  at: dt.datetime | None = None) -> int | None:
    """Count one wrong password in a single ``UPDATE … RETURNING``; the same statement sets the lock when
    the count reaches ``limit``.  A locked account counts nothing (``None``); after a lock has expired the
    count starts again at one.  Parallel attempts on PostgreSQL serialise on the row: the count is exact."""
    at = at or now()
    fresh = case((User.locked_until.is_not(None), 1), else_=User.failed_logins + 1)
    until = case((fresh >= limit, literal(at + lock_for, User.locked_until.type)), else_=null())
    stmt = (update(User).where(User.id == user_id, _unlocked(at))
            .values(failed_logins=fresh, locked_until=until).returning(User.failed_logins)
            .execution_options(synchronize_session=False))
    return s.execute(stmt).scalar()


def clear_failures(s: Session, user_id: int, *, at: dt.datetime | None = None) -> int | None:
    """A right password: reset the counter unless the account is locked or inactive; the user's session
    version (to store in the new session), or ``None`` when refused."""
    stmt = (update(User).where(User.id == user_id, User.active.is_(True), _unlocked(at or now()))
            .values(failed_logins=0, locked_until=None).returning(User.session_version)
            .execution_options(synchronize_session=False))
    return s.execute(stmt).scalar()


def end_sessions(s: Session, user_id: int) -> None:
    """Every session issued to this user so far ends (logout, password change)."""
    s.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
              .execution_options(synchronize_session=False))


def set_password_hash(s: Session, user_id: int, password_hash: str) -> None:
    """A new password (already hashed, outside the transaction): every existing session ends, the lock and
    the failure count are cleared."""
    s.execute(update(User).where(User.id == user_id).values(
        password_hash=password_hash, failed_logins=0, locked_until=None, session_version=User.session_version + 1)
        .execution_options(synchronize_session=False))


def _printable(text: str, width: int) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:width]


def record(s: Session, *, user_id: int | None, username: str, kind: str, success: bool, reason: str | None,
           remote_addr: str | None, at: dt.datetime | None = None) -> None:
    """One login event (``kind`` login or logout)."""
    s.execute(insert(LoginEvent).values(
        user_id=user_id, username=_printable(username, 60), kind=kind, success=success, reason=reason,
        remote_addr=_printable(remote_addr, 64) if remote_addr else None, at=at or now()))


def settle(s: Session, candidate: Candidate, password_ok: bool, *, username: str, limit: int,
           lock_for: dt.timedelta, remote_addr: str | None) -> Outcome:
    """Record one login attempt whose password check gave ``password_ok``: the counter, the lock, the event."""
    at = now()
    version: int | None = None
    if candidate.id is None:
        reason: str | None = UNKNOWN_USER
    elif not candidate.active:
        reason = INACTIVE
    elif not candidate.has_password:
        reason = NO_PASSWORD
    elif password_ok:
        version = clear_failures(s, candidate.id, at=at)
        reason = None if version is not None else LOCKED
    else:
        counted = count_failure(s, candidate.id, limit=limit, lock_for=lock_for, at=at)
        reason = WRONG_PASSWORD if counted is not None else LOCKED
    record(s, user_id=candidate.id, username=username, kind="login", success=reason is None, reason=reason,
           remote_addr=remote_addr, at=at)
    return Outcome(candidate.id, version, reason)


__all__ = ["Candidate", "Outcome", "clear_failures", "count_failure", "end_sessions", "record",
           "set_password_hash", "settle"]
