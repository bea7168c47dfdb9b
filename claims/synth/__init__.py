"""Synthetic counties and provinces (模拟数据): rosters and department files shaped like real exports,
with valid resident-ID check digits, for demos, tests and benchmarks.

* :mod:`~claims.synth.roster`: villages, households and people (arrays);
* :mod:`~claims.synth.reports`: a policy year of department reports of a county, written month by month;
* :mod:`~claims.synth.county`: :func:`synth_county`, one county on disk;
* :mod:`~claims.synth.province`: :func:`synth_province`, many counties, medical reports in chunks;
* :mod:`~claims.synth.arrays` and :mod:`~claims.synth.files`: the vectorised helpers and the writers.

Everything is synthetic and deterministic by seed; every part draws from its own generator derived from
``(seed, part name)``, so adding or changing one department never shifts the numbers of another.  Money
is integer fen throughout and written as yuan text with exactly two decimals; the medical identity
``psn_part_amt = medfee_sumamt − hifp_pay − hifmi_pay − maf_pay − oth_pay`` holds to the fen.  Files are
UTF-8 with BOM and ``\\n`` line ends, canonical English headers except the medical file, which carries
the Chinese 医保 export headers (:data:`MEDICAL_HEADERS_ZH`).
"""

from claims.synth.county import synth_county
from claims.synth.province import county_roster, medical_chunk, province_counties, synth_province
from claims.synth.reports import MEDICAL_COLUMNS, MEDICAL_HEADERS_ZH

__all__ = ["MEDICAL_COLUMNS", "MEDICAL_HEADERS_ZH", "county_roster", "medical_chunk", "province_counties",
           "synth_county", "synth_province"]
