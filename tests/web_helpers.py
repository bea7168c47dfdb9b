"""Shared helpers of the web tests: the CSRF token of a page, logging in through the form."""

from __future__ import annotations


def token_of(page: str) -> str:
    """The CSRF token in a rendered form."""
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def csrf_token(client) -> str:  # noqa: ANN001 - Flask test client
    return token_of(client.get("/login").get_data(as_text=True))


def login(client, username: str, password: str) -> str:  # noqa: ANN001
    """Log in through the form (asserting success); returns the CSRF token for later posts."""
    token = csrf_token(client)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return token
