"""The house rules of ARCHITECTURE.md, checked: the import-linter contracts hold (and a deliberate violation
breaks them), ruff is clean, no import cycle anywhere, ``import claims.engine`` stays free of the database, web
and cluster libraries, no module over 450 lines and no function over 80, and ARCHITECTURE.md's rooms equal the
tree."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tabular", "products", "claims", "actuarial", "flask_app")
#: What the pure engine must not load (the contract "pure-core" in pyproject.toml says the same for imports).
HEAVY = ("sqlalchemy", "alembic", "flask", "flask_smorest", "flask_login", "flask_wtf", "dask", "distributed",
         "matplotlib")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def _contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


def _lint_imports(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("lint-imports"), "--no-cache", "--no-logo"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def _tool(name: str) -> str:
    """A console script of the dev extras, beside this interpreter (the venv) or on PATH."""
    exe = Path(sys.executable).with_name(name)
    command = str(exe) if exe.exists() else shutil.which(name)
    assert command, f"{name} is not installed (pip install -e '.[dev]')"
    return command


def _flat(text: str) -> str:
    """lint-imports wraps long contract names; compare with whitespace runs as one space."""
    return " ".join(text.split())


def test_import_contracts_are_kept():
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in _contract_names().values():
        assert f"{_flat(name)} KEPT" in _flat(run.stdout), run.stdout


@pytest.mark.parametrize(("module", "source", "contract"), [
    ("claims/engine/_violation.py", "import sqlalchemy\n", "pure-core"),
    ("products/_violation.py", "import claims.engine\n", "layers"),
    ("claims/lifecycle/_violation.py", "import flask\n", "no-web-below"),
], ids=["engine-imports-sqlalchemy", "products-imports-engine", "lifecycle-imports-flask"])
def test_a_deliberate_violation_breaks_its_contract(tmp_path, module, source, contract):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(source, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = _lint_imports(tmp_path, env)
    name = _flat(_contract_names()[contract])
    assert run.returncode != 0, run.stdout + run.stderr
    assert f"{name} BROKEN" in _flat(run.stdout), run.stdout
    assert module.removesuffix(".py").replace("/", ".") in run.stdout, run.stdout


def test_ruff_is_clean():
    run = subprocess.run([_tool("ruff"), "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit); only those of 2+ modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_strongly_connected_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _strongly_connected(graph) == [["a", "b", "c"]]


def test_no_import_cycles():
    built = grimp.build_graph(*PACKAGES)
    graph = {m: set(built.find_modules_directly_imported_by(m)) for m in built.modules}
    cycles = _strongly_connected(graph)
    shown = []
    for component in cycles:
        members = set(component)
        shown.append(" ; ".join(f"{m} -> {', '.join(sorted(graph[m] & members))}" for m in component))
    assert not cycles, "import cycles:\n" + "\n".join(shown)


def _source_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                  if "migrations" not in p.relative_to(ROOT).parts and "__pycache__" not in p.parts)


def test_house_rules_module_and_function_length():
    offenders = []
    for path in _source_files():
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        lines = source.count("\n")
        if lines > MAX_MODULE_LINES:
            offenders.append(f"{name}: module of {lines} lines (> {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(f"{name}:{node.lineno} {node.name}: {length} lines (> {MAX_FUNCTION_LINES})")
    assert not offenders, "\n".join(offenders)


def _tree_packages() -> set[str]:
    packages = set()
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            dotted = ".".join(init.parent.relative_to(ROOT).parts)
            if ".migrations." not in dotted:  # the Alembic versions are the migrations' internals
                packages.add(dotted)
    return packages


def _listed_packages() -> set[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rooms = text.split("\n## Rooms", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_.]+)` \|", rooms, flags=re.M))


def test_architecture_lists_every_package_of_the_tree():
    tree, listed = _tree_packages(), _listed_packages()
    assert listed == tree, (f"in the tree, not in ARCHITECTURE.md: {sorted(tree - listed)}; "
                            f"in ARCHITECTURE.md, not in the tree: {sorted(listed - tree)}")


def test_importing_the_engine_loads_no_database_web_or_cluster_library():
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", "import claims.engine"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    loaded = {line.rsplit("|", 1)[1].strip().split(".")[0]
              for line in run.stderr.splitlines() if line.startswith("import time:") and "|" in line}
    assert "claims" in loaded, run.stderr[-2000:]
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
