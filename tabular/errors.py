"""The project's domain errors: one base class, a few subclasses by meaning.

Every error a person can cause or fix (a bad file, an amount above a cap, a claim someone else changed)
derives from :class:`ReliefError`; its message is bilingual, Chinese first, then `` / `` and English
("理赔 12 不存在 / claim 12 does not exist").  Each room names its own errors (``TableError``,
``TransitionError``, ``NoticeError`` …) as subclasses of the meaning below, and the web maps the meanings
to HTTP statuses once (``flask_app/problems.py``).

The meanings also derive from the built-in exception they refine (``ValueError``, ``LookupError``), so a
caller that catches the built-in keeps working; new code catches the domain class.
"""

from __future__ import annotations


class ReliefError(Exception):
    """A domain error with a bilingual message (中文 / English); nothing was changed."""


class InvalidInputError(ReliefError, ValueError):
    """Input that cannot be used: a malformed file, an unknown code, a missing reason or value."""


class NotFoundError(ReliefError, LookupError):
    """The object asked for does not exist (or is not visible to the user)."""


class NotAllowedError(ReliefError, ValueError):
    """An action the rules refuse in the object's current state or for the user's role or area."""


class StateConflictError(ReliefError, ValueError):
    """Someone else changed the object first (a stale version), or it was already done: retry after reloading."""


class OverLimitError(ReliefError, ValueError):
    """An amount above a cap or limit that bounds it."""


__all__ = ["InvalidInputError", "NotAllowedError", "NotFoundError", "OverLimitError", "ReliefError", "StateConflictError"]
