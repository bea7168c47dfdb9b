"""User administration (issue 13, item 7): the admin page and `relief users` create, deactivate, reset
passwords, change roles, villages and approval limits; each change takes effect at once and is audited with
its actor; only an admin reaches the page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner
from db_factories import add_policy, claim
from sqlalchemy import select
from web_helpers import csrf_token, login

from claims.lifecycle.models import Claim, User, UserEvent
from claims.lifecycle.users import create_user, get_user, villages_of
from flask_app import create_app
from flask_app import db as web_db
from flask_app.auth import hash_password
from flask_app.cli import relief

ADMIN_PASSWORD = "admin-password-1"
V1, V2 = "130434100200", "130434101201"


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True})
    with app.app_context(), web_db.write() as s:
        create_user(s, "boss", "管理员", "admin").password_hash = hash_password(ADMIN_PASSWORD)
        pv, pol = add_policy(s)
        s.add_all([claim(pv, pol, 1, "3000.00", village_code=V1, state="investigating"),
                   claim(pv, pol, 2, "3000.00", village_code=V2, state="investigating")])
    yield app
    app.extensions["relief_engine"].dispose()


@pytest.fixture
def admin(app):
    client = app.test_client()
    return client, login(client, "boss", ADMIN_PASSWORD)


def user_id(app, username: str) -> int:
    with app.app_context():
        return get_user(web_db.session(), username).id


def events(app, username: str) -> list[tuple[str, str, dict]]:
    with app.app_context():
        s = web_db.session()
        uid = get_user(s, username).id
        return [(e.action, e.actor, e.detail) for e in
                s.scalars(select(UserEvent).where(UserEvent.user_id == uid).order_by(UserEvent.id))]


def create(admin, **form: str):
    client, csrf = admin
    data = {"csrf_token": csrf, "counties": "130434", **form}
    return client.post("/admin/users", data=data)


def change(admin, app, username: str, **form: str):
    client, csrf = admin
    return client.post(f"/admin/users/{user_id(app, username)}", data={"csrf_token": csrf, **form})


def try_login(app, username: str, password: str) -> int:
    client = app.test_client()
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)}).status_code


def test_admin_creates_a_user_who_can_log_in(app, admin):
    r = create(admin, username="ins2", name="新理赔员", role="insurer_adjudicator", approval_limit="2000",
               villages="", password="first-password")
    assert r.status_code == 302
    assert try_login(app, "ins2", "first-password") == 302
    assert try_login(app, "ins2", "wrong-password") == 401
    page = admin[0].get("/admin/users").get_data(as_text=True)
    assert "ins2" in page and "新理赔员" in page and "2,000.00" in page
    ((action, actor, detail),) = events(app, "ins2")
    assert (action, actor, detail["role"], detail["approval_limit"]) == ("created", "boss", "insurer_adjudicator",
                                                                         "2000.00")
    assert "first-password" not in str(detail)


def test_create_refuses_bad_input_and_duplicates(app, admin):
    for form in ({"username": "a b", "name": "x", "role": "actuary"},
                 {"username": "x1", "name": "x", "role": "system"},
                 {"username": "x2", "name": "x", "role": "village_clerk", "villages": "13043410020"},
                 {"username": "x3", "name": "x", "role": "insurer_adjudicator", "approval_limit": "1e15"},
                 {"username": "x4", "name": "x", "role": "actuary", "password": "short"},
                 {"username": "boss", "name": "x", "role": "actuary"}):
        r = create(admin, **form)
        assert r.status_code == 302
        assert 'class="flash error"' in admin[0].get("/admin/users").get_data(as_text=True), form
    with app.app_context():
        assert list(web_db.session().scalars(select(User.username))) == ["boss"]


def test_deactivate_ends_login_and_sessions(app, admin):
    create(admin, username="act", name="精算", role="actuary", password="actuary-password")
    session = app.test_client()
    login(session, "act", "actuary-password")
    assert session.get("/").status_code == 200
    assert change(admin, app, "act", action="deactivate").status_code == 302
    assert try_login(app, "act", "actuary-password") == 401
    assert session.get("/").status_code == 302  # the open session is dead too
    assert [e[:2] for e in events(app, "act")] == [("created", "boss"), ("deactivated", "boss")]
    change(admin, app, "act", action="activate")
    assert try_login(app, "act", "actuary-password") == 302


def test_reset_password(app, admin):
    create(admin, username="act", name="精算", role="actuary", password="actuary-password")
    session = app.test_client()
    login(session, "act", "actuary-password")
    change(admin, app, "act", action="password", password="a-new-password")
    assert try_login(app, "act", "actuary-password") == 401
    assert try_login(app, "act", "a-new-password") == 302
    assert session.get("/").status_code == 302  # sessions of the old password end
    change(admin, app, "act", action="password", password="short")  # refused: nothing changes
    assert try_login(app, "act", "a-new-password") == 302
    assert [e[0] for e in events(app, "act")] == ["created", "password_reset"]


def test_role_change_takes_effect_at_once(app, admin):
    create(admin, username="u", name="用户", role="actuary", password="user-password-1")
    client = app.test_client()
    login(client, "u", "user-password-1")
    assert client.get("/claims").status_code == 403
    change(admin, app, "u", action="role", role="county_reviewer")
    assert client.get("/claims").status_code == 200
    assert events(app, "u")[-1] == ("role_changed", "boss", {"before": "actuary", "after": "county_reviewer"})


def test_village_change_takes_effect_at_once(app, admin):
    create(admin, username="clerk", name="村文书", role="village_clerk", villages=V1, password="clerk-password")
    client = app.test_client()
    login(client, "clerk", "clerk-password")

    def seen() -> set[str]:
        r = client.get("/api/v1/claims")
        assert r.status_code == 200
        return {c["village_code"] for c in r.json}

    assert seen() == {V1}
    change(admin, app, "clerk", action="villages", villages=f"{V2}")
    assert seen() == {V2}
    with app.app_context():
        assert villages_of(web_db.session(), user_id(app, "clerk")) == [V2]
    assert events(app, "clerk")[-1] == ("villages_changed", "boss", {"before": [V1], "after": [V2]})


def test_limit_change_takes_effect_at_once(app, admin):
    create(admin, username="ins", name="理赔员", role="insurer_adjudicator", approval_limit="1000",
           password="insurer-password")
    client = app.test_client()
    csrf = login(client, "ins", "insurer-password")
    with app.app_context():
        first, second = web_db.session().scalars(select(Claim.id).order_by(Claim.id))

    def verify(claim_id: int) -> str:
        r = client.post(f"/api/v1/claims/{claim_id}/transitions", headers={"X-CSRFToken": csrf},
                        json={"action": "verify", "expected_version": 1})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.json["state"]

    assert verify(first) == "awaiting_approval"  # 3,000 above a 1,000 limit: a supervisor must approve
    change(admin, app, "ins", action="limit", approval_limit="5000")
    assert verify(second) == "verified"
    assert events(app, "ins")[-1] == ("limit_changed", "boss", {"before": "1000.00", "after": "5000.00"})
    with app.app_context():
        assert get_user(web_db.session(), "ins").approval_limit == Decimal("5000.00")


def test_the_last_admin_stays(app, admin):
    client, _ = admin
    change(admin, app, "boss", action="deactivate")
    change(admin, app, "boss", action="role", role="actuary")
    with app.app_context():
        boss = get_user(web_db.session(), "boss")
        assert (boss.active, boss.role) == (True, "admin")
    assert "是唯一在用的管理员" in client.get(f"/admin/users/{boss.id}").get_data(as_text=True)
    assert events(app, "boss") == []


def test_only_admins_reach_the_page(app, admin):
    for role in ("insurer_supervisor", "county_reviewer", "village_clerk", "actuary"):
        create(admin, username=role, name=role, role=role, password="password-of-" + role)
        client = app.test_client()
        csrf = login(client, role, "password-of-" + role)
        assert client.get("/admin/users").status_code == 403, role
        assert client.get("/admin/tokens").status_code == 403, role
        assert client.post("/admin/users", data={"csrf_token": csrf, "username": "z", "name": "z",
                                                 "role": "admin"}).status_code == 403, role
        assert "/admin/users" not in client.get("/").get_data(as_text=True)
    assert app.test_client().get("/admin/users").headers["Location"].startswith("/login")
    assert 'href="/admin/users"' in admin[0].get("/").get_data(as_text=True)  # the admin's navigation link


def test_forms_need_the_csrf_token(app, admin):
    client, _ = admin
    assert client.post("/admin/users", data={"username": "z", "name": "z", "role": "actuary"}).status_code == 400
    assert client.post(f"/admin/users/{user_id(app, 'boss')}", data={"action": "deactivate"}).status_code == 400


def test_cli_changes_are_audited_with_their_actor(app, db_url):
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> str:
        r = runner.invoke(relief, ["users", *args, "--database", db_url], input=input)
        assert r.exit_code == 0, r.output
        return r.output

    run("create", "ins9", "--name", "九号", "--role", "insurer_adjudicator", "--approval-limit", "100",
        "--county", "130434", "--by", "boss")
    run("set-role", "ins9", "insurer_supervisor", "--by", "boss")
    run("set-limit", "ins9", "2500.50", "--by", "boss")
    run("set-villages", "ins9", V1, V2, "--by", "boss")
    run("reset-password", "ins9", "--by", "boss", input="cli-password-9\ncli-password-9\n")
    assert try_login(app, "ins9", "cli-password-9") == 302
    run("deactivate", "ins9", "--by", "boss")
    assert try_login(app, "ins9", "cli-password-9") == 401
    listed = run("list")
    assert "ins9" in listed and "inactive" in listed and "2500.50" in listed
    assert [(a, actor) for a, actor, _ in events(app, "ins9")] == [
        ("created", "boss"), ("role_changed", "boss"), ("limit_changed", "boss"), ("villages_changed", "boss"),
        ("password_reset", "boss"), ("deactivated", "boss")]
    assert "villages_changed" in run("events", "--user", "ins9")
    r = runner.invoke(relief, ["users", "set-limit", "ins9", "abc", "--database", db_url])
    assert r.exit_code == 2 and "approval limit" in r.output
