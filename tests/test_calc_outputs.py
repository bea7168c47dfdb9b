"""``relief calc``'s output files written by Arrow (issue 16): the same bytes as the pandas writer before.

The reference is the old code path, kept here: ``claims_for_export`` (fen → yuan text through
``fen_to_yuan_text``, dates through ``strftime``), then ``formula_safe_frame(...).to_csv(index=False,
encoding="utf-8-sig")`` — what ``claims/engine/output.py`` did until the Arrow writer.  Each case builds its
expected bytes with it, and a few lines are also written out by hand.
"""

from __future__ import annotations

import factories as f
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from claims.engine.compute import CLAIM_COLUMNS
from claims.engine.output import (
    ALL_REASONS,
    CLAIMS_CSV_COLUMNS,
    DATES,
    MONEY,
    write_claims,
    write_csv,
    write_exceptions,
    write_sources,
)
from claims.reports.exceptions import EXCEPTION_COLUMNS
from tabular.money import fen_to_yuan_text
from tabular.safe_cells import formula_safe_frame

BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------------------------------------------
# The old writers (the reference)


def old_csv(frame: pd.DataFrame, path, numeric=()) -> bytes:
    formula_safe_frame(frame, numeric).to_csv(path, index=False, encoding="utf-8-sig")
    return path.read_bytes()


def old_claims(claims: pd.DataFrame, path) -> bytes:
    out = pd.DataFrame(index=claims.index)
    for col in CLAIMS_CSV_COLUMNS:
        values = claims[col]
        if col in MONEY:
            values = fen_to_yuan_text(values.astype("int64"))
        elif col in DATES:
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("")
        out[col] = values
    return old_csv(out, path, numeric=MONEY)


def old_sources(sources: pd.DataFrame, path) -> bytes:
    out = sources[["line_id", "unit_id", "source_file", "source_line"]].copy()
    out["amount"] = fen_to_yuan_text(sources["amount"].astype("int64"))
    return old_csv(out, path, numeric={"amount"})


def old_exceptions(exceptions: pd.DataFrame, path) -> bytes:
    out = exceptions.reindex(columns=EXCEPTION_COLUMNS)
    out["reason_text"] = out["reason"].map(ALL_REASONS).fillna("")
    return old_csv(out, path)


# ---------------------------------------------------------------------------------------------------
# A small fixture with every awkward cell


TRACES = [
    "[P/illness] 基数 16345.67（2 条） > 预警线 5000.00：(5000.00, 10000.00]×50% = 2500.00；本次应付 6307.40",
    "",
    'a "quoted" word, and a comma',
    "line one\nline two",
    "lone\rcarriage return",
    "=HYPERLINK(\"http://x\",\"y\")",
]


def fixture_claims() -> pd.DataFrame:
    n = len(TRACES)
    frame = pd.DataFrame({
        "product_code": "P", "product_digest": "d1", "line_id": "illness", "line_name": "因病防贫（个人）",
        "peril": "illness", "unit_type": "person",
        "unit_id": pd.Series([f.pid(1), f.pid(2), "+86", "-1", "@home", "\tx"], dtype="str"),
        "household_no": pd.Series(["H1", "H,2", None, "H4", "H5", ""], dtype="str"),
        "village_code": "130434100200", "natural_village": pd.Series(["张庄", None, "李家沟", "x", "y", "z"], dtype="str"),
        "base": [1_634_567, 0, 5, -1_200, 99, 100], "uncapped": [630_740, 0, 0, 0, 0, 0],
        "entitlement": [630_740, 0, 0, 0, 0, 0], "paid_before": [0, 100_000, 0, 0, 0, 0],
        "due": [630_740, 0, 0, 0, 0, 0], "overpaid": [0, 100_000, 0, 0, 0, 0], "rows": [2, 0, 1, 1, 1, 1],
        "first_event": pd.to_datetime(["2025-01-15", None, "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]),
        "last_event": pd.to_datetime(["2025-03-02", None, "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]),
        "trace": pd.Series(TRACES, dtype=object),
    })
    assert len(frame) == n
    return frame[CLAIM_COLUMNS]


def fixture_sources() -> pd.DataFrame:
    return pd.DataFrame({"line_id": pd.Series(["illness", "illness", "x"], dtype="str"),
                         "unit_id": pd.Series([f.pid(1), f.pid(1), "=1+1"], dtype="str"),
                         "source_file": pd.Series(["medical/2025-01.csv", "medical/a,b.csv", "m.csv"], dtype="str"),
                         "source_line": np.array([2, 2, 7], dtype=np.int64),
                         "amount": np.array([900_000, 734_567, -5], dtype=np.int64)})


def fixture_exceptions() -> pd.DataFrame:
    return pd.DataFrame({"file": ["medical/2025-03.csv", "persons.csv", None],
                         "line": pd.Series([3, None, 12], dtype=object),
                         "reason": ["amount_not_numeric", "not_on_roster", "no_such_reason"],
                         "detail": ['医疗费总额 "abc"', "-", None], "severity": ["error", "error", "info"]})


def test_claims_csv_is_the_old_writers_bytes_and_reads_as_written_by_hand(tmp_path):
    claims = fixture_claims()
    expected = old_claims(claims, tmp_path / "old.csv")
    written = write_claims(claims, tmp_path / "new.csv").read_bytes()
    assert written == expected
    lines = written.decode("utf-8").split("\n")
    assert written.startswith(BOM) and lines[0].lstrip("\ufeff") == ",".join(CLAIMS_CSV_COLUMNS)
    # claim 1: base 16,345.67 yuan, due 6,307.40; the trace holds commas → quoted
    assert lines[1] == (f"P,illness,person,{f.pid(1)},H1,130434100200,16345.67,6307.40,0.00,6307.40,"
                        f'"{TRACES[0]}",因病防贫（个人）,illness,张庄,6307.40,0.00,2,2025-01-15,2025-03-02,d1')
    # claim 2: household number with a comma quoted, no village, no dates, empty trace; paid 1,000.00 before
    assert lines[2] == (f'P,illness,person,{f.pid(2)},"H,2",130434100200,0.00,0.00,1000.00,0.00,,因病防贫（个人）,'
                        "illness,,0.00,1000.00,0,,,d1")
    # claim 3: a formula-like unit id gets its apostrophe; a quote doubled inside a quoted trace
    assert lines[3].startswith("P,illness,person,'+86,,130434100200,0.05,0.00,0.00,0.00,"
                               '"a ""quoted"" word, and a comma",')
    # claim 4: a negative base stays a number (money columns are not made formula-safe)
    assert lines[4].startswith("P,illness,person,'-1,H4,130434100200,-12.00,")


def test_sources_and_exceptions_are_the_old_writers_bytes(tmp_path):
    sources, exceptions = fixture_sources(), fixture_exceptions()
    written = write_sources(sources, tmp_path / "s.csv").read_bytes()
    assert written == old_sources(sources, tmp_path / "s-old.csv")
    # 9,000.00 and 7,345.67 yuan, a −0.05 amount; a file name with a comma quoted; '=1+1' made safe
    assert written.decode("utf-8").lstrip("\ufeff").split("\n") == [
        "line_id,unit_id,source_file,source_line,amount", f"illness,{f.pid(1)},medical/2025-01.csv,2,9000.00",
        f'illness,{f.pid(1)},"medical/a,b.csv",2,7345.67', "x,'=1+1,m.csv,7,-0.05", ""]
    written = write_exceptions(exceptions, tmp_path / "e.csv").read_bytes()
    assert written == old_exceptions(exceptions, tmp_path / "e-old.csv")
    lines = written.decode("utf-8").lstrip("\ufeff").split("\n")
    assert lines[1].startswith('medical/2025-03.csv,3,amount_not_numeric,"医疗费总额 ""abc""",error,')
    assert lines[2].startswith("persons.csv,,not_on_roster,'-,error,") and lines[3] == ",12,no_such_reason,,info,"


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"only": ["", None, "x", "a,b"]}),  # one column: an empty cell is written ""
    pd.DataFrame({"a": [1.5, np.nan], "b": ["x", "y"]}),  # floats: pandas renders them (1.5, '')
    pd.DataFrame({"a": [True, False], "b": ["x", "=y"]}),  # booleans: True / False
    pd.DataFrame({"a": ["x\x1fy", "z"], "b": [1, 2]}),  # a stand-in byte in a cell
    pd.DataFrame({"a": pd.Series([], dtype="str"), "b": pd.Series([], dtype="int64")}),  # no rows: the header
    pd.DataFrame({"a": ["a\r\nb", '"'], "b": [-3, 4]}),
], ids=["one-column", "floats", "booleans", "stand-in-byte", "empty", "crlf-and-quote"])
def test_write_csv_is_the_old_writers_bytes_for_any_frame(tmp_path, frame):
    assert write_csv(frame, tmp_path / "new.csv").read_bytes() == old_csv(frame, tmp_path / "old.csv")


def test_one_column_frame_by_hand(tmp_path):
    written = write_csv(pd.DataFrame({"only": ["", None, "x", "a,b"]}), tmp_path / "one.csv").read_bytes()
    assert written == BOM + b'only\n""\n""\nx\n"a,b"\n'


def test_a_county_run_writes_the_old_writers_bytes_and_parquet_holds_the_same_cells(tmp_path):
    from claims.engine.files import calculate, expand, load_inputs, write_outputs
    from claims.reports import DEPARTMENTS
    from claims.synth import synth_county
    from products import load_product

    product = load_product("fangpinbao-weixian-2025")
    county = tmp_path / "county"
    synth_county(county, 3000, seed=11, year=product.year, county=product.county)
    specs = [(d, p, label) for d in DEPARTMENTS if (county / d).is_dir() for p, label in expand(county / d)]
    result = calculate(product, load_inputs(county / "persons.csv", county / "households.csv", specs))
    assert len(result.claims) > 0 and len(result.sources) > 0 and len(result.exceptions) > 0
    out = write_outputs(result, product, tmp_path / "out")
    assert (out / "claims.csv").read_bytes() == old_claims(result.claims, tmp_path / "c.csv")
    assert (out / "claim_sources.csv").read_bytes() == old_sources(result.sources, tmp_path / "s.csv")
    assert (out / "exceptions.csv").read_bytes() == old_exceptions(result.exceptions, tmp_path / "e.csv")
    parquet = write_claims(result.claims, tmp_path / "claims.parquet", fmt="parquet")
    from_csv = pd.read_csv(out / "claims.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert pq.read_table(parquet).to_pandas().astype(object).equals(from_csv.astype(object))


def test_exceptions_with_a_stand_in_byte_or_a_float_line_are_the_old_writers_bytes(tmp_path):
    stand_in = fixture_exceptions().assign(detail=["a\x1fb", "-", None])  # a control byte the writer stands in with
    floats = fixture_exceptions().assign(line=[3.0, np.nan, 12.0])  # a float column: pandas writes 3.0
    for name, frame in (("stand-in", stand_in), ("floats", floats)):
        written = write_exceptions(frame, tmp_path / f"{name}.csv").read_bytes()
        assert written == old_exceptions(frame, tmp_path / f"{name}-old.csv"), name
    assert b"\nmedical/2025-03.csv,3.0,amount_not_numeric," in written
