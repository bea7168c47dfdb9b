"""``relief budget`` end to end (issue 5, acceptance 5): the synthetic county's year of claims → the report.

The county (3,000 people) is generated and run through the stateless engine once per module; its claims.csv is
the history.  The numbers in budget.json are checked against each other by the definitions of the premium
principles (not against figures copied from a run), the what-if against a draft that pays at least as much on
every claim.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

PRODUCT = "fangpinbao-weixian-2025"
PEOPLE = 3_000
FILES = ("report.html", "charts/loss_distribution.png", "charts/experience.png", "budget.json", "premiums.csv",
         "band.csv", "experience.csv", "severity.csv")


def county_claims(work: Path, people: int = PEOPLE, seed: int = 20250101) -> Path:
    """A synthetic county's policy year through the engine: returns the path of its claims.csv."""
    from claims.engine.files import calculate, expand, load_inputs, write_outputs
    from claims.reports import DEPARTMENTS
    from claims.synth import synth_county
    from products import load_product

    county = work / "county"
    product = load_product(PRODUCT)
    synth_county(county, people, seed=seed, year=product.year, county=product.county)
    specs = [(d, f, label) for d in DEPARTMENTS if (county / d).is_dir() for f, label in expand(county / d)]
    inputs = load_inputs(county / "persons.csv", county / "households.csv", specs)
    write_outputs(calculate(product, inputs), product, work / "results")
    return work / "results" / "claims.csv"


def draft_product(path: Path) -> Path:
    """The catalog product with the illness start line (and warning line) lowered from 5,000 to 3,000.

    Every illness claim then pays at least as much: the first bracket (50% up to 10,000) now starts at 3,000,
    so g_draft(x) − g(x) = 0.5·(min(x, 5,000) − 3,000) > 0 for x > 3,000 below the cap, and the same cap.
    """
    from products.loader import CATALOG

    text = (CATALOG / f"{PRODUCT}.yaml").read_text(encoding="utf-8")
    old = "    trigger: 5000\n    start_line: 5000\n"
    assert text.count(old) == 1
    text = text.replace(old, "    trigger: 3000\n    start_line: 3000\n")
    text = text.replace("code: FPB-130434-2025", "code: FPB-130434-2026D")
    text = text.replace("name: 魏县防贫保2025", "name: 魏县防贫保2026草案")
    path.write_text(text, encoding="utf-8")
    return path


def invoke_budget(*args: str):
    """``relief budget …`` when the command is registered, else the click group itself."""
    from flask_app.cli import relief

    if "budget" in relief.commands:
        return CliRunner().invoke(relief, ["budget", *args])
    from flask_app.cli.budget import budget

    return CliRunner().invoke(budget, list(args))


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return county_claims(tmp_path_factory.mktemp("budget-county"))


@pytest.fixture(scope="module")
def plain_run(history, tmp_path_factory):
    out = tmp_path_factory.mktemp("budget-report") / "report"
    result = invoke_budget("--claims", str(history), "--heads", str(PEOPLE), "--product", PRODUCT, "--year", "2026",
                           "--out", str(out), "--bootstrap", "20")
    return result, out


@pytest.fixture(scope="module")
def whatif_run(history, tmp_path_factory):
    work = tmp_path_factory.mktemp("budget-whatif")
    draft = draft_product(work / "draft.yaml")
    out = work / "report"
    result = invoke_budget("--claims", str(history), "--heads", str(PEOPLE), "--product", PRODUCT, "--year", "2026",
                           "--out", str(out), "--draft", str(draft), "--bootstrap", "20")
    return result, out


def test_the_report_and_every_number_file_are_written(plain_run):
    result, out = plain_run
    assert result.exit_code == 0, result.output
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not (out / "charts" / "whatif.png").exists() and not (out / "whatif.csv").exists()
    for name in ("premiums.csv", "band.csv", "experience.csv", "severity.csv"):
        assert (out / name).read_bytes()[:3] == b"\xef\xbb\xbf", f"{name} is UTF-8 with BOM for Excel"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "魏县防贫保2025 2026年度保费预算测算报告" in page
    assert f"报告 / report: {out / 'report.html'}" in result.output


def test_budget_json_is_consistent(plain_run):
    result, out = plain_run
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "budget.json").read_text(encoding="utf-8"))
    total, per_head, heads = doc["budget_total"], doc["budget_per_head"], doc["heads"]
    assert heads == PEOPLE and doc["year"] == 2026 and doc["product_code"] == "FPB-130434-2025"
    assert round(per_head * heads, 2) == round(total, 2)  # per head × heads = total, to the cent
    premiums = {row["principle"]: row for row in doc["premiums"]}
    var = premiums["var"]
    # the VaR principle sets the budget: total = q_0.95 / (1 − 0.15)
    assert total == pytest.approx(var["total"], rel=1e-12)
    assert total == pytest.approx(var["risk_premium"] / 0.85, rel=1e-12)
    mean = doc["predictive"]["mean"]
    assert var["risk_premium"] >= mean  # a right-skewed payout: q_0.95 above the mean
    assert total >= mean / 0.85
    assert doc["prob_exceed"] <= 0.05  # the budget is at least the 95% quantile
    # expected value principle by hand: (1 + 0.10)·E[S] / (1 − 0.15)
    assert premiums["expected_value"]["total"] == pytest.approx(1.1 * mean / 0.85, rel=1e-9)
    band = {row["p"]: row["per_head"] for row in doc["band"]}
    assert band[0.1] <= band[0.5] <= band[0.9]
    # the headline printed is the same number
    assert f"¥{total:,.2f}" in result.output and f"¥{per_head:,.2f}" in result.output
    premiums_csv = pd.read_csv(out / "premiums.csv", encoding="utf-8-sig")
    assert premiums_csv.set_index("principle").loc["var", "total"] == pytest.approx(total, rel=1e-9)


def test_the_draft_with_a_lower_illness_line_costs_more(whatif_run):
    result, out = whatif_run
    assert result.exit_code == 0, result.output
    for name in (*FILES, "charts/whatif.png", "whatif.csv"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "budget.json").read_text(encoding="utf-8"))
    draft = doc["whatif"]
    assert draft["product_code"] == "FPB-130434-2026D"
    assert draft["predictive"]["mean"] > doc["predictive"]["mean"]
    assert draft["budget_total"] > doc["budget_total"]
    assert "草案 / draft 魏县防贫保2026草案" in result.output
    comparison = pd.read_csv(out / "whatif.csv", encoding="utf-8-sig").set_index("quantity")
    assert comparison.loc["budget_total", "draft"] == pytest.approx(draft["budget_total"], rel=1e-9)
    assert comparison.loc["budget_total", "current"] == pytest.approx(doc["budget_total"], rel=1e-9)


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--heads", "3000", "--product", PRODUCT, "--out", "o"], 2, ("缺少参数", "missing option", "--year")),
        (["--heads", "3000", "--year", "2026", "--product", PRODUCT, "--out", "o"], 2, ("--claims", "--database")),
        (["--year", "2026", "--product", PRODUCT, "--out", "o", "--claims", "CLAIMS"], 2, ("--exposure", "--heads")),
        (["--year", "2026", "--product", "no-such-product", "--heads", "10", "--out", "o", "--claims", "CLAIMS"], 2,
         ("产品定义无效", "invalid product", "no-such-product")),
        (["--year", "2026", "--product", PRODUCT, "--heads", "10", "--out", "o", "--claims", "BAD"], 1,
         ("文件有误", "bad file", "bad.csv")),
        (["--year", "2026", "--product", PRODUCT, "--heads", "10", "--out", "o", "--claims", "CLAIMS",
          "--database", "sqlite://"], 2, ("只能选一个", "not both")),
    ],
    ids=["no-year", "no-history", "no-exposure", "unknown-product", "bad-claims-file", "claims-and-database"],
)
def test_bad_inputs_give_bilingual_errors(tmp_path, history, args, code, words):
    bad = tmp_path / "bad.csv"
    bad.write_text("year,county\n2025,130434\n", encoding="utf-8")  # no peril, no paid
    args = [str(history) if a == "CLAIMS" else str(bad) if a == "BAD" else str(tmp_path / a) if a == "o" else a
            for a in args]
    result = invoke_budget(*args)
    assert result.exit_code == code, result.output
    for word in words:
        assert word in result.output


@pytest.mark.slow
def test_history_from_the_database(tmp_path):
    """--database: the demo county's claims and its policy's framed heads, read from SQLite.  Its claims were
    reported up to 2025-03-05 for 400 heads: 2 whole months and 400 × 2/12 = 67 person-years, refused by the history
    rule (claims.engine.history_rule: fewer than 12 months or 1,000 person-years) unless asked for a trial run."""
    from flask_app.demo import build_demo

    url = f"sqlite:///{tmp_path / 'relief.db'}"
    build_demo(url, tmp_path / "demo", people=400)
    out = tmp_path / "report"
    args = ("--database", url, "--product", PRODUCT, "--year", "2026", "--out", str(out), "--bootstrap", "5")
    refused = invoke_budget(*args)
    assert refused.exit_code == 1 and not out.exists()
    assert "赔案历史只有 2 个月" in refused.output and "67 person-years" in refused.output
    assert "--allow-short-history" in refused.output
    result = invoke_budget(*args, "--allow-short-history")
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "budget.json").read_text(encoding="utf-8"))
    assert doc["heads"] > 0 and doc["budget_total"] >= doc["predictive"]["mean"]
    # the newest policy's premium per head (50.00) is the one compared with, on the page and in the headline
    assert doc["against_premium"]["current_premium_per_head"] == 50.0
    ratio = doc["predictive"]["mean"] / doc["heads"] / 50.0  # expected loss ratio = E[S] per head / premium
    assert f"per head ¥50.00；预期赔付率 / expected loss ratio {ratio:.1%}" in result.output
    assert "试算，不可用于定价" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("font", [None, "cjk"], ids=["no-cjk-font", "cjk-font"])
def test_chart_labels_are_english_without_a_cjk_font(history, tmp_path, monkeypatch, font):
    """Never tofu boxes: without a CJK font every chart text is drawn in Latin script (and Chinese with one)."""
    import re

    import matplotlib.text
    from matplotlib.figure import Figure

    import actuarial.report_charts as report
    from actuarial.budget import budget
    from actuarial.budget.inputs import Assumptions
    from actuarial.history import read_claims
    from products import load_product

    if font == "cjk" and report.cjk_font() is None:
        pytest.skip("no CJK font installed (Debian: fonts-wqy-zenhei)")
    if font is None:
        monkeypatch.setattr(report, "cjk_font", lambda: None)
    texts: list[str] = []
    save = Figure.savefig

    def recording_savefig(fig, *args, **kwargs):
        texts.extend(t.get_text() for t in fig.findobj(matplotlib.text.Text))
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording_savefig)
    product = load_product(PRODUCT)
    result = budget(read_claims(history), None, product, 2026, heads=PEOPLE, draft=product,
                    assumptions=Assumptions(bootstrap=2))
    paths = report.write_charts(result, tmp_path / "charts")
    assert set(paths) == {"loss_distribution", "experience", "whatif"}
    assert all(p.is_file() for p in paths.values())
    han = re.compile(r"[\u3400-\u9fff]")
    drawn = " ".join(texts)
    if font is None:
        assert not han.search(drawn), drawn
        assert "budget" in drawn
    else:
        assert "建议预算" in drawn
