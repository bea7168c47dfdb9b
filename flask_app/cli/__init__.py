"""The ``relief`` console script (click).  Each command only wires files and options to the services."""

from __future__ import annotations

import click

from .budget import budget
from .calc import calc
from .claims_cmd import claims_group
from .db import db
from .demo import demo, serve
from .fund import fund
from .imports import import_
from .notice import notice
from .payout import payout
from .recovery import recovery
from .setup import setup
from .synth import synth
from .users import users
from .year import year


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="relief-engine")
def relief() -> None:
    """防贫保 / 助农保 理赔与救助资金引擎 — claims and relief-fund engine."""


for command in (demo, serve, calc, year, synth, db, setup, users, import_, claims_group, notice, payout, recovery,
                fund, budget):
    relief.add_command(command)


def main() -> None:
    relief(prog_name="relief")
