"""Public notice (公示): posting a village list, objections, closing notices whose period has ended.

Rules (DESIGN §2 step 5, domain §5):

* One notice per administrative village (with its natural villages) for one or more ``filed`` claims.
* ``end_on = posted_on + days`` (calendar days; ``days`` from the product document's ``notice_days``,
  default 10).  Never shorter than ``notice_days`` (seed 003: "进行为期10天的公示"); longer is allowed.
* A product whose document says ``notice_required: false`` posts no notice: :func:`close_due` moves its filed
  claims to payable (action ``release_without_notice``, a row of the workflow's table).
* Each sheet (the 行政村 and every 自然村) is filed with its digest (:mod:`claims.lifecycle.notice_sheets`).
* Claims become payable on the day **after** ``end_on``: posted 2025-03-01 for 10 days → ``end_on`` 2025-03-11
  → payable from 2025-03-12 (:func:`close_due` with ``today > end_on``).
* Shown per claim: masked name (:func:`mask_name`), natural village, line name in Chinese, amount.
  Never the ID number, phone, bank account or diagnosis — the :class:`NoticeLine` snapshot stores
  nothing else, so nothing else can leak.
* An objection (village clerk) puts the claim in ``disputed`` (back to investigation, then review and
  filing).  Posting the claim again, on a **new** notice for a full period, resolves its open
  objections; so does rejecting it (:func:`resolve_objections`).  The first notice's line keeps the
  amount it showed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from claims.lifecycle.audit import record
from claims.lifecycle.models import Claim, Notice, NoticeLine, Objection, UserVillage
from claims.lifecycle.notice_sheets import file_sheets
from claims.lifecycle.roster_store import chunks
from claims.lifecycle.store import Person, Policy, ProductVersion, now
from claims.lifecycle.transitions import SYSTEM, Actor, advance
from claims.lifecycle.villages import county_hotline
from claims.reports.householders import is_head
from tabular.errors import NotAllowedError

DEFAULT_NOTICE_DAYS = 10
COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐",
    "端木", "轩辕",
})
COLUMNS = ["序号", "姓名", "自然村", "类别/责任", "金额(元)"]


class NoticeError(NotAllowedError):
    """A notice request that cannot be done (bilingual message); nothing was changed."""


def mask_name(name: str) -> str:
    """Mask a name for a public list: keep the surname (and the last character from 3 characters on).

    张三 → 张*; 张小三 → 张*三; 欧阳锋 → 欧阳*; 欧阳小锋 → 欧阳*锋; 欧阳锋锋锋 → 欧阳**锋; 张 → 张.
    Compound surnames (:data:`COMPOUND_SURNAMES`) keep both characters.
    """
    name = (name or "").strip()
    n = len(name)
    if n <= 1:
        return name
    surname = name[:2] if n >= 3 and name[:2] in COMPOUND_SURNAMES else name[:1]
    rest = n - len(surname)
    if rest == 1:
        return surname + "*"
    return surname + "*" * (rest - 1) + name[-1]


def _line_names(document: dict[str, Any]) -> dict[str, str]:
    return {str(line.get("id")): str(line.get("name") or line.get("peril") or line.get("id"))
            for line in document.get("lines") or [] if isinstance(line, dict)}


def _claimant_names(session: Session, claims: Sequence[Claim]) -> dict[int, str]:
    """Claim id → the claimant's full name (person lines: the person; household lines: the head)."""
    id_nos = sorted({c.unit_id for c in claims if c.unit_type == "person"})
    households = sorted({c.household_no for c in claims})
    by_id: dict[str, str] = {}
    for part in chunks(id_nos):
        by_id.update(session.execute(select(Person.id_no, Person.name).where(Person.id_no.in_(part))).all())
    head: dict[str, str] = {}
    for part in chunks(households):
        rows = session.execute(select(Person.household_no, Person.name, Person.relation)
                               .where(Person.household_no.in_(part)).order_by(Person.id)).all()
        first: dict[str, str] = {}
        for hh, name, relation in rows:
            first.setdefault(hh, name)
            if is_head(relation):
                head.setdefault(hh, name)
        for hh, name in first.items():
            head.setdefault(hh, name)
    names: dict[int, str] = {}
    for c in claims:
        name = by_id.get(c.unit_id) if c.unit_type == "person" else head.get(c.household_no)
        names[c.id] = name or head.get(c.household_no) or ""
    return names


def _document(session: Session, policy_id: int) -> dict[str, Any]:
    doc = session.scalar(select(ProductVersion.document).join(Policy, Policy.product_version_id == ProductVersion.id)
                         .where(Policy.id == policy_id))
    if doc is None:
        raise NoticeError(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
    return doc


def notice_days(session: Session, policy_id: int) -> int:
    """The product document's ``notice_days`` for this policy (default 10): the shortest notice allowed."""
    return int(_document(session, policy_id).get("notice_days") or DEFAULT_NOTICE_DAYS)


def notice_required(session: Session, policy_id: int) -> bool:
    """Whether this policy's product posts a notice at all (document ``notice_required``, default true)."""
    return _document(session, policy_id).get("notice_required", True) is not False


def checked_days(session: Session, policy_id: int, days: int | None) -> int:
    """The notice period to use: the product's ``notice_days`` when not given; a shorter one is refused."""
    if not notice_required(session, policy_id):
        raise NoticeError(f"保单 {policy_id} 的产品无需公示（notice_required: false），已备案理赔由系统直接转为可支付 / "
                          f"the product of policy {policy_id} posts no notice (notice_required: false): its filed "
                          f"claims become payable without one (close-due)")
    minimum = notice_days(session, policy_id)
    if days is None:
        return minimum
    if int(days) < minimum:
        raise NoticeError(f"公示期不得少于产品规定的 {minimum} 天（申请 {int(days)} 天）/ a notice may not be shorter "
                          f"than the product's notice_days of {minimum} (asked for {int(days)} days)")
    return int(days)


def post_notice(session: Session, policy_id: int, village_code: str, actor: Actor, *, posted_on: dt.date,
                days: int | None = None, claim_ids: Sequence[int] | None = None,
                hotline: str | None = None) -> Notice:
    """Post the ``filed`` claims of one administrative village (or the given ones) on a new notice.

    Moves them filed → on_notice (action ``post_notice``: county reviewer or village clerk), writes one
    :class:`NoticeLine` snapshot per claim, sets ``claims.notice_id`` and resolves the claims' open
    objections (a re-posting is the answer to an objection); files each sheet's digest.  ``days`` defaults to
    the product's ``notice_days`` and may not be shorter (:func:`checked_days`); ``hotline`` to the county's
    (:func:`claims.lifecycle.villages.county_hotline`), the one its 明白卡 print too.
    """
    days = checked_days(session, policy_id, days)
    query = select(Claim).where(Claim.policy_id == policy_id)
    if claim_ids is None:
        query = query.where(Claim.village_code == village_code, Claim.state == "filed")
        claims = list(session.scalars(query.order_by(Claim.natural_village, Claim.id)))
    else:
        wanted = list(dict.fromkeys(int(i) for i in claim_ids))
        claims = []
        for part in chunks(wanted):
            claims += session.scalars(query.where(Claim.id.in_(part))).all()
        found = {c.id for c in claims}
        bad = [i for i in wanted if i not in found]
        bad += [c.id for c in claims if c.state != "filed" or c.village_code != village_code]
        if bad:
            raise NoticeError(f"以下理赔不是本村（{village_code}）已备案的理赔，未做任何更改 / claims not filed in "
                              f"village {village_code} (or not of policy {policy_id}); nothing changed: "
                              f"{sorted(bad)[:20]}")
        claims.sort(key=lambda c: (c.natural_village or "", c.id))
    if not claims:
        raise NoticeError(f"村 {village_code} 没有待公示（已备案）的理赔 / no filed claims to post in village "
                          f"{village_code}")
    line_names = _line_names(_document(session, policy_id))
    names = _claimant_names(session, claims)
    notice = Notice(policy_id=policy_id, village_code=village_code, posted_on=posted_on,
                    end_on=posted_on + dt.timedelta(days=days), days=days, state="posted",
                    hotline=hotline or county_hotline(session, village_code),
                    posted_by=actor.id)
    session.add(notice)
    session.flush()
    ids = [c.id for c in claims]
    advance(session, ids, "filed", "post_notice", actor, note=f"notice:{notice.id}")
    session.execute(insert(NoticeLine), [
        {"notice_id": notice.id, "claim_id": c.id, "masked_name": mask_name(names[c.id]),
         "natural_village": c.natural_village, "line_name": line_names.get(c.line_id, c.peril), "amount": c.amount}
        for c in claims])
    for part in chunks(ids):
        session.execute(update(Claim).where(Claim.id.in_(part)).values(notice_id=notice.id)
                        .execution_options(synchronize_session=False))
    resolve_objections(session, ids, actor)
    file_sheets(session, notice)
    session.expire_all()
    return notice


def resolve_objections(session: Session, claim_ids: Sequence[int], actor: Actor | None = None) -> int:
    """Mark the open objections of these claims resolved (re-posted or rejected) by ``actor`` (``resolved_by``
    and an audit event ``objection_resolved``); returns how many."""
    resolved: list[int] = []
    at = now()
    for part in chunks(list(claim_ids)):
        open_ids = session.scalars(select(Objection.id).where(Objection.claim_id.in_(part),
                                                              Objection.state == "open")).all()
        if open_ids:
            session.execute(update(Objection).where(Objection.id.in_(open_ids), Objection.state == "open")
                            .values(state="resolved", resolved_at=at, resolved_by=actor.id if actor else None)
                            .execution_options(synchronize_session=False))
            resolved += open_ids
    if resolved:
        record(session, actor.id if actor else None, "objection_resolved", f"objections:{len(resolved)}",
               {"objection_ids": resolved, "role": actor.role if actor else "system"},
               actor_name=actor.name if actor else None)
    return len(resolved)


def notice_table(session: Session, notice_id: int) -> pd.DataFrame:
    """Exactly what the notice shows: 序号, 姓名 (masked), 自然村, 类别/责任, 金额(元) (text, two decimals).

    ``df.attrs`` holds the header: village_code, posted_on, end_on, days, hotline, total.
    """
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NoticeError(f"公示 {notice_id} 不存在 / notice {notice_id} does not exist")
    lines = session.scalars(select(NoticeLine).where(NoticeLine.notice_id == notice_id)
                            .order_by(NoticeLine.natural_village, NoticeLine.id)).all()
    df = pd.DataFrame([[i, ln.masked_name, ln.natural_village or "", ln.line_name, f"{ln.amount:.2f}"]
                       for i, ln in enumerate(lines, 1)], columns=COLUMNS)
    df.attrs.update(village_code=notice.village_code, posted_on=notice.posted_on, end_on=notice.end_on,
                    days=notice.days, hotline=notice.hotline,
                    total=sum((ln.amount for ln in lines), start=Decimal("0.00")))
    return df


def record_objection(session: Session, claim_id: int, actor: Actor, text: str, *,
                     notice_id: int | None = None) -> Objection:
    """Record an objection against a claim on notice (village clerk): the claim goes to ``disputed``.

    Given ``notice_id`` (the notice the objection was raised at), the claim must be on that notice."""
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NoticeError(f"理赔 {claim_id} 不存在 / claim {claim_id} does not exist")
    if notice_id is not None and claim.notice_id != notice_id:
        raise NoticeError(f"理赔 {claim_id} 不在公示 {notice_id} 上 / claim {claim_id} is not on notice {notice_id}")
    if claim.state != "on_notice" or claim.notice_id is None:
        raise NoticeError(f"理赔 {claim_id} 不在公示期内，不能登记异议 / claim {claim_id} is not on notice "
                          f"(state {claim.state!r}); an objection can only be recorded during the notice")
    if not (text or "").strip():
        raise NoticeError("异议内容不能为空 / the objection text is empty")
    if actor.id is not None:
        villages = set(session.scalars(select(UserVillage.village_code).where(UserVillage.user_id == actor.id)))
        if villages and claim.village_code not in villages:
            raise NoticeError(f"该用户不负责村 {claim.village_code} / user is not a clerk of village "
                              f"{claim.village_code}")
    on_notice = claim.notice_id
    advance(session, [claim_id], "on_notice", "object", actor, note=text[:500])
    objection = Objection(notice_id=on_notice, claim_id=claim_id, recorded_by=actor.id, text=text)
    session.add(objection)
    session.flush()
    session.expire_all()
    return objection


def close_due(session: Session, *, today: dt.date, policies: Any = None) -> dict[str, int]:
    """Close notices whose period is over (``end_on < today``): their claims still on notice with no
    open objection → payable (system, action ``notice_ended``); a notice with nothing left on notice
    becomes ``ended``.  Filed claims of products without a notice become payable too
    (:func:`release_without_notice`).  ``policies`` (ids, or a SELECT of them: a user's scope) limits it to those policies'
    notices.  Returns ``{"notices_closed": n, "claims_payable": m}``."""
    at = dt.datetime.combine(today, dt.time())
    query = select(Notice).where(Notice.state == "posted", Notice.end_on < today)
    if policies is not None:
        query = query.where(Notice.policy_id.in_(policies))
    due = session.scalars(query.order_by(Notice.id)).all()
    closed = payable = 0
    for notice in due:
        open_obj = select(Objection.claim_id).where(Objection.state == "open")
        ids = list(session.scalars(select(Claim.id).where(Claim.notice_id == notice.id, Claim.state == "on_notice",
                                                          Claim.id.not_in(open_obj))))
        if ids:
            payable += advance(session, ids, "on_notice", "notice_ended", SYSTEM, note=f"notice:{notice.id}", at=at)
        left = session.scalar(select(func.count()).select_from(Claim)
                              .where(Claim.notice_id == notice.id, Claim.state == "on_notice"))
        if not left:
            notice.state = "ended"
            closed += 1
    payable += release_without_notice(session, policies=policies, at=at)
    session.flush()
    return {"notices_closed": closed, "claims_payable": payable}


def release_without_notice(session: Session, *, policies: Any = None, at: dt.datetime | None = None) -> int:
    """Filed claims of products that post no notice (``notice_required: false``) → payable (system, action
    ``release_without_notice``); ``policies`` limits it as in :func:`close_due`.  Returns how many moved."""
    query = select(Policy.id, ProductVersion.document).join(ProductVersion,
                                                            Policy.product_version_id == ProductVersion.id)
    if policies is not None:
        query = query.where(Policy.id.in_(policies))
    exempt = [pid for pid, doc in session.execute(query).all() if (doc or {}).get("notice_required", True) is False]
    moved = 0
    for policy_id in exempt:
        ids = list(session.scalars(select(Claim.id).where(Claim.policy_id == policy_id, Claim.state == "filed")))
        if ids:
            moved += advance(session, ids, "filed", "release_without_notice", SYSTEM, note="notice_required:false",
                             at=at)
    return moved


__all__ = ["COLUMNS", "COMPOUND_SURNAMES", "NoticeError", "checked_days", "close_due", "mask_name", "notice_days",
           "notice_required", "notice_table", "post_notice", "record_objection",
           "release_without_notice", "resolve_objections"]
