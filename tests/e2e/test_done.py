""" "You're connected" at 375 px: the recap of what was connected and, inside a partner's frame,
the way back to the partner, which takes the whole tab (issue 12, item 13)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.e2e.driver import Flow, complete_short_flow, expect_done
from tests.e2e.test_embed import embed, wait_for_message
from tests.e2e.upstream import LONDON

pytestmark = pytest.mark.browser


def test_the_done_page_recaps_what_was_connected(open_page, auditor, start_url) -> None:
    page = open_page()
    audit = auditor(page)
    page.goto(start_url(postal_address=LONDON))
    complete_short_flow(Flow(page))
    expect_done(page)
    expect(page.locator("#page h1")).to_have_text("You're connected")
    recap = page.locator("#page dl")
    expect(recap).to_contain_text("Northwind Energy")
    expect(recap).to_contain_text("Northwind Fixed 12M")
    assert "cot_" not in page.url
    audit.check("done-recap")
    audit.assert_clean()


def test_the_framed_done_page_offers_the_way_back_to_the_partner(
    open_page, auditor, partner, signed_start_url
) -> None:
    page = open_page()
    audit = auditor(page)
    link = signed_start_url(
        "e2e-done-framed", "--origin", partner.origin, "--return-url", partner.url("done.html")
    )
    frame = embed(page, partner, link)
    flow = Flow(frame)
    flow.address(LONDON)
    complete_short_flow(flow)
    frame.wait_for_url(re.compile(r"/connect/done"))
    expect(frame.locator("#page h1")).to_have_text("You're connected")
    expect(frame.locator("#page dl")).to_contain_text("Northwind Fixed 12M")
    wait_for_message(page, r"^complete$")
    audit.check("iframe-done-with-way-back", scope=frame)
    back = frame.get_by_role("link", name=re.compile(r"^Back to"))
    expect(back).to_be_visible()
    back.click()
    # The whole tab goes back to the partner, not the frame.
    page.wait_for_url(re.compile(re.escape(partner.url("done.html")) + r"\?connect=connected"))
    expect(page.locator("h1")).to_have_text("Back on the partner site")
    audit.assert_clean()


def test_a_second_partner_hears_the_completion(open_page, partner_b, start_url) -> None:
    """The done page is rendered after the flow's session ended; it still posts to the partner
    the flow was started for, not to the first allowed origin."""
    page = open_page()
    frame = embed(page, partner_b, start_url(origin=partner_b.origin, postal_address=LONDON))
    complete_short_flow(Flow(frame))
    frame.wait_for_url(re.compile(r"/connect/done"))
    completed = wait_for_message(page, r"^complete$")
    assert completed["data"].get("outcome") == "connected"
    expect(page.locator("#status")).to_have_text("Tariff connected.")


def test_the_done_page_without_javascript(open_page, partner, start_url) -> None:
    page = open_page(javascript=False)
    page.goto(partner.url(f"embed-static?src={quote(start_url(postal_address=LONDON), safe='')}"))
    handle = page.locator("iframe#connect").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    complete_short_flow(Flow(frame))
    frame.wait_for_url(re.compile(r"/connect/done"))
    expect(frame.locator("#page dl")).to_contain_text("Northwind Energy")
