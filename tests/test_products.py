"""Product documents: loading, validation messages named by field path, the shipped catalog."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from products import ProductError, catalog, load_product

BASE = {
    "schema": 1, "code": "FPB-T", "family": "fangpinbao", "name": "测试", "county": "130434", "year": 2025,
    "period": {"start": "2025-01-01", "end": "2025-12-31"}, "premium": {"per_head": 50, "basis": "person"},
    "lines": [{"id": "illness", "peril": "illness", "basis": "person", "measure": "self_paid", "trigger": 5000,
               "start_line": 5000, "brackets": [{"upto": 10000, "rate": 0.5}, {"upto": 20000, "rate": 0.6},
                                                {"upto": None, "rate": 0.7}],
               "caps": {"per_year": 50000, "household_per_year": None}}],
}


def errors_of(change) -> list[str]:
    doc = copy.deepcopy(BASE)
    change(doc)
    with pytest.raises(ProductError) as info:
        load_product(doc)
    return info.value.errors


def test_the_issue_example_loads_with_exact_amounts():
    product = load_product(BASE)
    line = product.line("illness")
    assert (line.trigger, line.start_line, line.cap_per_year) == (500_000, 500_000, 5_000_000)
    assert [(b.lower, b.upto, b.rate_e4) for b in line.brackets] == [
        (500_000, 1_000_000, 5_000), (1_000_000, 2_000_000, 6_000), (2_000_000, None, 7_000)]
    assert product.notice_days == 10


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["lines"][0]["brackets"][1].update(rate=1.5), "lines[0].brackets[1].rate: must be between 0 and 1"),
    (lambda d: d["lines"][0]["brackets"][0].update(rate=0.12345), "lines[0].brackets[0].rate: must have at most 4 decimals"),
    (lambda d: d["lines"][0]["brackets"][1].update(upto=8000), "lines[0].brackets[1].upto: must be greater than brackets[0].upto (10000)"),
    (lambda d: d["lines"][0]["brackets"][0].update(upto=None), "lines[0].brackets[0].upto: only the last bracket may be open (null)"),
    (lambda d: d["lines"][0].pop("start_line"), "lines[0].start_line: is required for peril illness"),
    (lambda d: d["lines"][0].update(peril="flood"), "lines[0].peril: must be one of"),
    (lambda d: d["lines"][0].update(measure="net_cost"), "lines[0].measure: must be one of self_paid, policy_self_paid"),
    (lambda d: d["lines"][0].update(lump_sums={"本科": 1}), "lines[0].lump_sums: does not apply to peril illness"),
    (lambda d: d.update(county="13043"), "county: must be a 6-digit division code"),
    (lambda d: d.update(schema=2), "schema: must be 1"),
    (lambda d: d.update(family="other"), "family: must be one of"),
    (lambda d: d.pop("code"), "code: missing data for required field"),
    (lambda d: d.update(period={"start": "2025-12-31", "end": "2025-01-01"}), "period.end: must not be before start"),
    (lambda d: d["premium"].update(per_head=-1), "premium.per_head: must not be negative"),
    (lambda d: d["lines"][0]["caps"].update(per_year="12.345"), "lines[0].caps.per_year: must have at most 2 decimals"),
    (lambda d: d.update(colour="red"), "colour: unknown field"),
    (lambda d: d["lines"].append(copy.deepcopy(d["lines"][0])), "lines[1].id: duplicates lines[0].id"),
    (lambda d: d["lines"].append({"id": "flood", "peril": "disaster", "basis": "person", "start_line": 1,
                                  "brackets": [{"upto": None, "rate": 1}]}),
     "lines[1].basis: disaster reports are per household; basis must be household"),
    (lambda d: d["lines"].append({"id": "death", "peril": "accident_death", "basis": "person"}),
     "lines[1].sum_insured: is required for peril accident_death"),
    (lambda d: d["lines"].append({"id": "dis", "peril": "accident_disability", "basis": "person", "sum_insured": 1,
                                  "grade_rates": {11: 0.1}}), "lines[1].grade_rates"),
])
def test_errors_name_the_field_and_the_problem(change, expected):
    errors = errors_of(change)
    assert any(e.startswith(expected) or expected in e for e in errors), errors


def test_error_message_is_bilingual_and_lists_every_problem():
    doc = copy.deepcopy(BASE)
    doc["lines"][0]["brackets"][1]["rate"] = 2
    doc["county"] = "x"
    with pytest.raises(ProductError) as info:
        load_product(doc)
    text = str(info.value)
    assert "产品定义无效 / invalid product definition" in text
    assert "lines[0].brackets[1].rate: must be between 0 and 1" in text and "county: must be a 6-digit" in text


def test_yaml_and_json_files_load_the_same_version(tmp_path):
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(BASE, allow_unicode=True), encoding="utf-8")
    (tmp_path / "p.json").write_text(json.dumps(BASE, ensure_ascii=False), encoding="utf-8")
    a, b = load_product(tmp_path / "p.yaml"), load_product(tmp_path / "p.json")
    assert a == b and a.digest == b.digest
    changed = copy.deepcopy(BASE)
    changed["lines"][0]["brackets"][0]["rate"] = 0.55
    assert load_product(changed).digest != a.digest


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ProductError, match="not found"):
        load_product(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("lines: [", encoding="utf-8")
    with pytest.raises(ProductError, match="not valid YAML"):
        load_product(tmp_path / "bad.yaml")


def test_catalog_products_are_valid_and_cite_their_sources():
    paths = catalog()
    assert {p.stem for p in paths} >= {"fangpinbao-weixian-2025", "zhunongbao-fengxian-2025"}
    for path in paths:
        product = load_product(path)
        assert product.document.get("sources"), f"{path.name} must say where its numbers come from"
        assert "domain.md" in path.read_text(encoding="utf-8")


def test_catalog_fangpinbao_has_the_three_warning_lines():
    p = load_product("fangpinbao-weixian-2025")
    assert p.line("illness").trigger == 500_000 and p.line("illness").cap_per_year == 5_000_000
    assert [b.rate_e4 for b in p.line("illness").brackets] == [5_000, 6_000, 7_000]
    assert (p.line("schooling").trigger, p.line("schooling").brackets[0].rate_e4, p.line("schooling").cap_per_year) \
        == (800_000, 8_000, 3_000_000)
    assert (p.line("disaster").trigger, p.line("disaster").brackets[0].rate_e4, p.line("disaster").cap_per_year) \
        == (1_000_000, 10_000, 3_000_000)
    assert p.line("entry").lump_sums == {"本科": 200_000, "专科": 100_000}


def test_catalog_zhunongbao_has_the_four_covers_of_domain_section_8():
    p = load_product("zhunongbao-fengxian-2025")
    assert p.premium_per_head == 18_000 and p.premium_basis == "household"  # 100 + 20 + 35 + 25 = 180 yuan
    assert p.line("farm").cap_per_year == 2_000_000
    assert p.cover_of("death") == p.cover_of("disability")  # 团体人身意外: one cover, its caps shared
    assert p.cover_of("death").household_cap_by_victims == {1: 5_000_000, 2: 10_000_000, 3: 12_000_000}
    assert (p.line("accident_medical").cap_per_year, p.line("accident_medical").cap_household_per_year) \
        == (3_000_000, 3_000_000)
    assert p.line("property").cap_per_year == 3_000_000
    # seeds 000/002 篇七 "不包含集中供养五保户、稳定脱贫户": 稳定脱贫户 refused, 特困供养 only when 集中供养
    assert "稳定脱贫户" in p.eligibility.exclude_categories and "一般农户" not in p.eligibility.categories
    assert ("特困供养", "集中供养") in p.eligibility.exclude_supported
