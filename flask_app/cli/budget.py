"""``relief budget``: next year's premium budget from the claims history, with its report; ``relief budget backtest``.

Stateless like ``relief year``: files (or the database with ``--database``) in, a report directory out.
The work is done by :func:`actuarial.budget.budget`, :func:`actuarial.report.write_report` and
:func:`actuarial.backtest.run_backtest`; this module only wires options, files and messages.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from flask_app.cli.common import ProgressLine, open_db, progress_option

PRINCIPLE_CHOICES = ("expected_value", "standard_deviation", "var", "tvar", "cost_of_capital")


def _load_product(ref: str, what: str) -> Any:
    from products import ProductError, load_product

    try:
        return load_product(ref)
    except ProductError as exc:
        raise click.UsageError(f"{what} {ref}: {exc}") from None


def _history(claims_path: str | None, exposure_path: str | None, database_url: str | None, product: Any, year: int,
             county: str | None, heads: int | None) -> tuple[Any, Any, Any, Any]:
    """(claims, exposure, the history's verdict, the current premium per head or None) from the files or from the
    database (``--database`` without a URL = the configured one; :mod:`actuarial.budget_service`)."""
    from actuarial.budget_service import current_premium, database_history, file_verdict
    from actuarial.history import read_claims, read_exposure
    from tabular.files import TableError

    if database_url is not None:
        factory = open_db(None if database_url == "" else database_url)
        with factory() as session:
            claims, exposure, verdict = database_history(session, product, year, county)
            premium = current_premium(session, product.family, county)
        if claims.empty:
            raise click.ClickException(f"数据库中没有 {product.family} 的理赔记录 / no claims of {product.family} in the database")
        return claims, exposure, verdict, premium
    try:
        claims = read_claims(claims_path)
        exposure = read_exposure(exposure_path) if exposure_path else None
    except TableError as exc:
        raise click.ClickException(f"文件有误 / bad file: {exc}") from None
    if claims.empty:
        raise click.ClickException(f"{claims_path}: 没有理赔记录 / no claims in the file")
    return claims, exposure, file_verdict(claims, exposure, year, heads), None


def _print_headline(result: Any, report: Path, premium: Any = None) -> None:
    from actuarial.premium import PRINCIPLES

    a = result.assumptions
    heads = int(result.heads)
    mean = float(result.predictive.mean)
    click.echo(f"{result.product_name} [{result.product_code}]  {result.year} 年度预算 / budget for {result.year}")
    click.echo(f"参保人数 / insured heads: {heads:,}")
    click.echo(f"期望赔付 / expected payout: ¥{mean:,.2f}  (每人 / per head ¥{mean / heads:,.2f})")
    level = f" {a.level:.1%}" if a.principle in ("var", "tvar") else ""
    click.echo(f"建议预算 / budget [{PRINCIPLES.get(a.principle, a.principle)}{level}, 费用率 / expense ratio "
               f"{a.expense_ratio:.0%}]: ¥{float(result.budget_total):,.2f}  "
               f"每人 / per head ¥{float(result.budget_per_head):,.2f}")
    click.echo(f"赔付超过预算的概率 / P(S > budget): {float(result.prob_exceed):.1%}")
    if premium is not None and float(premium) > 0:
        click.echo(f"现行保费 / current premium: 每人 / per head ¥{float(premium):,.2f}；预期赔付率 / expected loss ratio "
                   f"{mean / heads / float(premium):.1%}")
    band = result.band
    if 0.1 in band.index and 0.9 in band.index:
        click.echo(f"每人赔付 P10–P90 / payout per head P10–P90: ¥{float(band.loc[0.1, 'per_head']):,.2f} – "
                   f"¥{float(band.loc[0.9, 'per_head']):,.2f}")
    if result.whatif is not None:
        d = result.whatif
        current = float(result.budget_total)
        change = float(d.budget_total) / current - 1.0 if current > 0 else float("nan")
        click.echo(f"草案 / draft {d.product_name} [{d.product_code}]: ¥{float(d.budget_total):,.2f}  每人 / per head "
                   f"¥{float(d.budget_per_head):,.2f}  ({change:+.1%})")
    h = result.holdout
    if h and not h.get("skipped"):
        click.echo(f"留出检验 / hold-out {h['year']}: 实际 / realised ¥{h['realised']:,.0f} 位于 / at percentile "
                   f"{h['percentile']:.1%} (P10 ¥{h['p10']:,.0f}, P90 ¥{h['p90']:,.0f})"
                   + ("" if h["inside_p10_p90"] else f" — {h['why']}"))
    elif h:
        click.echo(f"  注 / note: {h['skipped']}")
    flagged = result.actual_vs_expected
    if not flagged.empty and (flagged["flag"] != "").any():
        rows = flagged[flagged["flag"] != ""]
        click.echo("实际/预期超出容差 / A/E beyond tolerance: " + "; ".join(
            f"{r.line_id} {r.year}: {r.flag}" for r in rows.itertuples()))
    for note in result.notes:
        click.echo(f"  注 / note: {note}")
    click.echo(f"报告 / report: {report}")


@click.group("budget", invoke_without_command=True)
@click.option("--claims", "claims_path", type=click.Path(exists=True, dir_okay=False),
              help="理赔历史（历史格式或引擎 claims.csv）/ claims history (history layout or the engine's claims.csv)")
@click.option("--exposure", "exposure_path", type=click.Path(exists=True, dir_okay=False),
              help="参保人数 year,county,heads / insured heads by year and county")
@click.option("--product", "product_ref", help="明年的产品（目录名或 YAML）/ next year's product (catalog name or YAML)")
@click.option("--year", type=int, help="预算年度 / the policy year to budget")
@click.option("--heads", type=click.IntRange(min=1), help="明年参保人数 / insured heads next year")
@click.option("--draft", "draft_ref", help="草案产品（比较方案）/ a draft product version to compare")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="报告目录 / report directory")
@click.option("--database", "database_url", is_flag=False, flag_value="", default=None,
              help="从数据库读取理赔历史（可给 URL，默认为已配置的数据库）/ read the history from the database "
                   "(optionally its URL; default: DATABASE_URL or the embedded SQLite)")
@click.option("--expense-ratio", default=0.15, show_default=True, type=click.FloatRange(0.0, 1.0, max_open=True),
              help="费用率 / expense ratio")
@click.option("--principle", default="var", show_default=True, type=click.Choice(PRINCIPLE_CHOICES),
              help="确定预算的保费原则 / the premium principle that sets the budget")
@click.option("--level", default=0.95, show_default=True, type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              help="VaR/TVaR 分位水平（风险保费的，未含费用附加）/ VaR/TVaR quantile level of the risk premium (before "
                   "the expense loading)")
@click.option("--bootstrap", default=40, show_default=True, type=click.IntRange(min=0),
              help="参数自助抽样次数 / parameter bootstrap draws")
@click.option("--seed", default=20260101, show_default=True, type=int, help="随机种子 / random seed")
@click.option("--trend", type=float, default=None, help="费用年趋势（默认拟合）/ annual severity trend (default: fitted)")
@click.option("--holdout/--no-holdout", default=True, show_default=True,
              help="留出检验：不用最近一年重新拟合并检验该年 / refit without the latest year and score it")
@click.option("--common-shock", default=0.0, show_default=True, type=click.FloatRange(min=0.0),
              help="各责任共同冲击 cv（同年同向）/ cv of a common shock on every line's claim count")
@click.option("--sensitivity", is_flag=True,
              help="敏感性分析：趋势、分布族、年度波动下限、费用率（多次重算）/ sensitivity to the trend, the severity "
                   "family, the year-cv floor and the expense ratio (refits the budget several times)")
@click.option("--by-county", is_flag=True,
              help="分县预算：按各县信度加权的人均赔付分摊统筹预算 / split the pooled budget across the counties by "
                   "their credibility-weighted loss cost per head (Bühlmann–Straub)")
@click.option("--default-lags/--no-default-lags", "default_lags", default=True, show_default=True,
              help="历史无报案滞后时按默认进展模式调整 / develop a history without report lags by the default lag pattern")
@click.option("--county", help="只用该县的历史（--database）/ only this county's history (with --database)")
@click.option("--current-premium", type=click.FloatRange(min=0.0, min_open=True),
              help="现行每人保费（元），用于比较；--database 时取最新保单 / the current premium per head (yuan) to compare "
                   "with; with --database, the newest policy's")
@click.option("--allow-short-history", is_flag=True,
              help="历史不足时仍试算（报告标明不可用于定价）/ a trial run on a history too short to price (the report "
                   "says it is not fit for pricing)")
@click.option("--quiet", is_flag=True, help="不显示进度 / no stage messages")
@progress_option
@click.pass_context
def budget(ctx: click.Context, claims_path: str | None, exposure_path: str | None, product_ref: str | None,
           year: int | None, heads: int | None, draft_ref: str | None, out_dir: str | None, database_url: str | None,
           expense_ratio: float, principle: str, level: float, bootstrap: int, seed: int, trend: float | None,
           holdout: bool, common_shock: float, sensitivity: bool, by_county: bool, default_lags: bool,
           county: str | None, current_premium: float | None, allow_short_history: bool, quiet: bool,
           show_progress: bool | None) -> None:
    """保费预算测算 / Next year's premium budget and its report from the claims history."""
    if ctx.invoked_subcommand is not None:
        return
    missing = [name for name, value in (("--product", product_ref), ("--year", year), ("--out", out_dir))
               if value is None]
    if missing:
        raise click.UsageError(f"缺少参数 {', '.join(missing)} / missing option(s) {', '.join(missing)}")
    if claims_path is None and database_url is None:
        raise click.UsageError("请给出 --claims 文件或 --database / give a --claims file or --database")
    if claims_path is not None and database_url is not None:
        raise click.UsageError("--claims 与 --database 只能选一个 / use either --claims or --database, not both")
    if exposure_path is None and heads is None and database_url is None:
        raise click.UsageError("请给出 --exposure 文件或 --heads / give an --exposure file or --heads")
    say = ProgressLine.for_options(quiet, show_progress)
    from actuarial.budget.inputs import Assumptions
    from actuarial.budget_service import history_summary, priced
    from actuarial.report import write_report
    from claims.engine.history_rule import HistoryTooShort

    product = _load_product(product_ref, "产品 / product")
    draft = _load_product(draft_ref, "草案 / draft") if draft_ref else None
    say("读取理赔历史 / reading the claims history")
    claims, exposure, verdict, premium = _history(claims_path, exposure_path, database_url, product, year, county,
                                                  heads)
    premium = current_premium if current_premium is not None else premium
    assumptions = Assumptions(expense_ratio=expense_ratio, principle=principle, level=level, bootstrap=bootstrap,
                              seed=seed, trend=trend, common_shock_cv=common_shock, default_development=default_lags)
    say("拟合与测算 / fitting and pricing")
    started = time.perf_counter()
    try:
        result = priced(claims, exposure, product, year, verdict, allow_short=allow_short_history, heads=heads,
                        draft=draft, assumptions=assumptions, holdout=holdout, by_county=by_county)
        if sensitivity:
            import dataclasses

            from actuarial.budget.sensitivity import sensitivity_table

            say("敏感性分析 / sensitivity")
            table = sensitivity_table(result, claims, exposure, product, year, heads=heads)
            result = dataclasses.replace(result, sensitivity=table)
    except HistoryTooShort as exc:
        say.close()
        raise click.ClickException(f"{exc}（--allow-short-history 可试算 / --allow-short-history for a trial run)"
                                   ) from None
    except (ValueError, KeyError) as exc:
        say.close()
        message = exc.args[0] if exc.args else str(exc)
        raise click.ClickException(f"无法测算 / cannot compute the budget: {message}") from None
    say(f"写出报告 / writing {out_dir}")
    report = write_report(result, out_dir, current_premium=premium,
                          history=history_summary(verdict, allow_short_history))
    say.close()
    _print_headline(result, report, premium)
    click.echo(f"用时 / time: {time.perf_counter() - started:.1f}s")


@budget.command("backtest")
@click.option("--counties", default=40, show_default=True, type=click.IntRange(min=2), help="模拟县数 / counties")
@click.option("--years", default=6, show_default=True, type=click.IntRange(min=4),
              help="模拟年数（最后一年用于检验）/ years simulated (the last is scored)")
@click.option("--replications", default=30, show_default=True, type=click.IntRange(min=1), help="重复次数 / replications")
@click.option("--level", default=0.95, show_default=True, type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              help="预算分位 / budget quantile level")
@click.option("--bootstrap", default=20, show_default=True, type=click.IntRange(min=0),
              help="每次拟合的参数抽样次数 / parameter draws per fit")
@click.option("--seed", default=20260101, show_default=True, type=int, help="随机种子 / random seed")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="结果目录（backtest.json、counties.csv）/ output directory")
@click.option("--severity-family", default="lognormal", show_default=True,
              type=click.Choice(["lognormal", "gamma", "lomax"]),
              help="模拟费用分布（与模型假设不同即误设）/ family the amounts are simulated from (misspecified if not "
                   "the fitted one)")
@click.option("--report-delay", default=0.0, show_default=True, type=click.FloatRange(min=0.0),
              help="平均报案延迟（季度）/ mean reporting delay in quarters (0 = none)")
@click.option("--year-cv", default=0.10, show_default=True, type=click.FloatRange(min=0.0),
              help="各县共同的年度冲击 cv / cv of the year shock common to every county")
@click.option("--all-lines", is_flag=True, default=False,
              help="模拟产品全部责任，检验整个基金的预算 / simulate every line of the product and score the fund's "
                   "budget (actuarial.backtest_fund)")
@click.option("--line-shock-cv", default=0.0, show_default=True, type=click.FloatRange(min=0.0),
              help="各责任共同冲击 cv（每县每年一个因子，乘因病、因灾的事件率；需 --all-lines）/ cv of a common shock "
                   "per county-year on the illness and disaster rates (needs --all-lines)")
@progress_option
def backtest(counties: int, years: int, replications: int, level: float, bootstrap: int, seed: int,
             out_dir: str | None, severity_family: str, report_delay: float, year_cv: float, all_lines: bool,
             line_shock_cv: float, show_progress: bool | None) -> None:
    """预算充足性回测 / Backtest of budget adequacy on simulated counties (actuarial.md G7)."""
    from actuarial.backtest import run_backtest
    from actuarial.backtest_fund import run_fund_backtest

    if all_lines and (severity_family != "lognormal" or report_delay > 0):
        raise click.UsageError("--all-lines 不能与 --severity-family、--report-delay 同用 / --all-lines does not take "
                               "--severity-family or --report-delay")
    if line_shock_cv > 0 and not all_lines:
        raise click.UsageError("--line-shock-cv 需要 --all-lines / --line-shock-cv needs --all-lines")
    say = ProgressLine(show_progress)
    started = time.perf_counter()
    progress = (lambda done, total: say("回测 / backtest", done, total)) if say.enabled else None
    if all_lines:
        result = run_fund_backtest(counties, years, replications, level=level, seed=seed, bootstrap=bootstrap,
                                   progress=progress, year_cv=year_cv, shock_cv=line_shock_cv)
    else:
        result = run_backtest(counties, years, replications, level=level, seed=seed, bootstrap=bootstrap,
                              progress=progress, severity_family=severity_family, report_delay=report_delay,
                              year_cv=year_cv)
    say.close()
    for line in result.format_lines():
        click.echo(line)
    click.echo(f"用时 / time: {time.perf_counter() - started:.1f}s")
    if out_dir:
        path = result.write(out_dir)
        click.echo(f"结果 / results: {path}")
