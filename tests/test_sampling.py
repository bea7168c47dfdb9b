"""Seeded, stratified review samples: deterministic, every stratum represented, fraction respected, and a
stored sample redrawn identically from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from db_factories import add_policy, claim
from sqlalchemy import select

from claims.lifecycle.database import transaction
from claims.lifecycle.models import Claim
from claims.lifecycle.sampling import amount_bands, draw_sample, members, redraw, store_sample
from claims.lifecycle.transitions import Actor
from claims.lifecycle.workflow import TransitionError

VILLAGES = ["130434100200", "130434100201", "130434200300"]
LINES = ["illness", "education", "disaster"]


def frame(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amounts = np.round(rng.lognormal(7.5, 1.2, n), 2)
    return pd.DataFrame({
        "id": np.arange(1, n + 1),
        "village_code": rng.choice(VILLAGES, n),
        "line_id": rng.choice(LINES, n),
        "amount": [Decimal(f"{a:.2f}") for a in amounts],
    })


def strata_of(df: pd.DataFrame) -> pd.Series:
    return df["village_code"] + "|" + df["line_id"] + "|" + amount_bands(df["amount"])


def test_amount_bands_are_half_open():
    bands = amount_bands(pd.Series([Decimal("0.00"), Decimal("999.99"), Decimal("1000.00"), Decimal("5000.00"),
                                    Decimal("19999.99"), Decimal("20000.00")]))
    assert bands.tolist() == ["0-1000", "0-1000", "1000-5000", "5000-20000", "5000-20000", "20000+"]


def test_same_seed_same_sample_different_seed_different():
    df = frame()
    a = draw_sample(df, fraction=0.05, seed=42)
    assert a == draw_sample(df, fraction=0.05, seed=42)
    assert a == draw_sample(df.sample(frac=1, random_state=1), fraction=0.05, seed=42)  # input order irrelevant
    assert a != draw_sample(df, fraction=0.05, seed=43)
    assert a == sorted(set(a))


def test_every_stratum_represented_and_fraction_respected():
    df = frame()
    keys = strata_of(df)
    sample = draw_sample(df, fraction=0.05, seed=1)
    chosen = keys[df["id"].isin(sample)]
    assert set(chosen) == set(keys)
    for key, size in keys.value_counts().items():
        assert (chosen == key).sum() == max(1, int(np.floor(0.05 * size + 0.5)))
    # overall: within rounding (at most one claim per stratum off 5 %)
    assert abs(len(sample) - 0.05 * len(df)) <= keys.nunique()


def test_small_strata_and_full_fraction():
    df = frame(40)
    assert draw_sample(df, fraction=1, seed=3) == sorted(df["id"].tolist())
    assert draw_sample(df.iloc[:0], fraction=0.1, seed=3) == []
    with pytest.raises(ValueError, match="fraction"):
        draw_sample(df, fraction=0, seed=3)
    with pytest.raises(ValueError, match="unknown strata"):
        draw_sample(df, fraction=0.1, seed=3, strata=("township",))


def test_known_sample_is_stable_across_machines():
    """Pinned output: a change here means auditors could no longer redraw stored samples."""
    df = pd.DataFrame({"id": range(1, 21), "village_code": ["A"] * 10 + ["B"] * 10, "line_id": ["x"] * 20,
                       "amount": [Decimal("100.00")] * 20})
    assert draw_sample(df, fraction=0.2, seed=2025, strata=("village_code",)) == [4, 5, 15, 16]


def seed_db(factory, df: pd.DataFrame) -> int:
    with transaction(factory) as s:
        pv, pol = add_policy(s)
        s.add_all(claim(pv, pol, r.id, r.amount, line_id=r.line_id, peril=r.line_id, village_code=r.village_code,
                        state="filed" if r.id % 2 else "verified") for r in df.itertuples())
        return pol.id


def test_stored_sample_is_redrawn_identically(db):
    _, factory = db
    policy_id = seed_db(factory, frame(600))
    county = Actor(id=None, role="county_reviewer")
    with transaction(factory) as s:
        sample = store_sample(s, policy_id, {"states": ["filed"], "village_prefix": "130434100"}, "0.1", 99,
                              ["village_code", "line_id", "amount_band"], county)
        sample_id = sample.id
    with factory() as s:
        stored = members(s, sample_id)
        assert stored and redraw(s, sample_id) == stored
        pop = s.execute(select(Claim.id, Claim.village_code, Claim.line_id, Claim.amount, Claim.state)
                        .order_by(Claim.id)).all()
    population = pd.DataFrame(pop, columns=["id", "village_code", "line_id", "amount", "state"])
    population = population[(population.state == "filed") & population.village_code.str.startswith("130434100")]
    assert stored == draw_sample(population.drop(columns="state"), fraction=0.1, seed=99)
    assert set(stored) <= set(population["id"])
    with factory() as s:
        row = s.get(type(sample), sample_id)
        assert (row.seed, row.fraction, row.strata) == (99, "0.1", ["village_code", "line_id", "amount_band"])
        assert row.population["filter"] == {"states": ["filed"], "village_prefix": "130434100"}


def test_changed_population_is_refused_and_wrong_role_cannot_sample(db):
    _, factory = db
    policy_id = seed_db(factory, frame(50))
    with transaction(factory) as s:
        sample_id = store_sample(s, policy_id, {"states": ["filed"]}, 0.2, 5, ["line_id"],
                                 Actor(id=None, role="county_reviewer")).id
    with transaction(factory) as s:  # one more filed claim: the list is no longer the one sampled
        c = s.scalars(select(Claim).where(Claim.state == "verified").limit(1)).one()
        s.add(Claim(policy_id=policy_id, product_version_id=c.product_version_id, line_id="illness", peril="illness",
                    unit_type="person", unit_id="NEW", household_no="HNEW", village_code=VILLAGES[0], state="filed",
                    base=Decimal("1.00"), entitlement=Decimal("1.00"), paid_before=Decimal("0.00"),
                    computed_amount=Decimal("1.00"), amount=Decimal("1.00"), trace="t"))
    with factory() as s, pytest.raises(ValueError, match="population of sample .* has changed"):
        redraw(s, sample_id)
    with transaction(factory) as s, pytest.raises(TransitionError, match="may not draw review samples"):
        store_sample(s, policy_id, {}, 0.1, 1, ["line_id"], Actor(id=None, role="village_clerk"))
