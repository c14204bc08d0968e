"""Every Connect error code (docs/protocol.md §6.3) shows next to its field, with what the
customer typed kept: adapter (field_for_error, message_for_error) and template together."""

from __future__ import annotations

import copy

import pytest

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.page import Page
from webapp.pages import FORM_ERROR, Rerender, Submit, adapter_for

pytestmark = pytest.mark.unit  # no process: see tests/README.md

# What a customer might have typed on each page when Connect answered with an error.
TYPED = {
    "postal_address_capture": {
        "address_line1": "1 Test Street",
        "address_line2": "Flat 2",
        "city": "London",
        "state": "",
        "post_code": "XX0 0XX",
        "country_code": "GB",
    },
    "provider_name_capture": {"provider_name": "Acme Power"},
    "rate_fixed_capture": {"cost": "24,5"},
    "rate_tod_capture": {
        "periods": "2",
        "from_0": "07:00",
        "to_0": "23:00",
        "cost_0": "30.1",
        "from_1": "23:00",
        "to_1": "07:00",
        "cost_1": "9.5",
    },
    "market_surcharge_capture": {
        "surcharge_fixed": "2.5",
        "surcharge_percentage": "5",
        "region": "GB-B",
    },
    "tariff_name_capture": {"tariff_name": "My Special Tariff"},
    "contract_term_capture": {"term": "date", "contract_end_date": "2099-06-30"},
}

# (route, code, field) for every code of docs/protocol.md §6.3 per page, plus the cross-page ones.
CASES = [
    ("postal_address_capture", "address_line1_missing", "address_line1"),
    ("postal_address_capture", "city_missing", "city"),
    ("postal_address_capture", "post_code_missing", "post_code"),
    ("postal_address_capture", "country_code_missing", "country_code"),
    ("postal_address_capture", "country_code_invalid", "country_code"),
    ("postal_address_capture", "timezone_not_found", "city"),
    ("postal_address_capture", "geo_location_not_found", "city"),
    ("provider_select", "provider_id_missing", FORM_ERROR),
    ("provider_select", "provider_not_found", FORM_ERROR),
    ("provider_select", "provider_id_invalid", FORM_ERROR),
    ("provider_name_capture", "provider_name_missing", "provider_name"),
    ("tariff_select", "tariff_id_missing", FORM_ERROR),
    ("tariff_select", "tariff_not_found", FORM_ERROR),
    ("tariff_select", "tariff_id_invalid", FORM_ERROR),
    ("tariff_structure_select", "option_invalid", FORM_ERROR),
    ("tariff_structure_select", "option_not_supported", FORM_ERROR),
    ("rate_fixed_capture", "cost_value_zero", "cost"),
    ("rate_fixed_capture", "cost_value_negative", "cost"),
    ("rate_tod_capture", "cost_value_zero", "periods"),
    ("rate_tod_capture", "cost_value_negative", "periods"),
    ("rate_tod_capture", "valid_from_invalid", "periods"),
    ("rate_tod_capture", "valid_to_invalid", "periods"),
    ("rate_tod_capture", "gap_in_time_period", "periods"),
    ("rate_tod_capture", "incomplete_time_period", "periods"),
    ("market_surcharge_capture", "surcharge_percentage_invalid", "surcharge_percentage"),
    ("market_surcharge_capture", "geo_location_not_found", FORM_ERROR),
    ("market_surcharge_capture", "market_region_invalid", "region"),
    ("tariff_name_capture", "tariff_name_missing", "tariff_name"),
    ("contract_term_capture", "date_format_invalid", "contract_end_date"),
    ("summary_fixed_confirm", "action_missing", FORM_ERROR),
    ("summary_fixed_confirm", "action_invalid", FORM_ERROR),
    ("summary_tou_confirm", "action_missing", FORM_ERROR),
    ("summary_tou_confirm", "action_invalid", FORM_ERROR),
    ("summary_tariff_inprogress", "action_invalid", FORM_ERROR),
    ("summary_tariff_failed", "action_missing", FORM_ERROR),
    *[
        (route, "data_json_invalid", FORM_ERROR)
        for route in REFERENCE_PAGES
        if adapter_for(route) is not None
    ],
]

UPSTREAM_MESSAGE = "Upstream said no (XX)."


@pytest.fixture(scope="module")
def app():
    return make_app()


@pytest.fixture
def ctx(app):
    with app.test_request_context("/connect/flow", method="POST"):
        yield


@pytest.mark.parametrize(("route", "code", "field"), CASES)
def test_connect_error_shows_next_to_its_field(ctx, route, code, field):
    adapter = adapter_for(route)
    page = REFERENCE_PAGES[route]
    typed = TYPED.get(route, {})
    assert adapter.field_for_error(code) == field
    message = adapter.message_for_error(code, UPSTREAM_MESSAGE)
    assert message

    document = parse_document(render(page, values=typed, errors={field: message}))

    summary = document.find(".//*[@id='error-summary']")
    assert summary is not None and summary.get("role") == "alert"
    summary_text = "".join(summary.itertext())
    assert message in summary_text

    if field != FORM_ERROR:
        error = document.find(f".//*[@id='f-{field}-error']")
        assert error is not None, f"no inline error for {field}"
        assert message in "".join(error.itertext())
        link = summary.find(f".//a[@href='#f-{field}']")
        assert link is not None
        described = document.find(f".//*[@id='f-{field}']")
        assert described is not None
        assert f"f-{field}-error" in (described.get("aria-describedby") or "")
        if described.tag in {"input", "select"}:
            assert described.get("aria-invalid") == "true"

    # The customer's typing survives the round trip.
    for name, value in typed.items():
        if name in {"periods", "term"} or not value:
            continue
        element = document.find(f".//*[@name='{name}']")
        if element.tag == "select":
            chosen = [
                o.get("value") for o in element.findall("option") if o.get("selected") is not None
            ]
            assert chosen == [value], name
        else:
            assert element.get("value") == value, name


def test_known_codes_get_our_copy_and_unknown_codes_our_general_message():
    adapter = adapter_for("postal_address_capture")
    assert adapter.message_for_error("city_missing", "x") == "Enter your town or city."
    general = "Something went wrong on this step. Check your answers and try again."
    # Never Connect's text, known code or not.
    assert adapter.message_for_error("some_new_code", "Connect's words.") == general
    assert adapter.message_for_error("some_new_code", "") == general
    # Connect's gap message names the times: ours says them in the locale's format.
    tod = adapter_for("rate_tod_capture")
    gap = "Gap between 07:00:00 and 08:00:00 is found in the time period."
    assert tod.message_for_error("gap_in_time_period", gap) == (
        "There's a gap from 7:00\u202fAM to 8:00\u202fAM. Together the periods must cover all "
        "24 hours."
    )


# -- our own checks give our messages too, on the same fields, with values kept -------------

LOCAL_CASES = [
    (
        "postal_address_capture",
        {**TYPED["postal_address_capture"], "city": ""},
        "city",
        "Enter your town or city.",
    ),
    (
        "postal_address_capture",
        {**TYPED["postal_address_capture"], "country_code": "XQ"},
        "country_code",
        "Choose your country from the list.",
    ),
    (
        "postal_address_capture",
        {**TYPED["postal_address_capture"], "country_code": "US"},
        "state",
        "Choose your state.",
    ),
    (
        "provider_name_capture",
        {"provider_name": "  "},
        "provider_name",
        "Enter the name of your provider.",
    ),
    ("rate_fixed_capture", {"cost": "0"}, "cost", "The price can't be zero."),
    ("rate_fixed_capture", {"cost": "-3"}, "cost", "The price can't be negative."),
    (
        "rate_fixed_capture",
        {"cost": "abc"},
        "cost",
        "Enter the price as a number, for example 24.5.",
    ),
    (
        "rate_tod_capture",
        {**TYPED["rate_tod_capture"], "to_0": "22:00"},
        "to_0",
        "There's a gap from 10:00\u202fPM to 11:00\u202fPM. End this period at 11:00\u202fPM",
    ),
    (
        "rate_tod_capture",
        {**TYPED["rate_tod_capture"], "cost_1": "0"},
        "cost_1",
        "The price can't be zero.",
    ),
    (
        "market_surcharge_capture",
        {**TYPED["market_surcharge_capture"], "surcharge_percentage": "-1"},
        "surcharge_percentage",
        "The percentage can't be negative.",
    ),
    (
        "market_surcharge_capture",
        {**TYPED["market_surcharge_capture"], "region": "XX"},
        "region",
        "Choose your region from the list.",
    ),
    ("tariff_name_capture", {"tariff_name": ""}, "tariff_name", "Enter your tariff's name."),
    (
        "contract_term_capture",
        {"term": "date", "contract_end_date": "30/06/2026"},
        "contract_end_date",
        "Enter a real date as year-month-day, for example",
    ),
]


@pytest.mark.parametrize(("route", "form", "field", "message"), LOCAL_CASES)
def test_local_checks_use_our_messages_inline(ctx, route, form, field, message):
    adapter = adapter_for(route)
    page = REFERENCE_PAGES[route]
    result = adapter.parse(Page.from_connect(page), form)
    assert isinstance(result, Rerender)
    assert message in result.errors[field]
    document = parse_document(render(page, values=result.values, errors=result.errors))
    error = document.find(f".//*[@id='f-{field}-error']")
    assert error is not None and message in "".join(error.itertext())
    for name, value in form.items():
        element = document.find(f".//input[@name='{name}']")
        if element is not None and element.get("type") not in {"hidden", "radio"}:
            assert element.get("value") == value.strip(), name


def test_action_pages_reject_actions_not_offered(ctx):
    adapter = adapter_for("summary_tariff_failed")
    page = REFERENCE_PAGES["summary_tariff_failed"]
    typed = Page.from_connect(page)
    assert adapter.parse(typed, {"action": "RECONNECT"}) == Submit(action="RECONNECT")
    result = adapter.parse(typed, {"action": "SAVE"})
    assert isinstance(result, Rerender) and FORM_ERROR in result.errors
    markup = render(page, errors=result.errors)
    assert "Choose one of the options on this page." in markup


def test_stale_region_choice_is_kept_when_regions_change(ctx):
    page = copy.deepcopy(REFERENCE_PAGES["market_surcharge_capture"])
    page["data"]["regions"] = ["GB-C"]
    adapter = adapter_for("market_surcharge_capture")
    result = adapter.parse(Page.from_connect(page), TYPED["market_surcharge_capture"])
    assert isinstance(result, Rerender)
    assert result.errors["region"] == "Choose your region from the list."
