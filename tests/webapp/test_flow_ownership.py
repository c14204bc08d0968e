"""Who owns a flow: a flow handle or a launch code lets a browser that gets no cookie carry on
with its own flow, but never plants that flow in another browser; a new flow gets a new CSRF
secret; the framed provider login is no replayable link; and the provider return switches a
browser only onto a flow it started. Each test performs the attack (or the customer's action)
against the real sandbox and Redis."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import SandboxServer
from tests.webapp.conftest import GB_ADDRESS, Browser, Page
from webapp.entry import sign_start

COOKIE = "fpconnect"


def start(app: Flask, client: FlaskClient, ref: str) -> Browser:
    with app.test_request_context():
        signed = sign_start(ref)
    browser = Browser(client)
    assert browser.get(f"/start/{signed}").route == "postal_address_capture"
    return browser


def hidden(page: Page, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page.html)
    assert match, f"no hidden {name} on {page.route}"
    return match[1]


def step_form(page: Page, **typed: str) -> dict[str, str]:
    """The address page's form as the page rendered it (every hidden field), with ``typed``."""
    form = page.form_with(names=("address_line1",))
    return {**dict(form.fields), **typed}


def session_cookies(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "=")]


def test_a_flow_handle_posted_cross_site_plants_no_session(app: Flask, client: FlaskClient) -> None:
    """The attacker's own flow, posted from the attacker's site into a victim's browser (no
    cookie of ours yet) with the attacker's handle and CSRF token: the step is the attacker's
    to take, but the victim's browser is never handed the attacker's session."""
    attacker = start(app, client, "attacker-1")
    victim = app.test_client()
    response = victim.post("/connect/flow", data=step_form(attacker.page, **GB_ADDRESS))
    assert response.status_code in (200, 303)
    assert session_cookies(response) == []
    assert victim.get_cookie(COOKIE) is None


def test_a_launch_code_plants_no_session(app: Flask) -> None:
    """A launch code (single use, two minutes) opens its flow for a browser without cookies,
    and that browser only: it is never turned into a cookie."""
    cookieless = app.test_client(use_cookies=False)
    with app.test_request_context():
        signed = sign_start("launch-owner")
    entry = cookieless.get(f"/start/{signed}")
    assert entry.status_code == 303
    launch = parse_qs(urlsplit(entry.headers["Location"]).query)["launch"][0]
    victim = app.test_client()
    shown = victim.get(f"/connect/flow?launch={launch}")
    assert shown.status_code == 200 and 'data-route="postal_address_capture"' in shown.text
    assert session_cookies(shown) == []
    assert victim.get_cookie(COOKIE) is None


def test_a_csrf_token_read_before_a_flow_began_is_refused_in_it(
    app: Flask, client: FlaskClient, sandbox: SandboxServer
) -> None:
    """Whoever read this browser's CSRF token before its flow began (for instance through a
    session they planted) cannot post into the flow that follows."""
    browser = Browser(client)
    before = browser.get("/")
    old_token = hidden(before, "csrf_token")
    browser.submit(button=("mode", "connect"))
    page = browser.page
    assert page is not None and page.route == "postal_address_capture"
    assert hidden(page, "csrf_token") != old_token
    forged = client.post(
        "/connect/flow", data={**step_form(page, **GB_ADDRESS), "csrf_token": old_token}
    )
    assert forged.status_code == 400
    # The flow is untouched: its own form still goes through.
    assert browser.submit(GB_ADDRESS).route == "provider_select"
