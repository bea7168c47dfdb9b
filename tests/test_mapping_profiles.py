"""Column mapping when a header is unknown (issue 11 item 4): the reader's ``columns=`` override, mapping
documents, ``relief calc --mapping``, ``relief import --mapping`` and the stored mapping profiles.

A county's 医保 export here uses headers the alias table does not know (单据号, 参保人证件, 业务日期 …).
Product fangpinbao-weixian-2025, illness line (products/catalog/fangpinbao-weixian-2025.yaml): self-paid
above 5,000 yuan, brackets (5,000, 10,000] × 50 %, (10,000, 20,000] × 60 %, above × 70 %, cap 50,000.
"""

from __future__ import annotations

import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import factories as f
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from test_api import auth, make_app
from test_imports import claims_of, counts, county  # noqa: F401 - county: the imports tests' fixture
from web_helpers import login

from claims.lifecycle.database import transaction
from claims.lifecycle.mapping_profiles import (
    ProfileError,
    find_profile,
    get_profile,
    import_mapped,
    list_profiles,
    profile_yaml,
    save_profile,
)
from claims.lifecycle.models import ImportBatch, User
from claims.lifecycle.transitions import SYSTEM
from claims.reports import ReportFileError, read_report
from claims.reports.mapping import (
    MappingError,
    load_mapping,
    mapping_yaml,
    parse_mapping,
)
from flask_app import create_app, uploads
from flask_app import db as web_db
from flask_app.auth import hash_password
from flask_app.cli import relief

#: The county's own headers, in its order, and the canonical column each one holds.
COUNTY_HEADERS = {"单据号": "setl_id", "参保人证件": "id_no", "患者": "name", "业务日期": "setl_date",
                  "费用合计": "medfee_sumamt", "统筹报销": "hifp_pay", "大病报销": "hifmi_pay", "救助报销": "maf_pay",
                  "其它报销": "oth_pay", "全自费部分": "fulamt_ownpay_amt", "超限价部分": "overlmt_selfpay"}
COLUMNS = {canonical: header for header, canonical in COUNTY_HEADERS.items()}


def county_file(path: Path, rows: list[tuple[str, int, str, str, str, str, str]]) -> Path:
    """rows: (单据号, person n, 业务日期, 费用合计, 统筹, 大病, 救助); the other amounts are 0."""
    lines = [",".join(COUNTY_HEADERS)]
    lines += [f"{s},{f.pid(n)},测试{n},{d},{total},{hifp},{hifmi},{maf},0,0,0" for s, n, d, total, hifp, hifmi, maf in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


#: person 1: 20,000.00 − 统筹 8,000.00 − 大病 2,000.00 − 救助 1,000.00 = self-paid 9,000.00;
#: person 3: 30,000.00 − 统筹 5,000.00 = self-paid 25,000.00.
MARCH = [("D1", 1, "2025-03-01", "20000.00", "8000.00", "2000.00", "1000.00"),
         ("D2", 3, "2025-03-09", "30000.00", "5000.00", "0", "0")]


# ---- the reader -----------------------------------------------------------------------------------

def test_unknown_headers_are_refused_with_what_a_person_must_map(tmp_path):
    path = county_file(tmp_path / "m.csv", MARCH)
    with pytest.raises(ReportFileError) as caught:
        read_report(path, "medical")
    unmatched = caught.value.unmatched
    assert unmatched is not None
    assert "setl_id" in unmatched.missing and "medfee_sumamt" in unmatched.missing
    assert unmatched.headers == tuple(COUNTY_HEADERS)
    assert unmatched.header_line == 1
    assert unmatched.first_rows[0][:4] == ("D1", f.pid(1), "测试1", "2025-03-01")
    assert len(unmatched.first_rows) == 2


def test_given_columns_read_the_file_and_take_precedence_over_aliases(tmp_path):
    path = county_file(tmp_path / "m.csv", MARCH)
    read = read_report(path, "medical", columns=COLUMNS)
    assert read.rows["setl_id"].tolist() == ["D1", "D2"]
    # self-paid = total − 统筹 − 大病 − 救助 − 其他 (fen): 2,000,000 − 800,000 − 200,000 − 100,000 = 900,000
    assert read.rows["self_paid"].tolist() == [900_000, 2_500_000]
    assert read.exceptions.empty and read.rows_read == 2

    # the file also has 结算ID (an alias of setl_id, here the hospital's own number): the mapping wins
    text = path.read_text(encoding="utf-8").splitlines()
    both = tmp_path / "both.csv"
    both.write_text("\n".join([text[0] + ",结算ID", text[1] + ",H-77", text[2] + ",H-78"]) + "\n", encoding="utf-8")
    assert read_report(both, "medical", columns=COLUMNS).rows["setl_id"].tolist() == ["D1", "D2"]


def test_a_mapping_finds_its_header_row_under_a_title(tmp_path):
    # a title and a unit row above the county's headers, and a last column without a header (notes): the
    # data rows have more cells filled than the header row, so only the mapped headers tell it apart
    lines = county_file(tmp_path / "m.csv", MARCH).read_text(encoding="utf-8").splitlines()
    path = tmp_path / "titled.csv"
    path.write_text("\n".join(["某县医疗保障局2025年3月结算明细", "单位：元", lines[0] + ",",
                               *(line + ",备注" for line in lines[1:])]) + "\n", encoding="utf-8")
    read = read_report(path, "medical", columns=COLUMNS)
    assert read.rows["setl_id"].tolist() == ["D1", "D2"]
    assert read.rows["source_line"].tolist() == [4, 5]  # header on line 3


def test_a_mapped_header_missing_from_the_file_refuses_it_naming_the_header(tmp_path):
    path = county_file(tmp_path / "m.csv", MARCH)
    with pytest.raises(ReportFileError, match="单据编号") as caught:
        read_report(path, "medical", columns={**COLUMNS, "setl_id": "单据编号"})
    assert "setl_id → 单据编号" in caught.value.message and " / " in caught.value.message
    with pytest.raises(ReportFileError, match="are not columns of department medical"):
        read_report(path, "medical", columns={"settlement": "单据号"})
    with pytest.raises(ReportFileError, match="mapped to several columns"):
        read_report(path, "medical", columns={**COLUMNS, "name": "单据号"})


# ---- mapping documents ----------------------------------------------------------------------------

def test_mapping_documents_one_or_several_departments(tmp_path):
    one = tmp_path / "one.yaml"
    one.write_text(mapping_yaml("medical", COLUMNS, "某县医保"), encoding="utf-8")
    assert load_mapping(one) == {"medical": COLUMNS}
    several = tmp_path / "several.json"
    several.write_text(json.dumps([{"department": "medical", "columns": COLUMNS},
                                   {"department": "income", "columns": {"household_no": "户主编号"}}],
                                  ensure_ascii=False), encoding="utf-8")
    assert load_mapping(several)["income"] == {"household_no": "户主编号"}
    with pytest.raises(MappingError, match="unknown department 'medic'"):
        parse_mapping({"department": "medic", "columns": COLUMNS})
    with pytest.raises(MappingError, match="given twice"):
        parse_mapping([{"department": "medical", "columns": COLUMNS}] * 2)
    with pytest.raises(MappingError, match="needs department and columns"):
        parse_mapping({"medical": COLUMNS})


# ---- relief calc --mapping ------------------------------------------------------------------------

def write_roster(tmp_path: Path) -> None:
    (tmp_path / "persons.csv").write_text(
        f"身份证号,姓名,户编号,与户主关系\n{f.pid(1)},张三,H1,户主\n{f.pid(3)},李四,H2,户主\n", encoding="utf-8")
    (tmp_path / "households.csv").write_text(
        "户编号,村代码,自然村,户类别,家庭人均纯收入,家庭人口数\n"
        "H1,130434100200,张庄,边缘易致贫户,5000.00,1\nH2,130434100200,李庄,脱贫不稳定户,4800.00,1\n", encoding="utf-8")


def calc(tmp_path: Path, *extra: str):
    return CliRunner().invoke(relief, [
        "calc", "--product", "fangpinbao-weixian-2025", "--persons", str(tmp_path / "persons.csv"),
        "--households", str(tmp_path / "households.csv"), "--report", f"medical={tmp_path / 'm03.csv'}",
        "--out", str(tmp_path / "out"), *extra])


def test_relief_calc_with_a_mapping_file_computes_the_claims(tmp_path):
    write_roster(tmp_path)
    county_file(tmp_path / "m03.csv", MARCH)
    refused = calc(tmp_path)
    assert refused.exit_code == 2 and "setl_id" in refused.output

    mapping = tmp_path / "county.yaml"
    mapping.write_text(mapping_yaml("medical", COLUMNS), encoding="utf-8")
    result = calc(tmp_path, "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    claims = pd.read_csv(tmp_path / "out" / "claims.csv", dtype=str, encoding="utf-8-sig").set_index("unit_id")
    # person 1: self-paid 9,000.00 → (9,000 − 5,000) × 50 % = 2,000.00
    # person 3: self-paid 25,000.00 → 5,000 × 50 % + 10,000 × 60 % + 5,000 × 70 % = 2,500 + 6,000 + 3,500 = 12,000.00
    assert claims.loc[f.pid(1), "due"] == "2000.00"
    assert claims.loc[f.pid(3), "due"] == "12000.00"


def test_relief_calc_refuses_a_bad_mapping_file(tmp_path):
    write_roster(tmp_path)
    county_file(tmp_path / "m03.csv", MARCH)
    mapping = tmp_path / "bad.yaml"
    mapping.write_text("department: medical\ncolumns: {setl_id: 单据编号}\n", encoding="utf-8")
    result = calc(tmp_path, "--mapping", str(mapping))
    assert result.exit_code == 2 and "单据编号" in result.output
    mapping.write_text(mapping_yaml("medical", COLUMNS), encoding="utf-8")
    dask = calc(tmp_path, "--mapping", str(mapping), "--engine", "dask")
    assert dask.exit_code == 2 and "--mapping is not supported with --engine dask" in dask.output


# ---- stored profiles and the import that uses them ------------------------------------------------

def test_profiles_saved_listed_and_found_by_the_file_headers(db):
    _, factory = db
    with transaction(factory) as s:
        save_profile(s, "medical", "某县医保", COLUMNS, SYSTEM)
        save_profile(s, "medical", "只有单据号", {"setl_id": "单据号"}, SYSTEM)
        save_profile(s, "income", "收入", {"household_no": "户主编号"}, SYSTEM)
    with factory() as s:
        assert [p.name for p in list_profiles(s, "medical")] == ["只有单据号", "某县医保"]
        # both medical profiles fit the county's headers: the one mapping more columns is taken
        assert find_profile(s, "medical", list(COUNTY_HEADERS)).name == "某县医保"
        # headers compare like the alias table (spaces, full-width brackets): " 单据号 " is 单据号
        assert find_profile(s, "medical", [" 单据号 ", "结算日期"]).name == "只有单据号"
        assert find_profile(s, "medical", ["结算ID", "身份证号"]) is None
        assert find_profile(s, "education", list(COUNTY_HEADERS)) is None
        assert "setl_id: 单据号" in profile_yaml(get_profile(s, "medical", "某县医保"))
    with transaction(factory) as s:
        with pytest.raises(ProfileError, match="already has a mapping profile named '某县医保'"):
            save_profile(s, "medical", "某县医保", COLUMNS, SYSTEM)
        with pytest.raises(ProfileError, match="not columns of department medical"):
            save_profile(s, "medical", "错", {"household_no": "户号"}, SYSTEM)
        with pytest.raises(ProfileError, match="1–60 characters"):
            save_profile(s, "medical", " ", COLUMNS, SYSTEM)


def test_a_saved_profile_imports_the_next_file_without_asking(county, tmp_path):  # noqa: F811 - the fixture
    factory, policy_id = county
    first = county_file(tmp_path / "m03.csv", MARCH[:1])
    with pytest.raises(ReportFileError) as caught:
        import_mapped(factory, policy_id, "medical", first, actor=SYSTEM)
    assert caught.value.unmatched is not None and "setl_id" in caught.value.unmatched.missing

    done = import_mapped(factory, policy_id, "medical", first, actor=SYSTEM, columns=COLUMNS, save_as="某县医保")
    assert (done.saved, done.profile, done.result.rows_stored) == ("某县医保", None, 1)
    # person 1: self-paid 9,000.00 → (9,000 − 5,000) × 50 % = 2,000.00
    assert [c.amount for c in claims_of(factory, 1)] == [Decimal("2000.00")]

    # April, same layout: read with the saved profile, nothing asked
    april = county_file(tmp_path / "m04.csv", [("D9", 3, "2025-04-02", "30000.00", "5000.00", "0", "0")])
    done = import_mapped(factory, policy_id, "medical", april, actor=SYSTEM)
    assert (done.profile, done.saved, done.result.rows_stored) == ("某县医保", None, 1)
    # person 3: self-paid 25,000.00 → 5,000 × 50 % + 10,000 × 60 % + 5,000 × 70 % = 12,000.00
    assert [c.amount for c in claims_of(factory, 3)] == [Decimal("12000.00")]

    # a taken name refuses before anything is stored
    may = county_file(tmp_path / "m05.csv", [("D10", 4, "2025-05-02", "7000.00", "1000.00", "0", "0")])
    before = counts(factory)
    with pytest.raises(ProfileError, match="already has"):
        import_mapped(factory, policy_id, "medical", may, actor=SYSTEM, columns=COLUMNS, save_as="某县医保")
    assert counts(factory) == before
    # a profile named explicitly
    done = import_mapped(factory, policy_id, "medical", may, actor=SYSTEM, profile="某县医保")
    assert done.profile == "某县医保" and done.result.rows_stored == 1


def test_relief_import_with_a_mapping_file_and_then_with_the_saved_profile(county, db_url, tmp_path):  # noqa: F811
    factory, _ = county
    runner = CliRunner()
    first = county_file(tmp_path / "m03.csv", MARCH[:1])
    refused = runner.invoke(relief, ["import", "--department", "medical", str(first), "--database", db_url])
    assert refused.exit_code == 2 and "setl_id" in refused.output

    mapping = tmp_path / "county.yaml"
    mapping.write_text(mapping_yaml("medical", COLUMNS), encoding="utf-8")
    wrong = runner.invoke(relief, ["import", "--department", "income", str(first), "--mapping", str(mapping),
                                   "--database", db_url])
    assert wrong.exit_code == 2 and "has no department income" in wrong.output

    done = runner.invoke(relief, ["import", "--department", "medical", str(first), "--mapping", str(mapping),
                                  "--database", db_url])
    assert done.exit_code == 0, done.output
    # person 1: self-paid 9,000.00 → (9,000 − 5,000) × 50 % = 2,000.00
    assert [c.amount for c in claims_of(factory, 1)] == [Decimal("2000.00")]

    # a profile saved (as the web page does) reads April's file without --mapping
    with transaction(factory) as s:
        save_profile(s, "medical", "某县医保", COLUMNS, SYSTEM)
    april = county_file(tmp_path / "m04.csv", [("D9", 3, "2025-04-02", "30000.00", "5000.00", "0", "0")])
    done = runner.invoke(relief, ["import", "--department", "medical", str(april), "--database", db_url])
    assert done.exit_code == 0, done.output
    assert "columns read with mapping profile: 某县医保" in done.output
    # person 3: self-paid 25,000.00 → 5,000 × 50 % + 10,000 × 60 % + 5,000 × 70 % = 12,000.00
    assert [c.amount for c in claims_of(factory, 3)] == [Decimal("12000.00")]


def test_api_imports_with_a_named_or_fitting_profile_and_lists_profiles(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    try:
        client = app.test_client()

        def post(name: str, rows: list, **form: str):
            data = county_file(tmp_path / name, rows).read_bytes()
            return client.post("/api/v1/imports", headers=auth("insurer_adjudicator"), content_type="multipart/form-data",
                               data={"department": "medical", **form, "file": (io.BytesIO(data), name)})

        refused = post("m03.csv", MARCH[:1])
        assert refused.status_code == 422 and "setl_id" in refused.get_json()["detail"]
        unmatched = refused.get_json()["unmatched"]
        assert (unmatched["headers"], unmatched["header_line"]) == (list(COUNTY_HEADERS), 1)
        assert "setl_id" in unmatched["missing"] and "medfee_sumamt" in unmatched["missing"]
        unknown = post("m03.csv", MARCH[:1], mapping_profile="某县医保")
        assert unknown.status_code == 422 and "no mapping profile named '某县医保'" in unknown.get_json()["detail"]

        with app.app_context(), transaction(web_db.factory()) as s:
            save_profile(s, "medical", "某县医保", COLUMNS, SYSTEM)
        named = post("m03.csv", MARCH[:1], mapping_profile="某县医保")
        assert named.status_code == 201, named.get_data(as_text=True)
        assert (named.get_json()["mapping_profile"], named.get_json()["claims_created"]) == ("某县医保", 1)
        fitting = post("m04.csv", [("D9", 3, "2025-04-02", "30000.00", "5000.00", "0", "0")])
        assert fitting.status_code == 201 and fitting.get_json()["mapping_profile"] == "某县医保"

        listed = client.get("/api/v1/imports/mapping-profiles?department=medical", headers=auth("insurer_adjudicator"))
        assert listed.status_code == 200
        assert [(p["name"], p["columns"]) for p in listed.get_json()] == [("某县医保", COLUMNS)]
        assert client.get("/api/v1/imports/mapping-profiles?department=income",
                          headers=auth("insurer_adjudicator")).get_json() == []
    finally:
        app.extensions["relief_engine"].dispose()


# ---- the web page's kept uploads and its refusals -------------------------------------------------

def test_kept_uploads_are_named_by_digest_checked_and_bounded(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}", "SECRET_KEY": "t",
                      "RELIEF_PENDING_UPLOADS": str(tmp_path / "pending"), "RELIEF_PENDING_UPLOAD_MAX_BYTES": 100})
    with app.app_context():
        digest = uploads.keep(b"a,b\n1,2\n")
        # sha256("a,b\n1,2\n") names the file; nothing else does
        assert digest == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
        assert uploads.load(digest) == b"a,b\n1,2\n"
        assert uploads.load("../" + digest) is None and uploads.load(digest.upper()) is None
        (tmp_path / "pending" / digest).write_bytes(b"changed")
        assert uploads.load(digest) is None  # bytes no longer match their name
        uploads.discard(digest)
        assert list((tmp_path / "pending").iterdir()) == []
        with pytest.raises(uploads.PendingUploadError, match="relief import --mapping"):
            uploads.keep(b"x" * 101)


def test_mapping_page_refusals_keep_the_choices(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    app.config["RELIEF_PENDING_UPLOADS"] = str(tmp_path / "pending")
    try:
        with app.app_context(), transaction(web_db.factory()) as s:
            s.execute(update(User).values(password_hash=hash_password("pw-mapping-1")))
            save_profile(s, "medical", "已有", {"setl_id": "别的表头"}, SYSTEM)
        client = app.test_client()
        token = login(client, "insurer_adjudicator", "pw-mapping-1")
        data = county_file(tmp_path / "m03.csv", MARCH[:1]).read_bytes()
        r = client.post("/imports", data={"csrf_token": token, "department": "medical",
                                          "file": (io.BytesIO(data), "m03.csv")}, content_type="multipart/form-data")
        assert r.status_code == 302 and "/imports/mapping/" in r.headers["Location"]
        path = r.headers["Location"].split("?")[0]
        form = {"csrf_token": token, "department": "medical", "policy_id": "1", "file_name": "m03.csv",
                **{f"col-{c}": h for c, h in COLUMNS.items()}}
        # a taken profile name: refused, nothing imported, the page again with the person's choices
        r = client.post(path, data={**form, "profile_name": "已有"})
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and "已有名为“已有”的映射方案" in page
        assert '<option value="单据号" selected>' in page
        with app.app_context():
            assert web_db.session().scalar(select(func.count()).select_from(ImportBatch)) == 0
        # the form cannot name a file: a digest that is not one is not found
        assert client.post("/imports/mapping/..%2F..%2Fetc", data=form).status_code == 404
        assert client.get("/imports/mapping/" + "0" * 64 + "?department=medical").status_code == 404
    finally:
        app.extensions["relief_engine"].dispose()


def test_a_name_taken_while_the_file_imports_leaves_the_import_standing(county, tmp_path, monkeypatch):  # noqa: F811
    factory, policy_id = county
    with transaction(factory) as s:
        save_profile(s, "medical", "某县医保", {"setl_id": "单据号"}, SYSTEM)
    # the name checks see it free (as if it were saved by someone else in the moment between)
    monkeypatch.setattr("claims.lifecycle.mapping_profiles._taken", lambda *_: False)
    done = import_mapped(factory, policy_id, "medical", county_file(tmp_path / "m03.csv", MARCH[:1]), actor=SYSTEM,
                         columns=COLUMNS, save_as="某县医保")
    assert done.result.rows_stored == 1 and done.saved is None
    assert "already has a mapping profile named '某县医保'" in done.save_refused
    with factory() as s:
        assert get_profile(s, "medical", "某县医保").columns == {"setl_id": "单据号"}  # the earlier one, unchanged
