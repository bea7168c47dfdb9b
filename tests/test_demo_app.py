"""`relief demo`'s data in the app: every demo role logs in and its first page loads (acceptance 1)."""

from __future__ import annotations

import pytest
from web_helpers import login

from flask_app import create_app
from flask_app.auth import ROLE_NAMES
from flask_app.demo import build_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{work / 'relief.db'}"
    info = build_demo(url, work, people=3000)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True,
                      "RELIEF_TODAY": info.today.isoformat()})
    yield app, info
    app.extensions["relief_engine"].dispose()


def test_every_demo_role_logs_in_and_sees_its_start_page(demo):
    app, info = demo
    for role, (username, password) in info.users.items():
        client = app.test_client()
        login(client, username, password)
        home = client.get("/")
        assert home.status_code == 200, role
        text = home.get_data(as_text=True)
        assert ROLE_NAMES[role] in text and "2025-03-05" in text


def test_demo_is_part_way_through_the_year(demo):
    app, info = demo
    client = app.test_client()
    login(client, *info.users["admin"])
    text = client.get("/").get_data(as_text=True)
    for state in ("paid", "on_notice", "computed"):
        assert f"<code>{state}</code>" in text
    # the demo's API tokens open the API (never the pages)
    r = app.test_client().get("/api/v1/claims", headers={"Authorization": f"Bearer {info.tokens['admin']}"})
    assert r.status_code == 200 and len(r.json) > 0
