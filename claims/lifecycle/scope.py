"""Who sees and acts on which counties and villages: the one home of scoping.

Seeing (:class:`Scope`, :func:`scoped`): every user serves counties (``UserCounty``: 6-digit codes, as
``Policy.county``) and sees the policies of those counties only — their claims, notices, payout and import
batches, fund and product versions; a user linked to no county sees nothing, an admin (or the system)
every county.  Within the counties, a village clerk sees the villages assigned to them (``UserVillage``,
12-digit codes) and a township reviewer the townships of their villages (the 9-digit prefix); rows of
other villages are not shown, not even their existence.  Every web query goes through :func:`scoped`.

Acting (:func:`check_scope`): the same rule for changes — a claim of another county is answered as if it
did not exist; a village clerk acts only on claims of their villages, a township reviewer only on claims
of their townships.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, false, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from claims.lifecycle.models import Claim, UserCounty, UserVillage
from claims.lifecycle.store import Person, Policy, ProductVersion
from claims.lifecycle.transitions import Actor, ConflictError
from claims.lifecycle.workflow import TransitionError

#: Roles that see every county (and every village).
UNSCOPED_ROLES = frozenset({"admin", "system"})
#: Roles that see only their own villages.
VILLAGE_ROLES = frozenset({"village_clerk"})
#: Roles that see only the townships of their villages.
TOWNSHIP_ROLES = frozenset({"township_reviewer"})
#: Roles that see (and act on) only their own area (villages, or the townships of their villages).
SEEING_SCOPED_ROLES = VILLAGE_ROLES | TOWNSHIP_ROLES
ACTING_SCOPED_ROLES = SEEING_SCOPED_ROLES
#: A township is the first 9 digits of a 12-digit village code.
TOWNSHIP_PREFIX = 9
#: What an empty list is matched against: no real code, so a user with none sees nothing.
NO_VILLAGE = "-"
NO_COUNTY = "-"


@dataclass(frozen=True)
class Scope:
    """What a user sees: ``counties`` None = every county; ``villages`` / ``townships`` None = every one
    of those counties' villages (at most one of the two is set)."""

    counties: frozenset[str] | None = None
    villages: frozenset[str] | None = None
    townships: frozenset[str] | None = None
    #: The ids of the counties' policies when known (:func:`user_scope` reads them once per request): a plain
    #: list is cheaper for the planner than a subquery on every statement.
    policies: frozenset[int] | None = None
    #: True when those are all the policies in the database (read in the same statement): rows keyed by a
    #: policy then need no filter, which keeps the queue's counts on their covering indexes.
    every_policy: bool = False

    @classmethod
    def of(cls, role: str | None, villages: Iterable[str], counties: Iterable[str] = (),
           policies: Iterable[int] | None = None, every_policy: bool = False) -> Scope:
        if role in UNSCOPED_ROLES:
            return cls(None)
        codes = frozenset(villages)
        return cls(frozenset(counties),
                   codes if role in VILLAGE_ROLES else None,
                   frozenset(c[:TOWNSHIP_PREFIX] for c in codes) if role in TOWNSHIP_ROLES else None,
                   None if policies is None else frozenset(policies), every_policy and policies is not None)

    @property
    def limited(self) -> bool:
        """True when the user sees only some villages of their counties (clerk, township reviewer)."""
        return self.villages is not None or self.townships is not None

    def sees(self, village_code: str | None) -> bool:
        """True when a row of ``village_code`` is inside the user's area (villages or townships).

        The county is not checked here: fetch objects through :func:`scoped`."""
        if self.villages is not None:
            return village_code in self.villages
        if self.townships is not None:
            return bool(village_code) and village_code[:TOWNSHIP_PREFIX] in self.townships
        return True

    def sees_county(self, county: str | None) -> bool:
        return self.counties is None or county in self.counties


#: Kept for callers of the village-only name.
VillageScope = Scope
EVERY_VILLAGE = Scope(None)
#: No county: what a user linked to no county sees.
NOTHING = Scope(frozenset())


def scope_policies(scope: Scope) -> Any:
    """The ids of the policies the scope sees, for ``column.in_(...)``: a list, or a SELECT of them."""
    if scope.policies is not None:
        return sorted(scope.policies) or [0]
    query = select(Policy.id)
    if scope.counties is not None:
        query = query.where(Policy.county.in_(sorted(scope.counties) or [NO_COUNTY]))
    return query


def scoped(scope: Scope, query: Any, village: Any = Claim.village_code, *, policy: Any = None,
           county: Any = None) -> Any:
    """``query`` limited to the rows the scope sees.

    ``policy`` is the rows' policy id column (``Claim.policy_id`` unless the rows carry their own, e.g.
    ``Notice.policy_id``); ``county`` a 6-digit county column instead (``Policy.county``,
    ``ProductVersion.county``).  ``village`` is the rows' village code column; ``None`` for county-wide
    rows (import and payout batches, the fund), which a user limited to villages or townships never sees.
    Rows that are not claims name their own ``policy`` (or ``county``) column: there is no default for them.
    """
    if policy is None and county is None:
        if village is not Claim.village_code:
            raise TypeError("scoped(): rows other than claims name their policy or county column")
        policy = Claim.policy_id
    if scope.counties is not None:
        if county is not None:
            query = query.where(county.in_(sorted(scope.counties) or [NO_COUNTY]))
        elif not scope.every_policy:
            query = query.where(policy.in_(scope_policies(scope)))
    if not scope.limited:
        return query
    if village is None:
        return query.where(false())
    if scope.villages is not None:
        return query.where(village.in_(sorted(scope.villages) or [NO_VILLAGE]))
    return query.where(func.substr(village, 1, TOWNSHIP_PREFIX).in_(sorted(scope.townships or ()) or [NO_VILLAGE]))


def search(text: str, *, prefix: bool) -> Any:
    """The claims a search text finds: with digits a resident ID or a household number, else a name.

    ``prefix`` (roles that see full IDs): an ID or household number beginning with the text.  Without it
    (roles that see masked IDs, ``130434********1803``) only the whole ID or household number matches, so
    the hidden digits cannot be recovered one prefix at a time.  A name matches anywhere in it."""
    text = text.strip()
    if any(ch.isdigit() for ch in text):
        key = text.upper()
        if prefix:
            households = select(Person.household_no).where(Person.id_no.startswith(key, autoescape=True))
            return or_(Claim.unit_id.startswith(key, autoescape=True),
                       Claim.household_no.startswith(key, autoescape=True),
                       and_(Claim.unit_type != "person", Claim.household_no.in_(households)))
        households = select(Person.household_no).where(Person.id_no == key)
        return or_(Claim.unit_id == key, Claim.household_no == key,
                   and_(Claim.unit_type != "person", Claim.household_no.in_(households)))
    ids = select(Person.id_no).where(Person.name.contains(text, autoescape=True))
    households = select(Person.household_no).where(Person.name.contains(text, autoescape=True))
    return or_(and_(Claim.unit_type == "person", Claim.unit_id.in_(ids)),
               and_(Claim.unit_type != "person", Claim.household_no.in_(households)))


def scoped_versions(scope: Scope, query: Any) -> Any:
    """``query`` (of product versions) limited to the scope's counties: a version made for one of them, or
    one a policy of theirs uses.  Product documents hold no personal data: villages do not limit them."""
    if scope.counties is None:
        return query
    counties = sorted(scope.counties) or [NO_COUNTY]
    used = select(Policy.product_version_id).where(Policy.county.in_(counties))
    return query.where(or_(ProductVersion.id.in_(used), ProductVersion.county.in_(counties)))


def policy_in_scope(session: Session, scope: Scope, policy_id: int | None) -> bool:
    """True when ``policy_id`` names a policy of the scope's counties."""
    if policy_id is None:
        return False
    return session.scalar(select(Policy.id).where(Policy.id == policy_id,
                                                  Policy.id.in_(scope_policies(scope)))) is not None


def user_scope(session: Session, user_id: int, role: str) -> tuple[list[str], Scope]:
    """A user's villages and :class:`Scope` read in one statement, as every request of a
    login session does: their villages (``UserVillage``), their counties (``UserCounty``) and every policy
    with its county, tagged ``v`` / ``c`` / ``p`` in one ``UNION ALL`` (three round trips were a tenth of a
    queue page's database time in ``benchmarks/load.py``)."""
    rows = session.execute(union_all(
        select(literal("v"), UserVillage.village_code, literal(None, Integer)).where(UserVillage.user_id == user_id),
        select(literal("c"), UserCounty.county, literal(None, Integer)).where(UserCounty.user_id == user_id),
        select(literal("p"), Policy.county, Policy.id))).all()
    villages = sorted(code for tag, code, _ in rows if tag == "v")
    counties = {code for tag, code, _ in rows if tag == "c"}
    policies = [(pid, county) for tag, county, pid in rows if tag == "p"]
    mine = [pid for pid, county in policies if county in counties]
    return villages, Scope.of(role, villages, counties, mine, every_policy=bool(policies) and len(mine) == len(policies))


class ScopeError(TransitionError):
    """A scoped user (village clerk, township reviewer) acted on claims outside their area."""

    def __init__(self, message: str, claim_ids: Sequence[int]):
        super().__init__(message)
        self.claim_ids = list(claim_ids)


def _claim_areas(session: Session, claim_ids: Sequence[int], actor: Actor) -> tuple[list[tuple[int, str | None]], list[int]]:
    """The claims' (id, village code) inside the actor's counties, and the ids outside them, in one statement:
    the county test is a subquery on ``user_counties`` (a user with no county sees none)."""
    mine = select(UserCounty.county).where(UserCounty.user_id == actor.id).scalar_subquery()
    rows = session.execute(select(Claim.id, Claim.village_code).join(Policy, Policy.id == Claim.policy_id)
                           .where(Claim.id.in_(list(claim_ids)), Policy.county.in_(mine))).all()
    inside = [(int(i), v) for i, v in rows]
    outside = sorted(set(int(i) for i in claim_ids) - {i for i, _ in inside})
    return inside, outside


def check_counties(session: Session, claim_ids: Sequence[int], actor: Actor) -> list[tuple[int, str | None]]:
    """Claims of another county are answered as missing ones are (:class:`ConflictError`, same words).

    Returns the claims' (id, village code) for :func:`check_scope` (empty for unscoped actors)."""
    if actor.id is None or actor.role in UNSCOPED_ROLES:
        return []
    inside, outside = _claim_areas(session, claim_ids, actor)
    if outside:
        raise ConflictError(f"理赔不存在 / claims do not exist: {outside[:20]}", outside)
    return inside


def check_scope(session: Session, claim_ids: Sequence[int], actor: Actor) -> None:
    """Refuse claims outside the actor's counties (as missing: :class:`ConflictError`), a village clerk's
    villages or a township reviewer's townships (:class:`ScopeError`).  The system and admins are not scoped.
    The counties and the claims' villages are read in one statement (:func:`_claim_areas`).
    """
    rows = check_counties(session, claim_ids, actor)
    if actor.role not in ACTING_SCOPED_ROLES:
        return
    codes = set(session.scalars(select(UserVillage.village_code).where(UserVillage.user_id == actor.id))) \
        if actor.id is not None else set()
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


__all__ = ["EVERY_VILLAGE", "NOTHING", "Scope", "ScopeError", "VillageScope", "check_counties", "check_scope", "policy_in_scope",
           "scope_policies", "scoped", "scoped_versions", "search",
           "user_scope"]
