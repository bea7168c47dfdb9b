"""Issue 15, acceptance 3: a year-end settlement on the demo county through ``relief fund`` — premiums recorded,
the settlement previewed and posted, and next year's opening balance equal to the carry-over, to the fen.

Seed 002 (../shared/seeds/002*): "防贫救助专项资金实行滚动发展，不断注入增多" and "统一管理，单独核算": what the
settlement leaves in the fund rolls over into next year's.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from claims.lifecycle.database import make_engine, session_factory, transaction
from claims.lifecycle.models import FundEntry
from claims.lifecycle.registry import create_policy, register_product
from claims.lifecycle.store import Policy
from flask_app.cli import relief
from flask_app.demo import build_demo
from products import load_product

CATALOG = Path(__file__).resolve().parents[1] / "products" / "catalog" / "fangpinbao-weixian-2025.yaml"


def _sums(s, policy_id: int) -> dict[str, D]:
    rows = s.execute(select(FundEntry.kind, func.sum(FundEntry.amount)).where(FundEntry.policy_id == policy_id)
                     .group_by(FundEntry.kind)).all()
    return {kind: D(str(total)) for kind, total in rows}


def test_the_demo_county_settles_its_year_and_opens_the_next_with_the_carry_over(tmp_path):
    url = f"sqlite:///{tmp_path / 'relief.db'}"
    build_demo(url, tmp_path / "demo", people=400)
    factory = session_factory(make_engine(url))
    # next year's product and policy (the same county's 2026 document)
    doc = tmp_path / "fangpinbao-weixian-2026.yaml"
    doc.write_text(CATALOG.read_text(encoding="utf-8").replace("2025", "2026"), encoding="utf-8")
    with transaction(factory) as s:
        pol_2025 = s.scalar(select(Policy.id).where(Policy.year == 2025))
        pol_2026 = create_policy(s, register_product(s, load_product(str(doc))), framed_heads=400).id

    run = CliRunner().invoke
    env = {"DATABASE_URL": url}
    r = run(relief, ["fund", "premium", "--policy", str(pol_2025), "--amount", "1,234.56", "--payer", "个人",
                     "--date", "2025-03-01", "--reference", "个人缴费汇总", "--user", "county1"], env=env)
    assert r.exit_code == 0, r.output
    r = run(relief, ["fund", "premium", "--policy", str(pol_2025), "--amount", "1.005", "--payer", "财政",
                     "--date", "2025-03-01", "--user", "county1"], env=env)
    assert r.exit_code != 0 and "two decimals" in r.output  # never rounded: refused

    with factory() as s:
        sums = _sums(s, pol_2025)
    # P: the demo's 400 × premium per head from the treasury plus 1,234.56 from individuals
    P = sums["premium_received"]
    L = -sums.get("claim_paid", D(0)) - sums.get("reversal", D(0)) - sums.get("recovery", D(0))
    assert P > L  # the demo's first months: a surplus
    # the demo's corridor (flask_app.demo.DEMO_SETTLEMENT): below a 90% loss ratio the government tops up
    # nothing and takes back half of the surplus: settlement = −0.5 × (P − L), to the fen, half up
    settlement = (-(P - L) / 2).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    closing = P - L + settlement  # what stays in the fund

    r = run(relief, ["fund", "settle", "--policy", str(pol_2025), "--preview"], env=env)
    # a refund: shown as −¥ (flask_app.cli.common.money)
    assert r.exit_code == 0 and f"-¥{-settlement:,.2f}" in r.output and "预览 / preview" in r.output, r.output
    with factory() as s:
        assert "settlement" not in _sums(s, pol_2025)  # a preview posts nothing
    r = run(relief, ["fund", "settle", "--policy", str(pol_2025), "--user", "county1"], env=env)
    assert r.exit_code == 0 and "已过账 / posted" in r.output, r.output
    r = run(relief, ["fund", "carry-over", "--policy", str(pol_2025), "--user", "county1"], env=env)
    assert r.exit_code == 0 and f"{closing:,.2f}" in r.output, r.output
    r = run(relief, ["fund", "carry-over", "--policy", str(pol_2025), "--user", "county1"], env=env)
    assert r.exit_code != 0 and "already been carried" in r.output

    with factory() as s:
        old, new = _sums(s, pol_2025), _sums(s, pol_2026)
    assert old["settlement"] == settlement
    assert old["carry_over"] == -closing
    assert new == {"carry_over": closing}  # next year's opening balance = the carry-over, to the fen
    r = run(relief, ["fund", "report", "--policy", str(pol_2026)], env=env)
    assert f"{closing:,.2f}" in r.output
