"""Persistence of the lower layer: the declarative base, the Money type, divisions, the insured roster,
product versions and policies (SQLAlchemy 2.0 typed models).

Money is ``NUMERIC(14, 2)`` on PostgreSQL.  SQLite has no exact decimal storage (a NUMERIC column
holds a REAL, so ``SUM`` drifts), so there the same :class:`Money` column stores integer fen in a
BIGINT; Python always sees a ``Decimal`` with two places, and SQL sums stay exact on both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
CENT = Decimal("0.01")
#: Largest row ID: the ``integer`` primary keys (a bigger number names no row; the database would overflow).
MAX_ROW_ID = 2**31 - 1


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Money(TypeDecorator[Decimal]):
    """Yuan as ``Decimal`` with two places; NUMERIC(14,2) on PostgreSQL, BIGINT fen on SQLite.

    Binding a value with more than two decimals is an error, never a silent rounding.
    """

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        if amount != amount.quantize(CENT):
            raise ValueError(f"金额超过两位小数 / amount has more than two decimals: {value}")
        return int(amount * 100) if dialect.name == "sqlite" else amount.quantize(CENT)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENT)
        return Decimal(value).quantize(CENT)


class Chained:
    """The hash-chain columns of an append-only table (:mod:`claims.lifecycle.audit`)."""

    chain_seq: Mapped[int | None] = mapped_column(Integer, index=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


#: The app's clock (its "today", e.g. RELIEF_TODAY of a demo) while a request or a demo step runs: new rows are
#: dated that day at the wall clock's time of day, so no event is dated after the app's today.  None: the wall clock.
CLOCK_DAY: ContextVar[dt.date | None] = ContextVar("relief_clock_day", default=None)


def now() -> dt.datetime:
    """UTC now without zone; on :data:`CLOCK_DAY`'s day when one is set (:func:`clock_day`)."""
    wall = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    day = CLOCK_DAY.get()
    return wall if day is None else dt.datetime.combine(day, wall.time())


@contextmanager
def clock_day(day: dt.date | None) -> Iterator[None]:
    """Within the block, :func:`now` is on ``day`` (``None``: the wall clock)."""
    token = CLOCK_DAY.set(day)
    try:
        yield
    finally:
        CLOCK_DAY.reset(token)


class Division(Base):
    """行政区划: county (6-digit GB/T 2260), township (9), administrative village (12-digit NBS code)."""

    __tablename__ = "divisions"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))  # county | township | village
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"))


class NaturalVillage(Base):
    """自然村: no official code; a surrogate key under its administrative village."""

    __tablename__ = "natural_villages"
    __table_args__ = (UniqueConstraint("village_code", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    name: Mapped[str] = mapped_column(String(100))


class Household(Base):
    __tablename__ = "households"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str] = mapped_column(String(40), unique=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)
    natural_village: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40))
    per_capita_income: Mapped[Decimal] = mapped_column(Money())
    members: Mapped[int] = mapped_column(Integer)
    bank_account: Mapped[str | None] = mapped_column(String(40))  # 社保卡 / 一卡通 account of the head
    support_mode: Mapped[str | None] = mapped_column(String(20))  # 供养方式: 集中供养 / 分散供养 (migration 0012)


class Person(Base):
    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_no: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    household_no: Mapped[str] = mapped_column(ForeignKey("households.household_no"), index=True)
    relation: Mapped[str | None] = mapped_column(String(20))


class ProductVersion(Base):
    """A stored product document; the digest identifies the exact rules an amount was computed with."""

    __tablename__ = "product_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    family: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    county: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class Policy(Base):
    """保单: a product version bought for a county and year, with its framed heads and premium."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("product_version_id", "county", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id"))
    county: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    framed_heads: Mapped[int] = mapped_column(Integer)
    premium_per_head: Mapped[Decimal] = mapped_column(Money())
    premium_total: Mapped[Decimal] = mapped_column(Money())
    settlement_rule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, server_default=func.current_timestamp())
    #: the county office co-signs (会签) each payout batch before it is paid (claims.lifecycle.batch_cosign; 0018)
    county_cosign: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
