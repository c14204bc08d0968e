"""Issue 12, items 7, 9, 10 and 14 in Chromium: the address page asks only what the country
needs, the progress bar names stages, a structure of one is a confirmation, and the provider
list shows the sandbox's logos A to Z; each at 320, 375 and 1280 px with axe (the auditor)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.driver import Flow, provider_login
from tests.e2e.upstream import LONDON

pytestmark = pytest.mark.browser

UK = {"locale": "en-GB"}  # Accept-Language: en-GB


def label_text(page: Page, name: str) -> str:
    return page.locator(f'#page label[for="f-{name}"]').inner_text().strip()


def stage(page: Page) -> str:
    return page.locator("#page #progress-label").inner_text().strip()


# -- item 7: the address page ------------------------------------------------------------------


def test_uk_customer_gets_uk_fields_and_the_country_drives_them(
    open_page, auditor, start_url
) -> None:
    page: Page = open_page(**UK)
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    country = page.locator("#page select[name=country_code]")
    expect(country, "the browser's region chooses the country").to_have_value("GB")
    expect(page.locator("#page [name=state]")).to_have_count(0)
    assert label_text(page, "post_code") == "Postcode"
    assert "State, province or county" not in page.inner_text("body")
    # The country comes before the fields that depend on it, in the order Tab follows.
    names = page.eval_on_selector_all(
        "#address-form input:not([type=hidden]), #address-form select",
        "els => els.map(e => e.name)",
    )
    assert names[0] == "country_code", names
    # JS is on: the no-JS button beside the country is not shown.
    expect(page.get_by_role("button", name="Show the fields for this country")).to_be_hidden()
    audit.check("address-uk")

    flow.set_field("address_line1", "1 Test Street")
    flow.set_field("city", "Austin")
    country.select_option("US")
    state = page.locator("#page select[name=state]")
    expect(state, "a US address offers its states").to_be_visible()
    expect(page.locator("#post-code-name")).to_have_text("ZIP code")
    assert label_text(page, "state") == "State"
    expect(flow.field("city"), "what was typed stays").to_have_value("Austin")
    audit.check("address-us")

    country.select_option("CA")
    expect(page.locator('#page label[for="f-state"]')).to_have_text("Province or territory")
    expect(page.locator("#post-code-name")).to_have_text("Postal code")
    country.select_option("US")
    expect(page.locator('#page label[for="f-state"]')).to_have_text("State")
    state.select_option("TX")
    flow.set_field("post_code", "78701")
    flow.submit()
    flow.expect_route("provider_select")
    expect(page.locator("#page")).to_contain_text("Lone Star Direct")
    audit.assert_clean()


def test_typing_the_post_code_while_the_fields_change(open_page, start_url) -> None:
    """The swap replaces the state field and the post code's name, never the box being typed
    in: typing straight after choosing a country loses nothing, and focus stays."""
    page: Page = open_page(**UK)
    flow = Flow(page)
    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    page.locator("#page select[name=country_code]").select_option("US")
    post_code = flow.field("post_code")
    post_code.focus()
    page.keyboard.type("787", delay=60)
    expect(page.locator("#post-code-name")).to_have_text("ZIP code")
    page.keyboard.type("01")
    expect(post_code).to_have_value("78701")
    expect(post_code).to_be_focused()


def test_keyboard_order_country_first_and_enter_continues(open_page, start_url) -> None:
    page: Page = open_page(**UK)
    flow = Flow(page)
    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    page.locator("#page h1").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.name")
    assert focused == "country_code", f"Tab from the heading reached {focused!r}"
    for name in ("address_line1", "address_line2", "city", "post_code"):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") == name
        if name != "address_line2":
            page.keyboard.type({k: v for k, v in LONDON.items()}[name])
    page.keyboard.press("Enter")  # implicit submission: Continue, not the country's button
    flow.expect_route("provider_select")


def test_without_js_the_country_button_shows_its_fields(open_page, auditor, start_url) -> None:
    page: Page = open_page(javascript=False, **UK)
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    expect(page.locator("#page select[name=country_code]")).to_have_value("GB")
    refresh = page.get_by_role("button", name="Show the fields for this country")
    expect(refresh).to_be_visible()
    flow.set_field("address_line1", "1 Test Street")
    flow.set_field("city", "Austin")
    flow.set_field("country_code", "US")
    refresh.click()
    flow.expect_route("postal_address_capture")
    expect(page.locator("#page select[name=state]")).to_be_visible()
    assert label_text(page, "post_code") == "ZIP code"
    expect(flow.field("city")).to_have_value("Austin")
    expect(page.locator("#page .error-summary")).to_have_count(0)
    audit.check("address-us-nojs", axe=False)
    flow.set_field("state", "TX")
    flow.field("post_code").fill("78701")
    flow.field("post_code").press("Enter")  # Continue, not the country's button above
    flow.expect_route("provider_select")
    audit.assert_clean()


# -- item 9: progress --------------------------------------------------------------------------


def test_progress_names_each_stage_on_the_library_path(open_page, start_url) -> None:
    page: Page = open_page(**UK)
    flow = Flow(page)
    page.goto(start_url())
    seen = []
    flow.expect_route("postal_address_capture")
    seen.append(stage(page))
    flow.address(LONDON)
    flow.expect_route("provider_select")
    seen.append(stage(page))
    flow.provider("Northwind Energy")
    flow.expect_route("tariff_select")
    seen.append(stage(page))
    flow.tariff("Northwind Fixed 12M")
    flow.expect_route("contract_term_capture")
    seen.append(stage(page))
    flow.contract_term("unknown")
    flow.expect_route("summary_fixed_confirm")
    seen.append(stage(page))
    assert seen == [
        "Your address",
        "Your provider",
        "Your tariff",
        "Tariff details",
        "Check and confirm",
    ]
    bar = page.locator("#page progress")
    expect(bar).to_have_attribute("value", "5")
    expect(bar).to_have_attribute("max", "5")
    assert not re.search(r"Step \d+ of \d+", page.inner_text("body"))


def test_failed_login_page_is_honest(open_page, auditor, start_url) -> None:
    page: Page = open_page(**UK)
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address={**LONDON}))
    flow.provider("Voltaic Direct")
    flow.leave_for_login()
    page.wait_for_url(re.compile(r"/provider-login/"))
    provider_login(page, "fail")
    flow.expect_route("summary_tariff_failed")
    text = page.inner_text("#page")
    assert stage(page) == "Your provider" and "Check and confirm" not in text
    assert "no longer read" not in text
    expect(page.locator("#page button[name=action][value=RECONNECT]")).to_have_text("Try again")
    expect(page.locator("#hint-reconnect")).to_contain_text("enter your tariff another way")
    expect(page.locator("#page button[name=action][value=DISCONNECT]")).to_have_text(
        "Finish without a tariff"
    )
    audit.check("summary_tariff_failed")
    flow.action("RECONNECT")
    flow.expect_route("provider_select")
    assert stage(page) == "Your provider"
    audit.assert_clean()


# -- item 10: a structure of one ---------------------------------------------------------------


def test_market_only_provider_is_a_confirmation(open_page, auditor, start_url) -> None:
    page: Page = open_page(**UK)
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address={**LONDON}))
    flow.provider("Tidal Market Power")
    flow.expect_route("tariff_structure_select")
    expect(page.locator("#page h1")).to_have_text("Your price follows the market")
    buttons = page.locator("#page form[method=post] button[type=submit]").filter(visible=True)
    expect(buttons).to_have_count(1)
    expect(buttons.first).to_have_text("Continue")
    audit.check("tariff_structure_select-market-only")
    buttons.first.click()
    flow.expect_route("market_surcharge_capture")
    audit.assert_clean()


# -- item 14: the provider list ----------------------------------------------------------------

_LOGOS_JS = """
async () => {
  const imgs = [...document.querySelectorAll('#provider-list img.provider-logo')];
  for (const img of imgs) {
    img.scrollIntoView();
    if (!img.complete) await new Promise(r => { img.onload = img.onerror = r; });
  }
  window.scrollTo(0, 0);
  return imgs.map(img => ({src: img.currentSrc, width: img.naturalWidth,
                           shown: img.getBoundingClientRect().width}));
}
"""


@pytest.mark.parametrize("width", [320, 375])
def test_provider_list_shows_logos_a_to_z(open_page, auditor, start_url, sandbox, width) -> None:
    page: Page = open_page(width=width, **UK)
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(postal_address={**LONDON}))
    flow.expect_route("provider_select")
    names = page.locator("#provider-list .provider-name").all_inner_texts()
    assert len(names) == 14
    assert names == sorted(names, key=str.casefold), names
    logos = page.evaluate(_LOGOS_JS)
    assert len(logos) >= 10, f"most providers have a logo: {logos}"
    for logo in logos:
        assert logo["src"].startswith(f"{sandbox.url}/_sandbox/logos/"), logo
        assert logo["width"] > 0, f"the logo did not load: {logo}"
        assert logo["shown"] == 40, logo
    rows = page.locator("#provider-list button[name=provider_id]")
    for i in range(rows.count()):
        box = rows.nth(i).bounding_box()
        assert box and box["height"] >= 48 and box["width"] <= width, (i, box)
    # Fewer, grouped: the rows sit in one frame without gaps between them.
    first, second = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
    assert abs(second["y"] - (first["y"] + first["height"])) <= 1.5
    expect(page.locator("#page h2", has_text="Can't find your provider?")).to_be_visible()
    audit.check(f"provider_select-{width}", widths=({"width": width, "height": 812},))
    audit.assert_clean()
