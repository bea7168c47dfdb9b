"""``relief import --department medical FILE``: store a department file and recompute its claims.

``--mapping FILE`` (YAML/JSON, :mod:`claims.reports.mapping`) names the file's headers for the
department's columns; without it a file whose required columns are not recognised is read with the
saved mapping profile that fits its header row (:mod:`claims.lifecycle.mapping_profiles`), as on the web page."""

from __future__ import annotations

import click

from flask_app.cli.common import ProgressLine, database_option, default_policy, fail, open_db, progress_option
from products.model import SOURCES

ALREADY_IMPORTED = 3


@click.command("import")
@click.option("--department", required=True,
              type=click.Choice(list(SOURCES)),
              help="报送部门 / reporting department")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--policy", "policy_id", type=int, default=None, help="保单号（仅一张时可省略）/ policy id")
@click.option("--user", "username", default=None, help="操作用户名 / importing user (default: system)")
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
    from claims.lifecycle.transitions import SYSTEM
    from claims.lifecycle.users import UserError, actor_of, get_user
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
    actor = SYSTEM
    if username:
        try:
            with factory() as session:
                actor = actor_of(get_user(session, username))
        except UserError as exc:
            fail(str(exc))
    say = ProgressLine(show_progress)
    try:
        done = import_mapped(factory, policy, department, file, actor=actor, period=period, columns=columns,
                             progress=say)
    except AlreadyImportedError as exc:
        say.close()
        fail(str(exc), ALREADY_IMPORTED)
    except (ImportRefusedError, ReportFileError) as exc:
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
