"""The ``relief`` console script (click).  Each command only wires files and options to the services."""

from __future__ import annotations

import click

from flask_app.cli.audit import audit
from flask_app.cli.budget import budget
from flask_app.cli.calc import calc
from flask_app.cli.claims_cmd import claims_group
from flask_app.cli.db import db
from flask_app.cli.demo import demo, serve
from flask_app.cli.fund import fund
from flask_app.cli.imports import import_
from flask_app.cli.monitor import monitor
from flask_app.cli.notice import notice
from flask_app.cli.payout import payout
from flask_app.cli.recovery import recovery
from flask_app.cli.setup import setup
from flask_app.cli.synth import synth
from flask_app.cli.tokens import tokens
from flask_app.cli.users import users
from flask_app.cli.year import year


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="relief-engine")
def relief() -> None:
    """防贫保 / 助农保 理赔与救助资金引擎 — claims and relief-fund engine."""


for command in (demo, serve, calc, year, synth, db, setup, users, import_, claims_group, notice, payout, recovery,
                fund, budget, audit, tokens, monitor):
    relief.add_command(command)


def main() -> None:
    relief(prog_name="relief")
