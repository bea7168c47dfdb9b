"""The insured roster in the database: set-based upsert from the roster frames, and back.

:func:`store_roster` takes the frames of :mod:`products.roster` (``per_capita_income`` int fen) and

1. creates the divisions it has not seen: county = village_code[:6], township = village_code[:9],
   administrative village = the 12-digit code (name = the code unless the roster carries one, columns
   ``village_name`` 村名 and ``township_name`` 乡镇: :func:`claims.lifecycle.villages.store_names`, which
   also renames a division the roster names differently), and the natural villages (village_code, name);
2. upserts households, then persons: one bulk INSERT of the new keys, one executemany UPDATE of the
   rows whose fields changed (no ORM object per row).

:func:`roster_frames` reads them back in the engine's canonical form (fen ints).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from claims.lifecycle.audit import record
from claims.lifecycle.store import Household, NaturalVillage, Person
from claims.lifecycle.villages import TOWNSHIP_DIGITS, VILLAGE_DIGITS, store_names
from products.eligibility import CountyMismatchError, other_counties
from tabular.money import fen_to_decimal

HOUSEHOLD_FIELDS = ["village_code", "natural_village", "category", "per_capita_income", "members"]
PERSON_FIELDS = ["name", "household_no", "relation"]
CHUNK = 5000


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    """``values`` in lists of at most ``size`` (bind-parameter limits of IN lists)."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _clean(value: Any) -> Any:
    """NA/NaN → None; numpy scalars → Python scalars."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in frame[columns].to_dict("records")]


def _roster_names(households: pd.DataFrame, column: str, digits: int) -> dict[str, str]:
    """code (the village code's first ``digits``) → the name the roster gives in ``column`` (村名 / 乡镇), or
    the code with a blank name (:func:`~claims.lifecycle.villages.store_names` keeps a blank name's
    division as it is) when the roster has no such column."""
    columns = ["village_code", column] if column in households else ["village_code"]
    pairs = households[columns].dropna(subset=["village_code"]).drop_duplicates("village_code")
    codes = pairs["village_code"].astype(str)
    names = pairs[column] if column in pairs else pd.Series("", index=pairs.index)
    return {code[:digits]: (name if isinstance(name, str) else "")
            for code, name in zip(codes, names, strict=True) if len(code) == VILLAGE_DIGITS}


def _store_natural_villages(session: Session, households: pd.DataFrame) -> int:
    pairs = households[["village_code", "natural_village"]].dropna().drop_duplicates()
    known = set(session.execute(select(NaturalVillage.village_code, NaturalVillage.name)).all())
    rows = [{"village_code": str(v), "name": str(n)} for v, n in pairs.itertuples(index=False)
            if (str(v), str(n)) not in known]
    if rows:
        session.execute(insert(NaturalVillage.__table__), rows)
    return len(rows)


def _upsert(session: Session, table: Any, key: str, new: list[dict[str, Any]],
            existing: dict[str, dict[str, Any]], fields: list[str]) -> tuple[int, int]:
    """Insert rows whose key is new; executemany-UPDATE rows whose fields differ. → (inserted, updated)."""
    inserts = [r for r in new if r[key] not in existing]
    updates = [r for r in new if r[key] in existing
               and any(r[f] != existing[r[key]].get(f) for f in fields if f in r)]
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        cols = [f for f in fields if f in updates[0]]
        stmt = (update(table).where(table.c[key] == bindparam("k_" + key))
                .values({f: bindparam("v_" + f) for f in cols}))
        session.execute(stmt, [{"k_" + key: r[key], **{"v_" + f: r[f] for f in cols}} for r in updates])
    return len(inserts), len(updates)


def _tail(account: Any) -> str | None:
    return None if account is None else "*" + str(account)[-4:]


def _audit_roster(session: Session, hh_rows: list[dict[str, Any]], existing_hh: dict[str, dict[str, Any]],
                  counts: dict[str, int], actor_id: int | None, actor_name: str | None) -> None:
    """Audit events: the roster load (counts) and each household's bank-account change (masked tails)."""
    changed = [(r["household_no"], existing_hh[r["household_no"]].get("bank_account"), r["bank_account"])
               for r in hh_rows if "bank_account" in r and r["household_no"] in existing_hh
               and r["bank_account"] != existing_hh[r["household_no"]].get("bank_account")]
    record(session, actor_id, "roster_stored", "roster", counts, actor_name=actor_name)
    for household_no, old, new in changed:
        record(session, actor_id, "bank_account_changed", f"household:{household_no}",
               {"before": _tail(old), "after": _tail(new)}, actor_name=actor_name)


def store_roster(session: Session, persons: pd.DataFrame, households: pd.DataFrame, *,
                 division_names: Mapping[str, str] | None = None, actor_id: int | None = None,
                 actor_name: str | None = None) -> dict[str, int]:
    """Store (insert or update) the roster; returns counts of what was created and changed.  Audited
    (:func:`claims.lifecycle.audit.record`): the load with its counts, and every bank-account change."""
    hh = households.copy()
    fields = list(HOUSEHOLD_FIELDS) + [f for f in ("bank_account", "support_mode") if f in hh]
    hh_rows = _records(hh, ["household_no", *fields])
    for r in hh_rows:
        r["per_capita_income"] = fen_to_decimal(int(r["per_capita_income"]))
        r["members"] = int(r["members"])
    divisions = store_names(session, {**_roster_names(hh, "village_name", VILLAGE_DIGITS), **(division_names or {})},
                            _roster_names(hh, "township_name", TOWNSHIP_DIGITS))["divisions_created"]
    natural = _store_natural_villages(session, hh)
    t_hh = Household.__table__
    existing_hh = {r["household_no"]: r for r in session.execute(
        select(*(t_hh.c[c] for c in ["household_no", *fields]))).mappings()}
    hh_ins, hh_upd = _upsert(session, t_hh, "household_no", hh_rows, existing_hh, fields)

    p_rows = _records(persons, ["id_no", *PERSON_FIELDS])
    t_p = Person.__table__
    existing_p = {r["id_no"]: r for r in session.execute(
        select(*(t_p.c[c] for c in ["id_no", *PERSON_FIELDS]))).mappings()}
    p_ins, p_upd = _upsert(session, t_p, "id_no", p_rows, existing_p, PERSON_FIELDS)
    counts = {"divisions_created": divisions, "natural_villages_created": natural, "households_inserted": hh_ins,
              "households_updated": hh_upd, "persons_inserted": p_ins, "persons_updated": p_upd}
    _audit_roster(session, hh_rows, existing_hh, counts, actor_id, actor_name)
    return counts


def _decimal_to_fen(value: Decimal | None) -> int:
    return 0 if value is None else int(Decimal(value) * 100)


def roster_frames(session: Session, household_nos: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(persons, households) in the engine's canonical form, all of them or those of ``household_nos``."""
    hh_cols = [Household.household_no, Household.village_code, Household.natural_village, Household.category,
               Household.per_capita_income, Household.members, Household.bank_account, Household.support_mode]
    p_cols = [Person.id_no, Person.name, Person.household_no, Person.relation]
    if household_nos is None:
        hh_rows = list(session.execute(select(*hh_cols).order_by(Household.household_no)).all())
        p_rows = list(session.execute(select(*p_cols).order_by(Person.id_no)).all())
    else:
        hh_rows, p_rows = [], []
        for part in chunks(sorted(set(household_nos))):
            hh_rows += session.execute(select(*hh_cols).where(Household.household_no.in_(part))).all()
            p_rows += session.execute(select(*p_cols).where(Person.household_no.in_(part))).all()
    households = pd.DataFrame({
        "household_no": pd.Series([r[0] for r in hh_rows], dtype="str"),
        "village_code": pd.Series([r[1] for r in hh_rows], dtype="str"),
        "natural_village": pd.Series([r[2] for r in hh_rows], dtype="str"),
        "category": pd.Series([r[3] for r in hh_rows], dtype="str"),
        "per_capita_income": pd.Series([_decimal_to_fen(r[4]) for r in hh_rows], dtype="int64"),
        "members": pd.Series([int(r[5]) for r in hh_rows], dtype="int64"),
        "bank_account": pd.Series([r[6] for r in hh_rows], dtype="str"),
        "support_mode": pd.Series([r[7] for r in hh_rows], dtype="str"),
    })
    persons = pd.DataFrame({
        "id_no": pd.Series([r[0] for r in p_rows], dtype="str"),
        "name": pd.Series([r[1] for r in p_rows], dtype="str"),
        "household_no": pd.Series([r[2] for r in p_rows], dtype="str"),
        "relation": pd.Series([r[3] for r in p_rows], dtype="str"),
    })
    return persons, households


def county_roster(session: Session, product: Any, household_nos: Iterable[str] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`roster_frames` of the households of the product's county (village_code[:6] = its ``county``):
    a database may hold several counties' rosters, each run with its own county's product.  Refused
    (:class:`~products.eligibility.CountyMismatchError`) when the households asked for are all of other
    counties: the product was set up on another county's roster."""
    persons, households = roster_frames(session, household_nos)
    here = (households["village_code"].astype(str).str.slice(0, 6) == product.county).to_numpy()
    if here.all():
        return persons, households
    if not here.any():
        raise CountyMismatchError(product.code, product.county, other_counties(product.county, households))
    households = households[here].reset_index(drop=True)
    return persons[persons["household_no"].isin(households["household_no"])].reset_index(drop=True), households


__all__ = ["chunks", "county_roster", "roster_frames", "store_roster"]
