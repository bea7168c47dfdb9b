"""A county's settings (县级设置): one row per county (6-digit GB/T 2260 code) holding what every page,
notice and 明白卡 of the county shows the same way — today its hotline (咨询、申报、监督电话).

A table of its own (``models.py`` is at its size limit), imported at the bottom of ``models.py``; it
imports only :mod:`claims.lifecycle.store`, so no cycle.  Migration 0019.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from claims.lifecycle.store import Base, now


class CountySetting(Base):
    """The county's one hotline (``None``: none set, the national 12317 or the deployment's default)."""

    __tablename__ = "county_settings"
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    hotline: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    updated_by: Mapped[str | None] = mapped_column(String(60))


__all__ = ["CountySetting"]
