"""The processes a browser test talks to: the web app under gunicorn and the partner test sites.

The app runs exactly as in production (a gunicorn subprocess, real Redis, the sandbox over HTTP),
on the host name ``localhost``. Partner sites are static servers on other loopback addresses, so
the browser treats them as different *sites*: an iframe from ``127.0.0.2`` to ``localhost`` is a
cross-site frame, with the cookie and ``frame-ancestors`` rules of a real partner embed.
"""

from __future__ import annotations

import functools
import html
import http.server
import os
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT, RedisServer, SandboxServer, free_port, stop, wait_for_http

PARTNER_SITE_DIR = Path(__file__).resolve().parent / "partner_site"
SECRET_KEY = "e2e-only-secret-key-0123456789abcdef0123456789abcdef"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves ``partner_site/``; no request logging, no caching between tests. One page is made
    here: ``/embed-static?src=…`` frames the start URL with a plain ``<iframe>`` in the HTML,
    for a browser that runs no script at all (``embed.html`` builds its frame with partner.js).
    """

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        if parts.path != "/embed-static":
            super().do_GET()
            return
        src = urllib.parse.parse_qs(parts.query).get("src", [""])[0]
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Partner test site (no script)</title></head><body>"
            "<h1>Partner test site</h1>"
            f'<iframe id="connect" title="Connect your tariff" src="{html.escape(src)}" '
            'style="width:100%;height:900px;border:0"></iframe></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@dataclass
class PartnerSite:
    """A static partner web site on its own loopback address (its own site, for the browser)."""

    host: str
    server: http.server.ThreadingHTTPServer
    thread: threading.Thread

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_partner_site(host: str) -> PartnerSite:
    handler = functools.partial(_QuietHandler, directory=str(PARTNER_SITE_DIR))
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"partner-{host}", daemon=True)
    thread.start()
    return PartnerSite(host=host, server=server, thread=thread)


@dataclass
class AppServer:
    """The web app under gunicorn, reachable as ``http://localhost:<port>``."""

    port: int
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path
    sandbox: SandboxServer
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str) -> str:
        """Run a ``flask --app wsgi`` command with the server's settings and return stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout


def app_env(
    port: int,
    redis_server: RedisServer,
    sandbox: SandboxServer,
    partners: list[PartnerSite],
    db: int,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    public_url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": redis_server.url(db),
        "FLATPEAK_API_URL": sandbox.url,
        "FLATPEAK_CONNECT_URL": sandbox.url,
        "FLATPEAK_ACCOUNT_ID": sandbox.account_id,
        "FLATPEAK_API_KEY": sandbox.api_key,
        "PUBLIC_URL": public_url,
        "PARTNER_ORIGINS": " ".join(p.origin for p in partners),
        "PARTNER_RETURN_URLS": " ".join(p.url("done.html") for p in partners),
        # Production cookies (__Host-, Secure, SameSite=None, Partitioned) even over plain HTTP:
        # http://localhost is a secure context for Chromium, so it keeps Secure cookies.
        "SESSION_COOKIE_SECURE": "true",
        "DEMO_ENABLED": "true",  # test_entry walks the demo partner page
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
    }
    env.update(extra or {})
    return env


def start_app(
    redis_server: RedisServer,
    sandbox: SandboxServer,
    partners: list[PartnerSite],
    log_dir: Path,
    db: int = 2,
    extra: dict[str, str] | None = None,
) -> AppServer:
    port = free_port()
    env = app_env(port, redis_server, sandbox, partners, db, extra)
    log_path = log_dir / f"app-{port}.log"
    log_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    if (ROOT / "gunicorn.conf.py").exists():
        cmd[3:3] = ["-c", "gunicorn.conf.py"]
    cmd.append("wsgi:app")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = AppServer(
        port=port, proc=proc, env=env, log_path=log_path, sandbox=sandbox, extra=extra or {}
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=30)
    except Exception as exc:
        stop(proc)
        raise RuntimeError(f"the app did not start:\n{server.log()[-3000:]}") from exc
    return server
