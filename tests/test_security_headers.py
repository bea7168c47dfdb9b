"""Security headers on every response, HSTS and ``Secure`` cookies under HTTPS only, no server version, no
inline script in the pages (issue 13, item 4); error pages in the site's layout for a browser and problem
details for the API and JSON clients (item 9)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from browser_helpers import log_in
from web_helpers import login

from claims.lifecycle.users import create_user
from flask_app import create_app
from flask_app import db as web_db
from flask_app.auth import hash_password
from flask_app.permissions import ENDPOINT_ROLES, EVERYONE, allowed

TEMPLATES = Path(__file__).parent.parent / "flask_app" / "templates"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _make(db_url, **config):  # noqa: ANN001, ANN202
    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "test", "TESTING": True, **config})
    with app.app_context(), web_db.write() as s:
        for username, role in (("ins", "insurer_adjudicator"), ("act", "actuary")):
            create_user(s, username, username, role).password_hash = hash_password("pw")
    return app


@pytest.fixture
def app(db_url):
    app = _make(db_url)
    yield app
    app.extensions["relief_engine"].dispose()


def _csp(response) -> dict[str, str]:  # noqa: ANN001
    return {d.split()[0]: d.partition(" ")[2] for d in response.headers["Content-Security-Policy"].split("; ")}


def _assert_secured(response) -> None:  # noqa: ANN001
    csp = _csp(response)
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'self'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


def test_every_kind_of_response_carries_the_headers(app):
    client = app.test_client()
    for r in (client.get("/login"), client.get("/static/style.css"), client.get("/health"),
              client.get("/api/v1/claims"), client.get("/no-such-page", headers=BROWSER)):
        _assert_secured(r)
    login(client, "ins", "pw")
    for r in (client.get("/"), client.get("/claims"), client.get("/api/v1/claims"),
              client.get("/claims/999999", headers=BROWSER)):
        _assert_secured(r)


def test_hsts_and_secure_cookie_only_under_https(app):
    plain = app.test_client()
    login(plain, "ins", "pw")
    assert not plain.get_cookie("session").secure
    assert "Strict-Transport-Security" not in plain.get("/").headers
    secure = app.test_client()
    r = secure.get("/login", base_url="https://relief.example")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    token = r.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    r = secure.post("/login", base_url="https://relief.example", headers={"Referer": "https://relief.example/login"},
                    data={"username": "ins", "password": "pw", "csrf_token": token})
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # X-Forwarded-Proto counts only when a proxy is trusted (RELIEF_TRUSTED_PROXIES, off here)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "Strict-Transport-Security" not in app.test_client().get("/login", headers=forwarded).headers


def test_a_trusted_proxy_s_https_turns_hsts_on(tmp_path):
    from claims.lifecycle.database import upgrade

    url = f"sqlite:///{tmp_path / 'proxy.db'}"
    upgrade(url)
    app = _make(url, RELIEF_TRUSTED_PROXIES=1)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    r = app.test_client().get("/login", headers=forwarded)
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    app.extensions["relief_engine"].dispose()


def test_the_app_names_no_server(app):
    """The app adds no ``Server`` header (waitress, ``relief serve``, adds none either: tests/test_serve.py)."""
    client = app.test_client()
    for r in (client.get("/login"), client.get("/api/v1/claims"), client.get("/static/style.css")):
        assert "Server" not in r.headers
        assert "Werkzeug" not in str(r.headers) and "Python" not in str(r.headers)


def test_no_template_has_inline_script():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path.name
        assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), path.name
        assert "javascript:" not in text.lower(), path.name


def test_the_api_docs_inline_script_is_allowed_by_its_hash_only_there(app):
    r = app.test_client().get("/api/v1/docs")
    scripts = re.findall(rb"<script>(.*?)</script>", r.data, re.DOTALL)
    assert scripts
    csp = _csp(r)
    for script in scripts:
        assert f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'" in csp["script-src"]
    assert "unsafe-inline" not in csp["script-src"]


def test_a_browser_sees_error_pages_in_the_layout(app):
    client = app.test_client()
    login(client, "ins", "pw")
    reader = app.test_client()
    login(reader, "act", "pw")
    assert not allowed("payouts.index", "actuary")
    for who, path, status in ((client, "/claims/999999", 404), (reader, "/payouts", 403),
                              (client, "/no-such-page", 404)):
        r = who.get(path, headers=BROWSER)
        page = r.get_data(as_text=True)
        assert r.status_code == status and r.mimetype == "text/html", path
        assert '<header class="top">' in page and f'data-status="{status}"' in page  # the site's layout
        assert '"type"' not in page
    # the same addresses asked for JSON, and the API: problem details
    r = client.get("/claims/999999", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json" and r.json["type"] == "/problems/not-found"
    r = client.get("/api/v1/claims/999999", headers=BROWSER)
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = reader.get("/api/v1/payouts", headers=BROWSER)
    assert r.status_code == 403 and r.json["type"] == "/problems/forbidden"


def test_conflict_too_large_and_server_error_pages(db_url, monkeypatch):
    from claims.lifecycle.transitions import ConflictError

    app = _make(db_url, MAX_CONTENT_LENGTH=1024)
    app.testing = False  # a server error is answered, not raised into the test

    def conflict():  # noqa: ANN202
        raise ConflictError("已被他人修改 / changed by someone else", [1])

    def broken():  # noqa: ANN202
        raise RuntimeError("boom")

    app.add_url_rule("/t/conflict", "t_conflict", conflict)
    app.add_url_rule("/t/broken", "t_broken", broken)
    monkeypatch.setitem(ENDPOINT_ROLES, "t_conflict", EVERYONE)
    monkeypatch.setitem(ENDPOINT_ROLES, "t_broken", EVERYONE)
    client = app.test_client()
    token = login(client, "ins", "pw")
    for path, status in (("/t/conflict", 409), ("/t/broken", 500)):
        r = client.get(path, headers=BROWSER)
        assert r.status_code == status and r.mimetype == "text/html", path
        assert f'data-status="{status}"' in r.get_data(as_text=True) and "boom" not in r.get_data(as_text=True)
        _assert_secured(r)
        r = client.get(path, headers={"Accept": "application/json"})
        assert r.status_code == status and r.mimetype == "application/problem+json", path
    r = client.post("/logout", data={"csrf_token": token, "pad": "x" * 4096}, headers=BROWSER)
    assert r.status_code == 413 and r.mimetype == "text/html" and 'data-status="413"' in r.get_data(as_text=True)
    app.extensions["relief_engine"].dispose()


@pytest.mark.e2e
def test_in_a_browser_the_pages_work_under_the_policy_and_inline_script_is_blocked(tmp_path):
    """Chromium enforces the policy: no violation on the pages, the select-all box works (static/app.js), a
    script injected inline does not run, a missing claim is an error page in the layout."""
    import shutil
    import threading

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not found on PATH (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    from werkzeug.serving import make_server

    from flask_app.demo import build_demo

    url = f"sqlite:///{tmp_path / 'relief.db'}"
    info = build_demo(url, tmp_path, people=200)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "csp-test"})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    violations: list[str] = []
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
            page = browser.new_page()
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            username, password = info.users["insurer_adjudicator"]
            log_in(page, base, username, password)
            page.goto(f"{base}/claims")
            boxes = page.locator("input[name=claim_id]")
            assert boxes.count() > 0
            page.click("input[data-select-all]")
            assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
            page.click("input[data-select-all]")
            assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
            page.evaluate("""() => { const s = document.createElement('script');
                                     s.textContent = 'window.injected = 1'; document.body.appendChild(s); }""")
            assert page.evaluate("() => window.injected") is None  # refused by script-src 'self'
            assert any("inline script" in v for v in violations)
            violations.clear()
            response = page.goto(f"{base}/claims/999999")
            assert response.status == 404
            assert page.locator("header.top").count() == 1 and page.locator("#error[data-status='404']").count() == 1
            page.goto(f"{base}/")
            assert violations == []
            browser.close()
    finally:
        httpd.shutdown()
        app.extensions["relief_engine"].dispose()
