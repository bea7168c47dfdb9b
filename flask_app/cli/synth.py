"""``relief synth``: a realistic synthetic county (roster + a year of monthly department reports), or a
province (millions of people, tens of millions of medical settlement rows, written chunk by chunk)."""

from __future__ import annotations

import time

import click

from claims.synth import synth_county, synth_province
from flask_app.cli.common import ProgressLine, fail, progress_option


@click.command()
@click.option("--county", "people", type=click.IntRange(min=10), default=None,
              help="人数 / number of insured people of one county (N_PEOPLE)")
@click.option("--people", "province_people", type=click.IntRange(min=10), default=None,
              help="省级规模：人数 / province mode: number of insured people (many counties)")
@click.option("--medical-rows", type=click.IntRange(min=0), default=None,
              help="省级规模：医保结算行数 / province mode: medical settlement rows (default 2 × people)")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="省级规模：每个文件的最多行数 / province mode: rows per medical file at most")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出目录 / output directory")
@click.option("--seed", default=20250101, show_default=True, help="随机种子 / random seed (same seed, same files)")
@click.option("--year", default=2025, show_default=True, help="保险年度 / policy year")
@click.option("--county-code", default="130434", show_default=True, help="6 位区划代码 / 6-digit county code")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None,
              help="文件格式 / file format  [default: csv for a county, parquet for a province]")
@click.option("--years", default=None,
              help="多年历史（如 2021-2025）：每年一个县、按年滚动的产品、引擎结果与 history/ / several policy "
                   "years (e.g. 2021-2025): a county, the product rolled and the engine run per year, and history/")
@click.option("--quiet", is_flag=True)
@progress_option
def synth(people: int | None, province_people: int | None, medical_rows: int | None, chunk_rows: int,
          out_dir: str, seed: int, year: int, county_code: str, fmt: str | None, years: str | None, quiet: bool,
          show_progress: bool | None) -> None:
    """生成模拟县（或省）数据 / Generate a synthetic county (or province) for demos, tests and benchmarks.

    \b
    relief synth --county 100000 --out county/
    relief synth --people 5000000 --medical-rows 10000000 --format parquet --out province/
    """
    if (people is None) == (province_people is None):
        fail("请给出 --county N（一个县）或 --people N（一个省）之一 / give either --county N (one county) or "
             "--people N (a province)")
    say = ProgressLine.for_options(quiet, show_progress)
    start = time.perf_counter()
    if years is not None:
        _synth_years(people, years, out_dir, seed, county_code, say, start)
        return
    if people is not None:
        manifest = synth_county(out_dir, people, seed=seed, year=year, county=county_code, fmt=fmt or "csv",
                                progress=say)
        say.close()
        click.echo(f"模拟县 / synthetic county {county_code} ({year}): {manifest['people']:,} 人 / people, "
                   f"{manifest['households']:,} 户 / households → {out_dir}  ({time.perf_counter() - start:.1f}s)")
    else:
        rows = 2 * province_people if medical_rows is None else medical_rows
        manifest = synth_province(out_dir, province_people, rows, seed=seed, fmt=fmt or "parquet",
                                  chunk_rows=chunk_rows, progress=say, year=year)
        say.close()
        click.echo(f"模拟省 / synthetic province ({year}): {manifest['people']:,} 人 / people, "
                   f"{manifest['households']:,} 户 / households, {len(manifest['counties'])} 县 / counties → "
                   f"{out_dir}  ({time.perf_counter() - start:.1f}s)")
    for dept, info in manifest["departments"].items():
        click.echo(f"  {dept}: {info['rows']:,} 行 / rows, {len(info['files'])} 个文件 / files")


def _synth_years(people: int | None, years: str, out_dir: str, seed: int, county_code: str, say: ProgressLine,
                 start: float) -> None:
    """``--years``: :func:`claims.synth.history.synth_history` for one county (``--county N``)."""
    from claims.synth.history import parse_years, synth_history

    if people is None:
        fail("--years 需要 --county N / --years needs --county N (one county)")
    try:
        year_list = parse_years(years)
    except ValueError as exc:
        fail(str(exc))
    manifest = synth_history(out_dir, people, year_list, seed=seed, county=county_code,
                             progress=lambda stage, done, total: say(stage, done, total))
    say.close()
    for y in manifest["years"]:
        click.echo(f"  {y['year']}: {y['claims']:,} 条赔案 / claims → {y['dir']}")
    click.echo(f"历史 / history: {manifest['claims']}, {manifest['exposure']}  ({time.perf_counter() - start:.1f}s)")
