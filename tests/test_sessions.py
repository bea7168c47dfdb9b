"""Sessions and login (issue 13, item 4): a session dies on the server with logout and a password change,
idle and absolute timeouts, an exact lock under parallel guesses, one answer for every refused login,
``next`` only to a local path, CSRF exempted only for a live token without a session cookie, login events."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from sqlalchemy import select
from web_helpers import csrf_token, login, token_of

from claims.lifecycle.api_tokens import issue_token
from claims.lifecycle.models import LoginEvent, User
from claims.lifecycle.users import Operator, create_user, get_user, reset_password
from flask_app import create_app, sessions
from flask_app import db as web_db
from flask_app.auth import LOGIN_REFUSED, change_password, hash_password
from flask_app.i18n import pick_language

LIMIT = 5
TOKEN = "sessions-test-token-0123456789"


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True, "RELIEF_LOCKOUT_AFTER": LIMIT,
                      "RELIEF_SESSION_IDLE_MINUTES": 30, "RELIEF_SESSION_MAX_HOURS": 12})
    with app.app_context(), web_db.write() as s:
        user = create_user(s, "ins", "理赔员", "insurer_adjudicator")
        user.password_hash = hash_password("correct horse")
        issue_token(s, Operator(None, "tests"), user, "tests", "write", secret=TOKEN)
    yield app
    app.extensions["relief_engine"].dispose()


def _user(app, username: str = "ins") -> User:
    with app.app_context():
        return web_db.session().scalar(select(User).where(User.username == username))


def _copy_of(app, client):  # noqa: ANN001, ANN202
    """A second client holding a copy of ``client``'s session cookie (what a thief would hold)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_copied_cookie_is_dead_after_logout(app):
    client = app.test_client()
    token = login(client, "ins", "correct horse")
    thief = _copy_of(app, client)
    assert thief.get("/").status_code == 200  # the copy works while the session lives
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    r = thief.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert thief.get("/api/v1/claims").status_code == 401
    # logging in again gives a new, working session; the old copy stays dead
    login(client, "ins", "correct horse")
    assert client.get("/").status_code == 200
    assert _copy_of(app, thief).get("/").status_code == 302


def test_a_copied_cookie_is_dead_after_a_password_change(app):
    client = app.test_client()
    login(client, "ins", "correct horse")
    thief = _copy_of(app, client)
    assert thief.get("/").status_code == 200
    with app.app_context():
        change_password(_user(app).id, "battery staple")
    assert thief.get("/").status_code == 302
    assert client.get("/").status_code == 302  # every session of the user, the owner's too
    fresh = app.test_client()
    token = csrf_token(fresh)
    assert fresh.post("/login", data={"username": "ins", "password": "correct horse", "csrf_token": token}) \
        .status_code == 401
    login(fresh, "ins", "battery staple")
    # an administrator's reset (relief users reset-password, /admin/users) ends the sessions the same way
    thief = _copy_of(app, fresh)
    assert thief.get("/").status_code == 200
    with app.app_context(), web_db.write() as s:
        reset_password(s, Operator(None, "tests"), get_user(s, "ins"), hash_password("third password"))
    assert thief.get("/").status_code == 302 and fresh.get("/").status_code == 302


def _age(client, key: str, seconds: int) -> None:  # noqa: ANN001
    with client.session_transaction() as sess:
        sess[key] -= seconds


def test_idle_timeout(app):
    client = app.test_client()
    login(client, "ins", "correct horse")
    _age(client, sessions.SEEN_AT, 29 * 60)
    assert client.get("/").status_code == 200  # used within 30 minutes: alive, and its last use refreshed
    with client.session_transaction() as sess:
        assert abs(sess[sessions.SEEN_AT] - time.time()) < 5
    _age(client, sessions.SEEN_AT, 31 * 60)
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    with client.session_transaction() as sess:
        assert "_user_id" not in sess and sessions.VERSION not in sess


def test_absolute_timeout(app):
    client = app.test_client()
    login(client, "ins", "correct horse")
    _age(client, sessions.LOGIN_AT, 11 * 3600)
    assert client.get("/").status_code == 200
    _age(client, sessions.LOGIN_AT, 2 * 3600)  # 13 hours since the login, though used a moment ago
    assert client.get("/").status_code == 302


def _refusal(client, username: str, password: str) -> tuple[int, str, float]:  # noqa: ANN001
    """(status, page without its CSRF token — a signed timestamp —, seconds taken) of one login attempt."""
    token = csrf_token(client)
    start = time.perf_counter()
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    elapsed = time.perf_counter() - start
    page = r.get_data(as_text=True)
    return r.status_code, page.replace(token_of(page), "…") if 'name="csrf_token"' in page else page, elapsed


def test_unknown_user_wrong_password_and_locked_account_get_one_answer(app):
    client = app.test_client()
    unknown = _refusal(client, "nobody", "x")
    wrong = _refusal(client, "ins", "x")
    assert unknown[0] == wrong[0] == 401
    assert unknown[1] == wrong[1] and pick_language(LOGIN_REFUSED, "zh") in wrong[1]
    for _ in range(LIMIT):
        _refusal(client, "ins", "x")
    locked = _refusal(client, "ins", "correct horse")
    assert locked[:2] == wrong[:2]  # locked: the same status and page, even with the right password
    # the same work: an unknown name costs a password hash too (it answered 60x faster before)
    times_unknown = [_refusal(client, "nobody", "x")[2] for _ in range(5)]
    times_wrong = [_refusal(client, "ins", "x")[2] for _ in range(5)]
    assert statistics.median(times_unknown) > 0.5 * statistics.median(times_wrong)


def test_parallel_wrong_passwords_lock_at_the_configured_count_exactly(app):
    attempts = 30
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []

    def guess() -> None:
        client = app.test_client()
        token = csrf_token(client)
        barrier.wait()
        r = client.post("/login", data={"username": "ins", "password": "wrong", "csrf_token": token})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=guess) for _ in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [401] * attempts
    user = _user(app)
    assert user.failed_logins == LIMIT and user.locked_until is not None
    # the lock holds: the right password is refused
    client = app.test_client()
    assert _refusal(client, "ins", "correct horse")[0] == 401
    with app.app_context():
        reasons = list(web_db.session().scalars(select(LoginEvent.reason).where(LoginEvent.username == "ins")))
    assert reasons.count("wrong-password") == LIMIT and reasons.count("locked") == attempts - LIMIT + 1


@pytest.mark.parametrize("target", ["%2F%09%2Fevil.example", "//evil.example", "https://evil.example",
                                    "/\\evil.example", "%2F%0A%2Fevil.example", "/%2F/evil.example",
                                    "javascript:alert(1)", "%0D%0A/evil"])
def test_next_leads_only_to_a_local_path(app, target):
    client = app.test_client()
    token = csrf_token(client)
    r = client.post(f"/login?next={target}", data={"username": "ins", "password": "correct horse",
                                                   "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_next_keeps_a_local_path(app):
    client = app.test_client()
    token = csrf_token(client)
    r = client.post("/login?next=%2Fclaims%3Fstate%3Dpayable", data={"username": "ins", "password": "correct horse",
                                                                     "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/claims?state=payable"


def test_a_bearer_header_beside_a_session_cookie_still_needs_csrf(app):
    url = "/api/v1/claims/999999/transitions"
    body = {"action": "verify", "version": 1}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    client = app.test_client()
    login(client, "ins", "correct horse")
    r = client.post(url, json=body, headers=auth)
    assert r.status_code == 400 and "CSRF" in r.json["detail"]
    r = client.post(url, json=body, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 400 and "CSRF" in r.json["detail"]
    # the token alone, no cookie: no CSRF token needed (the claim does not exist: 404 or 422, not 400)
    r = app.test_client().post(url, json=body, headers=auth)
    assert r.status_code in (404, 422), r.get_data(as_text=True)
    # an invalid token without a cookie is no exemption either
    r = app.test_client().post(url, json=body, headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 400 and "CSRF" in r.json["detail"]


def test_every_login_attempt_and_logout_is_an_event(app):
    client = app.test_client()
    _refusal(client, "nobody\x00", "x")
    _refusal(client, "ins", "x")
    token = login(client, "ins", "correct horse")
    client.post("/logout", data={"csrf_token": token})
    with app.app_context():
        rows = web_db.session().execute(select(
            LoginEvent.user_id, LoginEvent.username, LoginEvent.kind, LoginEvent.success, LoginEvent.reason,
            LoginEvent.remote_addr).order_by(LoginEvent.id)).all()
        uid = get_user(web_db.session(), "ins").id
    assert [tuple(r) for r in rows] == [
        (None, "nobody?", "login", False, "unknown-user", "127.0.0.1"),
        (uid, "ins", "login", False, "wrong-password", "127.0.0.1"),
        (uid, "ins", "login", True, None, "127.0.0.1"),
        (uid, "ins", "logout", True, None, "127.0.0.1"),
    ]
