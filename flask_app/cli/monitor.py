"""``relief monitor``: stateless 防贫监测 — product + roster + reports → watchlist.csv (the early-warning list)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from claims.engine.files import InputError, load_inputs, parse_report_specs
from claims.engine.monitoring import assess_households, early_warning_list, write_watchlist
from claims.reports import ReportFileError
from flask_app.cli.common import fail
from products import ProductError, load_product
from products.roster import RosterError
from tabular.files import TableError


def _roster_files(roster: str | None, persons: str | None, households: str | None) -> tuple[Path, Path]:
    """``--roster DIR`` (its persons.* and households.*) or ``--persons`` with ``--households``."""
    if roster is None:
        if not (persons and households):
            raise InputError("需要 --roster 目录，或 --persons 与 --households / give --roster DIR, or --persons and "
                             "--households")
        return Path(persons), Path(households)
    folder = Path(roster)

    def one(stem: str) -> Path:
        found = sorted(p for p in folder.glob(f"{stem}.*") if p.is_file())
        if not found:
            raise InputError(f"{folder} 中没有 {stem}.csv / no {stem} file in {folder}")
        return found[0]
    return one("persons"), one("households")


@click.command()
@click.option("--product", "product_path", required=True,
              help="产品定义 YAML/JSON，或目录中的名称 / product document, or a catalog name")
@click.option("--roster", type=click.Path(exists=True, file_okay=False),
              help="参保名单目录（persons.csv、households.csv）/ roster folder holding persons.csv and households.csv")
@click.option("--persons", type=click.Path(exists=True, dir_okay=False), help="人员名单 / persons file")
@click.option("--households", type=click.Path(exists=True, dir_okay=False), help="户名单 / households file")
@click.option("--report", "reports", multiple=True, metavar="DEPT=FILE",
              help="部门报告（可多次；FILE 可为目录）/ department report, repeatable; FILE may be a directory")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="截至日期（默认：全部报告行）/ count rows dated up to this day (default: every row)")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出目录 / output directory")
def monitor(product_path: str, roster: str | None, persons: str | None, households: str | None,
            reports: tuple[str, ...], as_of: dt.datetime | None, out_dir: str) -> None:
    """防贫监测预警名单（无状态）/ The early-warning list of 防贫监测 from files (stateless): watchlist.csv."""
    try:
        product = load_product(product_path)
        persons_file, households_file = _roster_files(roster, persons, households)
        inputs = load_inputs(persons_file, households_file, parse_report_specs(reports))
    except (ProductError, RosterError, ReportFileError, TableError, InputError) as exc:
        fail(str(exc))
    assessed = assess_households(product, inputs.persons, inputs.households, inputs.reports,
                                 as_of.date() if as_of else None)
    listed = early_warning_list(assessed)
    path = write_watchlist(listed, Path(out_dir) / "watchlist.csv")
    counts = listed["grade"].value_counts()
    grades = "，".join(f"{g.name} {int(counts.get(g.name, 0))}" for g in product.monitoring.grades)
    click.echo(f"{product.name} [{product.code}]  →  {path}")
    click.echo(f"预警名单 / early-warning list: {len(listed)} 户 / households（{grades}）；"
               f"已越线转理赔 / crossed into a claim: {int(assessed['crossed'].sum())}")
