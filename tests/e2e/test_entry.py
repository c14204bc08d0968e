"""The ways a customer arrives: the demo partner page, an email link, a partner-made token.

Each entry must land on the flow without the connect token in the address bar, and a bad or
expired link must end on a page that says what happened and what to do (audited like any other).
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.driver import Flow

pytestmark = pytest.mark.browser


def test_demo_partner_page_starts_a_flow(open_page, auditor, app_server) -> None:
    page = open_page()
    audit = auditor(page)
    page.goto(app_server.url + "/")
    audit.check("demo")
    start = (
        page.locator("main")
        .get_by_role("button")
        .or_(page.locator("main").get_by_role("link", name=re.compile("connect|start", re.I)))
    )
    start.first.click()
    flow = Flow(page)
    page.locator("#page input[name=route]").first.wait_for(state="attached")
    assert flow.route() in ("postal_address_capture", "provider_select"), flow.route()
    assert "fp_cot" not in page.url
    audit.assert_clean()


def test_email_link_starts_a_flow(open_page, auditor, signed_start_url) -> None:
    page = open_page()
    audit = auditor(page)
    page.goto(signed_start_url("e2e-email-customer-1"))
    flow = Flow(page)
    page.locator("#page input[name=route]").first.wait_for(state="attached")
    assert flow.route() in ("postal_address_capture", "provider_select"), flow.route()
    assert "/start/" not in page.url, "the signed link is replaced by the flow URL"
    audit.check(f"email-link-{flow.route()}")
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
