"""API tokens (issue 13, item 7): issued by `relief tokens` and the admin page, shown once, only the hash
stored; they open the API only, within their scope, until they expire or are revoked; every issue and
revocation is audited with its actor."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update
from web_helpers import login

from claims.lifecycle.api_tokens import issue_token
from claims.lifecycle.database import downgrade, make_engine, upgrade
from claims.lifecycle.models import ApiToken, User, UserEvent
from claims.lifecycle.store import now
from claims.lifecycle.users import Operator, create_user, get_user
from flask_app import create_app
from flask_app import db as web_db
from flask_app.auth import hash_password
from flask_app.cli import relief

ADMIN_PASSWORD = "admin-password-1"


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True})
    with app.app_context(), web_db.write() as s:
        create_user(s, "boss", "管理员", "admin").password_hash = hash_password(ADMIN_PASSWORD)
        create_user(s, "ins", "理赔员", "insurer_adjudicator", approval_limit="5000")
    yield app
    app.extensions["relief_engine"].dispose()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def cli(db_url: str, *args: str) -> str:
    r = CliRunner().invoke(relief, [*args, "--database", db_url])
    assert r.exit_code == 0, r.output
    return r.output


def tokens_of(app, username: str) -> list[ApiToken]:
    with app.app_context():
        s = web_db.session()
        return list(s.scalars(select(ApiToken).join(User, ApiToken.user_id == User.id)
                              .where(User.username == username).order_by(ApiToken.id)))


def issue(app, username: str, scope: str = "write", secret: str | None = None) -> str:
    with app.app_context(), web_db.write() as s:
        return issue_token(s, Operator(None, "tests"), get_user(s, username), "t", scope, secret=secret)[1]


def test_cli_issue_use_list_revoke(app, db_url):
    out = cli(db_url, "tokens", "issue", "ins", "--name", "sync", "--scope", "write", "--days", "30", "--by", "boss")
    secret = out.strip().splitlines()[-1]
    assert len(secret) == 43  # 32 random bytes, URL-safe base64
    client = app.test_client()
    assert client.get("/api/v1/claims", headers=bearer(secret)).status_code == 200
    # only the hash is stored: no column of the row holds the secret
    (token,) = tokens_of(app, "ins")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    with make_engine(db_url).connect() as conn:
        row = conn.execute(text("SELECT * FROM api_tokens")).one()
    assert all(secret not in str(v) for v in row)
    assert (token.name, token.scope) == ("sync", "write")
    assert dt.timedelta(days=29, hours=23) < token.expires_at - token.created_at <= dt.timedelta(days=30)
    # the list shows it, with its last use (set by the request above), never the secret
    listed = cli(db_url, "tokens", "list")
    line = next(x for x in listed.splitlines() if x.strip().startswith(str(token.id)))
    assert "ins" in line and "sync" in line and "active" in line and secret not in listed
    assert token.last_used_at is not None and line.rstrip().endswith(f"{token.last_used_at:%Y-%m-%d %H:%M}")
    # revoked: 401 at once, and listed as revoked with --all only
    assert "revoked" in cli(db_url, "tokens", "revoke", str(token.id), "--by", "boss")
    r = client.get("/api/v1/claims", headers=bearer(secret))
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert str(token.id) not in cli(db_url, "tokens", "list").split("\n", 1)[1]
    assert "revoked" in cli(db_url, "tokens", "list", "--all")
    # both changes are audited, with the actor named by --by
    with app.app_context():
        events = web_db.session().execute(select(UserEvent.action, UserEvent.actor, UserEvent.actor_id)
                                          .order_by(UserEvent.id)).all()
        boss = get_user(web_db.session(), "boss").id
    assert events == [("token_issued", "boss", boss), ("token_revoked", "boss", boss)]


def test_cli_without_by_records_the_os_login(app, db_url):
    cli(db_url, "tokens", "issue", "ins", "--name", "n")
    with app.app_context():
        event = web_db.session().scalars(select(UserEvent)).one()
    assert event.actor.startswith("cli:") and event.actor_id is None and event.action == "token_issued"


def test_expired_token_is_401(app):
    secret = issue(app, "ins")
    client = app.test_client()
    assert client.get("/api/v1/claims", headers=bearer(secret)).status_code == 200
    with app.app_context(), web_db.write() as s:
        s.execute(update(ApiToken).values(expires_at=now() - dt.timedelta(seconds=1)))
    r = client.get("/api/v1/claims", headers=bearer(secret))
    assert r.status_code == 401 and r.json["type"] == "/problems/unauthenticated"


def test_read_scope_token_is_refused_writes(app):
    read, write = issue(app, "ins", "read"), issue(app, "ins", "write")
    client = app.test_client()
    body = {"action": "start_investigation", "claim_ids": [1]}
    assert client.get("/api/v1/claims", headers=bearer(read)).status_code == 200
    r = client.post("/api/v1/claims/transitions", headers=bearer(read), json=body)
    assert r.status_code == 403 and r.mimetype == "application/problem+json" and "read-only" in r.json["detail"]
    # the same request with a write token passes authentication and authorisation (the claim does not exist)
    r = client.post("/api/v1/claims/transitions", headers=bearer(write), json=body)
    assert r.status_code not in (401, 403), r.get_data(as_text=True)


def test_a_token_never_opens_a_page(app):
    secret = issue(app, "boss", "write")
    client = app.test_client()
    for page in ("/claims", "/", "/admin/users"):
        r = client.get(page, headers=bearer(secret))
        assert r.status_code == 302 and r.headers["Location"].startswith("/login"), page
    # and it cannot change anything through a page form either (no session, no CSRF exemption)
    r = client.post("/admin/users", headers=bearer(secret), data={"username": "x", "name": "x", "role": "admin"})
    assert r.status_code in (302, 400) and get_users(app) == ["boss", "ins"]


def get_users(app) -> list[str]:
    with app.app_context():
        return sorted(web_db.session().scalars(select(User.username)))


def test_deactivated_user_token_is_401(app):
    secret = issue(app, "ins")
    client = app.test_client()
    assert client.get("/api/v1/claims", headers=bearer(secret)).status_code == 200
    with app.app_context(), web_db.write() as s:
        s.execute(update(User).where(User.username == "ins").values(active=False))
    assert client.get("/api/v1/claims", headers=bearer(secret)).status_code == 401


def test_last_use_is_written_at_most_once_a_minute(app):
    secret = issue(app, "ins")
    client = app.test_client()
    assert tokens_of(app, "ins")[0].last_used_at is None
    client.get("/api/v1/claims", headers=bearer(secret))
    first = tokens_of(app, "ins")[0].last_used_at
    client.get("/api/v1/claims", headers=bearer(secret))
    assert first is not None and tokens_of(app, "ins")[0].last_used_at == first
    with app.app_context(), web_db.write() as s:  # a use two minutes ago is refreshed
        s.execute(update(ApiToken).values(last_used_at=first - dt.timedelta(minutes=2)))
    client.get("/api/v1/claims", headers=bearer(secret))
    assert tokens_of(app, "ins")[0].last_used_at >= first


def test_admin_page_issues_shows_once_lists_and_revokes(app):
    client = app.test_client()
    csrf = login(client, "boss", ADMIN_PASSWORD)
    with app.app_context():
        ins = get_user(web_db.session(), "ins").id
    r = client.post(f"/admin/users/{ins}/tokens", data={"csrf_token": csrf, "name": "nightly", "scope": "read",
                                                        "days": "7"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "之后无法再次查看" in page and r.headers["Cache-Control"] == "no-store"
    secret = page.split('<code class="secret">')[1].split("</code>")[0]
    (token,) = tokens_of(app, "ins")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest() and token.scope == "read"
    assert dt.timedelta(days=6, hours=23) < token.expires_at - token.created_at <= dt.timedelta(days=7)
    # a second look never shows it again
    assert secret not in client.get(f"/admin/users/{ins}").get_data(as_text=True)
    api = app.test_client()
    assert api.get("/api/v1/claims", headers=bearer(secret)).status_code == 200
    listing = client.get("/admin/tokens").get_data(as_text=True)
    used = tokens_of(app, "ins")[0].last_used_at
    assert "nightly" in listing and used is not None and used.strftime("%Y-%m-%d %H:%M:%S") in listing
    r = client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf, "back": "user"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/users/{ins}")
    assert api.get("/api/v1/claims", headers=bearer(secret)).status_code == 401
    with app.app_context():
        actions = list(web_db.session().scalars(select(UserEvent.action).where(UserEvent.actor == "boss")
                                                .order_by(UserEvent.id)))
    assert actions == ["token_issued", "token_revoked"]


def test_issue_refuses_bad_values(app):
    client = app.test_client()
    csrf = login(client, "boss", ADMIN_PASSWORD)
    with app.app_context():
        ins = get_user(web_db.session(), "ins").id
    for data in ({"name": "x", "scope": "admin", "days": "7"}, {"name": "x", "scope": "read", "days": "0"},
                 {"name": "x", "scope": "read", "days": "100000000000000000000"}, {"name": "", "scope": "read"}):
        r = client.post(f"/admin/users/{ins}/tokens", data={"csrf_token": csrf, **data})
        assert r.status_code == 302, data
    assert tokens_of(app, "ins") == []
    assert client.post("/admin/users/99999999999999999999/tokens", data={"csrf_token": csrf}).status_code == 404


def test_migration_moves_the_old_one_token_per_user(db_url):
    """0009 turns users.api_token_hash into a write token (and back on downgrade)."""
    old = hashlib.sha256(b"legacy-token").hexdigest()
    downgrade(db_url, "0008")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (username, name, role, active, failed_logins, api_token_hash) "
                          "VALUES ('old', 'old', 'insurer_supervisor', true, 0, :h)"), {"h": old})
        user_id = conn.execute(text("SELECT id FROM users")).scalar()
        # a row referring to the user: SQLite's rebuild of users must keep it valid
        conn.execute(text("INSERT INTO user_villages (user_id, village_code) VALUES (:u, '130434100200')"),
                     {"u": user_id})
    upgrade(db_url, "0009")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, name, scope, token_hash, revoked_at FROM api_tokens")).all()
    assert rows == [(user_id, "migrated", "write", old, None)]
    downgrade(db_url, "0008")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT api_token_hash FROM users")).scalar() == old
    engine.dispose()
