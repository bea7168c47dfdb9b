"""Shared bits of the CLI: bilingual error exits, amounts for people, and the one progress line every
command shows on a terminal (:class:`ProgressLine`)."""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, NoReturn

import click


def open_db(url: str | None = None) -> Any:
    """A session factory on ``url`` (or ``DATABASE_URL``, or the embedded SQLite default)."""
    from claims.lifecycle.database import make_engine, session_factory

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


progress_option = click.option(
    "--progress/--no-progress", "show_progress", default=None,
    help="显示进度（默认：仅在终端上）/ show progress (default: only when stderr is a terminal)")


class ProgressLine:
    """The CLI's one progress mechanism: an updating line on stderr, ``… stage 1,200/4,000 (30 %)  [2.1 s]``,
    rewritten in place with ``\r``.

    On by default only when stderr is a terminal (quiet in pipes, CI logs and under ``CliRunner``);
    ``enabled`` forces it on or off (``--progress/--no-progress``; ``--quiet`` passes False).  Call it with a
    message (``progress("reading medical …")``) or, as the synth generator and the backtest do, with
    ``(stage, done, total)``; :meth:`close` ends the line before the command prints its results.
    """

    def __init__(self, enabled: bool | None = None, *, stream: Any = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else bool(enabled)
        self.start = time.perf_counter()
        self.width = 0

    @classmethod
    def for_options(cls, quiet: bool, show_progress: bool | None) -> ProgressLine:
        """The line of a command with ``--quiet`` and ``--progress/--no-progress``: quiet wins."""
        return cls(False if quiet else show_progress)

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        if not self.enabled:
            return
        text = stage
        if done is not None:
            text += f" {done:,}" + (f"/{total:,}" if total else "")
            if total:
                text += f" ({100 * done / total:.0f} %)"
        text = f"… {text}  [{time.perf_counter() - self.start:.1f} s]"
        columns = shutil.get_terminal_size((120, 20)).columns
        text = text[: max(columns - 1, 20)]
        self.stream.write("\r" + text + " " * max(self.width - len(text), 0))
        self.stream.flush()
        self.width = len(text)

    def close(self) -> None:
        if self.enabled and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


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
    if summary.get("claims_overpaid"):
        click.echo(f"多付待追回 / overpaid, to recover: {summary['claims_overpaid']:,} 笔 / claims, "
                   f"{money(summary['total_overpaid'])}")
    for line_id, row in summary.get("by_line", {}).items():
        click.echo(f"  {lines.get(line_id, line_id)} [{line_id}]: {row['claims']:,} 笔 / claims, 应付 / due "
                   f"{money(row['due'])}")
    ex = summary.get("exceptions", {})
    by_severity = summary.get("exceptions_by_severity", {})
    click.echo(f"异常 / exceptions: {sum(ex.values()):,}"
               + (f"（错误 error {by_severity.get('error', 0):,}，提示 warning {by_severity.get('warning', 0):,}，"
                  f"记录 info {by_severity.get('info', 0):,}）" if by_severity else ""))
    for reason, n in sorted(ex.items(), key=lambda kv: -kv[1]):
        click.echo(f"  {reason}: {n:,}")


def default_policy(factory: Any, policy_id: int | None) -> int:
    """The given policy, or the only one in the database (an error when there are none or several)."""
    from sqlalchemy import select

    from claims.lifecycle.store import Policy

    with factory() as session:
        ids = list(session.scalars(select(Policy.id).order_by(Policy.id)))
    if policy_id is not None:
        if policy_id not in ids:
            fail(f"保单 {policy_id} 不存在 / policy {policy_id} does not exist")
        return policy_id
    if not ids:
        fail("数据库中没有保单，请先运行 relief setup / no policy in the database; run relief setup first")
    if len(ids) > 1:
        fail(f"数据库中有多张保单（{', '.join(map(str, ids))}），请用 --policy 指定 / several policies in the "
             f"database ({', '.join(map(str, ids))}); choose one with --policy")
    return ids[0]


def actor_for(session: Any, username: str) -> Any:
    """The acting user's Actor (id, role, approval limit); exits with a bilingual error if unknown."""
    from sqlalchemy import select

    from claims.lifecycle.models import User
    from claims.lifecycle.transitions import Actor

    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        fail(f"用户 {username} 不存在或已停用 / user {username!r} does not exist or is inactive")
    return Actor.of(user)


policy_option = click.option("--policy", "policy_id", type=int, default=None,
                             help="保单号（仅一张时可省略）/ policy id (optional when there is one)")
user_option = click.option("--user", "username", required=True, help="操作用户名 / acting user")
