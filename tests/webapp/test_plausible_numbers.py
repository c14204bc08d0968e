"""Item 1 of issue 12: implausible numbers get a soft check the customer can confirm, and typed
numbers are plain digits ("1_000" is refused). Bands: webapp/money.py; checks: pages/rates.py."""

from __future__ import annotations

import copy

import pytest

from tests.webapp.pages_harness import REFERENCE_PAGES, make_app, parse_document, render
from webapp.page import Page
from webapp.pages import Rerender, Submit, adapter_for

pytestmark = pytest.mark.unit  # no process: see tests/README.md


@pytest.fixture(autouse=True)
def ctx():
    with make_app().test_request_context("/connect/flow", method="POST"):
        yield


def parse(route, form, page=None):
    return adapter_for(route).parse(Page.from_connect(page or REFERENCE_PAGES[route]), form)


def page_in(route: str, currency: str):
    page = copy.deepcopy(REFERENCE_PAGES[route])
    page["data"]["currency_code"] = currency
    return page


# -- typed numbers on a page ------------------------------------------------------------------


def test_underscored_price_is_refused_with_a_clear_message():
    result = parse("rate_fixed_capture", {"cost": "1_000"})
    assert isinstance(result, Rerender)
    assert result.errors["cost"] == "Enter the price as a number, for example 24.5."
    assert result.values["cost"] == "1_000"


# -- the soft check on each page ----------------------------------------------------------------


def test_fixed_price_outside_the_band_asks_and_keeps_the_value():
    result = parse("rate_fixed_capture", {"cost": "2450"})
    assert isinstance(result, Rerender)
    assert result.values == {"cost": "2450"}
    assert result.errors["cost"] == (
        "That's £24.50 per kWh. Did you mean 24.5p? If £24.50 is right, confirm it below."
    )


def test_fixed_price_confirmed_goes_through():
    assert parse("rate_fixed_capture", {"cost": "2450", "confirm_cost": "2450"}) == Submit(
        data={"cost": 24.5}
    )


def test_a_confirmation_is_for_the_value_it_was_given():
    result = parse("rate_fixed_capture", {"cost": "3000", "confirm_cost": "2450"})
    assert isinstance(result, Rerender) and "£30.00" in result.errors["cost"]


def test_plausible_prices_need_no_confirmation():
    assert parse("rate_fixed_capture", {"cost": "24.5"}) == Submit(data={"cost": 0.245})
    us = page_in("rate_fixed_capture", "USD")
    assert parse("rate_fixed_capture", {"cost": "16.12"}, us) == Submit(data={"cost": 0.1612})


def test_tiny_price_suggests_the_unit_slip():
    result = parse("rate_fixed_capture", {"cost": "0.245"})
    assert result.errors["cost"].startswith("That's 0.245p per kWh. Did you mean 24.5p?")
    euro = parse("rate_fixed_capture", {"cost": "3125"}, page_in("rate_fixed_capture", "EUR"))
    assert "Did you mean 31.25c?" in euro.errors["cost"]


def test_without_a_likely_correction_the_check_says_why():
    result = parse("rate_fixed_capture", {"cost": "99000"}, page_in("rate_fixed_capture", "JPY"))
    assert isinstance(result, Rerender)
    assert "more than electricity usually costs" in result.errors["cost"]


def test_fixed_page_renders_the_check_with_its_confirm_box():
    page = REFERENCE_PAGES["rate_fixed_capture"]
    result = parse("rate_fixed_capture", {"cost": "2450"})
    document = parse_document(render(page, values=result.values, errors=result.errors))
    box = document.find(".//input[@name='confirm_cost']")
    assert box is not None and box.get("type") == "checkbox" and box.get("value") == "2450"
    assert box.get("checked") is None
    label = document.find(f".//label[@for='{box.get('id')}']")
    assert "".join(label.itertext()).strip() == "Yes, £24.50 per kWh is right"
    # The message sits next to the field, linked, and in the error summary.
    field = document.find(".//input[@name='cost']")
    assert field.get("value") == "2450" and "f-cost-error" in field.get("aria-describedby")
    assert "Did you mean 24.5p?" in "".join(document.find(".//*[@id='error-summary']").itertext())
    # Nothing to confirm on a clean page.
    clean = parse_document(render(page))
    assert clean.find(".//input[@name='confirm_cost']") is None


def test_a_confirmed_value_stays_ticked_when_the_page_comes_back_for_another_reason():
    page = REFERENCE_PAGES["rate_fixed_capture"]
    values = {"cost": "2450", "confirm_cost": "2450"}
    document = parse_document(render(page, values=values, errors={"_form": "Try again."}))
    box = document.find(".//input[@name='confirm_cost']")
    assert box is not None and box.get("checked") is not None


def test_tod_price_check_sits_on_its_period_and_confirms_per_period():
    form = {
        "periods": "2",
        "from_0": "07:00", "to_0": "23:00", "cost_0": "3010",
        "from_1": "23:00", "to_1": "07:00", "cost_1": "9.5",
    }  # fmt: skip
    result = parse("rate_tod_capture", form)
    assert isinstance(result, Rerender)
    assert set(result.errors) == {"cost_0"}
    assert "Did you mean 30.1p?" in result.errors["cost_0"]
    document = parse_document(
        render(REFERENCE_PAGES["rate_tod_capture"], values=result.values, errors=result.errors)
    )
    assert document.find(".//input[@name='confirm_cost_0']") is not None
    assert document.find(".//input[@name='confirm_cost_1']") is None
    confirmed = parse("rate_tod_capture", {**form, "confirm_cost_0": "3010"})
    assert isinstance(confirmed, Submit)
    assert confirmed.data["hours"][0]["cost"] == 30.1


def test_surcharge_checks_fixed_charge_and_percentage():
    form = {"surcharge_fixed": "250", "surcharge_percentage": "500", "region": "GB-B"}
    result = parse("market_surcharge_capture", form)
    assert isinstance(result, Rerender)
    assert "Did you mean 2.5p?" in result.errors["surcharge_fixed"]
    assert result.errors["surcharge_percentage"].startswith("That adds 500% to the market price")
    document = parse_document(
        render(
            REFERENCE_PAGES["market_surcharge_capture"],
            values=result.values,
            errors=result.errors,
        )
    )
    for name in ("confirm_surcharge_fixed", "confirm_surcharge_percentage"):
        assert document.find(f".//input[@name='{name}']") is not None, name
    confirmed = parse(
        "market_surcharge_capture",
        {**form, "confirm_surcharge_fixed": "250", "confirm_surcharge_percentage": "500"},
    )
    assert confirmed == Submit(
        data={"surcharge": {"fixed": 2.5, "percentage": 500.0}, "region": "GB-B"}
    )
    # Blank and ordinary charges pass untouched; a percentage past 1000 is still refused.
    assert isinstance(
        parse("market_surcharge_capture", {"surcharge_fixed": "2", "region": "GB-B"}), Submit
    )
    over = parse(
        "market_surcharge_capture",
        {"surcharge_percentage": "5000", "confirm_surcharge_percentage": "5000", "region": "GB-B"},
    )
    assert isinstance(over, Rerender) and "surcharge_percentage" in over.errors
