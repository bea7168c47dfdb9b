"""The village registry (issue 15.4): 行政村 and 乡镇 names from a messy county villages file or from the
roster, one lookup for every page, and the county's one hotline."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import select

from claims.lifecycle.database import transaction
from claims.lifecycle.models import AuditEvent
from claims.lifecycle.roster_store import store_roster
from claims.lifecycle.store import Division
from claims.lifecycle.villages import (
    county_hotline,
    import_villages,
    read_villages,
    set_hotline,
    township_names,
    village_names,
    villages,
)
from products.roster import load_households
from tabular.errors import InvalidInputError

# A county export as a clerk saves it: a title row and a unit row above the header, GB18030, a blank line,
# a footer.
MESSY = ("魏县行政村名录\n"
         "填报单位：魏县乡村振兴局,,\n"
         "村代码,村名,乡镇名\n"
         "130434100212,东王庄村,双井镇\n"
         "130434100213,西李家沟村,双井镇\n"
         ",,\n"
         "130434101200,北街村,牙里镇\n"
         "制表人：张三,,\n")


def _read(text: str, encoding: str = "gb18030", name: str = "villages.csv") -> pd.DataFrame:
    return read_villages(io.BytesIO(text.encode(encoding)), name)


def test_a_messy_county_file_is_read_whole():
    frame = _read(MESSY)
    # three villages: the title, unit, blank and footer rows are not villages
    assert frame["village_code"].tolist() == ["130434100212", "130434100213", "130434101200"]
    assert frame["village_name"].tolist() == ["东王庄村", "西李家沟村", "北街村"]
    assert frame["township_name"].tolist() == ["双井镇", "双井镇", "牙里镇"]


def test_an_excel_file_with_codes_typed_as_numbers(tmp_path):
    # Excel keeps a 12-digit number exactly (below 2**53): 130434100212 as a number cell is the code
    path = tmp_path / "村名录.xlsx"
    grid = pd.DataFrame([["魏县行政村名录", None, None], ["村代码", "村名", "乡镇名"],
                         [130434100212, "东王庄村", "双井镇"], [130434101200, "北街村", "牙里镇"]])
    grid.to_excel(path, header=False, index=False)
    frame = read_villages(path)
    assert frame["village_code"].tolist() == ["130434100212", "130434101200"]
    assert frame["village_name"].tolist() == ["东王庄村", "北街村"]


def test_a_bad_file_is_refused_with_its_lines():
    bad = "村代码,村名,乡镇名\n13043410021,短代码村,双井镇\n130434100213,,双井镇\n"
    with pytest.raises(InvalidInputError) as err:
        _read(bad, "utf-8")
    assert "第 2 行" in str(err.value) and "12 位" in str(err.value)
    assert "第 3 行" in str(err.value) and "村名为空" in str(err.value)


def test_import_names_villages_and_townships(db):
    _, factory = db
    with transaction(factory) as s:
        counts = import_villages(s, io.BytesIO(MESSY.encode("gb18030")), "villages.csv", actor_name="os:clerk")
    # divisions created: 1 county (130434) + 2 townships (130434100, 130434101) + 3 villages = 6
    assert counts == {"villages": 3, "divisions_created": 6, "divisions_renamed": 0}
    with transaction(factory) as s:
        assert village_names(s, ["130434100212", "130434999999"]) == {"130434100212": "东王庄村",
                                                                      "130434999999": "130434999999"}
        assert township_names(s, ["130434100212", "130434100213", "130434101"]) == {
            "130434100212": "双井镇", "130434100213": "双井镇", "130434101": "牙里镇"}
        listed = villages(s, "130434")
        assert [(v.code, v.name, v.township_name) for v in listed] == [
            ("130434100212", "东王庄村", "双井镇"), ("130434100213", "西李家沟村", "双井镇"),
            ("130434101200", "北街村", "牙里镇")]
        assert s.scalar(select(AuditEvent.kind).where(AuditEvent.kind == "villages_imported")) == "villages_imported"


def test_the_roster_names_its_villages_and_a_file_renames_them(db):
    _, factory = db
    roster = ("户编号,村代码,村名,乡镇,户类型,家庭人均纯收入,家庭人口数\n"
              "H1,130434100212,东王庄,双井镇,一般农户,8000,2\n"
              "H2,130434100213,,双井镇,一般农户,8000,2\n")
    households = load_households(io.BytesIO(roster.encode("utf-8")), "households.csv")
    persons = pd.DataFrame({"id_no": pd.Series([], dtype="str"), "name": pd.Series([], dtype="str"),
                            "household_no": pd.Series([], dtype="str"), "relation": pd.Series([], dtype="str")})
    with transaction(factory) as s:
        store_roster(s, persons, households)
    with transaction(factory) as s:
        # H2's village has no name in the roster: its code stands in
        assert village_names(s, ["130434100212", "130434100213"]) == {"130434100212": "东王庄",
                                                                      "130434100213": "130434100213"}
        assert s.scalar(select(Division.name).where(Division.code == "130434100")) == "双井镇"
    with transaction(factory) as s:
        counts = import_villages(s, io.BytesIO(MESSY.encode("gb18030")), "villages.csv")
    # renamed: 东王庄 → 东王庄村 and 130434100213 → 西李家沟村 (the township's name is the same);
    # created: township 130434101 and village 130434101200
    assert counts == {"villages": 3, "divisions_created": 2, "divisions_renamed": 2}
    with transaction(factory) as s:
        assert village_names(s, ["130434100212", "130434100213"]) == {"130434100212": "东王庄村",
                                                                      "130434100213": "西李家沟村"}


def test_one_hotline_per_county(db):
    _, factory = db
    with transaction(factory) as s:
        assert county_hotline(s, "130434", default="12317") == "12317"  # none set: the deployment's default
        set_hotline(s, "130434", "0310-3512317", actor_name="os:admin")
    with transaction(factory) as s:
        assert county_hotline(s, "130434100212", default="12317") == "0310-3512317"  # a village: its county's
        assert county_hotline(s, "130435", default="12317") == "12317"
        set_hotline(s, "130434", "0310-3519999")
    with transaction(factory) as s:
        assert county_hotline(s, "130434") == "0310-3519999"
        details = [d for d, in s.execute(select(AuditEvent.detail).where(AuditEvent.kind == "hotline_set")
                                         .order_by(AuditEvent.id))]
        assert details == [{"before": None, "after": "0310-3512317"},
                           {"before": "0310-3512317", "after": "0310-3519999"}]
        with pytest.raises(InvalidInputError):
            set_hotline(s, "130434", "call me maybe")
        with pytest.raises(InvalidInputError):
            set_hotline(s, "1304", "12317")


def test_relief_villages_import_list_and_set_hotline(db_url, tmp_path):
    from click.testing import CliRunner

    from flask_app.cli import relief

    path = tmp_path / "魏县村名录.csv"
    path.write_bytes(MESSY.encode("gb18030"))
    runner = CliRunner()
    done = runner.invoke(relief, ["villages", "import", str(path), "--database", db_url])
    assert done.exit_code == 0, done.output
    assert "3 个村" in done.output and "6 新建" in done.output
    assert runner.invoke(relief, ["villages", "set-hotline", "130434", "0310-3512317", "--database", db_url]
                         ).exit_code == 0
    listed = runner.invoke(relief, ["villages", "list", "--county", "130434", "--database", db_url])
    assert listed.exit_code == 0, listed.output
    assert "130434100212\t东王庄村\t130434100\t双井镇" in listed.output
    assert "130434101200\t北街村\t130434101\t牙里镇" in listed.output
    assert "县 130434 热线 / hotline: 0310-3512317" in listed.output
    refused = runner.invoke(relief, ["villages", "set-hotline", "130434", "abc", "--database", db_url])
    assert refused.exit_code == 2 and "电话号码无效" in refused.output


def test_a_synthetic_county_has_a_villages_file(tmp_path):
    from claims.synth import synth_county

    manifest = synth_county(tmp_path, 20_000, seed=7)  # ~20,000 / 1,500 ≈ 13 villages in 1–2 townships
    frame = read_villages(tmp_path / manifest["village_registry"])
    households = pd.read_csv(tmp_path / "households.csv", dtype=str, encoding="utf-8-sig")
    assert sorted(frame["village_code"]) == sorted(households["village_code"].unique())
    assert len(frame) == manifest["villages"] and frame["village_name"].is_unique
    assert frame["village_name"].str.endswith("村").all()
    towns = frame.assign(town=frame["village_code"].str[:9]).groupby("town")["township_name"].nunique()
    assert (towns == 1).all() and frame["township_name"].str[-1].isin(["镇", "乡"]).all()
