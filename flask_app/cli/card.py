"""``relief card``: the 明白卡 of a household, or the policy summary of a policy's product version, as PDF."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from flask_app.cli.common import database_option, fail, open_db


@click.command()
@click.option("--household", "household_no", default=None, help="户编号：生成该户的明白卡 / household number: its 明白卡")
@click.option("--policy", "policy_id", type=int, default=None,
              help="保单号（明白卡默认取该户所在县最新保单；单独使用时生成保障方案摘要）/ policy id (alone: its summary)")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="输出 PDF 文件 / the PDF file to write")
@click.option("--hotline", default=None, help="县级咨询电话（另列全国 12317）/ the county's hotline (12317 is always listed)")
@click.option("--html", "as_html", is_flag=True, help="输出 HTML 而非 PDF / write the HTML page instead of a PDF")
@click.option("--date", "issued", default=None, help="发放日期 / issue date YYYY-MM-DD (default today)")
@database_option
def card(household_no: str | None, policy_id: int | None, out: Path, hotline: str | None, as_html: bool,
         issued: str | None, database_url: str | None) -> None:
    """明白卡与保障方案摘要 / a household's 明白卡 (--household) or a policy's summary (--policy)."""
    from claims.lifecycle.household_cards import default_policy, household_card, summary_for_policy
    from flask_app.documents import NoCjkFontError, card_html, summary_html, to_pdf
    from tabular.errors import ReliefError

    if household_no is None and policy_id is None:
        fail("请给出 --household 或 --policy / give --household (a 明白卡) or --policy (a policy summary)")
    try:
        day = dt.date.fromisoformat(issued) if issued else dt.date.today()
    except ValueError:
        fail(f"日期格式应为 YYYY-MM-DD / --date must be YYYY-MM-DD: {issued!r}")
    try:
        with open_db(database_url)() as s:
            if household_no is not None:
                pid = policy_id if policy_id is not None else default_policy(s, household_no)
                html = card_html(household_card(s, household_no, pid, hotline=hotline, issued_on=day))
                what = f"明白卡 / card of household {household_no} (policy {pid})"
            else:
                html = summary_html(summary_for_policy(s, policy_id, hotline=hotline))
                what = f"保障方案摘要 / summary of policy {policy_id}"
        out.write_bytes(html.encode("utf-8") if as_html else to_pdf(html))
    except NoCjkFontError as exc:
        fail(str(exc), code=3)
    except ReliefError as exc:
        fail(str(exc))
    click.echo(f"{what}: {out}")
