"""``relief serve`` as a real server process for the tests that need one (waitress, its limits, its headers)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nothing listens on now (the OS's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def relief_serve(url: str, env: dict[str, str], threads: int, *,
                 pipe_output: bool = False) -> Iterator[tuple[int, subprocess.Popen]]:
    """``relief serve --database url --threads threads`` on a free port with ``env`` over this environment,
    waited for (60 s at most) until it accepts connections → (port, process); stopped afterwards.  The
    server's output goes to a file (a pipe nobody reads could fill and stall it) and is shown if it does
    not start; ``pipe_output`` gives it to ``proc.stdout`` instead, for a test that reads what it printed."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "flask_app.cli", "serve", "--port", str(port), "--threads",
                                 str(threads), "--database", url], cwd=ROOT, env={**os.environ, **env},
                                stdout=subprocess.PIPE if pipe_output else log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        if pipe_output:
                            out = proc.stdout.read() if proc.poll() is not None else b""
                        else:
                            log.seek(0)
                            out = log.read()
                        pytest.fail(f"relief serve did not start: {out.decode(errors='replace')}")
                    time.sleep(0.2)
            yield port, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
