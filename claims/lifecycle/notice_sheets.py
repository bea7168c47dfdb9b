"""The printed sheets of a notice (公示张贴件), their titles and the digest of each filed list.

Seed 003 (鹤山区): "在拟发放对象所在行政村、自然村进行为期10天的公示" — a notice is posted in the 行政村 and in each
自然村.  So a notice has one sheet for the 行政村 (every row) and one per 自然村 (that village's rows, numbered
from 1), each titled with the product family's own name (:data:`FAMILY_TITLES`: 防贫保理赔公示 / 助农保理赔公示).

**Digest of a sheet** (what a printed sheet carries, with a QR code of it): SHA-256, in lower-case hex, of
the UTF-8 bytes of the canonical JSON serialisation

    {"days": 10, "end_on": "2025-03-11", "natural_village": "张庄" | null, "notice": 7,
     "posted_on": "2025-03-01", "rows": [[1, "李*", "张庄", "因病防贫", "1200.50"], …],
     "village_code": "130434100200"}

— keys sorted, no spaces (``separators=(",", ":")``), Chinese kept as is (``ensure_ascii=False``); each row is
序号, masked name, 自然村 ("" if none), line, amount in yuan with two decimals, in the order printed.
``natural_village`` is null on the 行政村 sheet.  The digests are written when the notice is posted
(:func:`file_sheets`), from the :class:`~claims.lifecycle.models.NoticeLine` snapshot, and never change;
:func:`verify_digest` answers for one without any personal data.

Posting records (:func:`record_posting`): who put a notice up, when, where, with an optional JPEG/PNG photo.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.lifecycle.models import Notice, NoticeLine
from claims.lifecycle.notice_postings import PHOTO_MAGIC, PHOTO_MAX_BYTES, NoticePosting, NoticeSheet
from claims.lifecycle.store import Policy, ProductVersion
from claims.lifecycle.villages import village_label
from tabular.errors import InvalidInputError, NotFoundError

#: The product family's own notice title (and its name in the lead sentence).
FAMILY_TITLES = {"fangpinbao": "防贫保理赔公示", "zhunongbao": "助农保理赔公示"}
FAMILY_NAMES = {"fangpinbao": "防贫保", "zhunongbao": "助农保"}
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Sheet:
    """One printed sheet: title, places, rows as printed, total, and its digest."""

    notice_id: int
    village_code: str
    village_name: str
    natural_village: str | None  # None: the 行政村 sheet
    title: str
    family_name: str
    rows: list[list[Any]] = field(default_factory=list)  # [序号, 姓名, 自然村, 类别/责任, 金额(元)]
    total: Decimal = Decimal("0.00")
    digest: str = ""

    @property
    def place(self) -> str:
        """行政村 name, or 行政村 name + 自然村 name."""
        return self.village_name + (self.natural_village or "")


def family_title(family: str | None) -> str:
    """防贫保理赔公示 for ``fangpinbao``, 助农保理赔公示 for ``zhunongbao`` (理赔公示 for anything else)."""
    return FAMILY_TITLES.get(family or "", "理赔公示")


def canonical(notice: Notice, natural_village: str | None, rows: list[list[Any]]) -> bytes:
    """The canonical serialisation of one sheet's list (see the module docstring)."""
    body = {"notice": notice.id, "village_code": notice.village_code, "natural_village": natural_village,
            "posted_on": notice.posted_on.isoformat(), "end_on": notice.end_on.isoformat(), "days": notice.days,
            "rows": rows}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sheet_digest(notice: Notice, natural_village: str | None, rows: list[list[Any]]) -> str:
    """SHA-256 (hex) of :func:`canonical`."""
    return hashlib.sha256(canonical(notice, natural_village, rows)).hexdigest()


def _rows(lines: list[NoticeLine]) -> list[list[Any]]:
    return [[i, ln.masked_name, ln.natural_village or "", ln.line_name, f"{ln.amount:.2f}"]
            for i, ln in enumerate(lines, 1)]


def _grouped(session: Session, notice: Notice) -> list[tuple[str | None, list[NoticeLine]]]:
    """(None, every line) for the 行政村 sheet, then (自然村, its lines) for each 自然村, in the code-point order
    of the 自然村 names (then claim order) on every database."""
    lines = sorted(session.scalars(select(NoticeLine).where(NoticeLine.notice_id == notice.id)),
                   key=lambda ln: (ln.natural_village or "", ln.id))  # code-point order, whatever the collation
    groups: dict[str, list[NoticeLine]] = {}
    for ln in lines:
        if ln.natural_village:
            groups.setdefault(ln.natural_village, []).append(ln)
    return [(None, lines), *sorted(groups.items())]


def file_sheets(session: Session, notice: Notice) -> list[NoticeSheet]:
    """Write the digest of each sheet of a just-posted notice (the list the county filed)."""
    filed = []
    for natural, lines in _grouped(session, notice):
        rows = _rows(lines)
        filed.append(NoticeSheet(notice_id=notice.id, village_code=notice.village_code, natural_village=natural,
                                 rows=len(rows), total=sum((ln.amount for ln in lines), start=Decimal("0.00")),
                                 digest=sheet_digest(notice, natural, rows)))
    session.add_all(filed)
    session.flush()
    return filed


def notice_sheets(session: Session, notice_id: int) -> list[Sheet]:
    """The sheets of a notice, 行政村 first, each with its title, rows as printed and digest.

    A notice posted before digests were kept gets them computed from its snapshot (and filed now)."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFoundError(f"公示 {notice_id} 不存在 / notice {notice_id} does not exist")
    family = session.scalar(select(ProductVersion.family).join(Policy, Policy.product_version_id == ProductVersion.id)
                            .where(Policy.id == notice.policy_id))
    name = village_label(session, notice.village_code)
    filed = {s.natural_village: s.digest for s in
             session.scalars(select(NoticeSheet).where(NoticeSheet.notice_id == notice_id))}
    if not filed:
        filed = {s.natural_village: s.digest for s in file_sheets(session, notice)}
    sheets = []
    for natural, lines in _grouped(session, notice):
        rows = _rows(lines)
        sheets.append(Sheet(notice_id=notice.id, village_code=notice.village_code, village_name=name,
                            natural_village=natural, title=family_title(family),
                            family_name=FAMILY_NAMES.get(family or "", ""), rows=rows,
                            total=sum((ln.amount for ln in lines), start=Decimal("0.00")),
                            digest=filed.get(natural) or sheet_digest(notice, natural, rows)))
    return sheets


def verify_digest(session: Session, digest: str) -> dict[str, Any] | None:
    """What was filed with this digest, or None: village (code, name), 自然村, notice, posting period,
    when it was filed, rows and total.  No names: nothing here identifies a person."""
    digest = (digest or "").strip().lower()
    if not DIGEST_RE.match(digest):
        return None
    row = session.execute(select(NoticeSheet, Notice).join(Notice, Notice.id == NoticeSheet.notice_id)
                          .where(NoticeSheet.digest == digest).order_by(NoticeSheet.id)).first()
    if row is None:
        return None
    sheet, notice = row
    family = session.scalar(select(ProductVersion.family).join(Policy, Policy.product_version_id == ProductVersion.id)
                            .where(Policy.id == notice.policy_id))
    return {"digest": digest, "notice_id": notice.id, "title": family_title(family),
            "village_code": sheet.village_code, "village_name": village_label(session, sheet.village_code),
            "natural_village": sheet.natural_village, "posted_on": notice.posted_on, "end_on": notice.end_on,
            "days": notice.days, "filed_at": sheet.filed_at, "rows": sheet.rows, "total": sheet.total}


def file_digest(data: bytes) -> str:
    """SHA-256 (hex) of a file: a saved canonical list (:func:`canonical`) verifies as its sheet's digest."""
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ posting records (张贴记录)

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
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFoundError(f"公示 {notice_id} 不存在 / notice {notice_id} does not exist")
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


__all__ = ["FAMILY_NAMES", "FAMILY_TITLES", "Sheet", "canonical", "family_title", "file_digest", "file_sheets",
           "notice_sheets", "photo_type", "postings_of", "record_posting", "sheet_digest", "verify_digest"]
