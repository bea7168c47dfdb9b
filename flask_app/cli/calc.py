"""``relief calc``: stateless product + roster + reports → claims.csv, exceptions.csv, summary.json."""

from __future__ import annotations

import json

import click

from claims.engine.compute import TRACE_MODES, keep_traces
from claims.engine.files import (
    InputError,
    calculate,
    load_inputs,
    parse_report_specs,
    timed,
    write_outputs,
)
from claims.engine.output import FORMATS
from claims.reports import ReportFileError
from claims.reports.mapping import MappingError, load_mapping
from flask_app.cli.common import ProgressLine, fail, print_summary, progress_option
from products import ProductError, load_product
from products.eligibility import CountyMismatchError
from products.roster import RosterError
from tabular.files import TableError

#: ``--traces`` when not given: none.  Building and writing every claim's trace more than doubles a run where
#: most people claim (benchmarks/README.md, ``engine.py --dense``); ``--traces kept`` or ``all`` ask for them.
DEFAULT_TRACES = "none"


@click.command()
@click.option("--product", "product_path", required=True,
              help="产品定义 YAML/JSON，或目录中的名称 / product document, or a catalog name")
@click.option("--persons", required=True, type=click.Path(exists=True, dir_okay=False), help="人员名单 / persons file")
@click.option("--households", required=True, type=click.Path(exists=True, dir_okay=False), help="户名单 / households file")
@click.option("--report", "reports", multiple=True, metavar="DEPT=FILE",
              help="部门报告（可多次；FILE 可为目录）/ department report, repeatable; FILE may be a directory")
@click.option("--paid", type=click.Path(exists=True, dir_okay=False), help="已付金额 unit_id,line_id,paid / already paid")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False),
              help="列映射 YAML/JSON（部门的列 → 文件表头；网页可导出）/ column mapping YAML/JSON (a department's "
                   "columns → the file's headers; the web app exports one)")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出目录 / output directory")
@click.option("--traces", type=click.Choice(TRACE_MODES), default=DEFAULT_TRACES, show_default=True,
              help="计算过程：无 / 仅有应付或多付的理赔 / 全部 — which claims get their trace (计算过程): none, the kept "
                   "ones (an amount due or overpaid), all")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="输出格式 / output format: CSV (UTF-8 with BOM) or Parquet (the same cells)")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出摘要 / print the summary as JSON")
@click.option("--quiet", is_flag=True, help="不显示进度 / no stage messages")
@progress_option
@click.option("--engine", type=click.Choice(["pandas", "dask"]), default="pandas", show_default=True,
              help="计算引擎：本机 pandas，或 Dask 集群（见 docs/dask.md）/ engine: pandas on this machine, or a "
                   "Dask cluster (see docs/dask.md)")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Dask 调度器地址 tcp://host:8786；不给则启动本机集群 / Dask scheduler address; without it a "
                   "local cluster of two workers")
@click.option("--memory-limit", default="4GB", show_default=True,
              help="本机集群每个 worker 的内存上限 / memory limit of each local Dask worker")
def calc(product_path: str, persons: str, households: str, reports: tuple[str, ...], paid: str | None,
         mapping_path: str | None, out_dir: str, traces: str, fmt: str, as_json: bool, quiet: bool,
         show_progress: bool | None, engine: str, scheduler: str | None, memory_limit: str) -> None:
    """计算理赔（无状态）/ Compute every claim the product owes from files (stateless)."""
    say = ProgressLine.for_options(quiet, show_progress)
    try:
        product = load_product(product_path)
        specs = parse_report_specs(reports)
        mappings = load_mapping(mapping_path) if mapping_path else None
        if scheduler and engine != "dask":
            raise InputError("--scheduler 需与 --engine dask 一起使用 / --scheduler needs --engine dask")
        if mappings and engine == "dask":
            raise InputError("--mapping 暂不支持 --engine dask；请用 pandas 引擎，或把表头改为可识别的名称 / --mapping is "
                             "not supported with --engine dask; use the pandas engine or rename the headers")
        if engine == "dask":
            from claims.scale.run import calc_files_dask

            result, files, t_read, t_calc = calc_files_dask(product, persons, households, specs, paid,
                                                            scheduler=scheduler, memory_limit=memory_limit, say=say)
            result.claims = keep_traces(result.claims, traces)
        else:
            inputs, t_read = timed(lambda: load_inputs(persons, households, specs, paid, progress=say,
                                                        mappings=mappings))
            say("计算 / computing claims")
            result, t_calc = timed(lambda: calculate(product, inputs, traces=traces))
            files = inputs.files
    except (ProductError, RosterError, ReportFileError, TableError, InputError, MappingError,
            CountyMismatchError) as exc:
        say.close()
        fail(str(exc))
    say(f"写出 / writing {out_dir}")
    write_outputs(result, product, out_dir, {"seconds": {"read": round(t_read, 3), "compute": round(t_calc, 3)},
                                             "files": files}, fmt=fmt)
    say.close()
    if as_json:
        click.echo(json.dumps(result.summary, ensure_ascii=False, indent=2))
        return
    click.echo(f"{product.name} [{product.code}]  →  {out_dir}")
    print_summary(result.summary, {line.id: line.name for line in product.lines})
    click.echo(f"用时 / time: 读取 read {t_read:.2f}s, 计算 compute {t_calc:.2f}s")
