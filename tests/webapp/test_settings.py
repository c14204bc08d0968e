"""The tariff settings page against the sandbox over HTTP: live status per kind, Connect /
Change through a flow, Disconnect without Connect's screens, and pending turning into prices."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import APP_DB, Browser, app_config
from webapp import create_app, results
from webapp.settings_links import sign_settings
from webapp.tariff_kinds import COMMODITY_EXPORT, COMMODITY_IMPORT, NON_COMMODITY_IMPORT

REF = "settings-customer-1"
ALL_KINDS = [COMMODITY_IMPORT, COMMODITY_EXPORT, NON_COMMODITY_IMPORT]


@pytest.fixture
def app(redis_server: RedisServer, sandbox: SandboxServer) -> Iterator[Flask]:
    redis_server.client(APP_DB).flushdb()
    yield create_app(app_config(redis_server, sandbox, TARIFF_KINDS=ALL_KINDS))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


def location(sandbox: SandboxServer, state: str) -> dict[str, str]:
    response = requests.post(
        f"{sandbox.url}/_sandbox/locations", json={"state": state, "country_code": "GB"}, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()


def customer_at(app: Flask, created: dict[str, str], ref: str = REF) -> str:
    """Store the customer's import result for the location; the settings URL for them."""
    with app.test_request_context():
        results.save(
            app.extensions["connect_redis"], ref, customer_id=created["customer_id"],
            location_id=created["location_id"], complete_action="SAVE",
            is_tariff_processed=True, live_mode=False,
        )  # fmt: skip
        return f"/settings/{sign_settings(ref)}"


def card(html: str, kind: str) -> str:
    found = re.search(rf'<section [^>]*data-kind="{kind}".*?</section>', html, re.S)
    assert found, f"no {kind} card"
    return found.group(0)


def status_of(html: str, kind: str) -> str:
    found = re.search(r'data-status="([a-z_]+)"', card(html, kind))
    assert found
    return found.group(1)


def test_page_shows_each_kind_live_with_todays_prices(
    app: Flask, browser: Browser, sandbox: SandboxServer
) -> None:
    url = customer_at(app, location(sandbox, "connected_time_of_day"))
    page = browser.get(url)
    assert page.status == 200
    assert page.headers["Cache-Control"] == "no-store"
    imported = card(page.html, COMMODITY_IMPORT)
    assert status_of(page.html, COMMODITY_IMPORT) == "connected"
    assert 'data-field="provider"' in imported and 'data-field="tariff"' in imported
    assert 'data-prices="shown"' in imported and "<svg" in imported
    assert 'data-field="cheapest"' in imported
    assert 'data-action="change"' in imported and 'data-action="disconnect"' in imported
    for kind in (COMMODITY_EXPORT, NON_COMMODITY_IMPORT):
        assert status_of(page.html, kind) == "not_connected"
        assert 'data-action="connect"' in card(page.html, kind)


def test_only_the_kinds_the_partner_enables(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    app = create_app(app_config(redis_server, sandbox))  # TARIFF_KINDS defaults to import
    url = customer_at(app, location(sandbox, "connected_fixed"), "settings-import-only")
    html = app.test_client().get(url).get_data(as_text=True)
    assert 'data-kind="commodity_import"' in html
    assert 'data-kind="commodity_export"' not in html
    assert app.test_client().get(url.replace("/settings/", "/settings/x")).status_code == 400


def test_a_customer_without_a_location_can_connect(app: Flask, browser: Browser) -> None:
    with app.test_request_context():
        url = f"/settings/{sign_settings('settings-new')}"
    page = browser.get(url)
    assert status_of(page.html, COMMODITY_IMPORT) == "not_connected"
    page = browser.submit(form=page.form_with(names=("settings_token",)))
    assert page.route == "postal_address_capture", page.text()[:300]


def test_pending_direct_connection_turns_into_prices(
    app: Flask, browser: Browser, sandbox: SandboxServer
) -> None:
    created = location(sandbox, "pending")
    url = customer_at(app, created)
    page = browser.get(url)
    assert status_of(page.html, COMMODITY_IMPORT) == "pending"
    assert 'data-prices="pending"' in page.html
    arrived = requests.post(
        f"{sandbox.url}/_sandbox/locations/{created['location_id']}/status",
        json={"status": "CONNECTED"},
        timeout=10,
    )
    assert arrived.status_code == 200, arrived.text
    page = browser.get(url)
    assert status_of(page.html, COMMODITY_IMPORT) == "connected"
    assert 'data-prices="shown"' in page.html and "<svg" in page.html


def test_connect_export_then_disconnect_it_without_connect_screens(
    app: Flask, browser: Browser, sandbox: SandboxServer
) -> None:
    url = customer_at(app, location(sandbox, "connected_fixed"))
    page = browser.get(url)
    export_form = next(f for f in page.forms if f.action.endswith(f"/connect/{COMMODITY_EXPORT}"))
    page = browser.submit(form=export_form)
    assert page.route == "provider_select", page.text()[:300]
    browser.provider("Northwind Energy")
    browser.tariff("Northwind Fixed 12M")
    page = browser.submit({"term": "none"})
    page = browser.action("SAVE")
    # Unframed, the flow ends back on the settings page, which shows the new status at once.
    assert page.url.startswith(url), page.url
    assert status_of(page.html, COMMODITY_EXPORT) == "connected"
    assert status_of(page.html, COMMODITY_IMPORT) == "connected"
    with app.app_context():
        stored = results.get(app.extensions["connect_redis"], REF, COMMODITY_EXPORT)
    assert stored is not None and stored.complete_action == "SAVE"

    confirm = browser.get(f"{url}/disconnect/{COMMODITY_EXPORT}")
    assert confirm.status == 200 and 'data-action="confirm-disconnect"' in confirm.html
    requested = len(browser.requested)
    page = browser.submit(form=confirm.form_with(names=("settings_token",)))
    assert not any("/connect/flow" in path for path in browser.requested[requested:])
    assert 'data-outcome="disconnected"' in page.html
    assert status_of(page.html, COMMODITY_EXPORT) == "disconnected"
    assert status_of(page.html, COMMODITY_IMPORT) == "connected"
    with app.app_context():
        stored = results.get(app.extensions["connect_redis"], REF, COMMODITY_EXPORT)
        imported = results.get(app.extensions["connect_redis"], REF)
    assert stored is not None and stored.complete_action == "DISCONNECT"
    assert imported is not None and imported.complete_action == "SAVE"


def test_actions_need_the_signed_form_token(
    app: Flask, client: FlaskClient, sandbox: SandboxServer
) -> None:
    """Without the form's token nothing happens: the page comes back with fresh forms."""
    url = customer_at(app, location(sandbox, "connected_fixed"))
    refused = client.post(f"{url}/disconnect/{COMMODITY_IMPORT}")
    assert refused.status_code == 303
    assert refused.headers["Location"].endswith(f"/disconnect/{COMMODITY_IMPORT}")
    forged = client.post(f"{url}/connect/{COMMODITY_IMPORT}", data={"settings_token": "x"})
    assert forged.status_code == 303 and forged.headers["Location"].endswith(url)
    assert status_of(client.get(url).get_data(as_text=True), COMMODITY_IMPORT) == "connected"
    assert client.get(f"{url}/disconnect/not_a_kind").status_code == 404


def test_demo_page_links_to_the_settings_page(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    link = re.search(r'href="(/settings/[^"]+)" data-link="settings"', html)
    assert link
    assert client.get(link.group(1)).status_code == 200


def test_page_views_are_rate_limited_per_address(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    """Each view asks FlatPeak for the status: the page counts with the flow's views."""
    redis_server.client(APP_DB).flushdb()
    app = create_app(app_config(redis_server, sandbox, RATELIMIT_VIEWS_PER_IP="2/minute"))
    with app.test_request_context():
        url = f"/settings/{sign_settings('settings-limited')}"
    client = app.test_client()
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
