"""The address page's country through the app and the sandbox (issue 12, item 7): from the start
link (sent to Connect as the token's address), the partner's default, the browser's language,
and changing it with and without JS."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import GB_ADDRESS, Browser, app_config
from tests.webapp.test_flow_paths import start_demo
from webapp import create_app
from webapp.start_links import sign_start


def chosen(html: str, name: str = "country_code") -> list[str]:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert select, f"no {name} list"
    return re.findall(r'<option value="([^"]*)" selected>', select.group(0))


def token_of(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return str(session["token"])


def token_record(sandbox: SandboxServer, token: str) -> dict[str, Any]:
    response = requests.get(f"{sandbox.url}/_sandbox/tokens/{token}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def journal(sandbox: SandboxServer, token: str) -> list[dict[str, Any]]:
    response = requests.get(f"{sandbox.url}/_sandbox/tokens/{token}/journal", timeout=10)
    return response.json()["requests"]


def start(app: Flask, client: FlaskClient, ref: str, **options: Any) -> Browser:
    with app.test_request_context():
        signed = sign_start(ref, **options)
    browser = Browser(client)
    page = browser.get(f"/start/{signed}")
    assert page.route == "postal_address_capture", page.text()[:300]
    return browser


def test_cli_link_with_a_country(app: Flask, client: FlaskClient, sandbox: SandboxServer) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["connect-link", "cli-country-1", "--country", "us"])
    assert result.exit_code == 0, result.output
    page = Browser(client).get(urlsplit(result.output.strip()).path)
    assert page.route == "postal_address_capture"
    assert chosen(page.html) == ["US"]
    assert 'name="state"' in page.html and ">ZIP code<" in page.html
    # Connect knows it: the token carries the country as its (otherwise unknown) address.
    token = token_of(client)
    address = token_record(sandbox, token)["token_address"]
    assert address["country_code"] == "US"
    assert not any(value for key, value in address.items() if key != "country_code")
    for bad in ("USA", "EU", "xx"):
        refused = runner.invoke(args=["connect-link", "cli-country-2", "--country", bad])
        assert refused.exit_code != 0 and "--country" in refused.output


def test_start_link_country_wins_over_the_browser(
    app: Flask, client: FlaskClient, sandbox: SandboxServer
) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    browser = start(app, client, "country-link-1", country="US")
    assert chosen(browser.page.html) == ["US"]
    page = browser.submit(
        {
            "address_line1": "1 Test Street",
            "city": "Austin",
            "post_code": "78701",
            "country_code": "US",
        }
    )
    assert page.status == 422 and "Choose your state." in page.html
    page = browser.submit({"state": "TX"})
    assert page.route == "provider_select", page.text()[:300]
    assert "Lone Star Direct" in page.html


def test_a_link_that_manages_a_location_sends_no_address(
    app: Flask, client: FlaskClient, sandbox: SandboxServer
) -> None:
    created = requests.post(
        f"{sandbox.url}/_sandbox/locations",
        json={"state": "connected_fixed", "country_code": "GB"},
        timeout=10,
    ).json()
    with app.test_request_context():
        signed = sign_start("country-manage-1", location_id=created["location_id"], country="DE")
    page = Browser(client).get(f"/start/{signed}")
    assert page.route == "summary_fixed_confirm", page.text()[:300]
    assert token_record(sandbox, token_of(client))["token_address"] is None


def test_start_again_keeps_the_country(
    app: Flask, client: FlaskClient, sandbox: SandboxServer
) -> None:
    browser = start(app, client, "country-again-1", country="DE")
    first = token_of(client)
    requests.post(f"{sandbox.url}/_sandbox/tokens/{first}/expire", timeout=10)
    page = browser.get("/connect/flow")
    assert page.state == "expired"
    page = browser.submit(form=page.form_with())
    assert page.route == "postal_address_capture"
    assert token_of(client) != first and chosen(page.html) == ["DE"]


def test_the_partners_default_country(redis_server: RedisServer, sandbox: SandboxServer) -> None:
    app = create_app(app_config(redis_server, sandbox, DEFAULT_COUNTRY="DE"))
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    browser = Browser(client)
    start_demo(browser)
    assert chosen(browser.page.html) == ["DE"]
    assert ">Postal code<" in browser.page.html and 'name="state"' not in browser.page.html


def test_the_browsers_language_region(client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    browser = Browser(client)
    start_demo(browser)
    html = browser.page.html
    assert chosen(html) == ["GB"]
    assert ">Postcode<" in html and 'name="state"' not in html
    assert "State, province or county" not in html
    # A UK customer types the address and never touches the country.
    fields = {k: v for k, v in GB_ADDRESS.items() if k != "country_code"}
    page = browser.submit(fields)
    assert page.route == "provider_select", page.text()[:300]


def test_no_js_country_change_shows_its_fields(client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB"
    browser = Browser(client)
    start_demo(browser)
    typed = {"address_line1": "1 Test Street", "city": "Austin", "country_code": "US"}
    page = browser.submit(typed, button=("edit", "country"))
    assert page.status == 200 and page.route == "postal_address_capture"
    assert chosen(page.html) == ["US"] and 'name="state"' in page.html
    assert ">ZIP code<" in page.html and 'value="Austin"' in page.html
    assert 'class="error-summary"' not in page.html


def test_htmx_country_change_is_local(
    client: FlaskClient, sandbox: SandboxServer, htmx_browser: Browser
) -> None:
    """What the select's hx-post gets: the page fragment with the new fields; Connect is not
    asked anything."""
    start_demo(htmx_browser)
    token = token_of(client)
    before = len(journal(sandbox, token))
    typed = {"address_line1": "1 Test Street", "country_code": "CA"}
    page = htmx_browser.submit(typed, button=("edit", "country"))
    assert page.status == 200 and page.route == "postal_address_capture"
    assert re.search(r'<div id="address-state">\s*<div class="field">', page.html)
    assert '<span id="post-code-name">Postal code</span>' in page.html
    assert "Province or territory" in page.html
    assert len(journal(sandbox, token)) == before
