"""A whole flow with the keyboard alone, checking what a screen-reader user is told on the way.

Only ``page.keyboard`` moves focus and submits. After every htmx swap focus must be on the new
page's ``<h1>``, the live region must announce the new page, and every page has one ``<h1>`` and
a ``<title>`` that starts with the step name.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.driver import Flow, expect_done
from tests.e2e.upstream import LONDON

pytestmark = pytest.mark.browser

MAX_TABS = 80

# What has focus, and whether a sighted keyboard user can see it: a focus indicator (outline or
# box shadow; WCAG 2.4.7) and not hidden under something else such as a sticky header (2.4.11).
_FOCUSED_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {};
  const s = getComputedStyle(el);
  const indicator = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) ||
    (s.boxShadow && s.boxShadow !== 'none');
  const r = el.getBoundingClientRect();
  const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(r.top + Math.min(r.height / 2, 10), 0), innerHeight - 1);
  const top = document.elementFromPoint(x, y);
  const obscured = r.width > 0 && !!top && top !== el && !el.contains(top) &&
    !(el.labels && [...el.labels].some(l => l.contains(top)));
  return {tag: el.tagName.toLowerCase(), name: el.getAttribute('name') || '',
          value: el.getAttribute('value') || '', id: el.id || '',
          text: (el.innerText || '').trim().replace(/\\s+/g, ' '),
          indicator, obscured, by: top ? top.tagName.toLowerCase() + '.' + top.className : ''};
}
"""


def focused(page: Page) -> dict:
    return page.evaluate(_FOCUSED_JS)


#: Focus problems seen while tabbing (element description -> problem), checked at the end.
FOCUS_PROBLEMS: dict[str, str] = {}


def tab_to(page: Page, matches, label: str) -> dict:
    """Press Tab until the focused element satisfies ``matches``; fail if it is never reached.
    Every element focused on the way must show where focus is."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        info = focused(page)
        where = f"{info.get('tag')}[name={info.get('name')}] {info.get('text', '')[:30]!r}"
        if info and not info.get("indicator"):
            FOCUS_PROBLEMS[where] = "no visible focus indicator"
        if info and info.get("obscured"):
            page.wait_for_timeout(50)  # scrolling into view may still be settling
            if focused(page).get("obscured"):
                FOCUS_PROBLEMS[where] = f"focused element hidden under {info.get('by')}"
        if matches(info):
            return info
        seen.append(f"{info.get('tag')}[{info.get('name')}]{info.get('text', '')[:20]!r}")
    raise AssertionError(f"Tab never reached {label}; focus went through: {seen[:40]}")


def expect_new_page(page: Page, flow: Flow, route: str) -> None:
    """After a step: the new page is shown, its heading has focus, and it is announced."""
    flow.expect_route(route)
    heading = page.locator("#page h1")
    expect(heading).to_have_count(1)
    expect(heading, f"focus on the heading of {route}").to_be_focused()
    title = heading.inner_text().strip()
    expect(page, f"<title> names the step on {route}").to_have_title(
        re.compile("^" + re.escape(title))
    )
    expect(page.locator("#live"), f"{route} is announced").to_contain_text(title)
    progress = page.locator("#page progress, #page [role=progressbar]")
    if not route.startswith("summary_tariff_"):
        expect(progress.first, f"{route} shows where the customer is").to_be_attached()


def type_into(page: Page, name: str, text: str) -> None:
    tab_to(page, lambda f: f.get("name") == name, f"the {name} field")
    page.keyboard.type(text)


def press_button(page: Page, label: str, name: str, value: str | None = None, text: str = ""):
    def matches(f: dict) -> bool:
        return (
            f.get("tag") == "button"
            and f.get("name") == name
            and (value is None or f.get("value") == value)
            and text.lower() in f.get("text", "").lower()
        )

    tab_to(page, matches, label)
    page.keyboard.press("Enter")


def address_by_keyboard(page: Page) -> None:
    """Fill the address with the keyboard (type-ahead and arrows in the country list) and send
    it with Enter from the last field, as keyboard users do."""
    type_into(page, "address_line1", LONDON["address_line1"])
    type_into(page, "city", LONDON["city"])
    country = page.locator("#page select[name=country_code]")
    tab_to(page, lambda f: f.get("name") == "country_code", "the country field")
    if country.count():
        # Type-ahead on the first word (Space would open the picker), then arrow to the option.
        label = country.locator("option[value=GB]").inner_text().strip()
        page.keyboard.type(label.split()[0])
        for _ in range(12):
            if country.input_value() == "GB":
                break
            page.keyboard.press("ArrowDown")
        expect(country, "the country list keeps focus and value while arrowing").to_be_focused()
        expect(country).to_have_value("GB")
    else:
        page.keyboard.type("GB")
    type_into(page, "post_code", LONDON["post_code"])
    page.keyboard.press("Enter")  # implicit submission must mean "Continue"


def test_full_flow_by_keyboard_alone(open_page, start_url) -> None:
    """From the first page to the done page with Tab, arrows, typing and Enter only."""
    FOCUS_PROBLEMS.clear()
    page = open_page()
    flow = Flow(page)
    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    expect(page.locator("h1")).to_have_count(1)
    address_by_keyboard(page)
    expect_new_page(page, flow, "provider_select")
    press_button(page, "Northwind Energy", "provider_id", text="Northwind Energy")
    expect_new_page(page, flow, "tariff_select")
    press_button(page, "Northwind Fixed 12M", "tariff_id", text="Northwind Fixed 12M")
    if flow.expect_one_of("contract_term_capture", "summary_fixed_confirm") != (
        "summary_fixed_confirm"
    ):
        expect_new_page(page, flow, "contract_term_capture")
        tab_to(page, lambda f: f.get("name") == "term", "the contract term choice")
        for _ in range(4):
            if page.locator("#page input[name=term][value=unknown]").is_checked():
                break
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
    expect_new_page(page, flow, "summary_fixed_confirm")
    press_button(page, "Save", "action", value="SAVE")
    expect_done(page)
    expect(page.locator("h1")).to_have_count(1)
    assert not page.e2e_errors, page.e2e_errors
    assert not FOCUS_PROBLEMS, "\n".join(f"{k}: {v}" for k, v in FOCUS_PROBLEMS.items())


def test_validation_errors_take_focus(open_page, start_url) -> None:
    """After a failed step focus goes to the error summary, whose links lead to the fields."""
    page = open_page()
    flow = Flow(page)
    page.goto(start_url())
    flow.expect_route("postal_address_capture")
    type_into(page, "address_line1", "1 Test Street")
    press_button(page, "Continue", "")
    summary = page.locator("#page [role=alert]").first
    expect(summary).to_be_visible()
    active = focused(page)
    inside = page.evaluate(
        "() => !!document.activeElement.closest('[role=alert], h1, [aria-invalid=true]')"
    )
    assert inside, f"focus after the error is on {active}, not on the error or the heading"
    link = page.locator("#page [role=alert] a[href='#f-city']")
    expect(link).to_be_visible()
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#f-city")).to_be_focused()
