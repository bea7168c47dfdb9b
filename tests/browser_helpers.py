"""What every browser test's server fixture shares: the skip when chromium or playwright is missing, and the app
served on a free port by a thread for the module's tests (werkzeug's threaded server), shut down afterwards."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def need_browser() -> None:
    """Skip (with the reason shown) unless Debian's chromium and the playwright package are there."""
    if CHROMIUM is None:
        pytest.skip("chromium not found on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@contextmanager
def served(app) -> Iterator[str]:  # noqa: ANN001 - a Flask app
    """``app`` on 127.0.0.1 (a free port) while the block runs: its base URL; the engine disposed after."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(5)
        app.extensions["relief_engine"].dispose()


def log_in(page, base: str, username: str, password: str):  # noqa: ANN001, ANN201 - a Playwright page
    """Log ``page`` in through the login form as a person does; the page, on the home page."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page
