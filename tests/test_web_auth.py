"""Login, lock-out, CSRF, logout, API tokens; every endpoint is declared in the permission table."""

from __future__ import annotations

import pytest
from web_helpers import csrf_token

from claims.lifecycle.api_tokens import issue_token
from claims.lifecycle.users import Operator, create_user, get_user
from flask_app import create_app
from flask_app import db as web_db
from flask_app.auth import hash_password
from flask_app.permissions import ENDPOINT_ROLES, PUBLIC


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True, "RELIEF_LOCKOUT_AFTER": 3})
    with app.app_context(), web_db.write() as s:
        user = create_user(s, "ins", "理赔员", "insurer_adjudicator")
        user.password_hash = hash_password("correct horse")
    yield app
    app.extensions["relief_engine"].dispose()



def test_login_required_then_login_and_logout(app):
    client = app.test_client()
    assert client.get("/").headers["Location"].startswith("/login")
    token = csrf_token(client)
    r = client.post("/login", data={"username": "ins", "password": "correct horse", "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "理赔员" in client.get("/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/").status_code == 302


def test_post_without_csrf_token_is_refused(app):
    client = app.test_client()
    r = client.post("/login", data={"username": "ins", "password": "correct horse"})
    assert r.status_code == 400


def test_lockout_after_repeated_failures(app):
    client = app.test_client()
    token = csrf_token(client)
    for _ in range(3):
        assert client.post("/login", data={"username": "ins", "password": "x", "csrf_token": token}).status_code == 401
    # locked now: even the right password is refused until the lock expires (the one answer of every refusal,
    # 401, so that a locked account cannot be told from an unknown name: tests/test_sessions.py)
    r = client.post("/login", data={"username": "ins", "password": "correct horse", "csrf_token": token})
    assert r.status_code == 401 and "锁定" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_api_token_authenticates_the_api_only(app):
    token = "t0ken-for-tests"
    with app.app_context(), web_db.write() as s:
        issue_token(s, Operator(None, "tests"), get_user(s, "ins"), "tests", "read", secret=token)
    client = app.test_client()
    assert client.get("/api/v1/claims", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/claims", headers={"Authorization": "Bearer wrong"}).status_code == 401
    # a page never takes a token: it asks for a login (tests/test_tokens.py has the rest)
    r = client.get("/", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_every_endpoint_is_declared(app):
    undeclared = sorted(e for e in app.view_functions if e not in PUBLIC and e not in ENDPOINT_ROLES)
    assert undeclared == []


def test_api_errors_are_problem_details(app):
    r = app.test_client().get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert r.json["type"] == "/problems/not-found" and r.json["status"] == 404
    # and the OpenAPI document says so: errors are problem details in application/problem+json
    spec = app.test_client().get("/api/v1/openapi.json").json
    content = spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]
    assert list(content) == ["application/problem+json"]
    assert {"type", "title", "status"} <= set(spec["components"]["schemas"]["Problem"]["required"])


def test_browsable_api_docs_are_served_without_a_cdn(app):
    client = app.test_client()
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs-assets/swagger-ui-bundle.js" in page and "/api/v1/openapi.json" in page
    asset = client.get("/api/v1/docs-assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
