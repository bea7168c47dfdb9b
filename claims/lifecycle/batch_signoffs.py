"""The county's co-signs of payout batches (会签): one row per batch, who signed, in which role, when (the rule is
:mod:`claims.lifecycle.batch_cosign`).  A table of its own (``models.py`` is at its size limit), registered on the
shared metadata by ``claims/lifecycle/__init__.py``; it imports only :mod:`claims.lifecycle.store`, so no cycle."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from claims.lifecycle.store import Base, now


class PayoutBatchSignoff(Base):
    """One co-sign of a payout batch: the action of the batch workflow, its actor, role, time and note."""

    __tablename__ = "payout_batch_signoffs"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batches.id"), unique=True)
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(30))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    note: Mapped[str | None] = mapped_column(Text)


__all__ = ["PayoutBatchSignoff"]
