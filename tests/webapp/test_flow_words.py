"""Issue 12, items 1, 2 and 12, through the whole app against the sandbox with plain form posts
(no JavaScript): an address Connect cannot find is told in our words, an implausible price is
checked and can be confirmed, a US customer is not told about VAT."""

from __future__ import annotations

import html

from flask import Flask

from tests.webapp.conftest import GB_ADDRESS, Browser, Page
from tests.webapp.test_flow_paths import assert_saved, finish_summary, name_and_term, start_demo

US_ADDRESS = {
    "address_line1": "1 Test Street",
    "city": "Austin",
    "state": "TX",
    "post_code": "78701",
    "country_code": "US",
}
CONNECTS_WORDS = "Unable to detect location timezone"


def said(page: Page) -> str:
    """The page's text as the customer reads it (tags dropped, entities decoded)."""
    return html.unescape(page.text())


def test_address_connect_cannot_find_is_told_in_our_words(browser: Browser) -> None:
    """The sandbox answers timezone_not_found for the post code XX0 0XX (docs/protocol.md
    §4.1): the customer reads our sentence, never Connect's, with what they typed kept."""
    start_demo(browser)
    typed = {**GB_ADDRESS, "post_code": "XX0 0XX"}
    page = browser.submit(typed)
    assert page.status == 422 and page.route == "postal_address_capture"
    assert "We couldn't find that address." in said(page)
    assert CONNECTS_WORDS not in page.html and "country_code" not in said(page)
    assert 'id="error-summary"' in page.html
    form = page.form_with(names=tuple(GB_ADDRESS))
    for name, value in typed.items():
        assert form.value(name) == value
    # The fields to check are marked where they are, not only in the summary at the top.
    assert 'id="f-city-error"' in page.html and 'id="f-post_code-error"' in page.html


def test_implausible_price_is_checked_and_can_be_confirmed(app: Flask, browser: Browser) -> None:
    """2450 typed for 24.50 (pence) is asked about, with the value kept; ticking "it's right"
    sends it; the check never reaches Connect."""
    start_demo(browser)
    browser.submit(GB_ADDRESS)
    browser.provider("Hearth & Home Electric")
    page = browser.submit(button=("option", "FIXED"))
    assert page.route == "rate_fixed_capture"

    page = browser.submit({"cost": "2450"})
    assert page.status == 422 and page.route == "rate_fixed_capture"
    assert "Did you mean 24.5p?" in said(page)
    form = page.form_with(names=("cost",))
    assert form.value("cost") == "2450"
    assert form.radios.get("confirm_cost") == ["2450"]  # the checkbox, not ticked yet
    assert form.value("confirm_cost") is None

    # A typo fixed instead: no confirmation needed.
    page = browser.submit({"cost": "24.5"})
    assert page.route == "tariff_name_capture", page.text()[:400]


def test_confirmed_implausible_price_goes_through(app: Flask, browser: Browser) -> None:
    start_demo(browser)
    browser.submit(GB_ADDRESS)
    browser.provider("Hearth & Home Electric")
    browser.submit(button=("option", "FIXED"))
    page = browser.submit({"cost": "150"})
    assert page.status == 422 and "That's £1.50 per kWh. Did you mean 15p?" in said(page)
    page = browser.submit({"cost": "150", "confirm_cost": "150"})
    assert page.route == "tariff_name_capture", page.text()[:400]
    name_and_term(browser, "Pricey")
    assert "150" in browser.page.text()
    assert_saved(finish_summary(browser, "summary_fixed_confirm", app))


def test_time_of_day_gap_sits_on_the_period_to_fix(browser: Browser) -> None:
    start_demo(browser)
    browser.submit(GB_ADDRESS)
    browser.provider("Hearth & Home Electric")
    browser.submit(button=("option", "TIME_OF_DAY"))
    typed = {"from_0": "07:00", "to_0": "15:00", "cost_0": "31", "from_1": "16:00",
             "to_1": "07:00", "cost_1": "9"}  # fmt: skip
    page = browser.submit(typed)
    assert page.status == 422
    assert 'id="f-to_0-error"' in page.html and 'id="f-periods-error"' not in page.html
    # (said() folds the narrow no-break space of "3:00 PM" into a plain one.)
    assert "There's a gap from 3:00 PM to 4:00 PM" in said(page)
    assert "Gap between" not in page.html


def test_us_customer_is_told_about_taxes_not_vat(browser: Browser) -> None:
    start_demo(browser)
    # Choosing the United States first shows its fields (state, ZIP code), as a customer would.
    browser.submit({"country_code": "US"}, button=("edit", "country"))
    page = browser.submit(US_ADDRESS)
    assert page.route == "provider_select", page.text()[:400]
    browser.provider("Ridgeline Electric Co-op")
    page = browser.submit(button=("option", "FIXED"))
    assert page.route == "rate_fixed_capture"
    assert "including taxes" in said(page)
    assert "VAT" not in said(page)
    assert "¢/kWh" in page.html
