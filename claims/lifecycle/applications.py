"""Household applications (农户申报) and their receipt scans: the tables (issue 14, item 4).

The plans let a household apply itself: seed 000 "农户自主申报……拨打12317咨询服务电话……接受农户个人或他人代为申报",
seed 002 "农户自愿申请。由农户向村“两委”提出书面申请".  A village clerk (村两委) or the county's hotline staff
(12317) records the application; an insurer verifies or rejects it
(:mod:`claims.lifecycle.application_review`), and a verified one becomes report rows of the department its
peril reads, stored as an import batch named ``申报 #<id>`` (:attr:`Application.batch_id`).

States: ``submitted`` → ``verified`` (rows stored) | ``duplicate`` (the department already reported the
same record: nothing stored, ``duplicate_row_id`` names the stored row) | ``rejected`` (``reason``).
Amounts are yuan with two places (``Money``): ``amount`` the bill or loss, ``compensated`` what other
schemes already paid on it.  Only the tables live here; the rules are in ``application_intake`` and
``application_review``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from claims.lifecycle.store import Base, Money, now

#: The states of an application, in the order they are reached.
APPLICATION_STATES = ("submitted", "verified", "duplicate", "rejected")
#: How the application reached the county (seed 000: 村委会, the 12317 hotline, the household itself).
CHANNELS = ("village", "hotline", "self")


class Application(Base):
    """申报: one household's application for one peril of a policy (see the module docstring)."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("state IN ('submitted', 'verified', 'duplicate', 'rejected')", name="state"),
        CheckConstraint("channel IN ('village', 'hotline', 'self')", name="channel"),
        CheckConstraint("amount >= 0 AND compensated >= 0", name="amounts_non_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id"), index=True)
    household_no: Mapped[str] = mapped_column(String(40), index=True)
    village_code: Mapped[str] = mapped_column(String(12), index=True)  # the household's, for scoping
    id_no: Mapped[str | None] = mapped_column(String(18))  # the person (person-keyed departments)
    peril: Mapped[str] = mapped_column(String(30))
    department: Mapped[str] = mapped_column(String(20))  # the report the peril reads (products.PERILS)
    channel: Mapped[str] = mapped_column(String(10))
    event_date: Mapped[dt.date] = mapped_column(Date)
    bill_no: Mapped[str | None] = mapped_column(String(60))  # settlement / record number on the receipt
    amount: Mapped[Decimal] = mapped_column(Money())
    compensated: Mapped[Decimal] = mapped_column(Money())
    details: Mapped[dict[str, Any]] = mapped_column(JSON)  # department fields: level, grade, disaster_type …
    note: Mapped[str | None] = mapped_column(Text)  # the household's own words
    state: Mapped[str] = mapped_column(String(10), default="submitted")
    reason: Mapped[str | None] = mapped_column(Text)  # why rejected, or which stored row it duplicates
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    duplicate_row_id: Mapped[int | None] = mapped_column(ForeignKey("import_rows.id"))


class ApplicationReceipt(Base):
    """A receipt scan of an application (PDF, JPEG or PNG by its content), kept in the database."""

    __tablename__ = "application_receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


__all__ = ["APPLICATION_STATES", "CHANNELS", "Application", "ApplicationReceipt"]
