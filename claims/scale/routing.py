"""Routing rows to household partitions (pure; runs on the client and on the workers).

Partition of a household: ``p = siphash(household_no) mod P``.  A row that names a person (medical,
education, accident) takes the partition of the person's household, found through :class:`PersonRoutes`
— the roster cut down to two sorted arrays, the 17-digit body of each resident ID (int64) and its
partition (int32): 12 bytes a person, so 30 million people cost 360 MB per worker instead of the ~5 GB
of an id → household text map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from claims.engine.paid import NOT_ON_ROSTER
from products.model import Product


def household_partition(household_no: Iterable[Any], nparts: int) -> np.ndarray:
    """p = siphash(household_no) mod P, int32.  ``pandas.util.hash_array`` uses a fixed key, so every
    process (client, each worker, any machine) sends a household to the same partition."""
    values = np.asarray(pd.Series(household_no, dtype=object).astype(str).to_numpy(), dtype=object)
    return (pd.util.hash_array(values) % np.uint64(nparts)).astype(np.int32)


def id_body(id_no: pd.Series | np.ndarray) -> np.ndarray:
    """The 17-digit body of an 18-character resident ID as int64 (≤ 10^17 − 1 < 2^63): the reader's
    ``id_key`` (:func:`tabular.resident_id.id_key`), −1 where the value is not such an ID.  The check
    digit is a function of the body (GB 11643), so the body identifies a valid ID."""
    from tabular.resident_id import id_key

    return id_key(id_no, invalid=-1)


@dataclass(frozen=True)
class PersonRoutes:
    """The roster reduced to what routing needs: sorted ID bodies and each person's partition."""

    body: np.ndarray   # int64, sorted
    part: np.ndarray   # int32, partition of the person's household
    nparts: int


def person_routes(persons: pd.DataFrame, nparts: int) -> PersonRoutes:
    body = id_body(persons["id_no"])
    part = household_partition(persons["household_no"], nparts)
    order = np.argsort(body, kind="stable")
    return PersonRoutes(body=body[order], part=part[order], nparts=nparts)


def route_persons(id_no: pd.Series, routes: PersonRoutes,
                  body: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(partition, known) per resident ID: the household's partition for a person on the roster; a person
    not on the roster goes to the partition of their own ID (the engine reports them there).  ``body``:
    the IDs' :func:`id_body` when the reader has it already (its ``id_key`` column)."""
    body = id_body(id_no) if body is None else np.asarray(body, dtype=np.int64)
    part = np.zeros(len(body), dtype=np.int32)
    known = np.zeros(len(body), dtype=bool)
    if len(routes.body):
        pos = np.clip(np.searchsorted(routes.body, body), 0, len(routes.body) - 1)
        known = routes.body[pos] == body
        part[known] = routes.part[pos[known]]
    if not known.all():
        part[~known] = household_partition(pd.Series(id_no).to_numpy()[~known], routes.nparts)
    return part, known


def paid_households(product: Product, paid: pd.DataFrame, persons: pd.DataFrame) -> pd.Series:
    """The household a paid row belongs to, as the engine files it: person-basis line → the person's
    household (or “not on roster”); household-basis line → the unit itself; unknown line → '' (partition 0,
    so the engine reports it once as ``paid_unknown_line``)."""
    basis = {line.id: line.basis for line in product.lines}
    kind = paid["line_id"].astype(str).map(basis)
    person_hh = persons.set_index("id_no")["household_no"]
    by_person = paid["unit_id"].astype(str).map(person_hh).fillna(NOT_ON_ROSTER)
    hh = np.where(kind == "person", by_person, np.where(kind == "household", paid["unit_id"].astype(str), ""))
    return pd.Series(hh, index=paid.index, dtype=object)


def paid_partition(product: Product, paid: pd.DataFrame, persons: pd.DataFrame, nparts: int) -> np.ndarray:
    """The partition of each paid row: its household's (:func:`paid_households`), 0 for an unknown line."""
    owner = paid_households(product, paid, persons)
    return np.where(owner.to_numpy() == "", 0, household_partition(owner, nparts))


def split_by_partition(frame: pd.DataFrame, part: np.ndarray, nparts: int) -> list[pd.DataFrame]:
    """``frame`` cut into ``nparts`` pieces by ``part`` (row order kept; an empty piece where no row goes)."""
    pieces = dict(tuple(frame.groupby(part, sort=True)))
    return [pieces.get(p, frame.iloc[:0]) for p in range(nparts)]
