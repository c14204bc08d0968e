"""The tariff settings page in Chromium: one location's import, export and grid fees connected
from the page in turn, each status change seen there; export disconnected without any Connect
screen; a pending direct connection turning into today's prices. axe and the 320 px layout are
checked on the page in each state (the auditor)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from devstack.stack import AppServer, RedisServer, SandboxServer
from tests.e2e.driver import Flow, complete_short_flow, embed
from tests.e2e.upstream import LONDON

pytestmark = pytest.mark.browser

KINDS = "commodity_import commodity_export non_commodity_import"
DB = 5


def settings_app(app_factory: Callable[..., AppServer], sandbox: SandboxServer) -> AppServer:
    return app_factory(sandbox, db=DB, TARIFF_KINDS=KINDS)


def settings_url(app: AppServer, reference: str) -> str:
    out = app.cli("connect-settings-link", reference)
    match = re.search(r"(https?://\S+)", out)
    assert match, f"connect-settings-link printed no link: {out!r}"
    return match.group(1)


def card(page: Page, kind: str) -> Locator:
    return page.locator(f'section[data-kind="{kind}"]')


def expect_status(page: Page, kind: str, status: str) -> None:
    expect(card(page, kind)).to_have_attribute("data-status", status)


def test_connect_each_kind_then_disconnect_export(
    open_page, auditor, app_factory, sandbox: SandboxServer, redis_server: RedisServer
) -> None:
    redis_server.client(DB).flushdb()
    app = settings_app(app_factory, sandbox)
    url = settings_url(app, "e2e-settings-1")
    page: Page = open_page(width=320, height=700)
    audit = auditor(page)
    flow = Flow(page)
    page.goto(url)
    for kind in ("commodity_import", "commodity_export", "non_commodity_import"):
        expect_status(page, kind, "not_connected")
    audit.check("settings-empty")

    card(page, "commodity_import").locator('[data-action="connect"]').click()
    flow.address(LONDON)
    complete_short_flow(flow)
    page.wait_for_url(re.compile(r"/settings/"))
    expect_status(page, "commodity_import", "connected")
    expect_status(page, "commodity_export", "not_connected")

    # The same location: export and grid fees start on its provider list, not its address.
    for kind in ("commodity_export", "non_commodity_import"):
        card(page, kind).locator('[data-action="connect"]').click()
        complete_short_flow(flow)
        page.wait_for_url(re.compile(r"/settings/"))
        expect_status(page, kind, "connected")
    expect_status(page, "commodity_import", "connected")
    audit.check("settings-all-connected")

    visited: list[str] = []
    page.on("framenavigated", lambda frame: visited.append(frame.url))
    card(page, "commodity_export").locator('[data-action="disconnect"]').click()
    page.locator('[data-action="confirm-disconnect"]').wait_for()
    audit.check("settings-confirm-disconnect")
    page.locator('[data-action="confirm-disconnect"]').click()
    page.locator('[data-outcome="disconnected"]').wait_for()
    expect_status(page, "commodity_export", "disconnected")
    expect_status(page, "commodity_import", "connected")
    expect_status(page, "non_commodity_import", "connected")
    assert not [u for u in visited if "/connect/" in u], visited
    assert not page.e2e_errors, page.e2e_errors  # type: ignore[attr-defined]


def test_pending_direct_connection_turns_into_prices(
    open_page, auditor, app_factory, sandbox: SandboxServer, redis_server: RedisServer
) -> None:
    redis_server.client(DB).flushdb()
    app = settings_app(app_factory, sandbox)
    created = requests.post(
        f"{sandbox.url}/_sandbox/locations",
        json={"state": "pending", "country_code": "GB"},
        timeout=10,
    ).json()
    reference = "e2e-settings-pending"
    record = {
        "customer_reference": reference, "customer_id": created["customer_id"],
        "location_id": created["location_id"], "complete_action": "SAVE",
        "is_tariff_processed": False, "live_mode": False,
        "completed_at": "2026-01-01T00:00:00+00:00", "kind": "commodity_import",
    }  # fmt: skip
    redis_server.client(DB).set(f"connect:result:{reference}", json.dumps(record))
    url = settings_url(app, reference)
    page: Page = open_page(width=320, height=700)
    audit = auditor(page)
    page.goto(url)
    expect_status(page, "commodity_import", "pending")
    page.locator('[data-prices="pending"]').wait_for()
    audit.check("settings-pending")

    arrived = requests.post(
        f"{sandbox.url}/_sandbox/locations/{created['location_id']}/status",
        json={"status": "CONNECTED"},
        timeout=10,
    )
    assert arrived.status_code == 200, arrived.text
    page.reload()
    expect_status(page, "commodity_import", "connected")
    expect(page.locator('[data-prices="shown"] svg')).to_have_count(1)
    expect(page.locator('[data-field="cheapest"]')).to_be_visible()
    audit.check("settings-prices")
    assert not page.e2e_errors, page.e2e_errors  # type: ignore[attr-defined]


def test_framed_settings_page_with_third_party_cookies_blocked(
    cookie_blocking_context, partner, app_server: AppServer
) -> None:
    """In a partner's frame with no cookie for the app: Connect runs a flow in the frame, and
    Disconnect's confirmation posts work, the forms' signed token standing in for the session's
    CSRF token."""
    context = cookie_blocking_context
    url = settings_url_for(app_server, "e2e-settings-framed", partner.origin)
    page = context.new_page()
    frame = embed(page, partner, url)
    expect(frame.locator('section[data-kind="commodity_import"]')).to_have_attribute(
        "data-status", "not_connected"
    )
    frame.locator('[data-action="connect"]').click()
    flow = Flow(frame)
    flow.address(LONDON)
    complete_short_flow(flow)
    frame.wait_for_url(re.compile(r"/connect/done"))

    frame = embed(page, partner, url)
    imported = frame.locator('section[data-kind="commodity_import"]')
    expect(imported).to_have_attribute("data-status", "connected")
    imported.locator('[data-action="disconnect"]').click()
    frame.locator('[data-action="confirm-disconnect"]').click()
    frame.locator('[data-outcome="disconnected"]').wait_for()
    expect(imported).to_have_attribute("data-status", "disconnected")
    assert context.cookies(app_server.url) == [], context.cookies(app_server.url)


def settings_url_for(app: AppServer, reference: str, origin: str) -> str:
    out = app.cli("connect-settings-link", reference, "--origin", origin)
    match = re.search(r"(https?://\S+)", out)
    assert match, out
    return match.group(1)
