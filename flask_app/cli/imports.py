"""``relief import --department medical FILE``: store a department file and recompute its claims.

``--mapping FILE`` (YAML/JSON, :mod:`claims.reports.mapping`) names the file's headers for the
department's columns; without it a file whose required columns are not recognised is read with the
saved mapping profile that fits its header row (:mod:`claims.lifecycle.mapping_profiles`), as on the web page."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from flask_app.cli.audit import operator
from flask_app.cli.common import ProgressLine, database_option, default_policy, fail, open_db, progress_option
from products.eligibility import CountyMismatchError
from products.model import SOURCES

ALREADY_IMPORTED = 3


def _importer(factory: Any, username: str | None) -> Any:
    """Who imports: ``--user`` (a user of the database); else, on a terminal, the name asked for (a user);
    else ``RELIEF_USER`` or the OS login name — a user when one has that name, otherwise recorded as the
    operator's name on the batch (``imported_by_name``) with the system's role.  No name at all: refused."""
    from claims.lifecycle.transitions import SYSTEM
    from claims.lifecycle.users import UserError, actor_of, get_user

    if username is None and sys.stdin.isatty():
        username = click.prompt("导入用户 / importing user", default=operator() or None)
    name = username or operator()
    if not name:
        fail("导入须有操作用户：请用 --user 或设置 RELIEF_USER / an import needs a user: give --user or set RELIEF_USER")
    try:
        with factory() as session:
            return actor_of(get_user(session, name))
    except UserError as exc:
        if username:
            fail(str(exc))
    return dataclasses.replace(SYSTEM, name=name)


@click.command("import")
@click.option("--department", required=True,
              type=click.Choice(list(SOURCES)),
              help="报送部门 / reporting department")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--policy", "policy_id", type=int, default=None, help="保单号（仅一张时可省略）/ policy id")
@click.option("--user", "username", default=None,
              help="操作用户名（省略时：终端上询问；否则取 RELIEF_USER 或系统登录名）/ importing user (if left out: "
                   "asked on a terminal, else RELIEF_USER or the OS login name)")
@click.option("--period", default=None, help="报送期间，如 2025-03 / reporting period, e.g. 2025-03")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False),
              help="列映射 YAML/JSON（部门的列 → 文件表头）/ column mapping YAML/JSON (columns → the file's headers)")
@database_option
@progress_option
def import_(department: str, file: str, policy_id: int | None, username: str | None, period: str | None,
            mapping_path: str | None, database_url: str | None, show_progress: bool | None) -> None:
    """导入部门报告并重新计算理赔 / Import a department report and recompute the claims it touches."""
    from claims.lifecycle.imports import AlreadyImportedError, ImportRefusedError
    from claims.lifecycle.mapping_profiles import import_mapped
    from claims.reports import ReportFileError
    from claims.reports.mapping import MappingError, load_mapping

    columns = None
    if mapping_path:
        try:
            columns = load_mapping(mapping_path).get(department)
        except MappingError as exc:
            fail(str(exc))
        if columns is None:
            fail(f"映射文件 {mapping_path} 中没有部门 {department} / the mapping file {mapping_path} has no "
                 f"department {department}")
    factory = open_db(database_url)
    policy = default_policy(factory, policy_id)
    actor = _importer(factory, username)
    say = ProgressLine(show_progress)
    try:
        done = import_mapped(factory, policy, department, file, actor=actor, period=period, columns=columns,
                             progress=say)
    except AlreadyImportedError as exc:
        say.close()
        fail(str(exc), ALREADY_IMPORTED)
    except (ImportRefusedError, ReportFileError, CountyMismatchError) as exc:
        say.close()
        fail(str(exc))
    say.close()
    r = done.result
    click.echo(f"批次 / batch: {r.batch_id}")
    if done.profile:
        click.echo(f"列映射 / columns read with mapping profile: {done.profile}")
    click.echo(f"读取 / rows read: {r.rows_read:,}   入库 / stored: {r.rows_stored:,}   异常 / exceptions: "
               f"{r.rows_exception:,}   重复 / duplicates: {r.rows_duplicate:,}   更正 / corrections: "
               f"{r.rows_corrected:,}")
    click.echo(f"理赔 / claims: 新建 / created {r.claims_created:,}   更新 / updated {r.claims_updated:,}   "
               f"撤回 / withdrawn {r.claims_withdrawn:,}")
