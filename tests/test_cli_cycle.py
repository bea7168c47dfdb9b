"""The README's database commands, end to end on an embedded SQLite file: one quarter of a county."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner
from sqlalchemy import func, select

from claims.lifecycle.database import make_engine, session_factory
from claims.lifecycle.models import Claim, PayoutLine
from claims.synth import synth_county
from flask_app.cli import relief


def run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(relief, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.output


def test_readme_database_flow(tmp_path):
    county = tmp_path / "county"
    synth_county(county, 3000, seed=5)  # 3,000 people: six claims due in the first quarter
    url = f"sqlite:///{tmp_path / 'relief.db'}"
    db = ("--database", url)
    runner = CliRunner()
    run(runner, "db", "upgrade", *db)
    out = run(runner, "setup", "--product", "fangpinbao-weixian-2025", "--framed-heads", "3000",
              "--persons", str(county / "persons.csv"), "--households", str(county / "households.csv"), *db)
    assert "policy: 1" in out
    villages = sorted(pd.read_csv(county / "households.csv", dtype=str)["village_code"].unique())
    run(runner, "users", "add", "ins1", "--name", "理赔员", "--role", "insurer_adjudicator", "--approval-limit",
        "2000", *db)
    run(runner, "users", "add", "sup1", "--name", "主管", "--role", "insurer_supervisor", *db)
    scope = [arg for v in villages for arg in ("--village", v)]
    run(runner, "users", "add", "clerk1", "--name", "村文书", "--role", "village_clerk", *scope, *db)
    run(runner, "users", "add", "town1", "--name", "乡镇", "--role", "township_reviewer", *scope, *db)
    run(runner, "users", "add", "county1", "--name", "县局", "--role", "county_reviewer", *db)
    for month in ("01", "02", "03"):
        run(runner, "import", "--department", "medical", str(county / "medical" / f"2025-{month}.csv"),
            "--user", "ins1", "--period", f"2025-{month}", *db)
    again = runner.invoke(relief, ["import", "--department", "medical", str(county / "medical" / "2025-01.csv"),
                                   "--user", "ins1", *db])
    assert again.exit_code == 3 and "already imported" in again.output

    run(runner, "claims", "advance", "start_investigation", "--user", "ins1", *db)
    run(runner, "claims", "verify", "--user", "ins1", *db)
    run(runner, "claims", "approve", "--user", "sup1", *db)
    for action, user in (("village_review", "clerk1"), ("township_review", "town1"), ("file", "county1")):
        run(runner, "claims", "advance", action, "--user", user, *db)
    factory = session_factory(make_engine(url))
    with factory() as s:
        filed = dict(s.execute(select(Claim.village_code, func.count()).where(Claim.state == "filed")
                               .group_by(Claim.village_code)).all())
        filed_total = s.scalar(select(func.sum(Claim.amount)).where(Claim.state == "filed"))
    assert filed, "the quarter should produce claims"
    for village in filed:
        run(runner, "notice", "post", "--village", village, "--date", "2025-04-01", "--user", "clerk1", *db)
    run(runner, "notice", "close-due", "--today", "2025-04-11", *db)  # day 10: still on notice
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Claim).where(Claim.state == "payable")) == 0
    run(runner, "notice", "close-due", "--today", "2025-04-12", *db)  # day 11: payable
    out = run(runner, "payout", "build", "--period", "2025-04", "--user", "ins1", *db)
    assert f"{filed_total:,}" in out.replace("¥", "")
    run(runner, "payout", "export", "--batch", "1", "--out", str(tmp_path / "bank.csv"), *db)
    bank = pd.read_csv(tmp_path / "bank.csv", dtype=str, encoding="utf-8-sig")
    assert len(bank) == sum(filed.values())
    assert not bank.apply(lambda col: col.str.fullmatch(r"\d{17}[\dX]").any()).any()  # IDs are masked
    pd.DataFrame({"理赔编号": bank["理赔编号"], "状态": "成功", "原因": ""}).to_csv(
        tmp_path / "return.csv", index=False, encoding="utf-8-sig")
    run(runner, "payout", "return", "--batch", "1", str(tmp_path / "return.csv"), "--user", "ins1", *db)
    out = run(runner, "fund", "report", *db)
    # the fund report shows what the bank confirmed as paid
    with factory() as s:
        paid = s.scalar(select(func.sum(PayoutLine.amount)).where(PayoutLine.status == "paid"))
    assert paid == filed_total
    assert f"{paid:,}" in out.replace("¥", "")
    status = run(runner, "claims", "status", *db)
    assert "paid" in status
