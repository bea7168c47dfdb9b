"""``relief year``: generate a county and run its policy year month by month, stateless (files only).

The engine's job in miniature: twelve monthly runs of the 防贫保 catalog product, each paying only what is
newly due, then the year's claims files — and the check that the twelve payments equal one yearly run.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import click
import pandas as pd

from claims.engine.cycle import run_monthly
from claims.engine.files import calculate, expand, load_inputs, write_outputs
from claims.reports import DEPARTMENTS
from claims.synth import synth_county
from flask_app.cli.common import ProgressLine, money, print_summary, progress_option
from products import load_product

MONTH_FILE = re.compile(r"(\d{4})-(\d{2})")


@click.command()
@click.option("--people", default=20_000, show_default=True, type=click.IntRange(min=100),
              help="模拟县人数 / people in the synthetic county")
@click.option("--out", "out_dir", default="relief-year", show_default=True, type=click.Path(file_okay=False),
              help="输出目录 / output directory")
@click.option("--seed", default=20250101, show_default=True)
@click.option("--product", "product_path", default="fangpinbao-weixian-2025", show_default=True)
@click.option("--quiet", is_flag=True, help="不显示进度 / no stage messages")
@progress_option
def year(people: int, out_dir: str, seed: int, product_path: str, quiet: bool, show_progress: bool | None) -> None:
    """逐月计算一个保险年度（无数据库）/ A synthetic county's policy year, month by month (no database)."""
    say = ProgressLine.for_options(quiet, show_progress)
    out = Path(out_dir)
    product = load_product(product_path)
    started = time.perf_counter()
    click.echo(f"生成模拟县 / generating a synthetic county of {people:,} people (seed {seed}) …")
    synth_county(out / "county", people, seed=seed, year=product.year, county=product.county)
    county = out / "county"
    specs = [(d, f, label) for d in DEPARTMENTS if (county / d).is_dir() for f, label in expand(county / d)]
    inputs = load_inputs(county / "persons.csv", county / "households.csv", specs, progress=say)
    say.close()

    # split each department's rows into the month of the file they came from (files are named YYYY-MM)
    months: list[dict[str, pd.DataFrame]] = [{} for _ in range(12)]
    for dept, frames in inputs.reports.items():
        rows = pd.concat(frames, ignore_index=True)
        month = rows["source_file"].str.extract(MONTH_FILE.pattern)[1].fillna("12").astype(int) - 1
        for m, part in rows.groupby(month):
            months[int(m)][dept] = part

    click.echo(f"{product.name} [{product.code}]，逐月计算 / monthly runs:")
    click.echo("  月份 month | 新报告行 new rows | 本月应付笔数 claims due | 本月应付 due this month")

    def on_month(i: int, result) -> None:  # noqa: ANN001 - CalcResult
        new_rows = sum(len(f) for f in months[i].values())
        click.echo(f"  {product.year}-{i + 1:02d}   | {new_rows:>10,} | {result.summary['claims_due']:>10,} | "
                   f"{money(result.summary['total_due']):>16}")

    results, paid = run_monthly(product, inputs.persons, inputs.households, months, on_month=on_month)
    # the year's position: one run on everything with nothing paid = the yearly entitlement, checked against
    # the sum of the twelve monthly payments
    year = calculate(product, inputs)
    write_outputs(year, product, out / "results")
    paid_total = int(paid["paid"].sum()) if len(paid) else 0
    click.echo("")
    print_summary(year.summary, {line.id: line.name for line in product.lines})
    click.echo(f"十二个月支付合计 / paid over 12 monthly runs: {money(paid_total)}"
               f"  {'= 年度一次计算 / equals the yearly run' if paid_total == year.summary['total_due'] else '≠ yearly run!'}")
    click.echo(f"结果 / results: {out / 'results'}/claims.csv, exceptions.csv  ({time.perf_counter() - started:.1f}s)")
