"""What only a real gunicorn shows: the access log it writes and the headers it accepts.

The app runs as production runs it (``gunicorn -c gunicorn.conf.py wsgi:app``) against the
session's Redis and sandbox; the test reads gunicorn's combined output (access log and the app's
own log lines) from a file. Flask's test client checks neither: it writes no access log and
passes any header value through.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, RedisServer, SandboxServer, free_port, stop, wait_for_http
from tests.webapp.conftest import TEST_SECRET

LIVE_DB = 6


@dataclass
class Gunicorn:
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, needle: str, timeout: float = 10.0) -> str:
        """The log once ``needle`` is in it (gunicorn writes the access line after the
        response has gone out)."""
        deadline = time.monotonic() + timeout
        while needle not in (text := self.log()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} never logged:\n{text[-3000:]}")
            time.sleep(0.05)
        return text


@pytest.fixture(scope="module")
def live(
    redis_server: RedisServer, sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gunicorn]:
    redis_server.client(LIVE_DB).flushdb()
    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn") / "app.log"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SECRET_KEY": TEST_SECRET,
        "REDIS_URL": redis_server.url(LIVE_DB),
        "FLATPEAK_API_URL": sandbox.url,
        "FLATPEAK_CONNECT_URL": sandbox.url,
        "FLATPEAK_ACCOUNT_ID": sandbox.account_id,
        "FLATPEAK_API_KEY": sandbox.api_key,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    command += ["--bind", f"127.0.0.1:{port}", "--no-control-socket", "wsgi:app"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=30)
        yield Gunicorn(url=f"http://127.0.0.1:{port}", log_path=log_path)
    finally:
        stop(proc)


# -- log injection -------------------------------------------------------------------------------

FORGED_ACCESS = '127.0.0.1 "GET /admin HTTP/1.1" 200 0 1ms'
FORGED_APP = "ERROR:webapp:forged by the client"


def test_a_newline_in_the_path_forges_no_access_log_line(live: Gunicorn) -> None:
    marker = "/access-probe"
    response = requests.get(f"{live.url}{marker}%0D%0A{FORGED_ACCESS}", timeout=10)
    assert response.status_code == 404
    text = live.wait_for_log(marker)
    assert not any(line.startswith(FORGED_ACCESS) for line in text.splitlines()), text[-2000:]
    assert f'"GET {marker}\\r\\n{FORGED_ACCESS}' in text.replace('\\"', '"')


def test_a_newline_in_the_path_forges_no_app_log_line(live: Gunicorn) -> None:
    """The app logs the path of an oversized post ("request too large on …")."""
    marker = "/app-probe"
    response = requests.post(
        f"{live.url}{marker}%0A{FORGED_APP}",
        data={"flow": "x", "address_line1": "a" * 20000},
        timeout=10,
    )
    assert response.status_code == 413
    text = live.wait_for_log(f"request too large on {marker}")
    assert not any(line.startswith(FORGED_APP) for line in text.splitlines()), text[-2000:]
    assert f"request too large on {marker}\\n{FORGED_APP}" in text
