"""A synthetic county over several policy years (多年模拟历史), so that a demo budget has a real history:
``relief synth --county N --years 2021-2025``.

For each year Y: the same households (same seed; the people are drawn at the same ages each year, so their
birth dates and resident IDs move with Y) and that year's department reports (drawn with the seed ``seed + Y``,
so each year's events differ), the product rolled to Y (the catalog document with ``year``,
``period`` and ``code`` of Y: the catalog product refuses other years' rows as ``outside_period``), and the
engine run on them (``relief calc``).  Layout::

    <year>/                      the county of that year (see :mod:`claims.synth.county`), product.yaml
    <year>/calc/                 the engine's claims.csv, exceptions.csv, claim_sources.csv, summary.json
    history/claims.csv           every year's engine claims.csv, one header (``relief budget --claims``)
    history/exposure.csv         year, county, heads (the roster's people each year)
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from claims.engine.files import calculate, load_inputs, write_outputs
from claims.synth.county import synth_county
from claims.synth.files import Progress, no_progress
from products import load_product
from products.loader import CATALOG

__all__ = ["parse_years", "rolled_product_document", "synth_history"]


def parse_years(text: str) -> list[int]:
    """``"2021-2025"`` → [2021, …, 2025]; a single year ``"2024"`` → [2024]."""
    m = re.fullmatch(r"\s*(\d{4})\s*(?:[-–]\s*(\d{4}))?\s*", text)
    if not m:
        raise ValueError(f"年度范围应写作 2021-2025 / years must look like 2021-2025, got {text!r}")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if last < first or last - first > 30:
        raise ValueError(f"年度范围无效 / invalid year range {text!r}")
    return list(range(first, last + 1))


def rolled_product_document(name: str, year: int, county: str) -> dict:
    """The catalog document ``name`` rolled to ``year`` (code, name, year and period of that year) for ``county``."""
    doc = yaml.safe_load((CATALOG / f"{name}.yaml").read_text(encoding="utf-8"))
    old = str(doc["year"])
    doc["year"] = int(year)
    doc["county"] = county
    doc["code"] = f"{str(doc['code']).split('-')[0]}-{county}-{year}"  # FPB-130434-2025 → FPB-<county>-<year>
    doc["name"] = str(doc["name"]).replace(old, str(year))
    doc["period"] = {"start": f"{year}-01-01", "end": f"{year}-12-31"}
    return doc


def synth_history(out_dir, people: int, years: list[int], *, seed: int = 20250101, county: str = "130434",
                  product: str = "fangpinbao-weixian-2025", progress: Progress = None) -> dict:
    """Write the county of every year in ``years`` with its rolled product, run the engine on each, and write
    history/claims.csv and history/exposure.csv; returns a manifest (also printed by the CLI)."""
    out = Path(out_dir)
    report = progress or no_progress
    history = out / "history"
    history.mkdir(parents=True, exist_ok=True)
    claims_lines: list[str] = []
    exposure = ["year,county,heads"]
    done = []
    for i, year in enumerate(years):
        report("years", i, len(years))
        where = out / str(year)
        manifest = synth_county(where, people, seed=seed, year=year, county=county, fmt="csv",
                                report_seed=seed + year)
        doc = rolled_product_document(product, year, county)
        (where / "product.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        reports = [(dept, where / f, f) for dept, info in manifest["departments"].items() for f in info["files"]]
        inputs = load_inputs(where / "persons.csv", where / "households.csv", reports)
        calc = write_outputs(calculate(load_product(doc), inputs), load_product(doc), where / "calc")
        text = (calc / "claims.csv").read_text(encoding="utf-8-sig").splitlines()
        claims_lines.extend(text if not claims_lines else text[1:])
        exposure.append(f"{year},{county},{manifest['people']}")
        done.append({"year": year, "claims": len(text) - 1, "dir": str(where)})
    (history / "claims.csv").write_text("\ufeff" + "\n".join(claims_lines) + "\n", encoding="utf-8")
    (history / "exposure.csv").write_text("\ufeff" + "\n".join(exposure) + "\n", encoding="utf-8")
    report("years", len(years), len(years))
    return {"years": done, "claims": str(history / "claims.csv"), "exposure": str(history / "exposure.csv")}
