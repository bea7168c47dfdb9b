"""Notice sheets as filed and the record that a notice was actually posted (张贴记录).

* :class:`NoticeSheet`: one printed sheet of a notice — the 行政村 sheet (``natural_village`` NULL) and one
  per 自然村 — with the SHA-256 digest of exactly what it lists (:mod:`claims.lifecycle.notice_sheets`
  states the canonical serialisation), its row count and total.  Written once, when the notice is posted
  (the list the county filed), so a printed sheet can be checked against it later.
* :class:`NoticePosting`: who posted a notice, when, where (free text: "张庄村委会公告栏"), and an
  optional photo (JPEG or PNG, at most :data:`PHOTO_MAX_BYTES`, kept as bytes with its SHA-256, as
  import files are kept in the database).  Seed 003: "在拟发放对象所在行政村、自然村进行为期10天的公示".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from claims.lifecycle.store import Base, Money, now
from tabular.errors import InvalidInputError

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


def photo_type(data: bytes) -> str:
    """The photo's media type from its first bytes (JPEG ``FF D8 FF``, PNG ``89 50 4E 47 0D 0A 1A 0A``);
    anything else, an empty file or one above :data:`PHOTO_MAX_BYTES` is refused."""
    if not data:
        raise InvalidInputError("照片为空 / the photo is empty")
    if len(data) > PHOTO_MAX_BYTES:
        raise InvalidInputError(f"照片超过 {PHOTO_MAX_BYTES // (1024 * 1024)} MB / the photo is over "
                                f"{PHOTO_MAX_BYTES // (1024 * 1024)} MB ({len(data):,} bytes)")
    for magic, media in PHOTO_MAGIC.items():
        if data.startswith(magic):
            return media
    raise InvalidInputError("照片须为 JPEG 或 PNG / the photo must be a JPEG or PNG image")


def record_posting(session: Session, notice_id: int, *, place: str, posted_at: dt.datetime,
                   posted_by: int | None = None, posted_by_name: str | None = None,
                   photo: bytes | None = None) -> NoticePosting:
    """Record that notice ``notice_id`` was posted at ``place`` on ``posted_at`` (by a user or a named
    operator), with an optional photo (:func:`photo_type` checks it).  A notice may be posted at several
    places (the 行政村 board and each 自然村's): one record each."""
    from claims.lifecycle.models import Notice
    from claims.lifecycle.notices import NoticeError

    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NoticeError(f"公示 {notice_id} 不存在 / notice {notice_id} does not exist")
    place = (place or "").strip()
    if not place:
        raise InvalidInputError("请填写张贴地点 / say where the notice was posted")
    if len(place) > 200:
        raise InvalidInputError("张贴地点过长（最多200字）/ the place is longer than 200 characters")
    if posted_at.date() < notice.posted_on - dt.timedelta(days=1) or posted_at.date() > notice.end_on:
        raise InvalidInputError(f"张贴时间 {posted_at:%Y-%m-%d} 不在公示期 {notice.posted_on} 至 {notice.end_on} 内 / "
                                f"posted at {posted_at:%Y-%m-%d}, outside the notice period {notice.posted_on} – "
                                f"{notice.end_on}")
    media = photo_type(photo) if photo is not None else None
    posting = NoticePosting(notice_id=notice_id, posted_by=posted_by, posted_by_name=posted_by_name,
                            posted_at=posted_at, place=place, photo=photo, photo_type=media,
                            photo_sha256=hashlib.sha256(photo).hexdigest() if photo is not None else None)
    session.add(posting)
    session.flush()
    return posting


def postings_of(session: Session, notice_id: int) -> list[NoticePosting]:
    """The posting records of a notice, oldest first."""
    return list(session.scalars(select(NoticePosting).where(NoticePosting.notice_id == notice_id)
                                .order_by(NoticePosting.posted_at, NoticePosting.id)))


__all__ = ["PHOTO_MAX_BYTES", "NoticePosting", "NoticeSheet", "photo_type", "postings_of", "record_posting"]
