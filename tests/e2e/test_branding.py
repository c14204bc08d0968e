"""Partner branding from configuration alone, with contrast still passing in both themes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import axe_violations
from tests.e2e.driver import Flow
from tests.e2e.upstream import LONDON, external_start_url

pytestmark = pytest.mark.browser

BRAND = {
    "BRAND_NAME": "Partner Energy Co",
    "BRAND_LOGO_URL": "/static/vendor/partner-logo-e2e.svg",
    "BRAND_PRIMARY_COLOR": "#6a1b9a",
    "BRAND_RADIUS": "14px",
    "BRAND_FONT_STACK": "Georgia, serif",
}

_LUMINANCE_JS = """
(el) => {
  const rgb = getComputedStyle(el).backgroundColor.match(/\\d+(\\.\\d+)?/g).map(Number);
  const lin = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2]);
}
"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_partner_branding_from_configuration(open_page, sandbox, app_factory, theme: str) -> None:
    app = app_factory(sandbox, BRAND_THEME=theme, **BRAND)
    page = open_page()
    flow = Flow(page)
    page.goto(external_start_url(sandbox, app.url))
    flow.expect_route("postal_address_capture")

    logo = page.locator("header img").first
    expect(logo).to_have_attribute("src", BRAND["BRAND_LOGO_URL"])
    expect(logo).to_have_attribute("alt", BRAND["BRAND_NAME"])
    button = flow.continue_button()
    background = button.evaluate("b => getComputedStyle(b).backgroundColor")
    if theme == "light":
        assert background == "rgb(106, 27, 154)", background
    else:  # the dark theme may use a lighter shade of the brand colour, never the default blue
        assert background != "rgb(29, 78, 216)", background
    assert button.evaluate("b => getComputedStyle(b).borderTopLeftRadius") == "14px"
    assert "Georgia" in page.evaluate("() => getComputedStyle(document.body).fontFamily")
    luminance = page.locator("body").evaluate(_LUMINANCE_JS)
    assert (luminance < 0.2) if theme == "dark" else (luminance > 0.8), luminance

    problems = axe_violations(page)
    flow.submit()  # the error state: red text and error borders on the theme's surface
    page.locator("#page [aria-invalid=true]").first.wait_for()
    problems += axe_violations(page)

    # The summary: badges, the chart's labels and legend, the price table, in this theme. A
    # second flow in the same browser would first ask which connection to continue (a link
    # never takes over a live flow), so the summary gets a browser of its own.
    page = open_page()
    flow = Flow(page)
    page.goto(external_start_url(sandbox, app.url, postal_address=LONDON))
    flow.provider("Northwind Energy")
    flow.tariff("Northwind Economy 7")
    if flow.expect_one_of("contract_term_capture", "summary_tou_confirm") != "summary_tou_confirm":
        flow.contract_term("unknown")
    flow.expect_route("summary_tou_confirm")
    problems += axe_violations(page)
    assert not problems, "\n".join(problems)
