"""The summary pages (issue 12, items 3 and 4): short on a phone, one line a person understands
first, the tables and the other days behind disclosures, prices that never wrap inside their unit
and share one number of decimals, the chart's axis in the tables' time format; everything the
customer entered shown back (address, market region, extra charges) and nothing they would not
understand; "Disconnect" a peer of "Confirm and save" only for a location being managed.

The page tests render through the adapters as the flow does (``tests/webapp/pages_harness.py``),
with the flow's facts passed in as ``webapp/screens.py`` passes them; the flow tests at the end
walk the real sandbox to prove the facts get there.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
import requests
from flask import Flask, render_template

from devstack.stack import SandboxServer
from tests.webapp.conftest import GB_ADDRESS, Browser
from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document
from tests.webapp.test_flow_paths import _options, name_and_term, to_provider_select
from webapp.formatting import format_time_of_day
from webapp.money import rate_unit
from webapp.page import Page
from webapp.pages import adapter_for
from webapp.pages.base import FlowFacts
from webapp.pages.summary import SummaryAdapter
from webapp.start_links import sign_start

GBP = rate_unit("GBP")
LONDON = {**GB_ADDRESS}
MARKET_ENTERED = {
    "postal_address": {**LONDON},
    "surcharge": {"fixed": 0.025, "percentage": 5.0},
    "region": "North East England",
}


def period(start: str, end: str, cost: float, confidence: float = 1) -> dict[str, Any]:
    return {
        "valid_from": start,
        "valid_to": end,
        "tariff": {"cost": cost, "confidence": confidence},
    }


def economy7_day(day: str, next_day: str, confidence: float = 1) -> list[dict[str, Any]]:
    """A day of an Economy 7 tariff as Connect sends it: the night spans midnight, so the day
    starts and ends cheap."""
    return [
        period(f"{day}T00:00:00+00:00", f"{day}T06:00:00+00:00", 0.085, confidence),
        period(f"{day}T06:00:00+00:00", f"{day}T23:00:00+00:00", 0.287, confidence),
        period(f"{day}T23:00:00+00:00", f"{next_day}T00:00:00+00:00", 0.085, confidence),
    ]


def economy7_page() -> dict[str, Any]:
    page = copy.deepcopy(REFERENCE_PAGES["summary_tou_confirm"])
    page["data"]["market_rates_source"] = False
    page["data"]["tariff"].update(name="Economy 7", structure_type="TIME_OF_DAY")
    page["data"]["rates"] = {
        "yesterday": economy7_day("2024-01-31", "2024-02-01"),
        "today": economy7_day("2024-02-01", "2024-02-02"),
        "tomorrow": economy7_day("2024-02-02", "2024-02-03", confidence=0.95),
    }
    return page


def market_page() -> dict[str, Any]:
    """A market day of hourly prices with up to five decimals, as the sandbox sends them."""
    page = copy.deepcopy(REFERENCE_PAGES["summary_tou_confirm"])
    hours = []
    for hour in range(24):
        cost = 0.07 + 0.01 * hour + 0.00123
        hours.append(
            period(
                f"2024-02-01T{hour:02d}:00:00+00:00",
                f"2024-02-0{1 + (hour + 1) // 24}T{(hour + 1) % 24:02d}:00:00+00:00",
                round(cost, 5),
            )
        )
    page["data"]["rates"] = {"yesterday": hours, "today": hours, "tomorrow": hours}
    return page


# -- rendering as the flow does -------------------------------------------------------------


@pytest.fixture(scope="module")
def harness() -> Flask:
    return make_app()


@pytest.fixture
def ctx(harness: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The reference day is 2024-02-01; pin "now" inside it so the rows and charts are stable.
    moment = datetime(2024, 2, 1, 12, 30, tzinfo=UTC)
    monkeypatch.setattr(SummaryAdapter, "now", lambda self: moment)
    with harness.test_request_context("/connect/flow"):
        yield


def render(page: dict[str, Any], flow: FlowFacts | None = None) -> str:
    typed = Page.from_connect(page)
    adapter = adapter_for(typed.route)
    assert adapter is not None
    return render_template(adapter.template, **adapter.context(typed, flow=flow))


def text_of(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def find_class(document: Any, tag: str, name: str) -> list[Any]:
    return [el for el in document.iter(tag) if name in (el.get("class") or "").split()]


# -- item 3: short, one line first, tables behind disclosures --------------------------------


@pytest.mark.unit
def test_time_of_use_leads_with_one_line_and_todays_chart(ctx):
    document = parse_document(render(economy7_page()))
    card = find_class(document, "section", "summary")[0]
    children = [
        el
        for el in card
        if el.tag in ("p", "figure", "dl", "details", "h2") and el.get("class") != "badges"
    ]
    line = find_class(document, "p", "summary-line")[0]
    # The issue's own example, in this locale's time format.
    assert re.fullmatch(r"8\.5p to 28\.7p a kWh; cheapest 11:00\W?PM to 6:00\W?AM", text_of(line))
    # The line and today's chart come straight after the tariff's name, before the details.
    kinds = [el.tag for el in children]
    assert kinds[:3] == ["h2", "p", "figure"], kinds
    figure = children[2]
    assert figure.find(".//{http://www.w3.org/2000/svg}title").text == "Prices today"
    # Every table is inside a disclosure; only today's chart is outside one.
    details = document.findall(".//details")
    assert [text_of(d.find("summary")) for d in details] == [
        "Today's prices, period by period",
        "Tomorrow's prices",
        "Yesterday's prices",
    ]
    tables = document.findall(".//table")
    assert len(tables) == 3
    assert all(any(t in d.iter("table") for d in details) for t in tables)
    charts = document.findall(".//{http://www.w3.org/2000/svg}svg")
    outside = [c for c in charts if not any(c in d.iter() for d in details)]
    assert len(outside) == 1


@pytest.mark.unit
def test_market_line_says_today_and_the_cheapest_hour(ctx):
    document = parse_document(render(market_page()))
    line = text_of(find_class(document, "p", "summary-line")[0])
    assert re.fullmatch(
        r"Today: 7\.12p to 30\.12p a kWh; cheapest 12:00\W?AM to 1:00\W?AM", line
    ), line


@pytest.mark.unit
def test_one_price_all_day_says_so(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["summary_tou_confirm"])
    page["data"]["market_rates_source"] = False
    page["data"]["tariff"]["structure_type"] = "TIME_OF_DAY"
    page["data"]["rates"]["today"] = [period("2024-02-01T00:00:00Z", "2024-02-02T00:00:00Z", 0.2)]
    document = parse_document(render(page))
    assert text_of(find_class(document, "p", "summary-line")[0]) == "20p a kWh all day"
    # One price: a legend of "Cheaper / Dearer" would explain nothing.
    assert not document.findall(".//figcaption")


@pytest.mark.unit
def test_today_without_prices_says_so_and_offers_no_empty_disclosure(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["summary_tou_confirm"])
    page["data"]["rates"]["today"] = []
    markup = render(page)
    assert "Today's prices aren't available yet." in markup
    assert "<details" not in markup


@pytest.mark.unit
@pytest.mark.parametrize("make_page", [economy7_page, market_page])
def test_every_price_on_the_page_has_one_number_of_decimals_and_stays_whole(ctx, make_page):
    flow = FlowFacts(entered=MARKET_ENTERED)
    document = parse_document(render(make_page(), flow))
    prices = [text_of(el) for el in find_class(document, "span", "price")]
    assert len(prices) > 6
    # Every price is in a no-wrap span (app.css: .price { white-space: nowrap }).
    assert all(re.fullmatch(r"[\d,.]+p(/kWh)?", p) for p in prices), prices
    places = {len(p.split(".")[1].rstrip("p/kWh")) if "." in p else 0 for p in prices}
    assert len(places) == 1, prices
    if make_page is market_page:
        # The surcharge the customer typed (2.5p) follows the page's two places too.
        surcharge = [
            text_of(row.find("dd"))
            for row in find_class(document, "div", "details__row")
            if text_of(row.find("dt")) == "Extra charges"
        ]
        assert surcharge == ["2.50p/kWh plus 5%"]


@pytest.mark.unit
def test_fixed_price_keeps_its_own_decimals(ctx):
    markup = render(REFERENCE_PAGES["summary_fixed_confirm"])
    assert re.search(r'price-big__value">24\.5p/kWh<', markup)
    page = copy.deepcopy(REFERENCE_PAGES["summary_fixed_confirm"])
    page["data"]["cost"] = 0.2
    assert re.search(r'price-big__value">20p/kWh<', render(page))


@pytest.mark.unit
def test_chart_axis_uses_the_tables_time_format(ctx):
    document = parse_document(render(economy7_page()))
    svg = document.find(".//{http://www.w3.org/2000/svg}svg")
    ticks = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert ticks == [format_time_of_day(time(hour)) for hour in (0, 6, 12, 18)]
    assert "06:00" not in ticks  # the old fixed 24-hour labels
    table_starts = [text_of(th).split(" to ")[0] for th in document.findall(".//table//tbody//th")]
    # (text_of folds the narrow no-break space Babel puts before "AM" into a space.)
    assert {" ".join(tick.split()) for tick in ticks[:2]} <= set(table_starts)
    # The text alternative names the night as the line does, and times as the table does.
    desc = " ".join(svg.find("{http://www.w3.org/2000/svg}desc").text.split())
    assert desc == "Lowest 8.5p/kWh, 11:00 PM to 6:00 AM; highest 28.7p/kWh, 6:00 AM to 11:00 PM."
    reference = parse_document(render(REFERENCE_PAGES["summary_tou_confirm"]))
    desc = reference.find(".//{http://www.w3.org/2000/svg}desc").text
    assert desc.endswith("to midnight.")


# -- item 4: what the customer entered, and nothing they would not understand ----------------


@pytest.mark.unit
def test_market_summary_shows_address_region_and_surcharge(ctx):
    document = parse_document(render(market_page(), FlowFacts(entered=MARKET_ENTERED)))
    rows = {
        text_of(row.find("dt")): text_of(row.find("dd"))
        for row in find_class(document, "div", "details__row")
    }
    assert rows["Address"] == "1 Test Street, London, SW1A 1AA, United Kingdom"
    assert rows["Market region"] == "North East England"
    assert rows["Extra charges"] == "2.50p/kWh plus 5%"
    assert rows["Provider"] == "Ecotricity" and rows["Tariff type"] == "Market price"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("surcharge", "shown"),
    [
        ({"fixed": 0, "percentage": 0}, "None"),
        ({"fixed": 0.02, "percentage": 0}, "2.00p/kWh"),
        ({"fixed": 0, "percentage": 7.5}, "7.5%"),
    ],
)
def test_surcharge_in_words(ctx, surcharge, shown):
    entered = {**MARKET_ENTERED, "surcharge": surcharge}
    assert f"<dd>{shown}</dd>" in render(market_page(), FlowFacts(entered=entered))


@pytest.mark.unit
def test_region_and_surcharge_only_for_a_market_tariff(ctx):
    # Entered for a market tariff, then the customer changed to a time-of-use one (EDIT).
    markup = render(economy7_page(), FlowFacts(entered=MARKET_ENTERED))
    assert "SW1A 1AA" in markup
    assert "Market region" not in markup and "Extra charges" not in markup


@pytest.mark.unit
@pytest.mark.parametrize("route", ["summary_fixed_confirm", "summary_tou_confirm"])
def test_no_internal_terms_and_no_chips_repeating_the_details(ctx, route):
    page = copy.deepcopy(REFERENCE_PAGES[route])
    page["data"]["connection_type"] = "LIBRARY"
    page["live_mode"] = True
    markup = render(page, FlowFacts(entered=MARKET_ENTERED))
    for term in (
        "Direction",
        "Electricity you buy",
        "Source",
        "FlatPeak's tariff library",
        "Follows the market",
    ):
        assert term not in markup, term
    document = parse_document(markup)
    # The only badges left are in the tables (Now, Forecast), inside the disclosures.
    card = find_class(document, "section", "summary")[0]
    assert not find_class(card, "p", "badges")
    assert all(
        any(badge in d.iter() for d in card.iter("details"))
        for badge in find_class(card, "span", "badge")
    )


@pytest.mark.unit
def test_an_export_tariff_says_what_it_is_for(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["summary_fixed_confirm"])
    page["direction"] = "EXPORT"
    assert "Electricity you sell" in render(page)


@pytest.mark.unit
@pytest.mark.parametrize("route", ["summary_fixed_confirm", "summary_tou_confirm"])
def test_disconnect_is_a_peer_only_for_a_location_being_managed(ctx, route):
    first = parse_document(render(REFERENCE_PAGES[route], FlowFacts()))
    group = find_class(first, "div", "button-group")[0]
    assert [b.get("value") for b in group.iter("button")] == ["SAVE", "EDIT"]
    quiet = find_class(first, "form", "actions--quiet")[0]
    [cancel] = list(quiet.iter("button"))
    assert cancel.get("value") == "DISCONNECT" and "button--link" in cancel.get("class")
    assert text_of(cancel) == "Cancel without saving"

    managed = parse_document(render(REFERENCE_PAGES[route], FlowFacts(manages_location=True)))
    group = find_class(managed, "div", "button-group")[0]
    assert [b.get("value") for b in group.iter("button")] == ["SAVE", "EDIT", "DISCONNECT"]
    assert "Disconnect tariff" in text_of(group)
    assert not find_class(managed, "form", "actions--quiet")


# -- through the real flow (sandbox over HTTP, no JavaScript) ---------------------------------


def test_market_flow_summary_shows_what_the_customer_entered(app: Flask, browser: Browser) -> None:
    address = {**GB_ADDRESS, "city": "Berwick-upon-Tweed", "post_code": "TD15 1AA"}
    to_provider_select(browser, address)
    browser.provider("Tidal Market Power")
    page = browser.submit(button=("option", "MARKET"))
    assert page.route == "market_surcharge_capture"
    form = page.form_with(names=("region",))
    regions = [v for v in form.radios.get("region", [])] or _options(page.html, "region")
    browser.submit({"region": regions[-1], "surcharge_fixed": "2.5", "surcharge_percentage": "5"})
    name_and_term(browser, "Tidal Tracker")
    summary = browser.page
    assert summary is not None and summary.route == "summary_tou_confirm", summary.text()[:400]
    text = summary.text()
    assert "1 Test Street, Berwick-upon-Tweed, TD15 1AA, United Kingdom" in text
    assert f"Market region {regions[-1]}" in text
    assert re.search(r"Extra charges 2\.50p/kWh plus 5%", text), text
    # A first connection: "Disconnect" is no peer of "Confirm and save".
    assert summary.form_with(button=("action", "SAVE")).buttons[-1].value == "EDIT"


def test_a_managed_location_offers_disconnect_as_a_peer(
    app: Flask, browser: Browser, sandbox: SandboxServer
) -> None:
    created = requests.post(
        f"{sandbox.url}/_sandbox/locations",
        json={"state": "connected_time_of_day", "country_code": "GB"},
        timeout=10,
    ).json()
    with app.test_request_context():
        signed = sign_start("loc-customer-12", location_id=created["location_id"])
    page = browser.get(f"/start/{signed}")
    assert page.route == "summary_tou_confirm", page.text()[:400]
    values = [b.value for b in page.form_with(button=("action", "SAVE")).buttons]
    assert values == ["SAVE", "EDIT", "DISCONNECT"]
