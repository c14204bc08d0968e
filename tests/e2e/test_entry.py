"""The ways a customer arrives: the demo partner page, an email link, a partner-made token.

Each entry must land on the flow without the connect token in the address bar, and a bad or
expired link must end on a page that says what happened and what to do (audited like any other).
"""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.driver import Flow, complete_short_flow
from tests.e2e.upstream import LONDON, external_start_url

pytestmark = pytest.mark.browser


def test_demo_partner_page_end_to_end(open_page, auditor, app_server) -> None:
    """The demo partner page: connect, come back to the partner page with the stored ids, then
    manage the connected tariff."""
    page = open_page()
    audit = auditor(page)
    page.goto(app_server.url + "/")
    audit.check("demo")
    page.locator("main button[name=mode][value=connect]").click()
    flow = Flow(page)
    flow.address(LONDON)
    complete_short_flow(flow)
    page.wait_for_url(re.compile(re.escape(app_server.url) + r"/(\?|$)"))
    location = page.locator("[data-result=location_id]")
    expect(location).to_have_text(re.compile(r"^loc_"))
    assert "cot_" not in page.locator("body").inner_text()
    audit.check("demo-connected")

    page.locator("main button[name=mode][value=manage]").click()
    flow.expect_route("summary_fixed_confirm")
    audit.check("demo-manage-summary")
    audit.assert_clean()


def test_email_link_end_to_end(open_page, auditor, partner, signed_start_url) -> None:
    """A signed link from an email, at phone width, back to the partner's page at the end."""
    page = open_page()
    audit = auditor(page)
    link = signed_start_url("e2e-email-customer-1", "--return-url", partner.url("done.html"))
    page.goto(link)
    flow = Flow(page)
    flow.expect_route("postal_address_capture")
    assert "/start/" not in page.url, "the signed link is replaced by the flow URL"
    audit.check("email-link-postal_address_capture")
    flow.address(LONDON)
    complete_short_flow(flow)
    page.wait_for_url(re.compile(re.escape(partner.url("done.html"))))
    assert "connect=connected" in page.url, page.url
    assert "cot_" not in page.url, "the connect token was handed to the partner's page"
    audit.assert_clean()


def test_tampered_email_link_explains_itself(open_page, auditor, signed_start_url) -> None:
    page = open_page()
    audit = auditor(page)
    link = signed_start_url("e2e-email-customer-2")
    response = page.goto(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert response is not None and 400 <= response.status < 500, response and response.status
    expect(page.locator("h1")).to_have_count(1)
    text = page.locator("main").inner_text()
    assert "Traceback" not in text
    assert len(text.strip()) > 40, f"the error page explains what to do: {text!r}"
    audit.check("start-link-invalid")
    audit.assert_clean()


def test_expired_connect_token_explains_itself(open_page, auditor, start_url, sandbox) -> None:
    """The partner's token expires mid-flow: the customer is told, in words, what to do."""
    page = open_page()
    audit = auditor(page)
    url = start_url()
    token = url.split("fp_cot=")[1]
    page.goto(url)
    Flow(page).expect_route("postal_address_capture")
    resp = requests.post(f"{sandbox.url}/_sandbox/tokens/{token}/expire", timeout=10)
    assert resp.status_code < 300, f"sandbox expiry hook: {resp.status_code} {resp.text[:200]}"
    page.reload()
    expect(page.locator("h1")).to_have_count(1)
    text = page.locator("main").inner_text()
    assert "Traceback" not in text and "cot_" not in text
    assert re.search(r"expired|no longer|start again|new link", text, re.I), text
    audit.check("token-expired")
    audit.assert_clean()


def test_expired_email_link_explains_itself(open_page, auditor, sandbox, app_factory) -> None:
    app = app_factory(sandbox, START_LINK_MAX_AGE="1")
    link = app.cli("connect-link", "e2e-email-customer-3").strip().splitlines()[-1]
    time.sleep(2.1)
    page = open_page()
    audit = auditor(page)
    response = page.goto(link)
    assert response is not None and response.status in (400, 403, 410), response.status
    expect(page.locator("h1")).to_have_count(1)
    text = page.locator("main").inner_text()
    assert re.search(r"expired|no longer|new link|ask", text, re.I), text
    audit.check("start-link-expired")
    audit.assert_clean()


def test_connect_tokens_stay_out_of_the_app_log(open_page, app_server, start_url) -> None:
    """The token arrives in a URL once (``/connect?fp_cot=``); neither the access log nor the
    app's own log lines may keep it."""
    page = open_page()
    url = start_url(postal_address=LONDON)
    token = url.split("fp_cot=")[1].split("&")[0]
    page.goto(url)
    flow = Flow(page)
    flow.provider("Northwind Energy")
    flow.expect_route("tariff_select")
    time.sleep(0.5)  # gunicorn writes its access log line after the response
    log = app_server.log()
    assert "/connect" in log, "the access log is written"
    assert token not in log, "a connect token is in the app's log"


def test_no_flow_page_explains_itself(open_page, auditor, app_server) -> None:
    """Opening the flow URL with no flow (a bookmark, a cleared session) says what to do."""
    page = open_page()
    audit = auditor(page)
    response = page.goto(app_server.url + "/connect/flow")
    assert response is not None and response.status in (200, 404, 410), response.status
    expect(page.locator("h1")).to_have_count(1)
    assert len(page.locator("main").inner_text().strip()) > 40
    audit.check("no-flow")
    audit.assert_clean()


def test_upstream_down_on_arrival_explains_itself(
    open_page, auditor, sandbox, sandbox_factory, app_factory
) -> None:
    """The customer arrives while FlatPeak is unreachable: a page that says so and offers a
    retry, never a stack trace."""
    down = sandbox_factory()
    app = app_factory(down)
    url = external_start_url(sandbox, app.url)
    down.stop()
    page = open_page()
    audit = auditor(page)
    response = page.goto(url)
    assert response is not None and response.status >= 500, response and response.status
    text = page.locator("main").inner_text()
    assert "Traceback" not in text and "cot_" not in text
    expect(
        page.locator("main").get_by_role("button").or_(page.locator("main a[href]")).first
    ).to_be_visible()
    audit.check("upstream-down-on-arrival")
    audit.assert_clean()


def test_address_bar_url_does_not_open_the_flow_elsewhere(open_page, start_url) -> None:
    """The URL left in the address bar (and history) after arriving is useless to anyone else:
    pasted into another browser it must not open the customer's flow."""
    page = open_page()
    page.goto(start_url(postal_address=LONDON))
    Flow(page).expect_route("provider_select")
    shown_url = page.url
    other = open_page()  # another browser profile: no cookies of the first
    other.goto(shown_url)
    assert Flow(other).route() == "", f"{shown_url} opened the flow in another browser"
    assert "Northwind" not in other.locator("body").inner_text()
