"""``relief synth``: a realistic synthetic county (roster + a year of monthly department reports)."""

from __future__ import annotations

import time

import click

from claims.synth import synth_county

from .common import stage_printer


@click.command()
@click.option("--county", "people", required=True, type=click.IntRange(min=10),
              help="人数 / number of insured people (N_PEOPLE)")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出目录 / output directory")
@click.option("--seed", default=20250101, show_default=True, help="随机种子 / random seed (same seed, same files)")
@click.option("--year", default=2025, show_default=True, help="保险年度 / policy year")
@click.option("--county-code", default="130434", show_default=True, help="6 位区划代码 / 6-digit county code")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@click.option("--quiet", is_flag=True)
def synth(people: int, out_dir: str, seed: int, year: int, county_code: str, fmt: str, quiet: bool) -> None:
    """生成模拟县数据 / Generate a synthetic county for demos, tests and benchmarks."""
    say = stage_printer(quiet)
    start = time.perf_counter()
    manifest = synth_county(out_dir, people, seed=seed, year=year, county=county_code, fmt=fmt,
                            progress=lambda stage, done, total: say(f"{stage} {done}/{total}"))
    click.echo(f"模拟县 / synthetic county {county_code} ({year}): {manifest['people']:,} 人 / people, "
               f"{manifest['households']:,} 户 / households → {out_dir}  ({time.perf_counter() - start:.1f}s)")
    for dept, n in manifest.get("rows", {}).items():
        click.echo(f"  {dept}: {n:,} 行 / rows")
