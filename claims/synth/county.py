"""A synthetic county on disk: its roster (:mod:`claims.synth.roster`) and a policy year of monthly
department reports (:mod:`claims.synth.reports`), deterministic by seed.

Layout (``ext`` = ``csv`` or ``parquet``)::

    persons.ext, households.ext           the roster
    villages.ext                          the village registry: 村代码, 村名, 乡镇名 (:mod:`claims.synth.villages`)
    <department>/<year>-<month>.ext       medical, education, disaster, accident, income
    manifest.json
"""

from __future__ import annotations

from pathlib import Path

from claims.synth.files import Progress, check_format, no_progress, write_frame, write_manifest
from claims.synth.reports import department_builders, write_monthly_files
from claims.synth.roster import households, households_frame, persons, persons_frame
from claims.synth.villages import village_frame

#: progress stages of a county: the roster (2), the five departments, done
COUNTY_STAGES = 8


def synth_county(out_dir, people: int, *, seed: int = 20250101, year: int = 2025, county: str = "130434",
                 fmt: str = "csv", progress: Progress = None, report_seed: int | None = None) -> dict:
    """Write a synthetic county (roster + a policy year of department reports) under ``out_dir``.

    ``report_seed`` (default ``seed``) seeds the department reports only: the same roster with another
    year's events (:mod:`claims.synth.history`).

    Returns the manifest, which is also written as ``manifest.json``.  The same arguments always give
    byte-identical files.
    """
    check_format(fmt)
    if people < 1:
        raise ValueError("people must be ≥ 1")
    if len(county) != 6 or not county.isdigit():
        raise ValueError("county must be a 6-digit GB/T 2260 code")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = progress or no_progress
    stages = COUNTY_STAGES

    report("roster", 0, stages)
    hh = households(people, seed, county)
    ps = persons(hh, people, seed, year, county)
    write_frame(persons_frame(hh, ps), out / f"persons.{fmt}", fmt)
    write_frame(households_frame(hh, seed), out / f"households.{fmt}", fmt)
    write_frame(village_frame(hh["village_code"], seed), out / f"villages.{fmt}", fmt)
    report("roster", 2, stages)

    departments: dict[str, dict] = {}
    for i, (dept, build) in enumerate(department_builders(hh, ps, seed if report_seed is None else report_seed,
                                                          year)):
        departments[dept] = write_monthly_files(dept, build(), out, year, fmt,
                                                lambda month, dept=dept: report(dept, month, 12))
        report("reports", 3 + i, stages)

    manifest = {
        "generator": "claims.synth.county.synth_county",
        "seed": int(seed), "year": int(year), "county": county, "format": fmt,
        "people": int(people), "households": int(hh["n"]), "villages": int(hh["n_villages"]),
        "natural_villages": int(hh["n_natural"]),
        "roster": {"persons": f"persons.{fmt}", "households": f"households.{fmt}"},
        "village_registry": f"villages.{fmt}",
        "departments": departments,
        "encoding": "utf-8-sig" if fmt == "csv" else None,
        "medical_headers": "zh",
    }
    write_manifest(out, manifest)
    report("done", stages, stages)
    return manifest
