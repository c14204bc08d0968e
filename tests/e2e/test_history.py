"""The browser's Back button and stale pages.

Steps must not add history entries (in an iframe they would walk the partner's history), so Back
leaves the flow and Forward comes back to the *current* page. A page left open in another tab is
stale: submitting it must show the current page rather than answer the wrong step.
"""

from __future__ import annotations

import pytest

from tests.e2e.driver import Flow
from tests.e2e.upstream import LONDON

pytestmark = pytest.mark.browser


def test_back_leaves_the_flow_and_forward_resumes(open_page, partner, start_url) -> None:
    page = open_page()
    flow = Flow(page)
    page.goto(partner.url("done.html"))
    page.goto(start_url(postal_address=LONDON))
    flow.provider("Northwind Energy")
    flow.expect_route("tariff_select")
    page.go_back()
    page.wait_for_load_state()
    assert page.url.startswith(partner.origin), f"Back went to {page.url}, not the partner page"
    page.go_forward()
    page.wait_for_load_state()
    flow.expect_route("tariff_select")


def test_back_without_javascript_shows_the_current_page(open_page, start_url) -> None:
    page = open_page(javascript=False)
    flow = Flow(page)
    page.goto(start_url(postal_address=LONDON))
    flow.provider("Northwind Energy")
    flow.expect_route("tariff_select")
    page.go_back()
    page.wait_for_load_state()
    shown = flow.route()
    if shown == "provider_select":
        # A stale copy from the cache: answering it must not change the provider.
        flow.choice("provider_id", text="Hearth & Home Electric").click()
    flow.expect_route("tariff_select")
    assert "Northwind" in flow.main().inner_text()


def test_stale_tab_cannot_answer_the_wrong_step(open_page, app_server, start_url) -> None:
    page = open_page()
    page.goto(start_url(postal_address=LONDON))
    Flow(page).expect_route("provider_select")
    other = page.context.new_page()
    other.goto(app_server.url + "/connect/flow")
    Flow(other).provider("Northwind Energy")
    Flow(other).expect_route("tariff_select")

    stale = Flow(page)
    stale.choice("provider_id", text="Hearth & Home Electric").click()
    stale.expect_route("tariff_select")
    assert "Northwind" in stale.main().inner_text(), "the stale tab changed the provider"
