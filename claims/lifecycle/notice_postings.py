"""Notice sheets as filed and the record that a notice was actually posted (张贴记录).

* :class:`NoticeSheet`: one printed sheet of a notice — the 行政村 sheet (``natural_village`` NULL) and one
  per 自然村 — with the SHA-256 digest of exactly what it lists (:mod:`claims.lifecycle.notice_sheets`
  states the canonical serialisation), its row count and total.  Written once, when the notice is posted
  (the list the county filed), so a printed sheet can be checked against it later.
* :class:`NoticePosting`: who posted a notice, when, where (free text: "张庄村委会公告栏"), and an
  optional photo (JPEG or PNG, at most :data:`PHOTO_MAX_BYTES`, kept as bytes with its SHA-256, as
  import files are kept in the database; :func:`claims.lifecycle.notice_sheets.record_posting`).
  Seed 003: "在拟发放对象所在行政村、自然村进行为期10天的公示".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from claims.lifecycle.store import Base, Money, now

#: The largest photo kept (bytes); a phone photo of a notice board is well under it.
PHOTO_MAX_BYTES = 5 * 1024 * 1024
#: Accepted photo types by their first bytes (the file name and the browser's type are not trusted).
PHOTO_MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


class NoticeSheet(Base):
    """One sheet of a notice as filed: the 行政村 sheet (``natural_village`` NULL) or one 自然村's."""

    __tablename__ = "notice_sheets"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    village_code: Mapped[str] = mapped_column(String(12))
    natural_village: Mapped[str | None] = mapped_column(String(100))
    rows: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(Money())
    digest: Mapped[str] = mapped_column(String(64), index=True)
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class NoticePosting(Base):
    """公示张贴记录: who put the notice up, when, where, and a photo of it if one was taken."""

    __tablename__ = "notice_postings"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    posted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    posted_by_name: Mapped[str | None] = mapped_column(String(60))
    posted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    place: Mapped[str] = mapped_column(String(200))
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_type: Mapped[str | None] = mapped_column(String(20))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


__all__ = ["PHOTO_MAGIC", "PHOTO_MAX_BYTES", "NoticePosting", "NoticeSheet"]
