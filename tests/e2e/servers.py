"""What a browser test talks to: the web app under gunicorn and the partner test sites.

The app runs exactly as in production (``devstack.stack.AppServer``: a gunicorn subprocess, real
Redis, the sandbox over HTTP), on the host name ``localhost``. Partner sites are static servers
on other loopback addresses, so the browser treats them as different *sites*: an iframe from
``127.0.0.2`` to ``localhost`` is a cross-site frame, with the cookie and ``frame-ancestors``
rules of a real partner embed. They are threads in the test process, not processes: nothing
about them is stopped or restarted.
"""

from __future__ import annotations

import functools
import html
import http.server
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from devstack.stack import AppServer, Gunicorn, SandboxServer
from tests.e2e.audit import ARTIFACTS

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


def browser_app(
    redis_url: str,
    sandbox: SandboxServer,
    partners: list[PartnerSite],
    **settings: str,
) -> AppServer:
    """The app as the browser tests meet it, not yet started: on ``localhost``, framed by the
    ``partners``, with its log among the test artifacts. ``settings`` are extra environment."""
    return AppServer(
        ARTIFACTS / "logs",
        redis_url,
        sandbox,
        host="localhost",
        gunicorn=Gunicorn(workers=2, threads=4),
        settings={
            "SECRET_KEY": SECRET_KEY,
            "PARTNER_ORIGINS": " ".join(p.origin for p in partners),
            "PARTNER_RETURN_URLS": " ".join(p.url("done.html") for p in partners),
            # Production cookies (__Host-, Secure, SameSite=None, Partitioned) even over plain
            # HTTP: http://localhost is a secure context for Chromium, so it keeps Secure cookies.
            "SESSION_COOKIE_SECURE": "true",
            "DEMO_ENABLED": "true",  # test_entry walks the demo partner page
            **settings,
        },
    )
