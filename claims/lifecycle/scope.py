"""Who sees and acts on which villages: the one home of village scoping.

Seeing (:class:`VillageScope`, :func:`scoped`): a village clerk sees the claims, notices and payout lines
of the villages assigned to them (``UserVillage``, 12-digit codes) and nothing of the others — not even
their existence; every other role sees every village.  Import batches, payout batches and the fund are
county-wide: only unscoped roles may open them (``flask_app/permissions.py``).

Acting (:func:`check_scope`): a village clerk acts only on claims of their villages; a township reviewer
only on claims whose village code starts with the 9-digit township prefix of one of their villages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.models import Claim, UserVillage
from claims.lifecycle.transitions import Actor
from claims.lifecycle.workflow import TransitionError

#: Roles that see only their own villages.
SEEING_SCOPED_ROLES = frozenset({"village_clerk"})
#: Roles that act only on their own area (villages, or the townships of their villages).
ACTING_SCOPED_ROLES = frozenset({"village_clerk", "township_reviewer"})
#: A township is the first 9 digits of a 12-digit village code.
TOWNSHIP_PREFIX = 9
#: What an empty village list is matched against: no real code, so a clerk with no villages sees nothing.
NO_VILLAGE = "-"


@dataclass(frozen=True)
class VillageScope:
    """The villages a user sees: ``villages`` None means every village."""

    villages: frozenset[str] | None = None

    @classmethod
    def of(cls, role: str | None, villages: Iterable[str]) -> VillageScope:
        return cls(frozenset(villages)) if role in SEEING_SCOPED_ROLES else cls(None)

    @property
    def limited(self) -> bool:
        return self.villages is not None

    def sees(self, village_code: str | None) -> bool:
        """True when a row of ``village_code`` may be shown (or its existence told)."""
        return self.villages is None or village_code in self.villages


EVERY_VILLAGE = VillageScope(None)


def scoped(scope: VillageScope, query: Any, column: Any = Claim.village_code) -> Any:
    """``query`` limited to the rows whose ``column`` (a village code) the scope sees.

    ``column`` is ``Claim.village_code`` unless the rows carry their own (``Notice.village_code``); a
    query joined to claims is scoped by the claims' column."""
    if scope.villages is None:
        return query
    return query.where(column.in_(sorted(scope.villages) or [NO_VILLAGE]))


class ScopeError(TransitionError):
    """A scoped user (village clerk, township reviewer) acted on claims outside their area."""

    def __init__(self, message: str, claim_ids: Sequence[int]):
        super().__init__(message)
        self.claim_ids = list(claim_ids)


def check_scope(session: Session, claim_ids: Sequence[int], actor: Actor) -> None:
    """Refuse (:class:`ScopeError`) claims outside a village clerk's villages or a township reviewer's townships.

    Other roles are not scoped by village.
    """
    if actor.role not in ACTING_SCOPED_ROLES:
        return
    codes = set(session.scalars(select(UserVillage.village_code).where(UserVillage.user_id == actor.id))) \
        if actor.id is not None else set()
    rows = session.execute(select(Claim.id, Claim.village_code).where(Claim.id.in_(list(claim_ids)))).all()
    if actor.role == "village_clerk":
        outside = sorted(i for i, v in rows if v not in codes)
        area = "村 / villages"
    else:
        towns = {c[:TOWNSHIP_PREFIX] for c in codes}
        outside = sorted(i for i, v in rows if not v or v[:TOWNSHIP_PREFIX] not in towns)
        area = "乡镇 / townships"
    if outside:
        raise ScopeError(f"{len(outside)} 笔理赔不在您负责的{area.split(' / ')[0]}范围内，未做任何更改 / "
                         f"{len(outside)} claim(s) are outside your {area.split(' / ')[1]} "
                         f"({', '.join(sorted(codes)) or 'none assigned'}); nothing was changed: {outside[:20]}",
                         outside)


__all__ = ["EVERY_VILLAGE", "ScopeError", "VillageScope", "check_scope", "scoped"]
