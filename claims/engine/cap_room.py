"""Room left under a product's caps for one claim, given what the household's other claims hold (pure, fen).

A manual amount (verified, proposed or approved; :mod:`claims.lifecycle.adjudication`) may never exceed the room
left under any cap that spans the claim.  For a claim of unit u (household h) on line L, with
``others`` the household's other claims (line, unit, committed amount in fen):

    line_per_year   room = L.cap_per_year          − Σ committed of others on (L, u)
    sum_insured     room = L.sum_insured           − Σ committed of others on (L, u)     (death, disability)
    line_household  room = L.cap_household_per_year − Σ committed of others on L (every unit of h)
    line_victims    room = L.household_cap_by_victims[v] − Σ committed of others on L (every unit of h),
                    v = the units of h with a claim on L (u included), the entry of the largest key ≤ v
    cover_person    room = C.per_person_year − Σ committed of others of u on the lines of L's cover C
    cover_household room = C.per_household_year − Σ committed of others on C's lines (every unit of h)
    cover_victims   room = C.household_cap_by_victims[v] − Σ committed of others on C's lines,
                    v = the units of h with a claim on any of C's lines (u included)
    person_year     room = product.cap_per_person_year − Σ committed of others of u (person-basis lines)
    household_year  room = product.cap_per_household_year − Σ committed of others (every line and unit of h)

    room = max(0, cap − committed);   the amount is bounded by min(room) over the caps the line has.

These are the caps the engine applies (:func:`claims.engine.caps.shared_caps`), measured against the
same committed amounts: a claim the engine would pay in full always fits.  What the service counts as
committed (the states of :data:`claims.lifecycle.workflow.COMMITTED`) is the service's business, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from claims.engine.caps import victims_cap_fen
from products.model import Cover, Line, Product
from tabular.money import fen_to_decimal

#: Cap kind → (Chinese name, English name), as the refusal names them.
CAP_KINDS: dict[str, tuple[str, str]] = {
    "line_per_year": ("本责任年度限额", "the line's per-year cap"),
    "sum_insured": ("本责任保额", "the line's sum insured"),
    "line_household": ("本责任每户年度限额", "the line's per-household cap"),
    "line_victims": ("本责任每户限额（按受害人数）", "the line's household cap by number of victims"),
    "cover_person": ("保障项目每人年度限额", "the cover's per-person yearly cap"),
    "cover_household": ("保障项目每户年度限额", "the cover's per-household yearly cap"),
    "cover_victims": ("保障项目每户限额（按受害人数）", "the cover's household cap by number of victims"),
    "person_year": ("产品每人年度限额", "the product's per-person yearly cap"),
    "household_year": ("产品每户年度限额", "the product's per-household yearly cap"),
}


@dataclass(frozen=True)
class CapRoom:
    """One cap spanning a claim: the cap, what other claims already hold under it, the room left (fen)."""

    kind: str
    cap: int  # fen
    committed: int  # fen, held by the other claims the cap spans

    @property
    def room(self) -> int:
        """max(0, cap − committed), fen."""
        return max(0, self.cap - self.committed)

    def refusal(self, amount_fen: int) -> str:
        """The bilingual refusal of ``amount_fen`` above this room, naming the cap."""
        zh, en = CAP_KINDS[self.kind]
        cap, held, room, asked = (f"{fen_to_decimal(v):,}" for v in (self.cap, self.committed, self.room, amount_fen))
        return (f"金额 {asked} 元超过{zh} {cap} 元（已付 {held}，剩余 {room}），请改为不超过 {room} 元 / "
                f"amount {asked} exceeds {en} of {cap} (committed {held}, room left {room}): enter at most {room}")


def victims_cap(table: dict[int, int], victims: int) -> int:
    """The household cap (fen) for ``victims`` victims, as the engine reads it (:func:`claims.engine.caps.
    victims_cap_fen`: the entry of the largest key ≤ victims, 0 below the first).

    >>> victims_cap({1: 5_000_000, 2: 10_000_000, 3: 12_000_000}, 4)
    12000000
    """
    return int(victims_cap_fen(table, np.array([victims], dtype=np.int64))[0])


def _held(others: pd.DataFrame, where: pd.Series) -> int:
    return int(others.loc[where, "committed"].sum())


def _line_caps(line: Line, unit_id: str, others: pd.DataFrame) -> list[CapRoom]:
    on_line = others["line_id"] == line.id
    unit = on_line & (others["unit_id"] == unit_id)
    rooms = []
    if line.cap_per_year is not None:
        rooms.append(CapRoom("line_per_year", line.cap_per_year, _held(others, unit)))
    if line.sum_insured is not None and line.kind in ("death", "disability"):
        rooms.append(CapRoom("sum_insured", line.sum_insured, _held(others, unit)))
    if line.cap_household_per_year is not None:
        rooms.append(CapRoom("line_household", line.cap_household_per_year, _held(others, on_line)))
    elif line.household_cap_by_victims:
        victims = len(set(others.loc[on_line, "unit_id"]) | {unit_id})
        rooms.append(CapRoom("line_victims", victims_cap(line.household_cap_by_victims, victims),
                             _held(others, on_line)))
    return rooms


def _cover_caps(cover: Cover, unit_id: str, others: pd.DataFrame) -> list[CapRoom]:
    on_cover = others["line_id"].isin(cover.lines)
    rooms = []
    if cover.per_person_year is not None:
        rooms.append(CapRoom("cover_person", cover.per_person_year,
                             _held(others, on_cover & (others["unit_id"] == unit_id))))
    if cover.per_household_year is not None:
        rooms.append(CapRoom("cover_household", cover.per_household_year, _held(others, on_cover)))
    if cover.household_cap_by_victims:
        victims = len(set(others.loc[on_cover, "unit_id"]) | {unit_id})
        rooms.append(CapRoom("cover_victims", victims_cap(cover.household_cap_by_victims, victims),
                             _held(others, on_cover)))
    return rooms


def cap_rooms(product: Product, line_id: str, unit_id: str, others: pd.DataFrame) -> list[CapRoom]:
    """Every cap spanning a claim of ``unit_id`` on ``line_id``, with the room it leaves (see module docstring).

    ``others``: the household's other claims that hold room or mark a victim, columns ``line_id``,
    ``unit_id``, ``committed`` (fen; 0 for a claim that marks a victim without holding room).
    """
    line = product.line(line_id)
    rooms = _line_caps(line, unit_id, others)
    cover = product.cover_of(line_id)
    if cover is not None:
        rooms += _cover_caps(cover, unit_id, others)
    if product.cap_per_person_year is not None and line.basis == "person":
        rooms.append(CapRoom("person_year", product.cap_per_person_year,
                             _held(others, others["unit_id"] == unit_id)))
    if product.cap_per_household_year is not None:
        rooms.append(CapRoom("household_year", product.cap_per_household_year, int(others["committed"].sum())))
    return rooms


def tightest(rooms: list[CapRoom]) -> CapRoom | None:
    """The cap leaving the least room (the first listed on a tie); ``None`` when no cap spans the claim."""
    return min(rooms, key=lambda r: r.room, default=None)


__all__ = ["CAP_KINDS", "CapRoom", "cap_rooms", "tightest", "victims_cap"]
