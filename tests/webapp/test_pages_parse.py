"""Adapter parsing: what Connect receives for what the customer typed."""

from __future__ import annotations

import copy

import pytest

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app
from webapp.page import Page
from webapp.pages import Rerender, Submit, adapter_for
from webapp.pages.rate_tod_capture import RateTodCapture, coverage_problem, parse_time

pytestmark = pytest.mark.unit  # no process: see tests/README.md


@pytest.fixture(autouse=True)
def ctx():
    with make_app().test_request_context("/connect/flow", method="POST"):
        yield


def parse(route, form, page=None):
    return adapter_for(route).parse(Page.from_connect(page or REFERENCE_PAGES[route]), form)


def test_address_is_normalised_and_empty_fields_left_out():
    result = parse(
        "postal_address_capture",
        {
            "address_line1": "  1   Test Street ",
            "address_line2": "",
            "city": "London",
            "state": "",
            "post_code": "SW1A 1AA",
            "country_code": "gb",
            "csrf_token": "x",
            "route": "postal_address_capture",
        },
    )
    assert result == Submit(
        data={
            "postal_address": {
                "address_line1": "1 Test Street",
                "city": "London",
                "post_code": "SW1A 1AA",
                "country_code": "GB",
            }
        }
    )


def test_us_address_needs_a_listed_state():
    form = {
        "address_line1": "1 Test Street",
        "city": "Austin",
        "post_code": "78701",
        "country_code": "US",
        "state": "TX",
    }
    assert parse("postal_address_capture", form).data["postal_address"]["state"] == "TX"
    result = parse("postal_address_capture", {**form, "state": "Texas"})
    assert isinstance(result, Rerender) and "state" in result.errors


def test_country_refresh_rerenders_without_errors():
    result = parse("postal_address_capture", {"country_code": "au", "edit": "country"})
    assert result == Rerender(values={**result.values, "country_code": "AU"}, errors={})


def test_provider_and_tariff_choices():
    assert parse("provider_select", {"provider_id": "prv_0000000000000000000000a1"}) == Submit(
        data={"provider": {"id": "prv_0000000000000000000000a1"}}
    )
    assert parse("provider_select", {"action": "PROVIDER_MISSING"}) == Submit(
        action="PROVIDER_MISSING"
    )
    assert parse("tariff_select", {"tariff_id": "trt_000000000000000000000001"}) == Submit(
        data={"tariff": {"id": "trt_000000000000000000000001"}}
    )
    assert parse("tariff_select", {"action": "TARIFF_MISSING"}) == Submit(action="TARIFF_MISSING")
    bogus = parse("provider_select", {"provider_id": "<script>"})
    assert isinstance(bogus, Rerender)


def test_structure_option_must_be_offered():
    assert parse("tariff_structure_select", {"option": "MARKET"}) == Submit(
        data={"options": ["MARKET"]}
    )
    assert isinstance(parse("tariff_structure_select", {"option": "ADVANCED"}), Rerender)


@pytest.mark.parametrize(
    ("currency", "typed", "sent"),
    [("GBP", "24.5", 0.245), ("GBP", "24,5", 0.245), ("EUR", "31.25", 0.3125), ("JPY", "30", 30)],
)
def test_fixed_rate_is_typed_in_minor_units_and_sent_in_major(currency, typed, sent):
    page = copy.deepcopy(REFERENCE_PAGES["rate_fixed_capture"])
    page["data"]["currency_code"] = currency
    assert parse("rate_fixed_capture", {"cost": typed}, page) == Submit(data={"cost": sent})


def test_fixed_rate_prefills_from_connect_in_familiar_unit():
    page = copy.deepcopy(REFERENCE_PAGES["rate_fixed_capture"])
    page["data"]["cost"] = 0.245
    assert (
        adapter_for("rate_fixed_capture").context(Page.from_connect(page))["values"]["cost"]
        == "24.5"
    )
    page["data"]["cost"] = 0
    assert (
        adapter_for("rate_fixed_capture").context(Page.from_connect(page))["values"]["cost"] == ""
    )


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("07:00", 420),
        ("7:00", 420),
        ("0700", 420),
        ("7", 420),
        ("23:30:00", 1410),
        ("24:00", 0),
        # 12-hour forms, as our examples read in an "en" locale, for a browser with a text box.
        ("7pm", 1140),
        ("7:30 PM", 1170),
        ("3:00\u202fPM", 900),
        ("12am", 0),
        ("12:00 p.m.", 720),
    ],
)
def test_parse_time(typed, minutes):
    assert parse_time(typed) == minutes


@pytest.mark.parametrize("typed", ["", "25:00", "13pm", "0am", "12:60", "abc"])
def test_parse_time_rejects(typed):
    assert parse_time(typed) is None


def test_tod_coverage():
    assert coverage_problem([(420, 1380), (1380, 420)]) is None
    assert coverage_problem([(0, 0)]) is None
    gap = coverage_problem([(420, 1320), (1380, 420)])
    assert (gap.code, gap.start, gap.end) == ("gap_in_time_period", 1320, 1380)
    overlap = coverage_problem([(420, 1380), (1320, 420)])
    assert (overlap.code, overlap.start, overlap.end) == ("overlap", 1320, 1380)
    wrap_gap = coverage_problem([(60, 1380)])
    assert (wrap_gap.code, wrap_gap.start, wrap_gap.end) == ("gap_in_time_period", 1380, 60)
    assert coverage_problem([]).code == "incomplete_time_period"
    assert coverage_problem([(0, 0), (60, 120)]).code == "overlap"


def test_tod_submits_periods_in_major_units_and_seconds():
    form = {
        "periods": "2",
        "from_0": "07:00",
        "to_0": "00:00",
        "cost_0": "30.1",
        "from_1": "00:00",
        "to_1": "07:00",
        "cost_1": "9.5",
    }
    assert parse("rate_tod_capture", form) == Submit(
        data={
            "hours": [
                {"valid_from": "07:00:00", "valid_to": "00:00:00", "cost": 0.301},
                {"valid_from": "00:00:00", "valid_to": "07:00:00", "cost": 0.095},
            ]
        }
    )


def test_tod_overlap_is_refused_with_times():
    form = {
        "periods": "2",
        "from_0": "07:00",
        "to_0": "23:00",
        "cost_0": "30",
        "from_1": "22:00",
        "to_1": "07:00",
        "cost_1": "9",
    }
    result = parse("rate_tod_capture", form)
    assert isinstance(result, Rerender)
    # On the period that starts inside the other, in the locale's time format ("en": 12-hour).
    assert result.errors == {
        "from_1": "This period overlaps another from 10:00\u202fPM to 11:00\u202fPM. Each time "
        "of day must be in one period only."
    }


def test_tod_add_and_remove_keep_the_day_covered():
    start = {
        "periods": "2",
        "from_0": "07:00",
        "to_0": "23:00",
        "cost_0": "30",
        "from_1": "23:00",
        "to_1": "07:00",
        "cost_1": "9",
    }
    added = parse("rate_tod_capture", {**start, "edit": "add"})
    assert isinstance(added, Rerender) and not added.errors
    periods = RateTodCapture.periods_from_form(added.values)
    assert [(p["from"], p["to"]) for p in periods] == [
        ("07:00", "23:00"),
        ("23:00", "03:00"),
        ("03:00", "07:00"),
    ]
    assert periods[0]["cost"] == "30" and periods[2]["cost"] == ""
    spans = [(parse_time(p["from"]), parse_time(p["to"])) for p in periods]
    assert coverage_problem(spans) is None

    removed = parse("rate_tod_capture", {**added.values, "edit": "remove_1"})
    periods = RateTodCapture.periods_from_form(removed.values)
    assert [(p["from"], p["to"]) for p in periods] == [("07:00", "03:00"), ("03:00", "07:00")]
    spans = [(parse_time(p["from"]), parse_time(p["to"])) for p in periods]
    assert coverage_problem(spans) is None

    removed_first = parse("rate_tod_capture", {**start, "edit": "remove_0"})
    periods = RateTodCapture.periods_from_form(removed_first.values)
    assert [(p["from"], p["to"]) for p in periods] == [("23:00", "23:00")]
    # The last period cannot be removed.
    single = parse("rate_tod_capture", {**removed_first.values, "edit": "remove_0"})
    assert RateTodCapture.periods_from_form(single.values) == periods


def test_tod_prefills_from_connect_hours():
    page = copy.deepcopy(REFERENCE_PAGES["rate_tod_capture"])
    context = adapter_for("rate_tod_capture").context(Page.from_connect(page))
    assert len(context["periods"]) == 2  # Connect's blank 00:00-00:00 becomes day and night
    page["data"]["hours"] = [
        {"valid_from": "00:00:00", "valid_to": "08:00:00", "cost": 0.1},
        {"valid_from": "08:00:00", "valid_to": "00:00:00", "cost": 0.3},
    ]
    context = adapter_for("rate_tod_capture").context(Page.from_connect(page))
    assert context["values"]["cost_0"] == "10" and context["values"]["to_1"] == "00:00"


def test_surcharge_skip_and_region():
    page = REFERENCE_PAGES["market_surcharge_capture"]
    assert parse("market_surcharge_capture", {"skip": "1", "region": "GB-A"}) == Submit(
        data={"surcharge": {"fixed": 0.0, "percentage": 0.0}, "region": "GB-A"}
    )
    result = parse(
        "market_surcharge_capture",
        {"surcharge_fixed": "2.5", "surcharge_percentage": "18.5", "region": "GB-B"},
        page,
    )
    assert result == Submit(
        data={"surcharge": {"fixed": 0.025, "percentage": 18.5}, "region": "GB-B"}
    )
    no_region = copy.deepcopy(page)
    del no_region["data"]["regions"]
    assert parse("market_surcharge_capture", {"skip": "1"}, no_region) == Submit(
        data={"surcharge": {"fixed": 0.0, "percentage": 0.0}}
    )
    region_only = copy.deepcopy(page)
    region_only["route"] = "region_select"
    assert parse("region_select", {"region": "GB-A"}, region_only) == Submit(
        data={"region": "GB-A"}
    )


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            {"term": "date", "contract_end_date": "2099-06-30"},
            {"contract_end_date": "2099-06-30T00:00:00Z"},
        ),
        (
            {"term": "", "contract_end_date": "2099-6-3"},
            {"contract_end_date": "2099-06-03T00:00:00Z"},
        ),
        ({"term": "none", "contract_end_date": ""}, {"contract_end_date": "0001-01-01T00:00:00Z"}),
        ({"term": "unknown"}, None),
    ],
)
def test_contract_term(form, expected):
    assert parse("contract_term_capture", form) == Submit(data=expected)


@pytest.mark.parametrize("typed", ["2026-02-30", "30/06/2026", "tomorrow", "1999-01-01"])
def test_contract_date_must_be_real(typed):
    result = parse("contract_term_capture", {"term": "date", "contract_end_date": typed})
    assert isinstance(result, Rerender) and "contract_end_date" in result.errors


def test_contract_prefill_from_connect():
    page = copy.deepcopy(REFERENCE_PAGES["contract_term_capture"])
    page["data"]["contract_end_date"] = "2026-06-15T00:00:00.000Z"
    values = adapter_for("contract_term_capture").context(Page.from_connect(page))["values"]
    assert values == {"term": "date", "contract_end_date": "2026-06-15"}
    page["data"]["contract_end_date"] = "0001-01-01T00:00:00Z"
    assert (
        adapter_for("contract_term_capture").context(Page.from_connect(page))["values"]["term"]
        == "none"
    )


def test_names_are_trimmed_and_required():
    assert parse("tariff_name_capture", {"tariff_name": "  Fixed   Saver "}) == Submit(
        data={"tariff": {"name": "Fixed Saver"}}
    )
    assert parse("provider_name_capture", {"provider_name": "Acme"}) == Submit(
        data={"provider": {"name": "Acme"}}
    )
