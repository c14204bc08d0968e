"""Issue 12 in Chromium: the soft check on an implausible price (items 1) is announced on its
field, passes axe and the 320/375/1280 px layout checks, and is confirmed by keyboard alone; the
time-of-day gap sits on the period to fix (item 2); the contract date is not "optional" (item 8).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.driver import Flow
from tests.e2e.test_paths import GB_POSTAL, expect_field_error

pytestmark = pytest.mark.browser


def test_implausible_price_is_checked_then_confirmed_by_keyboard(
    open_page, auditor, start_url
) -> None:
    page: Page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address=GB_POSTAL))
    flow.provider("Hearth & Home Electric")
    flow.structure("FIXED")
    flow.fixed_rate("2450")

    flow.expect_route("rate_fixed_capture")
    expect_field_error(flow, "cost")
    expect(flow.field("cost")).to_have_value("2450")
    expect(flow.main()).to_contain_text("Did you mean 24.5p?")
    confirm = flow.field("confirm_cost")
    expect(confirm).to_be_visible()
    expect(confirm).not_to_be_checked()
    expect(page.get_by_label("Yes, £24.50 per kWh is right")).to_have_count(1)
    audit.check("rate_fixed_capture-soft-check")

    confirm.focus()
    page.keyboard.press("Space")
    expect(confirm).to_be_checked()
    flow.continue_button().focus()
    page.keyboard.press("Enter")
    flow.expect_route("tariff_name_capture")
    audit.assert_clean()


def test_gap_on_its_period_and_the_contract_date_not_optional(
    open_page, auditor, start_url
) -> None:
    page: Page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address=GB_POSTAL))
    flow.provider("Hearth & Home Electric")
    flow.structure("TIME_OF_DAY")
    flow.time_of_day([("07:00", "15:00", "30"), ("16:00", "07:00", "9")])
    flow.expect_route("rate_tod_capture")
    expect_field_error(flow, "to_0")
    expect(flow.scope.locator("#f-periods-error")).to_have_count(0)
    audit.check("rate_tod_capture-gap-on-period")
    flow.time_of_day([("07:00", "16:00", "30"), ("16:00", "07:00", "9")])
    flow.tariff_name("Day and Night")

    flow.expect_route("contract_term_capture")
    label = flow.scope.locator("label[for=f-contract_end_date]")
    expect(label).to_have_text("Contract end date")
    audit.check("contract_term_capture-date")
    audit.assert_clean()
