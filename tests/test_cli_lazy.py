"""``relief``'s commands load lazily (flask_app.cli.COMMANDS): the table equals the commands, and ``relief
--help`` imports none of the heavy libraries (issue 16: "relief --help ... import neither Dask, Flask nor
matplotlib unless the command needs them").  Speed itself is measured in benchmarks/, not here."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from flask_app.cli import COMMANDS, relief

CLI_DIR = Path(__file__).resolve().parents[1] / "flask_app" / "cli"
HEAVY = ("pandas", "numpy", "sqlalchemy", "flask", "dask", "matplotlib", "pyarrow", "claims", "products", "actuarial")


def test_every_table_entry_is_the_command_it_names_with_its_own_help():
    for name, (module, attribute, help_line) in COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        assert command.name == name
        assert command.get_short_help_str(limit=500) == help_line, name


def test_every_top_level_command_of_the_cli_package_is_in_the_table():
    """A command module's top-level ``@click.command``/``@click.group`` functions (subcommands are decorated
    with their group's name instead) must each be reachable from ``relief``."""
    listed = {(module, attribute) for module, attribute, _ in COMMANDS.values()}
    found = set()
    for path in CLI_DIR.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and isinstance(d.func.value, ast.Name)
                    and d.func.value.id == "click" and d.func.attr in ("command", "group") for d in node.decorator_list):
                found.add((f"flask_app.cli.{path.stem}", node.name))
    found.discard(("flask_app.cli.__init__", "relief"))
    assert found == listed


def test_help_lists_every_command_and_imports_nothing_heavy():
    result = CliRunner().invoke(relief, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"\n  {name} " in result.output
    probe = ("import sys; sys.argv = ['relief', '--help']\nfrom flask_app.cli import main\ntry:\n    main()\n"
             "except SystemExit:\n    pass\nprint(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:] or "
             f"{list(HEAVY)!r})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_an_unknown_command_is_refused_by_click():
    result = CliRunner().invoke(relief, ["nonesuch"])
    assert result.exit_code == 2 and "No such command" in result.output
