"""Shared bits of the CLI: bilingual error exits, amounts for people, stage messages on a terminal."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click


def open_db(url: str | None = None) -> Any:
    """A session factory on ``url`` (or ``DATABASE_URL``, or the embedded SQLite default)."""
    from claims.database import make_engine, session_factory

    return session_factory(make_engine(url))


database_option = click.option("--database", "database_url", envvar="DATABASE_URL", default=None,
                               help="数据库 URL（默认嵌入式 SQLite）/ database URL (default: embedded SQLite)")


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"错误 / error: {message}", err=True)
    sys.exit(code)


def money(fen: int) -> str:
    """Amounts for people: ¥1,234,567.89."""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def stage_printer(quiet: bool = False) -> Any:
    """Stage messages to stderr when it is a terminal (silent in pipes and CI logs unless asked)."""
    if quiet or not sys.stderr.isatty():
        return lambda _msg: None
    return lambda msg: click.echo(f"… {msg}", err=True)


def print_summary(summary: dict[str, Any], lines: dict[str, str]) -> None:
    """Rows read, claims, total due, by line, exceptions by reason."""
    click.echo(f"读取报告行 / report rows read: {summary.get('rows_read_total', summary.get('rows_in', 0)):,}")
    for dept, n in summary.get("rows_read", {}).items():
        click.echo(f"  {dept}: {n:,}")
    click.echo(f"理赔记录 / claims (unit × line): {summary['claims']:,}   本次应付笔数 / with amount due: "
               f"{summary['claims_due']:,}")
    click.echo(f"应赔合计 / total entitlement: {money(summary['total_entitlement'])}   已付 / paid before: "
               f"{money(summary['total_paid_before'])}")
    click.echo(f"本次应付合计 / total due now: {money(summary['total_due'])}")
    for line_id, row in summary.get("by_line", {}).items():
        click.echo(f"  {lines.get(line_id, line_id)} [{line_id}]: {row['claims']:,} 笔 / claims, 应付 / due "
                   f"{money(row['due'])}")
    ex = summary.get("exceptions", {})
    click.echo(f"异常 / exceptions: {sum(ex.values()):,}")
    for reason, n in sorted(ex.items(), key=lambda kv: -kv[1]):
        click.echo(f"  {reason}: {n:,}")
