"""The ``relief`` console script (click).  Each command only wires files to the services below it."""

from __future__ import annotations

import click

from .calc import calc
from .demo import demo
from .synth import synth


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="relief-engine")
def relief() -> None:
    """防贫保 / 助农保 理赔与救助资金引擎 — claims and relief-fund engine."""


relief.add_command(calc)
relief.add_command(synth)
relief.add_command(demo)


def main() -> None:
    relief(prog_name="relief")
