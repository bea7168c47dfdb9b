"""Province scale: the chunked generator (``synth_province``) and the fast path of ``read_report``.

The fast path must give the general reader's frame exactly (columns, dtypes, values, exceptions with
their lines), plus the int64 resident-ID key; speed is measured in benchmarks/ingest.py, not here.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_bad_input_catalog as catalog

from claims.reports import SPECS, ReportFileError, read_report
from claims.reports.fast import read_plain
from claims.synth import MEDICAL_COLUMNS, MEDICAL_HEADERS_ZH, county_roster, medical_chunk, synth_province
from tabular.resident_id import id_from_key, id_key, validate_ids

# --- the int64 key ---------------------------------------------------------------------------------
# GB 11643 example 11010519491231002X: Σ d_i·w_i over the body 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 with
# w = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
#   7 + 9 + 0 + 5 + 0 + 20 + 2 + 9 + 24 + 27 + 7 + 18 + 30 + 5 + 0 + 0 + 4 = 167; 167 mod 11 = 2 → "10X98765432"[2] = X
# 440524188001010014: 28 + 36 + 0 + 25 + 16 + 16 + 2 + 8 + 48 + 0 + 0 + 9 + 0 + 5 + 0 + 0 + 2 = 195;
#   195 mod 11 = 8 → "10X98765432"[8] = 4
KEY_EXAMPLES = [("11010519491231002X", 11010519491231002), ("440524188001010014", 44052418800101001)]


def test_id_key_round_trip_with_the_check_digit():
    ids = pd.Series([i for i, _ in KEY_EXAMPLES], dtype="str")
    keys = id_key(ids)
    assert keys.dtype == np.int64
    assert keys.tolist() == [k for _, k in KEY_EXAMPLES]
    assert id_from_key(keys).tolist() == ids.tolist()  # the check digit is derived from the body


def test_id_key_round_trip_on_generated_people(tmp_path):
    hh, ps = county_roster(11, 0, "130102", 2_000)
    ids = pd.Series(ps["id_no"], dtype="str")
    assert validate_ids(ids).reason.isna().all()
    assert id_from_key(id_key(ids)).tolist() == ids.tolist()


# --- synth_province --------------------------------------------------------------------------------


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


SMALL = dict(people=3_000, medical_rows=5_000, chunk_rows=2_000, county_people=1_500)


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("province")
    stages: list[tuple[str, int, int]] = []
    manifest = synth_province(out, SMALL["people"], SMALL["medical_rows"], seed=5, fmt="parquet",
                              chunk_rows=SMALL["chunk_rows"], county_people=SMALL["county_people"],
                              progress=lambda *a: stages.append(a))
    assert stages[-1] == ("done", 5_000, 5_000)
    return out, manifest


def test_province_layout_counts_and_money(province):
    out, manifest = province
    # 3,000 people / 1,500 per county = 2 counties; 5,000 rows ∝ people = 2,500 each; ⌈2,500 / 2,000⌉ = 2
    # chunks per county → 4 medical files
    assert [c["code"] for c in manifest["counties"]] == ["130102", "130103"]
    assert [c["medical_rows"] for c in manifest["counties"]] == [2_500, 2_500]
    med = manifest["departments"]["medical"]
    assert med["files"] == ["medical/130102-000.parquet", "medical/130102-001.parquet",
                            "medical/130103-000.parquet", "medical/130103-001.parquet"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    persons = pd.read_parquet(out / "persons.parquet")
    assert len(persons) == 3_000 and persons["id_no"].is_unique
    assert validate_ids(persons["id_no"]).reason.isna().all()
    households = pd.read_parquet(out / "households.parquet")
    assert persons["household_no"].isin(households["household_no"]).all()
    frames = [pd.read_parquet(out / f) for f in med["files"]]
    assert all(len(f) <= 2_000 for f in frames) and sum(len(f) for f in frames) == 5_000 == med["rows"]
    all_rows = pd.concat(frames, ignore_index=True)
    assert list(all_rows.columns) == [MEDICAL_HEADERS_ZH[c] for c in MEDICAL_COLUMNS]
    all_rows.columns = list(MEDICAL_COLUMNS)
    assert all_rows["setl_id"].is_unique and all_rows["id_no"].isin(persons["id_no"]).all()
    fen = {c: all_rows[c].str.replace(".", "", regex=False).astype("int64") for c in MEDICAL_COLUMNS[4:]}
    assert all_rows["medfee_sumamt"].str.fullmatch(r"\d+\.\d{2}").all()
    # psn_part_amt = medfee_sumamt − hifp_pay − hifmi_pay − maf_pay − oth_pay, to the fen
    assert (fen["psn_part_amt"] == fen["medfee_sumamt"] - fen["hifp_pay"] - fen["hifmi_pay"] - fen["maf_pay"]
            - fen["oth_pay"]).all()
    for name in med["files"]:  # every chunk reads clean, through the fast path
        read = read_report(out / name, "medical")
        assert read.rows_read == len(read.rows) and not len(read.exceptions)


def test_province_deterministic_by_seed(province, tmp_path):
    out, _ = province
    synth_province(tmp_path / "again", SMALL["people"], SMALL["medical_rows"], seed=5, fmt="parquet",
                   chunk_rows=SMALL["chunk_rows"], county_people=SMALL["county_people"])
    assert files(tmp_path / "again") == files(out)
    other = synth_province(tmp_path / "other", SMALL["people"], SMALL["medical_rows"], seed=6, fmt="parquet",
                           chunk_rows=SMALL["chunk_rows"], county_people=SMALL["county_people"])
    assert other["seed"] == 6
    assert files(tmp_path / "other")["medical/130102-000.parquet"] != files(out)["medical/130102-000.parquet"]


def test_each_chunk_is_rebuilt_alone(province):
    """A chunk depends only on (seed, county, chunk) and its county's roster: rebuilt on its own, without
    the other chunks or counties, it is the same table as in the file."""
    out, manifest = province
    for info in reversed(manifest["departments"]["medical"]["chunks"]):  # last first: no hidden state
        county = manifest["counties"][info["county"]]
        hh, ps = county_roster(5, info["county"], county["code"], county["people"])
        alone = medical_chunk(5, info["county"], county["code"], info["chunk"], ps, hh, info["first_person"],
                              info["stop_person"], info["rows"])
        assert alone.equals(pq.read_table(out / info["file"]))


def test_province_csv_matches_parquet(province, tmp_path):
    out, manifest = province
    synth_province(tmp_path / "csv", SMALL["people"], SMALL["medical_rows"], seed=5, fmt="csv",
                   chunk_rows=SMALL["chunk_rows"], county_people=SMALL["county_people"])
    name = manifest["departments"]["medical"]["files"][0]
    data = (tmp_path / "csv" / name.replace(".parquet", ".csv")).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    from_csv = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(from_csv, pd.read_parquet(out / name).astype(object), check_dtype=False)


# --- the fast path equals the general reader -------------------------------------------------------


def same_read(a, b) -> None:
    pd.testing.assert_frame_equal(a.rows, b.rows)
    pd.testing.assert_frame_equal(a.exceptions, b.exceptions)
    assert (a.rows_read, a.file, a.department) == (b.rows_read, b.file, b.department)


def general(source, department: str = "medical", **kw):
    read = read_report(source, department, fast=False, key=True, **kw)
    return read


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> dict[str, Path]:
    """200,000 settlement rows of 60,000 people, one file per format."""
    out = tmp_path_factory.mktemp("big")
    paths = {}
    for fmt in ("csv", "parquet"):
        m = synth_province(out / fmt, 60_000, 200_000, seed=9, fmt=fmt, chunk_rows=200_000,
                           other_departments=False)
        (name,) = m["departments"]["medical"]["files"]
        paths[fmt] = out / fmt / name
    return paths


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_fast_path_equals_general_reader_on_200k_rows(big, fmt):
    path = big[fmt]
    spec = SPECS["medical"]
    assert read_plain(path, "medical", spec, path.name) is not None  # the fast path answers this file
    fast = read_report(path, "medical", key=True)
    assert len(fast.rows) == 200_000 and fast.rows["id_key"].dtype == np.int64
    assert (fast.rows["id_key"].to_numpy() == id_key(fast.rows["id_no"])).all()
    assert (fast.rows["source_line"].to_numpy() == np.arange(2, 200_002)).all()
    same_read(fast, general(path))
    without_key = read_report(path, "medical")
    assert "id_key" not in without_key.rows


def corrupt(data: bytes, edits: dict[int, tuple[int, str]]) -> bytes:
    """Replace field ``col`` of file line ``line`` (1-based; line 1 is the header) with ``value``."""
    lines = data.split(b"\n")
    for line, (col, value) in edits.items():
        cells = lines[line - 1].decode("utf-8").split(",")
        cells[col] = value
        lines[line - 1] = ",".join(cells).encode("utf-8")
    return b"\n".join(lines)


def test_bad_rows_keep_their_true_lines(big):
    """A few bad rows in a big plain file: the plain rows are read fast, the bad ones are judged by the
    general reader — same reasons on the same lines as reading the whole file with it."""
    data = big["csv"].read_bytes()
    lines = data.split(b"\n")
    first_setl = lines[1].split(b",")[0].decode()
    total = lines[150_000 - 1].split(b",")[4].decode()  # medfee_sumamt of line 150,000, e.g. 1234.50
    whole, cents = total.split(".")
    with_separator = f'"{int(whole):,}.{cents}"'  # "1,234.50": quoted, not plain, read as the same fen
    bad = corrupt(data, {
        7: (1, "130102198001010115"),         # check digit: body sum ≠ given digit → id_check_digit
        1_000: (4, "12.345"),                 # three decimals → amount_precision
        50_001: (3, "2025-02-30"),            # no 30 February → bad_date
        120_000: (0, first_setl),             # repeats line 2's setl_id: read (identity is judged over a run)
        150_000: (4, with_separator),         # not plain but fine: the general reader reads it
        199_999: (2, " 张三 "),               # padded name: fine, stripped
    })
    fast = read_report(bad, "medical", file_name="big.csv", key=True)
    errors = fast.exceptions[fast.exceptions["severity"] == "error"]
    assert list(zip(errors["line"], errors["reason"])) == [
        (7, "id_check_digit"), (1_000, "amount_precision"), (50_001, "bad_date")]
    assert fast.rows_read == 200_000
    assert len(fast.rows) + len(errors) == 200_000
    row = fast.rows.set_index("source_line")
    assert row.loc[120_000, "setl_id"] == first_setl
    assert row.loc[150_000, "medfee_sumamt"] == int(whole) * 100 + int(cents)
    assert row.loc[199_999, "name"] == "张三"
    same_read(fast, general(io.BytesIO(bad), file_name="big.csv"))


def test_layout_problems_keep_true_lines(big):
    """Blank lines are rows of blanks (skipped, lines stay true); a ragged row, a line break inside a
    quoted cell or a bare carriage return leave the whole file to the general reader."""
    head = b"\n".join(big["csv"].read_bytes().split(b"\n")[:2001]) + b"\n"
    variants = {
        "blank lines": head.replace(b"\n", b"\n\n", 1).replace(b"\n", b"\n,,,,,,,,,,,\n", 5) + b"\n\n",
        "ragged row": corrupt(head, {10: (4, "1,234.50")}),  # an unquoted comma: one field too many
        "quoted line break": corrupt(head, {10: (2, '"张\n三"')}),
        "bare carriage return": head.replace(b"\n", b"\r", 3),
    }
    for what, data in variants.items():
        answered = read_plain(data, "medical", SPECS["medical"], "x.csv") is not None
        assert answered == (what == "blank lines"), what
        same_read(read_report(io.BytesIO(data), "medical", file_name="x.csv", key=True),
                  general(io.BytesIO(data), file_name="x.csv"))
    blank = read_report(io.BytesIO(variants["blank lines"]), "medical", file_name="x.csv")
    # header, ",,,", "", ",,,", row 1, ",,,", row 2, ",,,", row 3, ",,,", row 4, row 5 …: rows 1–4 on lines
    # 5, 7, 9, 11, then row k on line k + 7
    assert blank.rows_read == 2_000
    assert blank.rows["source_line"].tolist()[:6] == [5, 7, 9, 11, 12, 13]
    ragged = read_report(io.BytesIO(variants["ragged row"]), "medical", file_name="x.csv")
    assert (10, "extra_fields") in list(zip(ragged.exceptions["line"], ragged.exceptions["reason"]))


PLAIN_MED2 = ["S2", catalog.B, "李四", "2025-03-05", "2345.67", "1000.00", "", "", "", "", ""]


@pytest.mark.parametrize("plain_neighbours", [False, True], ids=["catalog", "plain-neighbours"])
@pytest.mark.parametrize("case", catalog.CASES, ids=[c.name for c in catalog.CASES])
def test_bad_input_catalog_identical(case, plain_neighbours, monkeypatch):
    """Every catalog case read with the fast path on and off gives the same result; with the second good
    row made plain the bad row sits among plain rows, so the mixed path (plain rows here, the rest by the
    general reader) is what answers."""
    if plain_neighbours:
        monkeypatch.setattr(catalog, "MED2", PLAIN_MED2)
    data = case.data()

    def read(fast: bool):
        try:
            return read_report(io.BytesIO(data), case.department, file_name=case.file_name, fast=fast, key=True)
        except ReportFileError as exc:
            return ("refused", exc.file, exc.message)

    a, b = read(True), read(False)
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
    else:
        same_read(a, b)


def test_mixed_path_answers_a_bad_row_among_plain_rows(monkeypatch):
    monkeypatch.setattr(catalog, "MED2", PLAIN_MED2)
    bad_check = next(c for c in catalog.CASES if c.name == "bad check digit")
    data = bad_check.data()
    read = read_plain(data, "medical", SPECS["medical"], "report.csv")
    assert read is not None  # plain rows typed here, line 3 judged by the general reader
    assert list(zip(read.exceptions["line"], read.exceptions["reason"])) == [(3, "id_check_digit")]
    # line 4: self_paid = 2345.67 − 1000.00 = 1345.67 yuan = 134567 fen
    assert read.rows["source_line"].tolist() == [2, 4] and read.rows["self_paid"].tolist() == [35_000, 134_567]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_department_of_a_county_reads_the_same(tmp_path, fmt):
    """The fast path also takes the small monthly files of every department (cutting the fixed cost per
    file); each gives the general reader's frame."""
    from claims.synth import synth_county

    manifest = synth_county(tmp_path, 3_000, seed=3, fmt=fmt)
    answered = 0
    for dept, info in manifest["departments"].items():
        for name in info["files"]:
            path = tmp_path / name
            answered += read_plain(path, dept, SPECS[dept], path.name) is not None
            same_read(read_report(path, dept, key=True), general(path, dept))
    total = sum(len(info["files"]) for info in manifest["departments"].values())
    if fmt == "csv":
        assert answered == total


def test_optional_columns_absent_and_a_bad_row():
    """A medical file without the optional name and psn_part_amt columns, one bad row among plain ones:
    the absent columns are blank (<NA>) in the kept rows, exactly as the general reader gives them."""
    header = [h for h in catalog.MED if h != "姓名"]
    good = [c for h, c in zip(catalog.MED, catalog.MED1) if h != "姓名"]
    bad = [c for h, c in zip(catalog.MED, catalog.bad_med(c3="2025-02-30")) if h != "姓名"]
    plain = [c for h, c in zip(catalog.MED, PLAIN_MED2) if h != "姓名"]
    data = catalog.csv_bytes(header, [good, bad, plain])
    read = read_plain(data, "medical", SPECS["medical"], "report.csv")
    assert read is not None
    assert list(zip(read.exceptions["line"], read.exceptions["reason"])) == [(3, "bad_date")]
    assert read.rows["name"].isna().all() and read.rows["psn_part_amt"].isna().all()
    same_read(read_report(io.BytesIO(data), "medical", file_name="report.csv", key=True),
              general(io.BytesIO(data), file_name="report.csv"))


def test_re_sent_settlements_read_fast_equal_the_general_reader(big):
    """Re-sent settlements (a setl_id repeated later in the file, as 0.1 % of a province file) are all
    read, plain rows in place: whether a repeat is a re-send or a correction is judged over every file of
    a run (claims.reports.identity), not by the reader."""
    data = big["csv"].read_bytes()
    lines = data.split(b"\n")
    setl = {line: lines[line - 1].split(b",")[0].decode() for line in (2, 10, 500, 90_000)}
    bad = corrupt(data, {
        11: (0, setl[10]), 1_000: (0, setl[10]),   # line 10 re-sent twice
        20_000: (0, setl[2]),                      # line 2 re-sent
        500: (3, "2025-02-30"), 600: (0, setl[500]),  # first row unusable (bad date), line 600 read
    })
    assert read_plain(bad, "medical", SPECS["medical"], "big.csv") is not None  # the fast path answers
    fast = read_report(bad, "medical", file_name="big.csv", key=True)
    assert list(zip(fast.exceptions["line"], fast.exceptions["reason"])) == [(500, "bad_date")]
    # 200,000 rows − 1 error
    assert len(fast.rows) == 199_999 and fast.rows["source_line"].is_monotonic_increasing
    kept = fast.rows.set_index("source_line")
    assert kept.loc[600, "setl_id"] == setl[500] and kept.loc[1_000, "setl_id"] == setl[10]
    assert {2, 10, 11, 20_000} <= set(kept.index)
    assert (fast.rows["id_key"].to_numpy() == id_key(fast.rows["id_no"])).all()
    same_read(fast, general(io.BytesIO(bad), file_name="big.csv"))

    # a padded code (not plain) that equals a plain row's code once stripped: read stripped, in place
    padded = corrupt(bad, {150_000: (0, f" {setl[90_000]}")})
    fast = read_report(padded, "medical", file_name="big.csv", key=True)
    assert fast.rows.set_index("source_line").loc[150_000, "setl_id"] == setl[90_000]
    same_read(fast, general(io.BytesIO(padded), file_name="big.csv"))


def test_a_row_with_a_cell_that_is_not_plain_among_re_sent_settlements():
    """A re-sent settlement whose first row has a cell the fast path does not type (an amount "1,234.50"):
    the general reader's values are spliced in at its line, the re-send read as it is."""
    rows = [PLAIN_MED2[:], PLAIN_MED2[:], PLAIN_MED2[:], PLAIN_MED2[:]]
    for i, row in enumerate(rows):
        row[0] = f"S{i}"
    rows[1][4] = '"2,345.67"'
    rows[3][0] = "S1"  # re-sends line 3
    text = ",".join(catalog.MED) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    data = text.encode("utf-8")
    read = read_plain(data, "medical", SPECS["medical"], "report.csv")
    assert read is not None
    assert read.exceptions.empty
    # line 3: 2,345.67 yuan = 234,567 fen
    assert read.rows["source_line"].tolist() == [2, 3, 4, 5] and read.rows["medfee_sumamt"].tolist()[1] == 234_567
    same_read(read_report(io.BytesIO(data), "medical", file_name="report.csv", key=True),
              general(io.BytesIO(data), file_name="report.csv"))


def test_columns_checked_slice_by_slice_join_the_same(big, monkeypatch):
    """Columns are checked a slice of rows at a time (1,048,576 rows in a real run); with slices of 30,011
    rows, 200,000 rows make 7 slices (6 × 30,011 = 180,066, then 19,934), bad rows included."""
    from claims.reports import fast

    monkeypatch.setattr(fast, "SLICE_ROWS", 30_011)
    data = big["csv"].read_bytes()
    setl = data.split(b"\n")[29_999].split(b",")[0].decode()  # line 30,000: the last row of slice 1
    bad = corrupt(data, {30_001: (1, "130102198001010115"), 30_013: (0, setl), 60_024: (3, "2025-13-01")})
    fast_read = read_report(bad, "medical", file_name="big.csv", key=True)
    assert list(zip(fast_read.exceptions["line"], fast_read.exceptions["reason"])) == [
        (30_001, "id_check_digit"), (60_024, "bad_date")]
    assert read_plain(bad, "medical", SPECS["medical"], "big.csv") is not None
    same_read(fast_read, general(io.BytesIO(bad), file_name="big.csv"))
    parquet = read_report(big["parquet"], "medical", key=True)
    same_read(parquet, general(big["parquet"]))


def test_the_tables_own_chunks_serve_as_slices(big, monkeypatch):
    """A big CSV is parsed in blocks of 1/16 of the file and each block's chunk is checked as it is (no copy
    into a slice of its own); with 1 MB blocks the 200,000-row file makes ~16 chunks — bad rows in two of
    them keep their true lines and the result equals the general reader's."""
    from claims.reports import fast
    from tabular import simple as simple_table

    monkeypatch.setattr(simple_table, "MIN_BLOCK_BYTES", 1 << 20)
    monkeypatch.setattr(fast, "MIN_CHUNK_ROWS", 1_000)
    seen = []
    real_bounds = fast._bounds
    monkeypatch.setattr(fast, "_bounds", lambda columns, n: seen.append(
        ([len(c) for c in columns[0].chunks], real_bounds(columns, n))) or seen[-1][1])
    data = big["csv"].read_bytes()
    bad = corrupt(data, {20_001: (1, "130102198001010115"), 150_000: (3, "2025-13-01")})
    fast_read = read_report(bad, "medical", file_name="big.csv", key=True)
    (lengths, bounds), = seen
    assert len(lengths) > 4 and [b - a for a, b in bounds] == lengths  # the chunks, one slice each
    assert list(zip(fast_read.exceptions["line"], fast_read.exceptions["reason"])) == [
        (20_001, "id_check_digit"), (150_000, "bad_date")]
    same_read(fast_read, general(io.BytesIO(bad), file_name="big.csv"))


def test_a_chunk_is_taken_as_it_is():
    from claims.reports.fast import _bounds, _rows

    a, b = pa.array(["x"] * 70_000), pa.array(["y"] * 5)
    column = pa.chunked_array([a, a, b])
    assert _bounds([column, column], 140_005) == [(0, 70_000), (70_000, 140_000), (140_000, 140_005)]
    assert _rows(column, 70_000, 140_000).buffers()[2].address == a.buffers()[2].address  # no copy
    assert _rows(column, 69_999, 70_001).to_pylist() == ["x", "x"]  # across chunks: combined
    other = pa.chunked_array([pa.array(["x"] * 140_005)])
    assert _bounds([column, other], 140_005) == [(0, 140_005)]  # chunks not shared: SLICE_ROWS slices
    small = pa.chunked_array([pa.array(["x"] * 100)] * 3)
    assert _bounds([small], 300) == [(0, 300)]  # chunks too small to check one by one
