"""URLs built from data go into response headers as ASCII.

``links.return_url_allowed`` accepts any path of ours, ``/café/ünïcode`` included, and a start
link can carry one; a partner's own ``callback_uri`` may hold any character too. Whichever
header takes them (``Location``, ``HX-Redirect``), it must be ASCII: gunicorn refuses a header
it cannot encode as Latin-1 (a bare 500 at the very end of the flow), and Latin-1 itself reaches
the browser as mojibake. ``test_gunicorn_edges`` sends the same through a real gunicorn.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.e2e.upstream import create_connect_token
from tests.webapp.conftest import GB_ADDRESS, PUBLIC_URL, Browser, Page, app_config
from webapp import create_app
from webapp.htmx import navigate
from webapp.start_links import sign_start

RETURN_PATH = "/café/ünïcode"


class RecordingBrowser(Browser):
    """A browser that keeps every response's headers. ``always_htmx``: a client that sends
    ``HX-Request`` on every request, the way one following ``HX-Redirect`` by ajax (or a
    script) does, so the callback itself answers with ``HX-Redirect``."""

    def __init__(self, client: FlaskClient, *, htmx: bool, always_htmx: bool = False) -> None:
        super().__init__(client, htmx=htmx)
        self.always_htmx = always_htmx
        self.headers: list[tuple[str, str, str]] = []

    def _app_response(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.always_htmx:
            kwargs["headers"] = {**kwargs.get("headers", {}), "HX-Request": "true"}
        response = super()._app_response(method, url, **kwargs)
        self.headers += [(url, name, value) for name, value in response.headers.items()]
        return response

    def not_ascii(self) -> list[tuple[str, str, str]]:
        return [entry for entry in self.headers if not (entry[1] + entry[2]).isascii()]


def walk_to_summary(browser: Browser) -> Page:
    browser.submit(GB_ADDRESS)
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    page = browser.submit({"term": "none"})
    assert page.route == "summary_fixed_confirm", page.route
    return page


@pytest.mark.parametrize(
    ("htmx", "always_htmx"),
    [(False, False), (True, False), (True, True)],
    ids=["plain", "htmx", "htmx-everywhere"],
)
def test_a_flow_returning_to_a_unicode_path_completes_with_ascii_headers(
    app: Flask, client: FlaskClient, htmx: bool, always_htmx: bool
) -> None:
    with app.test_request_context():
        signed = sign_start(f"unicode-{htmx}-{always_htmx}", return_url=RETURN_PATH)
    browser = RecordingBrowser(client, htmx=htmx, always_htmx=always_htmx)
    page = browser.get(f"/start/{signed}")
    assert page.route == "postal_address_capture"
    walk_to_summary(browser)
    page = browser.action("SAVE")
    # The customer lands on the return path (ours: a 404 here, a real page for a partner).
    assert unquote(browser.redirects[-1]) == RETURN_PATH + "?connect=connected"
    assert browser.redirects[-1] == "/caf%C3%A9/%C3%BCn%C3%AFcode?connect=connected"
    assert browser.not_ascii() == []


def test_a_partner_callback_with_unicode_is_handed_over_in_ascii(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    """A token a partner created with its own (allowlisted) ``callback_uri``: at SAVE under htmx
    the app hands the customer over with ``HX-Redirect``, the path percent-encoded, the token
    appended."""
    callback = "https://partner.example/connected/café/łódź"
    app = create_app(app_config(redis_server, sandbox, PARTNER_CALLBACK_URLS=[callback]))
    client = app.test_client()
    token = create_connect_token(sandbox, PUBLIC_URL, callback_uri=callback)
    browser = RecordingBrowser(client, htmx=True)
    assert browser.get(f"/connect?fp_cot={token}").route == "postal_address_capture"
    page = walk_to_summary(browser)
    form = page.form_with(button=("action", "SAVE"))
    response = client.post(
        form.action or "/connect/flow",
        data=dict(form.fields) | {"action": "SAVE"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    target = response.headers["HX-Redirect"]
    assert (
        target == f"https://partner.example/connected/caf%C3%A9/%C5%82%C3%B3d%C5%BA?fp_cot={token}"
    )
    assert all((name + value).isascii() for name, value in response.headers.items())


@pytest.mark.parametrize("hx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("/café/ünïcode?connect=pending", "/caf%C3%A9/%C3%BCn%C3%AFcode?connect=pending"),
        ("/already%20encoded?x=%C3%A9", "/already%20encoded?x=%C3%A9"),
        ("https://bücher.example/€", "https://xn--bcher-kva.example/%E2%82%AC"),
        ("/plain/path?connect=connected", "/plain/path?connect=connected"),
    ],
)
def test_navigate_sends_every_url_as_ascii(app: Flask, hx: bool, url: str, sent: str) -> None:
    headers = {"HX-Request": "true"} if hx else {}
    with app.test_request_context("/connect/flow", headers=headers):
        response = navigate(url)
    header = "HX-Redirect" if hx else "Location"
    assert response.headers[header] == sent
