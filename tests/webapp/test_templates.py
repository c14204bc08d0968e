"""Every page template renders from Connect's example payloads, as a whole document and as the
htmx fragment, parses as strict HTML5, and carries what the flow and the browser rely on."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.protocol import ZERO_ROUTES
from tests.webapp.pages_harness import (
    FLOW_HANDLE,
    REFERENCE_PAGES,
    csp_violations,
    make_app,
    parse_document,
    parse_fragment,
    render,
)
from webapp.pages import ROUTES, adapter_for
from webapp.pages.progress import PARTS
from webapp.pages.summary import SummaryAdapter

pytestmark = pytest.mark.unit  # no process: see tests/README.md

PAGE_ROUTES = [route for route in REFERENCE_PAGES if adapter_for(route) is not None]


@pytest.fixture(scope="module")
def app():
    return make_app()


@pytest.fixture
def ctx(app):
    with app.test_request_context("/connect/flow"):
        yield


def test_reference_examples_cover_all_fourteen_pages():
    assert set(ZERO_ROUTES) <= set(PAGE_ROUTES)
    assert len(ZERO_ROUTES) == 14


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_full_page_renders_as_strict_html(ctx, route):
    markup = render(REFERENCE_PAGES[route])
    document = parse_document(markup)
    assert document.find(".//main[@id='page']") is not None
    assert len(document.findall(".//h1")) == 1
    title = document.find(".//title").text
    assert title.endswith("\u2013 Connect your tariff")
    assert str(adapter_for(route).title) in title
    assert document.find(".//*[@data-route]").get("data-route") == route
    assert csp_violations(markup) == []


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_htmx_fragment_renders_as_strict_html(ctx, route):
    markup = render(REFERENCE_PAGES[route], htmx=True)
    fragment = parse_fragment(markup)
    assert markup.startswith("<title>")
    assert "<html" not in markup and "<main" not in markup
    assert len(fragment.findall(".//h1")) == 1
    assert csp_violations(markup) == []


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_every_post_form_is_a_real_step(ctx, route):
    document = parse_document(render(REFERENCE_PAGES[route]))
    forms = [f for f in document.iter("form") if f.get("method") == "post"]
    assert forms, "each page offers at least one step"
    for form in forms:
        assert form.get("action") == "/connect/flow"
        assert form.get("hx-post") == "/connect/flow"
        assert form.get("hx-target") == "#page"
        assert form.get("hx-swap") == "innerHTML"
        assert form.get("hx-sync")
        hidden = {
            i.get("name"): i.get("value") for i in form.iter("input") if i.get("type") == "hidden"
        }
        assert hidden["route"] == route
        assert hidden["flow"] == FLOW_HANDLE
        assert hidden["csrf_token"]
        assert any(b.get("type") == "submit" for b in form.iter("button"))


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_every_field_has_a_label_and_ids_are_unique(ctx, route):
    document = parse_document(render(REFERENCE_PAGES[route]))
    ids = [el.get("id") for el in document.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    labelled = {label.get("for") for label in document.iter("label")}
    for element in document.iter():
        if element.tag in {"input", "select", "textarea"} and element.get("type") != "hidden":
            name = element.get("name")
            if element.get("type") == "radio":
                assert element.get("id") in labelled, name
            else:
                assert element.get("id") in labelled or element.get("aria-label"), name
        for attribute in ("aria-describedby", "aria-labelledby", "aria-controls"):
            for ref in (element.get(attribute) or "").split():
                assert ref in ids, f"{attribute}={ref} points nowhere"


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_only_offered_actions_are_buttons(ctx, route):
    page = REFERENCE_PAGES[route]
    document = parse_document(render(page))
    shown = {b.get("value") for b in document.iter("button") if b.get("name") == "action"}
    assert shown == set(page.get("actions") or [])


def test_base_document_carries_htmx_config_and_security_hooks(ctx):
    markup = render(REFERENCE_PAGES["postal_address_capture"])
    document = parse_document(markup)
    html = document.getroot() if hasattr(document, "getroot") else document
    assert html.get("lang") == "en"
    config = document.find(".//meta[@name='htmx-config']").get("content")
    for setting in (
        '"allowEval": false',
        '"allowScriptTags": false',
        '"includeIndicatorStyles": false',
        '"historyCacheSize": 0',
        '"refreshOnHistoryMiss": true',
        '"historyRestoreAsHxRequest": false',
        '"selfRequestsOnly": true',
        '"code": "422", "swap": true',
    ):
        assert setting in config
    scripts = document.findall(".//script")
    assert re.fullmatch(
        r"/static/vendor/htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js", scripts[0].get("src")
    )
    assert scripts[0].get("integrity").startswith("sha384-")
    assert all(s.get("defer") is not None for s in scripts)
    body = document.find(".//body")
    headers = body.get("hx-headers")
    assert '"X-CSRFToken"' in headers and f'"X-Connect-Flow": "{FLOW_HANDLE}"' in headers
    assert body.get("data-parent-origin") == "https://partner.example"
    assert document.find(".//a[@class='skip-link']").get("href") == "#page"
    assert document.find(".//*[@id='live']").get("aria-live") == "polite"
    assert "Acme Energy Partner" in markup
    # The Close control is for partner frames only: app.js unhides it when framed.
    assert document.find(".//button[@data-close]").get("hidden") is not None


def test_base_without_flow_handle_or_embed_origin(app):
    """Pages the core renders outside a flow (errors, done) have neither."""
    from flask import render_template_string

    with app.test_request_context("/"):
        markup = render_template_string(
            '{% extends "base.html" %}{% block title %}Oops{% endblock %}'
            "{% block page %}<h1>Oops</h1>{% endblock %}",
            flow_handle=None,
            embed_origin=None,
        )
    document = parse_document(markup)
    body = document.find(".//body")
    # No flow, no htmx posts: no headers (and no CSRF session created just to fill them).
    assert body.get("hx-headers") == "{}"
    assert body.get("data-parent-origin") == ""


def test_progress_names_the_step(ctx):
    markup = render(REFERENCE_PAGES["tariff_select"])
    assert '<p class="progress__label" id="progress-label">Your tariff</p>' in markup
    assert "Step " not in markup  # no count: how many are left depends on the path
    assert re.search(r'<progress[^>]*max="5"[^>]*value="3"', markup)


def test_every_route_has_a_stage_and_the_flow_never_goes_back_a_stage():
    assert all(1 <= adapter.stage <= len(PARTS) for adapter in ROUTES.values())
    # The failed page goes back to the provider (RECONNECT): tests/webapp/test_progress.py.
    forward = [route for route in ZERO_ROUTES if route != "summary_tariff_failed"]
    stages = [adapter_for(route).stage for route in forward]
    assert stages == sorted(stages)
    assert set(stages) == set(range(1, len(PARTS) + 1))


def test_anode_aliases_render_the_zero_templates(ctx):
    summary = copy.deepcopy(REFERENCE_PAGES["summary_tou_confirm"])
    summary["route"] = "tariff_summary"
    summary["actions"] = ["EDIT", "DISCONNECT", "WRONG_TARIFF", "BACK", "CLOSE"]
    markup = render(summary)
    parse_document(markup)
    assert "Report a problem" in markup and "Back" in markup and "Close" in markup

    fixed = copy.deepcopy(REFERENCE_PAGES["summary_fixed_confirm"])
    fixed["route"] = "tariff_summary"
    # One summary page for every structure: a FIXED tariff shows its one price big.
    assert "price-big" in render(fixed)
    assert "price-big" not in markup

    for alias, zero in (
        ("tariff_connection_pending", "summary_tariff_inprogress"),
        ("tariff_connection_failed", "summary_tariff_failed"),
        ("surcharge_capture", "market_surcharge_capture"),
        ("region_select", "market_surcharge_capture"),
    ):
        page = copy.deepcopy(REFERENCE_PAGES[zero])
        page["route"] = alias
        assert adapter_for(alias).template == f"pages/{zero}.html"
        document = parse_document(render(page))
        assert document.find(".//*[@data-route]").get("data-route") == alias


def test_region_select_shows_only_the_region(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["market_surcharge_capture"])
    page["route"] = "region_select"
    markup = render(page)
    assert 'name="region"' in markup and 'name="surcharge_fixed"' not in markup
    page["route"] = "surcharge_capture"
    markup = render(page)
    assert 'name="region"' not in markup and 'name="surcharge_fixed"' in markup


def test_unknown_route_has_no_adapter():
    assert adapter_for("rate_advanced_capture") is None
    assert adapter_for("") is None
    assert adapter_for(None) is None
    assert "session_redirect" not in ROUTES and "session_complete" not in ROUTES


def test_provider_without_logo_shows_its_name(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["provider_select"])
    page["data"]["providers"][0]["logo_url"] = ""
    page["data"]["providers"][1]["logo_url"] = "javascript:alert(1)"
    markup = render(page)
    assert "javascript:" not in markup
    document = parse_document(markup)
    rows = document.findall(".//li[@data-filter-text]")
    for row in rows:
        assert row.find(".//img") is None
        assert row.find(".//span[@class='provider-name']").text
    assert csp_violations(markup) == []


def test_long_provider_list_gets_a_search_that_works_without_js(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["provider_select"])
    page["data"]["providers"] = [
        {"id": f"prv_{i:024x}", "display_name": name, "logo_url": ""}
        for i, name in enumerate(
            [
                "Voltaic Direct",
                "Northwind Energy",
                "Tidal Market Power",
                "Hearth & Home Electric",
                "Électricité Verte",
                "Octopus",
                "Ecotricity",
                "Bulb",
                "OVO Energy",
            ]
        )
    ]
    markup = render(page)
    document = parse_document(markup)
    search = document.find(".//form[@role='search']")
    assert search.get("method") == "get" and search.get("action") == "/connect/flow"
    assert search.find(".//input[@name='q']") is not None
    assert "Showing all 9." in markup

    filtered = render(page, query={"q": "electricite"})
    assert "Électricité Verte" in filtered and "Northwind" not in filtered
    assert "Showing 1 of 9." in filtered
    nothing = render(page, query={"q": "zzz"})
    assert "No providers match your search." in nothing


def test_address_card_offers_change_only_when_connect_does(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["provider_select"])
    assert 'value="ADDRESS_CHANGE"' in render(page)
    assert "WC2N 5EH" in render(page)
    page["actions"] = ["PROVIDER_MISSING"]
    markup = render(page)
    assert "WC2N 5EH" in markup and 'value="ADDRESS_CHANGE"' not in markup


def test_address_page_has_autocomplete_tokens_and_country_list(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["postal_address_capture"])
    page["data"]["postal_address"]["country_code"] = "US"  # a country with a state field
    document = parse_document(render(page))
    tokens = {
        el.get("name"): el.get("autocomplete")
        for el in document.iter()
        if el.tag in {"input", "select"} and el.get("autocomplete")
    }
    assert tokens == {
        "address_line1": "address-line1",
        "address_line2": "address-line2",
        "city": "address-level2",
        "state": "address-level1",
        "post_code": "postal-code",
        "country_code": "country",
    }
    options = document.findall(".//select[@name='country_code']/option")
    assert len(options) > 240
    assert any(o.get("value") == "GB" and o.text == "United Kingdom" for o in options)


@pytest.mark.parametrize(
    ("country", "selected"), [("GB", ["GB"]), ("DE", ["DE"]), ("ZZ", []), ('"><b', [])]
)
def test_country_list_marks_only_the_customers_country(ctx, country, selected):
    """The option list is rendered once per locale and reused; each page still marks exactly
    the customer's own country, and a value we do not list selects nothing."""
    for _ in range(2):  # the second render comes from the cached list
        page = copy.deepcopy(REFERENCE_PAGES["postal_address_capture"])
        page["data"]["postal_address"]["country_code"] = country
        document = parse_document(render(page))
        options = document.findall(".//select[@name='country_code']/option")
        assert len(options) > 240
        assert [o.get("value") for o in options if o.get("selected") is not None] == selected
        assert document.find(".//b") is None


@pytest.mark.parametrize(("country", "state"), [("US", "TX"), ("CA", "QC"), ("AU", "NSW")])
def test_state_select_for_countries_that_need_it(ctx, country, state):
    page = copy.deepcopy(REFERENCE_PAGES["postal_address_capture"])
    page["data"]["postal_address"].update(country_code=country, state=state)
    document = parse_document(render(page))
    select = document.find(".//select[@name='state']")
    assert select is not None
    assert [o.get("value") for o in select.findall("option") if o.get("selected") is not None] == [
        state
    ]


def test_no_state_field_elsewhere(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["postal_address_capture"])
    page["data"]["postal_address"]["country_code"] = "GB"
    markup = render(page)
    document = parse_document(markup)
    assert document.find(".//*[@name='state']") is None
    assert "State, province or county" not in markup


def test_money_inputs_use_decimal_keyboard_and_familiar_unit(ctx):
    for route in ("rate_fixed_capture", "rate_tod_capture", "market_surcharge_capture"):
        markup = render(REFERENCE_PAGES[route])
        document = parse_document(markup)
        money = [
            i
            for i in document.iter("input")
            if (i.get("name") or "").startswith(("cost", "surcharge"))
        ]
        assert money and all(i.get("inputmode") == "decimal" for i in money), route
        assert "p/kWh" in markup


def test_tod_page_offers_add_and_remove(ctx):
    document = parse_document(render(REFERENCE_PAGES["rate_tod_capture"]))
    edits = {b.get("value") for b in document.iter("button") if b.get("name") == "edit"}
    assert edits == {"add", "remove_0", "remove_1"}
    assert document.find(".//input[@name='periods']").get("value") == "2"


def test_summary_tou_shows_table_and_chart(ctx):
    markup = render(REFERENCE_PAGES["summary_tou_confirm"])
    document = parse_document(markup)
    table = document.find(".//table")
    assert table.find("caption").text == "Today's prices"
    assert [th.get("scope") for th in table.findall("./thead/tr/th")] == ["col", "col"]
    assert all(th.get("scope") == "row" for th in table.findall("./tbody/tr/th"))
    svg = document.find(".//{http://www.w3.org/2000/svg}svg")
    assert svg.get("role") == "img" and svg.get("aria-labelledby")
    assert "Super Cheap Energy 2008" in markup
    assert "Market price" in markup  # the tariff type, said once (no chip repeating it)
    assert "30.41p/kWh" in markup and "9.12p/kWh" in markup
    assert "June 15, 2026" in markup


@pytest.mark.parametrize(("hour", "now_row"), [(3, 0), (12, 1), (23, 1)])
def test_summary_marks_the_rate_in_force_now(ctx, monkeypatch, hour, now_row):
    # The reference day is 2024-02-01: 00:00-07:00 cheap, 07:00-24:00 dear.
    moment = datetime(2024, 2, 1, hour, 30, tzinfo=UTC)
    monkeypatch.setattr(SummaryAdapter, "now", lambda self: moment)
    document = parse_document(render(REFERENCE_PAGES["summary_tou_confirm"]))
    rows = document.findall(".//table/tbody/tr")
    marked = [i for i, row in enumerate(rows) if "rates-table__row--now" in row.get("class")]
    assert marked == [now_row]
    monkeypatch.setattr(SummaryAdapter, "now", lambda self: moment + timedelta(days=2))
    assert "rates-table__row--now" not in render(REFERENCE_PAGES["summary_tou_confirm"])


def test_summary_fixed_shows_one_big_price_and_tiered_note(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["summary_fixed_confirm"])
    page["data"]["tariff"]["tiered"] = True
    markup = render(page)
    assert re.search(r'price-big__value">24\.5p/kWh<', markup)
    assert "tiered tariff" in markup
    page["data"]["tariff"]["contract_end_date"] = "0001-01-01T00:00:00Z"
    assert "No end date" in render(page)


def test_pending_and_failed_explain_each_action(ctx):
    pending = render(REFERENCE_PAGES["summary_tariff_inprogress"])
    assert "sent us your tariff yet" in pending
    assert "Stops waiting for your provider" in pending
    failed = render(REFERENCE_PAGES["summary_tariff_failed"])
    assert "didn't share your tariff with us" in failed
    assert "skip signing in and enter your tariff another way" in failed


def test_dark_theme_and_brand_logo(ctx):
    app = make_app(BRAND_THEME="dark", BRAND_LOGO_URL="https://partner.example/logo.png")
    with app.test_request_context("/connect/flow"):
        markup = render(REFERENCE_PAGES["tariff_name_capture"])
    document = parse_document(markup)
    assert document.get("data-theme") == "dark"
    logo = document.find(".//img[@class='brand-logo']")
    assert logo.get("src") == "https://partner.example/logo.png"
    assert logo.get("alt") == "Acme Energy Partner"
