"""``relief villages import|list|set-hotline``: the village registry (村名录: 行政村 and 乡镇 names by code) and
the county's one hotline (:mod:`claims.lifecycle.villages`)."""

from __future__ import annotations

from pathlib import Path

import click

from flask_app.cli.common import database_option, fail, open_db


@click.group()
def villages() -> None:
    """村名录与县热线 / the village registry and the county's hotline."""


@villages.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@database_option
def import_(path: Path, database_url: str | None) -> None:
    """导入村名录（村代码、村名、乡镇名；CSV 或 Excel）/ import a villages file (code, village, township)."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.villages import import_villages
    from flask_app.cli.audit import operator
    from tabular.errors import ReliefError

    try:
        with transaction(open_db(database_url)) as s:
            counts = import_villages(s, path, path.name, actor_name=operator())
    except ReliefError as exc:
        fail(str(exc))
    click.echo(f"村名录 / villages: {counts['villages']} 个村 read, {counts['divisions_created']} 新建 created, "
               f"{counts['divisions_renamed']} 改名 renamed")


@villages.command("list")
@click.option("--county", default=None, help="县代码（6 位，默认全部）/ county code (6 digits; default all)")
@database_option
def list_(county: str | None, database_url: str | None) -> None:
    """列出村名录（村代码、村名、乡镇）/ list the registry: code, village, township."""
    from claims.lifecycle.villages import county_hotline
    from claims.lifecycle.villages import villages as registry

    with open_db(database_url)() as s:
        rows = registry(s, county)
        hotlines = {v.code[:6]: county_hotline(s, v.code) for v in rows}
    if not rows:
        fail("村名录为空 / no village is known" + (f" in county {county}" if county else ""))
    click.echo("村代码\t村名\t乡镇代码\t乡镇")
    for v in rows:
        click.echo(f"{v.code}\t{v.name}\t{v.township_code}\t{v.township_name}")
    for code, hotline in sorted(hotlines.items()):
        click.echo(f"县 {code} 热线 / hotline: {hotline or '未设置（12317）/ not set (12317)'}")


@villages.command("set-hotline")
@click.argument("county")
@click.argument("hotline")
@database_option
def set_hotline(county: str, hotline: str, database_url: str | None) -> None:
    """设置县咨询、申报、监督电话（公示与明白卡共用；"" 清除）/ set the county's one hotline ("" clears it)."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.villages import set_hotline as set_county_hotline
    from flask_app.cli.audit import operator
    from tabular.errors import ReliefError

    try:
        with transaction(open_db(database_url)) as s:
            row = set_county_hotline(s, county, hotline, actor_name=operator())
            shown = row.hotline
    except ReliefError as exc:
        fail(str(exc))
    click.echo(f"县 {county} 热线 / hotline: {shown or '已清除 / cleared'}")
