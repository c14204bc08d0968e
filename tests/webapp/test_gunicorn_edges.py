"""What only a real gunicorn shows: the access log it writes and the headers it accepts.

The app runs as production runs it (``gunicorn -c gunicorn.conf.py wsgi:app``) against the
session's Redis and sandbox; the test reads gunicorn's combined output (access log and the app's
own log lines) from a file. Flask's test client checks neither: it writes no access log and
passes any header value through.
"""

from __future__ import annotations

import runpy
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from devstack.stack import ROOT, AppServer, Gunicorn, RedisServer, SandboxServer
from tests.e2e.upstream import create_connect_token
from tests.webapp.conftest import GB_ADDRESS, TEST_SECRET, HttpBrowser
from webapp.start_links import sign_start

LIVE_DB = 6
# A partner's own callback, allowlisted, with characters outside Latin-1.
PARTNER_CALLBACK = "https://partner.example/connected/€uro/łódź"


class LiveApp(AppServer):
    """The app under gunicorn, whose combined output (access log and app log) a test reads."""

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
) -> Iterator[LiveApp]:
    redis_server.client(LIVE_DB).flushdb()
    app = LiveApp(
        tmp_path_factory.mktemp("gunicorn"),
        redis_server.url(LIVE_DB),
        sandbox,
        settings={"SECRET_KEY": TEST_SECRET, "PARTNER_CALLBACK_URLS": PARTNER_CALLBACK},
        gunicorn=Gunicorn(workers=1, threads=4),
    )
    with app:
        yield app


# -- log injection -------------------------------------------------------------------------------

FORGED_ACCESS = '127.0.0.1 "GET /admin HTTP/1.1" 200 0 1ms'
FORGED_APP = "ERROR:webapp:forged by the client"


def test_a_newline_in_the_path_forges_no_access_log_line(live: LiveApp) -> None:
    marker = "/access-probe"
    response = requests.get(f"{live.url}{marker}%0D%0A{FORGED_ACCESS}", timeout=10)
    assert response.status_code == 404
    # gunicorn writes a quote in an atom as \", which a log reader takes for a quote.
    text = live.wait_for_log(marker).replace('\\"', '"')
    assert not any(line.startswith(FORGED_ACCESS) for line in text.splitlines()), text[-2000:]
    assert f'"GET {marker}\\r\\n{FORGED_ACCESS}' in text


def test_gunicorn_escapes_its_own_atoms() -> None:
    """Without the app's log-record factory too (a request gunicorn answers itself, a worker
    whose app failed to load): the logger class in gunicorn.conf.py escapes every atom."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["logger_class"].atoms_wrapper_class is conf["EscapedAtoms"]
    atoms = conf["EscapedAtoms"]({"U": "/x\r\nforged\x85", "{user-agent}i": "a\u2028b", "B": 5})
    assert atoms["U"] == "/x\\r\\nforged\\x85"
    assert atoms["{User-Agent}i"] == "a\\u2028b"
    assert atoms["B"] == 5 and atoms["missing"] == "-"


def test_a_newline_in_the_path_forges_no_app_log_line(live: LiveApp) -> None:
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


# -- URLs in headers -----------------------------------------------------------------------------


def test_a_partner_callback_with_non_latin1_characters_under_gunicorn(
    live: LiveApp, sandbox: SandboxServer
) -> None:
    """A partner's own callback (``callback_uri`` of a token it created) with characters outside
    Latin-1: at SAVE under htmx the app hands over with ``HX-Redirect``. gunicorn refuses a
    header it cannot encode, which was a bare 500 for the customer at the very last step."""
    callback = PARTNER_CALLBACK
    token = create_connect_token(
        sandbox,
        live.url,
        callback_uri=callback,
        connect_web_uri=f"{live.url}/connect/provider-return",
    )
    browser = HttpBrowser(live.url, htmx=True)
    page = browser.get(f"/connect?fp_cot={token}")
    assert page.route == "postal_address_capture", page.text()[:300]
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm"
    form = page.form_with(button=("action", "SAVE"))
    data = dict(form.fields) | {"action": "SAVE"}
    response = browser.client.http.post(
        live.url + (form.action or "/connect/flow"),
        data=data,
        headers={"HX-Request": "true"},
        allow_redirects=False,
        timeout=20,
    )
    assert response.status_code == 200, response.text[:300]
    target = response.headers["HX-Redirect"]
    assert target.isascii()
    assert target.startswith(
        "https://partner.example/connected/%E2%82%ACuro/%C5%82%C3%B3d%C5%BA?fp_cot=cot_"
    )


class _AlwaysHtmx(HttpBrowser):
    """Sends ``HX-Request`` on every request, so the callback answers with ``HX-Redirect``."""

    def _app_response(self, method: str, url: str, **kwargs: Any) -> Any:
        kwargs["headers"] = {**kwargs.get("headers", {}), "HX-Request": "true"}
        return super()._app_response(method, url, **kwargs)


def test_a_return_path_with_non_latin1_characters_under_gunicorn(live: LiveApp) -> None:
    signer = Flask(__name__)
    signer.config["SECRET_KEY"] = TEST_SECRET
    with signer.app_context():
        signed = sign_start("live-unicode-return", return_url="/€uro/łódź")
    browser = _AlwaysHtmx(live.url)
    assert browser.get(f"/start/{signed}").route == "postal_address_capture"
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    browser.submit({"term": "none"})
    page = browser.action("SAVE")
    # Our 404 (there is no such page here; a partner's return URL would be a real page), not
    # gunicorn's bare 500 for a header it cannot encode.
    assert page.status == 404 and "Page not found" in page.text(), page.text()[:300]
    assert browser.redirects[-1] == "/%E2%82%ACuro/%C5%82%C3%B3d%C5%BA?connect=connected"
