"""With JavaScript disabled every flow still completes: plain form posts and redirects.

htmx only enhances. These tests also prove the no-JS requests are what the server saw: no
``HX-Request`` header on any post.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Request, expect

from tests.e2e.driver import Flow, expect_done, provider_login
from tests.e2e.upstream import BERWICK, LONDON

pytestmark = pytest.mark.browser


def no_js_page(open_page, requests_seen: list[Request]):
    page = open_page(javascript=False)
    page.on("request", lambda r: requests_seen.append(r))
    return page


def test_manual_path_without_javascript(open_page, auditor, start_url) -> None:
    seen: list[Request] = []
    page = no_js_page(open_page, seen)
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url())
    flow.address(LONDON)
    flow.expect_route("provider_select")
    flow.provider("Hearth & Home Electric")
    flow.structure("FIXED")
    flow.fixed_rate("0")
    expect(flow.field("cost")).to_have_attribute("aria-invalid", "true")
    audit.check("nojs-rate_fixed_capture-errors", axe=False)
    flow.fixed_rate("21")
    flow.tariff_name("No Script Fixed")
    flow.contract_term("date", end_date="2099-06-30")
    flow.expect_route("summary_fixed_confirm")
    flow.save()
    expect_done(page)
    posts = [r for r in seen if r.method == "POST"]
    assert posts, "no form was posted"
    assert all("hx-request" not in r.headers for r in posts)
    audit.assert_clean()


def test_provider_search_without_javascript(open_page, start_url) -> None:
    page = open_page(javascript=False)
    flow = Flow(page)
    page.goto(start_url(postal_address=LONDON))
    flow.expect_route("provider_select")
    page.locator("#page input[name=q]").fill("north")
    page.locator("#page input[name=q]").press("Enter")
    page.wait_for_url(re.compile(r"q=north"))
    providers = page.locator("#page button[name=provider_id]")
    expect(providers).to_have_count(1)
    flow.provider("Northwind Energy")
    flow.expect_route("tariff_select")


def test_direct_login_without_javascript(open_page, start_url) -> None:
    page = open_page(javascript=False)
    flow = Flow(page)
    page.goto(start_url(postal_address=LONDON))
    flow.provider("Voltaic Direct")
    flow.leave_for_login()
    provider_login(page, "approve")
    page.wait_for_url(re.compile(r"/connect/flow"))
    assert flow.route().startswith("summary_"), flow.route()
    flow.save()
    expect_done(page)


def test_time_of_day_rows_without_javascript(open_page, start_url) -> None:
    """Adding a period is a local re-render (edit=add), not a step."""
    page = open_page(javascript=False)
    flow = Flow(page)
    page.goto(start_url(postal_address=LONDON))
    flow.provider("Hearth & Home Electric")
    flow.structure("TIME_OF_DAY")
    flow.expect_route("rate_tod_capture")
    rows = page.locator("#page input[name^=cost_]")
    before = rows.count()
    page.locator("#page button[name=edit][value=add]").click()
    flow.expect_route("rate_tod_capture")
    expect(rows).to_have_count(before + 1)


def test_library_path_without_javascript(open_page, auditor, start_url) -> None:
    """The summary's chart and table are server-rendered: they need no script either."""
    page = open_page(javascript=False)
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address=LONDON))
    flow.provider("Northwind Energy")
    flow.tariff("Northwind Economy 7")
    if flow.expect_one_of("contract_term_capture", "summary_tou_confirm") != "summary_tou_confirm":
        flow.contract_term("unknown")
    flow.expect_route("summary_tou_confirm")
    expect(flow.main().locator("svg, [role=img]").first).to_be_visible()
    audit.check("nojs-summary_tou_confirm", axe=False)
    flow.save()
    expect_done(page)
    audit.assert_clean()


def test_market_path_without_javascript(open_page, start_url) -> None:
    """A region choice, a surcharge and a name with plain posts."""
    page = open_page(javascript=False)
    flow = Flow(page)
    page.goto(start_url(postal_address=BERWICK))
    flow.provider("Tidal Market Power")
    flow.structure("MARKET")
    flow.expect_route("market_surcharge_capture")
    region = flow.field("region")
    first_region = region.locator("option:not([value=''])").first.get_attribute("value")
    flow.surcharge("2", "5", region=first_region)
    flow.tariff_name("No Script Tracker")
    flow.contract_term("unknown")
    flow.expect_route("summary_tou_confirm")
    flow.save()
    expect_done(page)


def test_provider_not_listed_without_javascript(open_page, start_url) -> None:
    page = open_page(javascript=False)
    flow = Flow(page)
    page.goto(start_url(postal_address=LONDON))
    flow.expect_route("provider_select")
    flow.action("PROVIDER_MISSING")
    flow.expect_route("provider_name_capture")
    flow.set_field("provider_name", "Acme Power")
    flow.submit()
    flow.structure("FIXED")
    flow.expect_route("rate_fixed_capture")
