"""The ``relief`` console script (click).  Each command only wires files and options to the services.

Commands are loaded lazily (click's documented pattern for large command sets, "Lazily Loading
Subcommands"): :data:`COMMANDS` names each command's module and one-line help, a command's module is imported
only when that command runs, and ``relief --help`` imports none of them.  So ``relief --help`` starts without
pandas, SQLAlchemy, Flask, Dask or matplotlib, and ``relief calc`` loads only what the engine needs.
``tests/test_cli_lazy.py`` keeps the table equal to the commands (name, module, help).
"""

from __future__ import annotations

import importlib

import click

#: name → (module, attribute, one-line help: the command's own short help, checked by the tests).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("flask_app.cli.demo", "demo", "演示：生成模拟县并启动网站 / Demo: a generated county in the web app on 127.0.0.1."),
    "serve": ("flask_app.cli.demo", "serve",
              "启动网站（waitress）/ Run the web application on waitress and the configured database (DATABASE_URL)."),
    "calc": ("flask_app.cli.calc", "calc", "计算理赔（无状态）/ Compute every claim the product owes from files (stateless)."),
    "year": ("flask_app.cli.year", "year",
             "逐月计算一个保险年度（无数据库）/ A synthetic county's policy year, month by month (no database)."),
    "synth": ("flask_app.cli.synth", "synth",
              "生成模拟县（或省）数据 / Generate a synthetic county (or province) for demos, tests and benchmarks."),
    "db": ("flask_app.cli.db", "db", "数据库管理 / database management."),
    "setup": ("flask_app.cli.setup", "setup",
              "登记产品、创建保单并导入参保名单 / Register the product, create the policy and store the roster."),
    "users": ("flask_app.cli.users", "users", "用户管理 / staff users."),
    "import": ("flask_app.cli.imports", "import_",
               "导入部门报告并重新计算理赔 / Import a department report and recompute the claims it touches."),
    "claims": ("flask_app.cli.claims_cmd", "claims_group", "理赔审核 / claim review steps."),
    "notice": ("flask_app.cli.notice", "notice", "公示：张贴与期满 / public notice: post and close."),
    "card": ("flask_app.cli.card", "card",
             "明白卡与保障方案摘要 / a household's 明白卡 (--household) or a policy's summary (--policy)."),
    "payout": ("flask_app.cli.payout", "payout", "支付批次 / payout batches."),
    "recovery": ("flask_app.cli.recovery", "recovery", "追回多付 / recovery of overpayments."),
    "fund": ("flask_app.cli.fund", "fund", "基金台账 / fund ledger."),
    "budget": ("flask_app.cli.budget", "budget",
               "保费预算测算 / Next year's premium budget and its report from the claims history."),
    "audit": ("flask_app.cli.audit", "audit", "审计链 / the tamper-evident audit chains."),
    "tokens": ("flask_app.cli.tokens", "tokens", "API 令牌 / API tokens: issue, list, revoke."),
    "worker": ("flask_app.cli.worker", "worker", "后台任务执行器（RQ）/ Run the background jobs from the Redis queue (RQ worker)."),
    "villages": ("flask_app.cli.villages", "villages", "村名录与县热线 / the village registry and the county's hotline."),
    "monitor": ("flask_app.cli.monitor", "monitor",
                "防贫监测预警名单（无状态）/ The early-warning list of 防贫监测 from files (stateless): watchlist.csv."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use, listed from :data:`COMMANDS` without importing."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, _shorten(COMMANDS[name][2], limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 3, 10)].rstrip() + "..."


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="relief-engine")
def relief() -> None:
    """防贫保 / 助农保 理赔与救助资金引擎 — claims and relief-fund engine."""


def main() -> None:
    relief(prog_name="relief")
