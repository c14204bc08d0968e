"""The summaries on a phone, in Chromium (issue 12, items 3 and 4).

Each summary (fixed, time of use, market) is reached the way a customer reaches it, then measured
at 375 x 812: "Confirm and save" must start within the first two screens (its top under
1,624 px from the top of the page). The tables and the other days are behind ``<details>``; the
auditor checks every state (axe, 320/375/1280 px layout, tap targets) with them closed and open,
and prices must never break inside their unit. Without JavaScript the disclosures open from the
keyboard. The measured heights go to ``test-artifacts/e2e/summary-heights.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.audit import ARTIFACTS, PHONE, PHONE_SMALL
from tests.e2e.driver import Flow, provider_login
from tests.e2e.upstream import BERWICK, LONDON

pytestmark = pytest.mark.browser

#: Two screens of a 375 x 812 phone.
TWO_SCREENS_PX = 2 * PHONE["height"]

_MEASURE_JS = """() => {
  const save = document.querySelector('#page button[name=action][value=SAVE]');
  const box = save.getBoundingClientRect();
  return {height: document.documentElement.scrollHeight, save_top: box.top + window.scrollY};
}"""

# Every price whose text is laid out on more than one line (it wrapped inside "p/kWh").
_BROKEN_PRICES_JS = """() => [...document.querySelectorAll('#page .price, #page .price-big__value')]
  .filter(el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1;
  })
  .map(el => el.textContent.trim())"""


def fixed_summary(flow: Flow, page: Page, start_url: Callable[..., str]) -> str:
    page.goto(start_url(postal_address=LONDON))
    flow.provider("Hearth & Home Electric")
    flow.structure("FIXED")
    flow.fixed_rate("24.5")
    flow.tariff_name("Hearth Fixed")
    flow.contract_term("unknown")
    return "summary_fixed_confirm"


def time_of_use_summary(flow: Flow, page: Page, start_url: Callable[..., str]) -> str:
    page.goto(start_url(postal_address=LONDON))
    flow.provider("Northwind Energy")
    flow.tariff("Northwind Economy 7")
    if flow.expect_one_of("contract_term_capture", "summary_tou_confirm") != "summary_tou_confirm":
        flow.contract_term("unknown")
    return "summary_tou_confirm"


def direct_time_of_use_summary(flow: Flow, page: Page, start_url: Callable[..., str]) -> str:
    """The issue's own 2,493 px page: a tariff read from the provider's account, three periods a
    day (the night spans midnight)."""
    page.goto(start_url(postal_address=LONDON))
    flow.provider("Voltaic Direct")
    flow.leave_for_login()
    page.wait_for_url(re.compile(r"/provider-login/"))
    provider_login(page, "approve")
    return "summary_tou_confirm"


def market_summary(flow: Flow, page: Page, start_url: Callable[..., str]) -> str:
    page.goto(start_url(postal_address=BERWICK))
    flow.provider("Tidal Market Power")
    flow.structure("MARKET")
    flow.expect_route("market_surcharge_capture")
    region = flow.field("region").locator("option:not([value=''])").first.get_attribute("value")
    flow.surcharge("2.5", "5", region=region)
    flow.tariff_name("Tidal Tracker")
    flow.contract_term("unknown")
    page.e2e_region = region  # type: ignore[attr-defined]
    return "summary_tou_confirm"


SUMMARIES = {
    "fixed": fixed_summary,
    "time_of_use": time_of_use_summary,
    "direct_time_of_use": direct_time_of_use_summary,
    "market": market_summary,
}


HEIGHTS = ARTIFACTS / "summary-heights.txt"


@pytest.fixture(scope="module", autouse=True)
def fresh_heights() -> None:
    """The file describes this run only."""
    HEIGHTS.unlink(missing_ok=True)


def record(kind: str, measured: dict[str, float]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with HEIGHTS.open("a", encoding="utf-8") as out:
        out.write(
            f"{kind}: page {measured['height']:.0f} px, "
            f"'Confirm and save' top at {measured['save_top']:.0f} px (375 x 812)\n"
        )


def open_every_disclosure(page: Page) -> None:
    for summary in page.locator("#page details > summary").all():
        if summary.locator("xpath=..").get_attribute("open") is None:
            summary.click()


def shape(text: str) -> str:
    """A time's format without its digits and day-period words: "6:00 AM" and "11:00 PM" share
    one, "06:00" has another."""
    return re.sub(r"[^\W\d_]+", "a", re.sub(r"\d+", "9", " ".join(text.split())))


@pytest.mark.parametrize("kind", list(SUMMARIES))
def test_summary_confirm_is_within_two_phone_screens(open_page, auditor, start_url, kind) -> None:
    page = open_page(width=PHONE["width"], height=PHONE["height"])
    audit = auditor(page)
    flow = Flow(page)
    route = SUMMARIES[kind](flow, page, start_url)
    flow.expect_route(route)

    measured = page.evaluate(_MEASURE_JS)
    record(kind, measured)
    assert measured["save_top"] < TWO_SCREENS_PX, (
        f"{kind}: 'Confirm and save' starts at {measured['save_top']:.0f} px, "
        f"beyond two 812 px screens (page {measured['height']:.0f} px)"
    )
    main = flow.main()
    expect(main.locator("button[value=SAVE]")).to_have_text("Confirm and save")
    # Nothing a customer would not understand, no chips repeating the details.
    text = main.inner_text()
    for term in ("Direction", "Electricity you buy", "Source", "tariff library"):
        assert term not in text, f"{kind}: {term!r} is on the summary"
    expect(main.locator(".summary .badges .badge:not(.badge--test)")).to_have_count(0)
    # A first connection: "Disconnect" is no peer of "Confirm and save".
    expect(main.locator(".button-group button[value=DISCONNECT]")).to_have_count(0)
    expect(main.locator(".actions--quiet button[value=DISCONNECT]")).to_have_count(1)
    # The address the flow was started with is shown back.
    address = BERWICK if kind == "market" else LONDON
    expect(main.locator(".details")).to_contain_text(address["post_code"])
    audit.check(f"{route}-{kind}")

    if kind != "fixed":
        # Today's chart leads; every table waits, closed, behind a disclosure.
        expect(main.locator(".summary-line")).to_contain_text(re.compile(r"p to [\d.]+p a kWh"))
        expect(main.locator("figure svg").first).to_be_visible()
        tables = main.locator("table")
        assert tables.count() >= 1
        for i in range(tables.count()):
            expect(tables.nth(i)).to_be_hidden()
        open_every_disclosure(page)
        for i in range(tables.count()):
            expect(tables.nth(i)).to_be_visible()
        # The axis and the tables write times in one format, the locale's.
        ticks = main.locator("figure svg text.chart__tick").all_text_contents()
        starts = [
            cell.split(" to ")[0] for cell in main.locator("table tbody th").all_inner_texts()
        ]
        assert {shape(t) for t in ticks} <= {shape(s) for s in starts}, (ticks, starts[:6])
        audit.check(f"{route}-{kind}-open")

    if kind == "direct_time_of_use":
        # The example line, in this locale's time format.
        line = " ".join(main.locator(".summary-line").inner_text().split())
        assert line == "8.5p to 28.7p a kWh; cheapest 11:00 PM to 6:00 AM", line

    if kind == "market":
        details = main.locator(".details")
        expect(details).to_contain_text("Market region")
        expect(details).to_contain_text(page.e2e_region)  # type: ignore[attr-defined]
        expect(details).to_contain_text(re.compile(r"Extra charges\s*2\.50p/kWh plus 5%"))

    # Prices stay whole at the narrowest width, tables open.
    page.set_viewport_size(PHONE_SMALL)
    broken = page.evaluate(_BROKEN_PRICES_JS)
    assert not broken, f"{kind}: prices broken across lines at 320 px: {broken}"
    decimals = {
        len(m.group(1)) if m.group(1) else 0
        for p in main.locator(".price, .price-big__value").all_inner_texts()
        if (m := re.match(r"[\d,]+(?:\.(\d+))?", p.strip()))
    }
    assert len(decimals) == 1, f"{kind}: prices with different decimals: {decimals}"
    audit.assert_clean()


def test_disclosures_open_by_keyboard_without_javascript(open_page, start_url) -> None:
    page = open_page(javascript=False)
    flow = Flow(page)
    market_summary(flow, page, start_url)
    flow.expect_route("summary_tou_confirm")
    summaries = page.locator("#page details > summary")
    assert summaries.count() == 3, summaries.all_inner_texts()
    today = page.locator("#page details").first
    expect(today.locator("table")).to_be_hidden()
    summaries.first.focus()
    page.keyboard.press("Enter")
    expect(today).to_have_attribute("open", "")
    expect(today.locator("table")).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator("#page details").nth(1)).to_have_attribute("open", "")
    # The quiet "Cancel without saving" and the peers are real buttons of real forms.
    flow.save()
    page.wait_for_url(re.compile(r"/connect/done"))


def test_a_managed_location_keeps_disconnect_as_a_peer(
    open_page, auditor, start_url, sandbox
) -> None:
    created = requests.post(
        f"{sandbox.url}/_sandbox/locations",
        json={"state": "connected_time_of_day", "country_code": "GB"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    page = open_page()
    audit = auditor(page)
    flow = Flow(page)
    page.goto(start_url(location_id=created.json()["location_id"]))
    flow.expect_route("summary_tou_confirm")
    group = flow.main().locator(".button-group button[name=action]")
    expect(group).to_have_count(3)
    assert [b.get_attribute("value") for b in group.all()] == ["SAVE", "EDIT", "DISCONNECT"]
    expect(flow.main().locator(".actions--quiet")).to_have_count(0)
    measured = page.evaluate(_MEASURE_JS)
    record("managed time_of_use", measured)
    assert measured["save_top"] < TWO_SCREENS_PX
    audit.check("summary_tou_confirm-managed")
    audit.assert_clean()
