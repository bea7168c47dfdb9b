"""``relief notice``: post a village's filed claims on a public notice (公示), close ended notices."""

from __future__ import annotations

import datetime as dt

import click

from flask_app.cli.common import actor_for, database_option, fail, money, open_db


def _date(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD: {value!r}")


@click.group()
def notice() -> None:
    """公示：张贴与期满 / public notice: post and close."""


@notice.command("post")
@click.option("--village", required=True, help="行政村代码（12位）/ administrative village code (12 digits)")
@click.option("--date", "posted", default=None, help="张贴日期 / posting date YYYY-MM-DD (default today)")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="公示天数（默认取产品设置，10天）/ notice days (default: the product's, 10)")
@click.option("--user", "username", required=True, help="县或村用户 / county reviewer or village clerk")
@click.option("--policy", "policy_id", type=int, default=None,
              help="保单号（该村只有一个保单有待公示理赔时可省略）/ policy id")
@click.option("--hotline", default=None, help="监督电话 / hotline shown on the notice")
@database_option
def post(village: str, posted: str | None, days: int | None, username: str, policy_id: int | None,
         hotline: str | None, database_url: str | None) -> None:
    """张贴一个行政村的已备案理赔 / post a village's filed claims."""
    from sqlalchemy import select

    from claims.lifecycle.database import transaction
    from claims.lifecycle.models import Claim
    from claims.lifecycle.notices import notice_table, post_notice

    posted_on = _date(posted)
    factory = open_db(database_url)
    try:
        with transaction(factory) as s:
            actor = actor_for(s, username)
            if policy_id is None:
                ids = sorted(set(s.scalars(select(Claim.policy_id).where(Claim.village_code == village,
                                                                         Claim.state == "filed"))))
                if len(ids) != 1:
                    fail(f"请用 --policy 指定保单 / give --policy: village {village} has filed claims in "
                         f"policies {ids or 'none'}")
                policy_id = ids[0]
            n = post_notice(s, policy_id, village, actor, posted_on=posted_on, days=days, hotline=hotline)
            table = notice_table(s, n.id)
    except ValueError as exc:  # NoticeError, TransitionError, ConflictError
        fail(str(exc))
    click.echo(f"公示 / notice {n.id}: 村 village {village}, {table.attrs['posted_on']} → {table.attrs['end_on']} "
               f"({table.attrs['days']} 天 / days); {len(table):,} 笔 / claims, 合计 / total "
               f"{money(int(table.attrs['total'] * 100))}")
    click.echo(f"期满次日可支付 / payable from {table.attrs['end_on'] + dt.timedelta(days=1)}")


@notice.command("close-due")
@click.option("--today", default=None, help="今天 / today YYYY-MM-DD (default: the real date)")
@database_option
def close_due_cmd(today: str | None, database_url: str | None) -> None:
    """公示期满的理赔转为可支付 / move claims of ended notices to payable."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.notices import close_due

    day = _date(today)
    try:
        with transaction(open_db(database_url)) as s:
            result = close_due(s, today=day)
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"{day}: 期满公示 / notices closed {result['notices_closed']:,}; 转为可支付 / claims now payable "
               f"{result['claims_payable']:,}")


@notice.command("verify")
@click.argument("digest_or_file")
@database_option
def verify_cmd(digest_or_file: str, database_url: str | None) -> None:
    """核对公示清单校验码（或清单文件）是否已备案 / was a list with this digest (or this file's SHA-256) filed?

    Exit 0 when filed, 1 when not."""
    from pathlib import Path

    from claims.lifecycle.notice_sheets import file_digest, verify_digest

    path = Path(digest_or_file)
    digest = file_digest(path.read_bytes()) if path.is_file() else digest_or_file.strip().lower()
    with open_db(database_url)() as s:
        found = verify_digest(s, digest)
    if found is None:
        click.echo(f"未备案 / not filed: no list with digest {digest} was filed")
        raise SystemExit(1)
    where = found["village_name"] + (f" {found['natural_village']}" if found["natural_village"] else "")
    click.echo(f"已备案 / filed: {found['title']} {where} ({found['village_code']}), 公示 / notice {found['notice_id']} "
               f"{found['posted_on']} → {found['end_on']}; 备案 / filed at {found['filed_at']:%Y-%m-%d %H:%M}; "
               f"{found['rows']:,} 笔 / rows, 合计 / total {money(int(found['total'] * 100))}")


@notice.command("record-posting")
@click.argument("notice_id", type=int)
@click.option("--place", required=True, help="张贴地点 / where it was posted (e.g. 张庄自然村公告栏)")
@click.option("--at", "posted", default=None, help="张贴时间 / when, YYYY-MM-DD[THH:MM] (default now)")
@click.option("--user", "username", required=True, help="张贴人（县或村用户）/ who posted it")
@click.option("--photo", type=click.Path(exists=True, dir_okay=False), default=None,
              help="现场照片 JPEG/PNG（≤5 MB）/ a photo of the posted notice")
@database_option
def record_posting_cmd(notice_id: int, place: str, posted: str | None, username: str, photo: str | None,
                       database_url: str | None) -> None:
    """登记公示张贴记录 / record that a notice was posted (who, when, where, photo)."""
    from pathlib import Path

    from claims.lifecycle.database import transaction
    from claims.lifecycle.notice_postings import PHOTO_MAX_BYTES
    from claims.lifecycle.notice_sheets import record_posting

    try:
        at = dt.datetime.fromisoformat(posted) if posted else dt.datetime.now().replace(microsecond=0)
    except ValueError:
        fail(f"时间格式应为 YYYY-MM-DD[THH:MM] / --at must be YYYY-MM-DD[THH:MM]: {posted!r}")
    data = None
    if photo is not None:
        with Path(photo).open("rb") as fh:
            data = fh.read(PHOTO_MAX_BYTES + 1)
    try:
        with transaction(open_db(database_url)) as s:
            actor = actor_for(s, username)
            if actor.role not in ("county_reviewer", "village_clerk"):
                fail(f"只有县或村用户可以登记张贴 / only a county reviewer or village clerk records a posting "
                     f"({username} is {actor.role})")
            row = record_posting(s, notice_id, place=place, posted_at=at, posted_by=actor.id,
                                 posted_by_name=actor.name or username, photo=data)
            posting_id = row.id
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"张贴记录 / posting {posting_id}: 公示 / notice {notice_id}, {place}, {at:%Y-%m-%d %H:%M}"
               + (" (照片 / photo)" if data else ""))
