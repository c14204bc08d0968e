"""Every integration path end to end at 375 px, auditing each page state on the way.

Each test starts from a connect token the partner created (the external ``/connect?fp_cot=`` entry)
and walks one way through Connect: MANUAL (fixed and time of day, with validation errors), LIBRARY,
MARKET with a region choice, provider not listed, and DIRECT with each provider-login outcome.
At every page state the auditor runs axe (WCAG 2.2 A/AA), checks the layout at 320, 375 and
1280 px and writes screenshots at 375 and 1280 px to ``test-artifacts/e2e/screenshots/``.
"""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.driver import Flow, expect_done, provider_login
from tests.e2e.upstream import BERWICK, LONDON

pytestmark = pytest.mark.browser

GB_POSTAL = {**LONDON}
#: A summary page: what SAVE leads away from.
SUMMARIES = ("summary_fixed_confirm", "summary_tou_confirm")


def expect_field_error(flow: Flow, name: str) -> None:
    """A validation error is announced on the field itself (aria-invalid), with a message."""
    field = flow.field(name)
    expect(field, f"{name} is marked invalid").to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby") or ""
    assert described, f"{name} has no aria-describedby pointing at its error message"
    message = " ".join(
        flow.scope.locator(f"#{ident}").inner_text() for ident in described.split()
    ).strip()
    assert message, f"the error message for {name} is empty"


def expect_page_error(flow: Flow) -> None:
    """A validation error the page reports in its error summary (role=alert)."""
    expect(flow.scope.locator("#page [role=alert]").first).to_be_visible()


def finish_with_save(flow: Flow, audit, summary_route: str) -> None:
    flow.expect_route(summary_route)
    audit.check(summary_route)
    flow.save()
    expect_done(flow.scope)
    audit.check("done")
    expect(flow.scope.locator("h1")).to_have_count(1)


def test_manual_fixed_path_with_error_states(open_page, auditor, start_url) -> None:
    page: Page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    assert "fp_cot" not in page.url, "the connect token stays in the address bar"
    audit.check("postal_address_capture")

    # Nothing typed: each required field says what is missing; what was typed is kept.
    flow.set_field("address_line1", "1 Test Street")
    flow.submit()
    expect_field_error(flow, "city")
    expect(flow.field("address_line1")).to_have_value("1 Test Street")
    audit.check("postal_address_capture-errors")

    flow.address(LONDON)
    flow.expect_route("provider_select")
    audit.check("provider_select")
    flow.provider("Hearth & Home Electric")
    flow.structure("FIXED")
    flow.expect_route("rate_fixed_capture")
    audit.check("rate_fixed_capture")

    flow.fixed_rate("0")
    expect_field_error(flow, "cost")
    audit.check("rate_fixed_capture-errors")
    flow.fixed_rate("24.5")

    flow.expect_route("tariff_name_capture")
    audit.check("tariff_name_capture")
    flow.submit()
    expect_field_error(flow, "tariff_name")
    audit.check("tariff_name_capture-errors")
    flow.tariff_name("Hearth Simple Fixed")

    flow.expect_route("contract_term_capture")
    audit.check("contract_term_capture")
    flow.contract_term("unknown")
    flow.expect_route("summary_fixed_confirm")
    expect(flow.main()).to_contain_text("Hearth Simple Fixed")
    expect(flow.main()).to_contain_text(re.compile(r"24\.5"))
    finish_with_save(flow, audit, "summary_fixed_confirm")
    audit.assert_clean()


def test_manual_time_of_day_path(open_page, auditor, start_url) -> None:
    page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address=GB_POSTAL))
    flow.provider("Hearth & Home Electric")
    flow.structure("TIME_OF_DAY")
    flow.expect_route("rate_tod_capture")
    audit.check("rate_tod_capture")
    flow.time_of_day([("07:00", "22:00", "30"), ("23:00", "07:00", "9")])  # a gap at 22:00
    expect_page_error(flow)
    audit.check("rate_tod_capture-errors")
    flow.time_of_day([("07:00", "23:00", "30"), ("23:00", "07:00", "9")])
    flow.tariff_name("Hearth Day and Night")
    flow.contract_term("date")  # a date was promised but not given
    expect_page_error(flow)
    audit.check("contract_term_capture-errors")
    flow.contract_term("none")
    flow.expect_route("summary_tou_confirm")
    expect(flow.main().locator("svg, canvas, [role=img]").first).to_be_visible()
    finish_with_save(flow, audit, "summary_tou_confirm")
    audit.assert_clean()


def test_library_path(open_page, auditor, start_url) -> None:
    page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address=GB_POSTAL))
    flow.provider("Northwind Energy")
    flow.expect_route("tariff_select")
    audit.check("tariff_select")
    flow.tariff("Northwind Economy 7")
    if flow.expect_one_of("contract_term_capture", "summary_tou_confirm") != "summary_tou_confirm":
        flow.contract_term("unknown")
    flow.expect_route("summary_tou_confirm")
    chart = flow.main().locator("svg, canvas, [role=img]").first
    expect(chart, "the summary shows the rates chart").to_be_visible()
    finish_with_save(flow, audit, "summary_tou_confirm")
    audit.assert_clean()


def test_market_path_with_region_choice(open_page, auditor, start_url) -> None:
    page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address=BERWICK))
    flow.provider("Tidal Market Power")
    flow.structure("MARKET")
    flow.expect_route("market_surcharge_capture")
    region = flow.field("region")
    expect(region, "a TD post code offers a region choice").to_be_visible()
    audit.check("market_surcharge_capture-regions")
    first_region = region.locator("option:not([value=''])").first.get_attribute("value")
    flow.surcharge("2", "-5", region=first_region)
    expect_page_error(flow)
    audit.check("market_surcharge_capture-errors")
    flow.surcharge("2", "5", region=first_region)
    flow.tariff_name("Tidal Tracker")
    flow.contract_term("unknown")
    finish_with_save(flow, audit, "summary_tou_confirm")
    audit.assert_clean()


def test_provider_not_listed_path(open_page, auditor, start_url) -> None:
    page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address=GB_POSTAL))
    flow.expect_route("provider_select")
    flow.action("PROVIDER_MISSING")
    flow.expect_route("provider_name_capture")
    audit.check("provider_name_capture")
    flow.submit()
    expect_field_error(flow, "provider_name")
    audit.check("provider_name_capture-errors")
    flow.set_field("provider_name", "Acme Power")
    flow.submit()
    flow.expect_route("tariff_structure_select")
    audit.check("tariff_structure_select")
    audit.assert_clean()


def test_provider_search_filters_the_list(open_page, auditor, start_url) -> None:
    page = open_page()
    flow = Flow(page)
    page.goto(start_url(postal_address=GB_POSTAL))
    flow.expect_route("provider_select")
    providers = page.locator("#page button[name=provider_id]")
    total = providers.count()
    assert total >= 10, f"the sandbox offers 10+ providers, the page shows {total}"
    search = page.locator("#page input[type=search], #page input[name=q]").first
    search.fill("north")
    expect(providers.filter(visible=True)).to_have_count(1)
    expect(providers.filter(visible=True).first).to_contain_text("Northwind Energy")
    search.fill("zzzz")
    expect(providers.filter(visible=True)).to_have_count(0)
    expect(page.locator("#page [role=status]").first).to_contain_text(re.compile(r"\w{4,}"))
    audit = auditor(page)
    audit.check("provider_select-no-match", widths=({"width": 375, "height": 812},))
    audit.assert_clean()


@pytest.mark.parametrize(
    ("outcome", "expected_route"),
    [
        ("approve", SUMMARIES),
        ("pending", ("summary_tariff_inprogress",)),
        ("fail", ("summary_tariff_failed",)),
        ("skip", ("tariff_select", "tariff_structure_select")),
    ],
)
def test_direct_provider_login(open_page, auditor, start_url, outcome, expected_route) -> None:
    """DIRECT: the app hands the browser to the provider's login and takes it back."""
    page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address=GB_POSTAL))
    flow.provider("Voltaic Direct")
    # Our page first: where the login is and why, then the button that goes there.
    expect(page.locator("#page h1")).to_have_text("Log in to Voltaic Direct")
    if outcome == "approve":
        audit.check("direct-before-leaving")
    flow.leave_for_login()
    page.wait_for_url(re.compile(r"/provider-login/"))
    provider_login(page, outcome)
    page.wait_for_url(re.compile(r"/connect/(flow|provider-return)"))
    routes = "|".join(expected_route)
    page.locator("#page input[name=route]").first.wait_for(state="attached")
    assert re.fullmatch(routes, flow.route()), f"after {outcome}: {flow.route()}"
    assert "fp_cot" not in page.url, "the token is dropped from the address bar after the return"
    audit.check(f"direct-{outcome}-{flow.route()}")
    if outcome == "pending":
        flow.save()
        expect_done(page)
    elif outcome == "fail":
        flow.action("RECONNECT")
        flow.expect_route("provider_select")
    audit.assert_clean()


@pytest.mark.parametrize(
    ("state", "expected_route"),
    [
        ("connected_fixed", "summary_fixed_confirm"),
        ("connected_time_of_day", "summary_tou_confirm"),
        ("pending", "summary_tariff_inprogress"),
        ("failed", "summary_tariff_failed"),
    ],
)
def test_managing_an_existing_location(
    open_page, auditor, start_url, sandbox, state, expected_route
) -> None:
    """A token for an existing location starts on its summary, pending or failed page."""
    created = requests.post(
        f"{sandbox.url}/_sandbox/locations", json={"state": state, "country_code": "GB"}, timeout=10
    )
    assert created.status_code == 201, created.text
    page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(location_id=created.json()["location_id"]))
    flow.expect_route(expected_route)
    audit.check(f"location-{state}")
    if expected_route == "summary_tou_confirm":
        flow.action("EDIT")
        flow.expect_route("provider_select")
    audit.assert_clean()


def test_us_address_asks_for_a_state(open_page, auditor, start_url) -> None:
    """Choosing the United States turns the state field into a list of states, by keyboard or
    mouse, without losing what was typed; the flow then carries on in USD."""
    page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    flow.set_field("address_line1", "1 Test Street")
    flow.set_field("city", "Austin")
    flow.set_field("country_code", "US")
    state = page.locator("#page select[name=state]")
    expect(state, "a US address offers a list of states").to_be_visible()
    expect(flow.field("city")).to_have_value("Austin")
    audit.check("postal_address_capture-us")
    state.select_option("TX")
    flow.set_field("post_code", "78701")
    flow.submit()
    flow.expect_route("provider_select")
    audit.assert_clean()
