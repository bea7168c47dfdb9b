"""A synthetic province: many counties of the county generator's roster, medical reports streamed chunk
by chunk as pyarrow tables (Parquet or CSV), so that memory holds one county's roster and one chunk of
report rows at a time.

Layout (``ext`` = ``parquet`` or ``csv``)::

    persons.ext, households.ext            the whole roster (written county by county)
    medical/<county>-<chunk>.ext           ≤ chunk_rows settlements each, Chinese 医保 headers
    education|disaster|accident|income/<county>.ext   (when other_departments)
    manifest.json
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from claims.synth.files import Progress, TableAppender, check_format, no_progress, write_manifest, write_table
from claims.synth.reports import (
    AMOUNT_COLUMNS,
    COLUMNS,
    MEDICAL_COLUMNS,
    MEDICAL_HEADERS_ZH,
    department_builders,
    medical_propensity,
    settlement_amounts,
)
from claims.synth.roster import CATEGORIES, RELATIONS, bank_accounts, households, persons
from claims.synth.villages import village_frame
from tabular.money import fen_to_yuan_arrow

#: people per generated county in province mode (a typical Hebei county has 300–600 thousand people)
PROVINCE_COUNTY_PEOPLE = 400_000
PROVINCE_CODE = "13"
#: counties per prefecture in the generated codes
COUNTIES_PER_PREFECTURE = 18
#: people with a serious illness: about 20 × the settlements of others
MAJOR_SHARE = 0.01
MAJOR_WEIGHT = 20.0


def province_counties(people: int, county_people: int = PROVINCE_COUNTY_PEOPLE,
                      province: str = PROVINCE_CODE) -> list[tuple[str, int]]:
    """``[(county code, people), …]``: ⌈people / county_people⌉ counties of equal size (±1).

    Codes are ``province + prefecture (01, 02 …) + county (02 … 19)``, 18 counties per prefecture."""
    n = max(1, -(-int(people) // int(county_people)))
    sizes = np.full(n, people // n, dtype=np.int64)
    sizes[: people % n] += 1
    per = COUNTIES_PER_PREFECTURE
    return [(f"{province}{1 + c // per:02d}{2 + c % per:02d}", int(sizes[c])) for c in range(n)]


def split_exactly(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` exactly (largest remainder): ``⌊total × wᵢ / Σw⌋``,
    then one more to the largest fractional parts until the parts sum to ``total``."""
    w = np.asarray(weights, dtype=float)
    exact = total * w / w.sum()
    out = np.floor(exact).astype(np.int64)
    rest = int(total - out.sum())
    if rest:
        out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


def _migrant_codes(county_index: int) -> np.ndarray:
    """13 area codes (other provinces, 41xxxx …) used only by the in-migrants of this county, so IDs
    stay unique across the counties of a province."""
    j = county_index * 13 + np.arange(13)
    return (41 + j // 9000) * 10_000 + 1000 + j % 9000


def _county_seed(seed: int, county_index: int) -> int:
    return int(np.random.SeedSequence([int(seed), 6, int(county_index)]).generate_state(1, np.uint64)[0] >> 1)


def _chunk_rng(seed: int, county_index: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(b"province-medical"), int(county_index), int(chunk)])


def _strings(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(object), type=pa.string())


def county_roster(seed: int, county_index: int, county: str, people: int, year: int = 2025) -> tuple[dict, dict]:
    """Households and persons (arrays) of county ``county_index`` of a province: the county generator's
    roster with the county's own seed and in-migrant area codes (:func:`_migrant_codes`); persons also
    carry ``id_arrow`` and ``name_arrow`` (pyarrow strings)."""
    cseed = _county_seed(seed, county_index)
    hh = households(people, cseed, county)
    ps = persons(hh, people, cseed, year, county, neighbours=_migrant_codes(county_index))
    ps["id_arrow"] = _strings(ps["id_no"])
    ps["name_arrow"] = _strings(ps["name"])
    return hh, ps


def medical_chunk(seed: int, county_index: int, county: str, chunk: int, persons: dict, households: dict,
                  first: int, stop: int, rows: int, year: int = 2025) -> pa.Table:
    """One chunk of a county's medical settlements as a pyarrow table with the Chinese headers.

    The chunk covers the people ``first … stop−1`` of the county (all their settlements of the year, so
    the 大病保险 cumulation per person is exact) and has exactly ``rows`` rows.  Each person's share of
    the rows ∝ p(age) × p(category) × (20 if seriously ill), drawn as one multinomial; the generator is
    seeded by ``(seed, county, chunk)`` only, so a chunk can be rebuilt alone.  Rows are in date order.
    """
    rng = _chunk_rng(seed, county_index, chunk)
    cat = households["category"][persons["hh"][first:stop]]
    n = stop - first
    p = medical_propensity(persons["age"][first:stop], cat)
    major = rng.random(n) < MAJOR_SHARE
    weight = p * np.where(major, MAJOR_WEIGHT, 1.0)
    count = rng.multinomial(rows, weight / weight.sum())
    who = np.repeat(np.arange(n), count)
    a = settlement_amounts(rng, who, major[who], cat[who], year)
    order = np.lexsort((who, a["date"]))
    serial = np.cumsum(rng.integers(1, 10, size=rows))  # increasing settlement numbers in date order
    who_sorted = pa.array(first + who[order])
    days = pa.array(a["date"][order].astype("datetime64[D]").astype(np.int32), type=pa.date32())
    columns = {
        "setl_id": pc.binary_join_element_wise(f"S{county}{chunk:03d}",
                                               pc.utf8_lpad(pc.cast(pa.array(serial), pa.string()), 9, "0"), ""),
        "id_no": pc.take(persons["id_arrow"], who_sorted),
        "name": pc.take(persons["name_arrow"], who_sorted),
        "setl_date": pc.strftime(pc.cast(days, pa.timestamp("s")), "%Y-%m-%d"),
    }
    for c in MEDICAL_COLUMNS[4:]:
        columns[c] = fen_to_yuan_arrow(a[c][order])
    return pa.table({MEDICAL_HEADERS_ZH[c]: columns[c] for c in MEDICAL_COLUMNS})


def persons_table(hh: dict, ps: dict) -> pa.Table:
    """The county's rows of the ``persons`` file: id_no, name, household_no, relation."""
    return pa.table({"id_no": ps["id_arrow"], "name": ps["name_arrow"],
                     "household_no": _strings(hh["household_no"][ps["hh"]]),
                     "relation": _strings(np.array(RELATIONS, dtype=object)[ps["relation"]])})


def households_table(hh: dict, county_seed: int) -> pa.Table:
    """The county's rows of the ``households`` file, every column text (income as yuan)."""
    return pa.table({
        "household_no": _strings(hh["household_no"]),
        "village_code": _strings(hh["village_code"][hh["village"]]),
        "natural_village": _strings(hh["natural_village"]),
        "category": _strings(np.array(CATEGORIES, dtype=object)[hh["category"]]),
        "per_capita_income": fen_to_yuan_arrow(hh["income"]),
        "members": _strings(hh["size"].astype(str)),
        "bank_account": _strings(bank_accounts(county_seed, hh["n"])),
    })


def frame_to_table(frame: pd.DataFrame, amounts: tuple[str, ...]) -> pa.Table:
    """A report frame as a pyarrow table of text: amounts (fen) as yuan, everything else ``str``."""
    return pa.table({c: (fen_to_yuan_arrow(frame[c].to_numpy()) if c in amounts else
                         _strings(frame[c].astype(str).to_numpy(dtype=object)))
                     for c in frame.columns})


@dataclass
class _ProvinceFiles:
    """The report files of one province run, as they are written, and what the manifest lists."""

    out: Path
    fmt: str
    seed: int
    year: int
    chunk_rows: int
    medical_rows: int
    report: Progress
    files: dict[str, list[str]] = field(default_factory=lambda: {d: [] for d in COLUMNS})
    rows: dict[str, int] = field(default_factory=lambda: {d: 0 for d in COLUMNS})
    chunks: list[dict] = field(default_factory=list)

    def medical(self, c: int, code: str, hh: dict, ps: dict, county_rows: int) -> None:
        """County ``c``'s ``county_rows`` settlements in ⌈rows / chunk_rows⌉ chunks, each covering an
        equal block of the county's people, rows split ∝ block size (:func:`split_exactly`)."""
        size = len(ps["age"])
        n_chunks = max(1, -(-county_rows // self.chunk_rows)) if county_rows else 0
        bounds = np.linspace(0, size, n_chunks + 1).round().astype(np.int64)
        chunk_sizes = split_exactly(county_rows, np.diff(bounds)) if n_chunks else []
        for k in range(n_chunks):
            table = medical_chunk(self.seed, c, code, k, ps, hh, int(bounds[k]), int(bounds[k + 1]),
                                  int(chunk_sizes[k]), self.year)
            rel = f"medical/{code}-{k:03d}.{self.fmt}"
            write_table(table, self.out / rel, self.fmt)
            self.files["medical"].append(rel)
            self.chunks.append({"file": rel, "county": c, "chunk": k, "first_person": int(bounds[k]),
                                "stop_person": int(bounds[k + 1]), "rows": table.num_rows})
            self.rows["medical"] += table.num_rows
            del table
            self.report("medical", self.rows["medical"], self.medical_rows)

    def other_departments(self, code: str, hh: dict, ps: dict, county_seed: int) -> None:
        """One file per department (education, disaster, accident, income) of the county, if it has rows."""
        for dept, build in department_builders(hh, ps, county_seed, self.year)[1:]:
            frame = build()
            if not len(frame):
                continue
            rel = f"{dept}/{code}.{self.fmt}"
            write_table(frame_to_table(frame[list(COLUMNS[dept])], AMOUNT_COLUMNS[dept]), self.out / rel, self.fmt)
            self.files[dept].append(rel)
            self.rows[dept] += len(frame)

    def departments_manifest(self) -> dict:
        return {d: {"rows": self.rows[d], "files": self.files[d], **({"chunks": self.chunks} if d == "medical" else {})}
                for d in COLUMNS if self.files[d]}


def synth_province(out_dir, people: int, medical_rows: int, *, seed: int = 20250101, fmt: str = "parquet",
                   chunk_rows: int = 1_000_000, progress: Progress = None, year: int = 2025,
                   county_people: int = PROVINCE_COUNTY_PEOPLE, province: str = PROVINCE_CODE,
                   other_departments: bool = True) -> dict:
    """Write a synthetic province under ``out_dir``, streamed county by county and chunk by chunk.

    Counties: :func:`province_counties` (``county_people`` each).  ``medical_rows`` is split over the
    counties ∝ people and, within a county, over ⌈rows / chunk_rows⌉ chunks, each covering a block of
    the county's people (listed in the manifest, ``departments.medical.chunks``).
    Deterministic by ``seed``: county ``c`` uses its own seed, medical chunk ``k`` of county ``c`` the
    generator ``(seed, c, k)`` (see :func:`medical_chunk`).  ``progress(stage, done, total)`` is called
    after every file with ``done``/``total`` in medical rows.  Returns the manifest.
    """
    check_format(fmt)
    if people < 10 or medical_rows < 0 or chunk_rows < 1:
        raise ValueError("people must be ≥ 10, medical_rows ≥ 0 and chunk_rows ≥ 1")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = progress or no_progress
    counties = province_counties(people, county_people, province)
    rows_per_county = split_exactly(medical_rows, np.array([size for _, size in counties]))
    reports = _ProvinceFiles(out, fmt, seed, year, chunk_rows, medical_rows, report)
    roster = TableAppender(out, fmt)
    n_households = 0
    try:
        for c, (code, size) in enumerate(counties):
            hh, ps = county_roster(seed, c, code, size, year)
            n_households += hh["n"]
            roster.append("persons", persons_table(hh, ps))
            roster.append("households", households_table(hh, _county_seed(seed, c)))
            villages = village_frame(hh["village_code"], _county_seed(seed, c))  # 村名录: 村代码, 村名, 乡镇名
            roster.append("villages", pa.table({k: pa.array(v.tolist(), pa.string()) for k, v in villages.items()}))
            report("roster", c + 1, len(counties))
            reports.medical(c, code, hh, ps, int(rows_per_county[c]))
            if other_departments:
                reports.other_departments(code, hh, ps, _county_seed(seed, c))
    finally:
        roster.close()

    manifest = {
        "generator": "claims.synth.province.synth_province",
        "seed": int(seed), "year": int(year), "province": province, "format": fmt, "chunk_rows": int(chunk_rows),
        "people": int(people), "households": int(n_households),
        "counties": [{"code": code, "people": size, "medical_rows": int(r)}
                     for (code, size), r in zip(counties, rows_per_county)],
        "roster": {"persons": f"persons.{fmt}", "households": f"households.{fmt}"},
        "village_registry": f"villages.{fmt}",
        "departments": reports.departments_manifest(),
        "encoding": "utf-8-sig" if fmt == "csv" else None,
        "medical_headers": "zh",
    }
    write_manifest(out, manifest)
    report("done", reports.rows["medical"], medical_rows)
    return manifest
