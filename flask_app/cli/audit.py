"""``relief audit verify``: walk the hash chains (:mod:`claims.lifecycle.audit`) and report the first broken link.

Exit 0 and the counts (and each chain's head: keep it elsewhere to see later removals of the newest rows)
when every chain is intact; exit 1 with the table, row id, what broke, expected and found otherwise.
Also :func:`operator`: who runs the CLI, for imports and roster loads without ``--user``.
"""

from __future__ import annotations

import getpass
import os
import sys

import click

from flask_app.cli.common import database_option, open_db

BROKEN = 1


def operator() -> str | None:
    """The CLI's operator: ``RELIEF_USER``, else the OS login name; None when neither can be determined."""
    name = os.environ.get("RELIEF_USER", "").strip()
    if name:
        return name[:60]
    try:
        return getpass.getuser()[:60] or None
    except (OSError, KeyError):  # no login name (no USER/LOGNAME and no passwd entry)
        return None


@click.group()
def audit() -> None:
    """审计链 / the tamper-evident audit chains."""


@audit.command("verify")
@click.option("--table", "tables", multiple=True, type=click.Choice(
    ["claim_events", "fund_entries", "payout_lines", "import_rows"]), help="只查这些表 / only these chains")
@database_option
def verify(tables: tuple[str, ...], database_url: str | None) -> None:
    """校验审计哈希链 / Verify the audit hash chains; exit 1 at the first broken link of any chain."""
    from claims.lifecycle.audit import verify as verify_chains

    with open_db(database_url)() as session:
        reports = verify_chains(session, tables or None)
    for r in reports:
        if r.ok and r.table == "claims":
            click.echo(f"完好 / intact  claims: {r.rows:,} 笔与其最新审计记录一致 / agree with their newest event")
            continue
        if r.ok:
            click.echo(f"完好 / intact  {r.table}: {r.rows:,} 行 / rows   头 / head #{r.head_seq} {r.head_hash}")
            continue
        b = r.broken or {}
        click.echo(f"断链 / BROKEN  {r.table}: 第一处 / first at id {b.get('id')} (chain_seq {b.get('chain_seq')}): "
                   f"{b.get('what')} 应为 / expected {b.get('expected')} 实为 / found {b.get('found')}"
                   f"   （之前完好 / intact before it: {r.rows:,}；未入链或不一致 / unchained or disagreeing: {r.unchained:,}）")
    if not all(r.ok for r in reports):
        sys.exit(BROKEN)
