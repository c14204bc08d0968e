"""Prices on the summary (issue 12, item 3): one number of decimals per page, a price written
without its "/kWh" for sentences that say "a kWh", and the cheapest spell of a day as the
summary's first line names it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from tests.webapp.pages_harness import make_app
from webapp.charts import cheapest_windows, rate_rows
from webapp.formatting import format_display_price, format_display_rate, price_places
from webapp.money import rate_unit

pytestmark = pytest.mark.unit  # no process: see tests/README.md

GBP = rate_unit("GBP")


def period(start: str, end: str, cost: float) -> dict[str, Any]:
    return {"valid_from": start, "valid_to": end, "tariff": {"cost": cost, "confidence": 1}}


@pytest.fixture(scope="module")
def harness() -> Flask:
    return make_app()


# -- formatting: one number of decimals per page ---------------------------------------------


@pytest.mark.parametrize(
    ("values", "unit", "expected"),
    [
        ([Decimal("8.5"), Decimal("28.7")], GBP, 1),
        ([Decimal("9.12"), Decimal("30"), None], GBP, 2),
        ([Decimal("23.456"), Decimal("8.5")], GBP, 2),  # pence: at most two places
        ([Decimal("30"), Decimal("9")], GBP, 0),
        ([Decimal("0.24567"), Decimal("1")], rate_unit("JPY"), 4),  # major units: four
        ([], GBP, 0),
    ],
)
def test_price_places_is_the_most_any_price_needs_up_to_a_cap(values, unit, expected):
    assert price_places(values, unit) == expected


def test_prices_with_the_pages_places(harness):
    with harness.test_request_context("/"):
        assert format_display_rate(Decimal("8.5"), GBP, places=2) == "8.50p/kWh"
        assert format_display_rate(Decimal("23.456"), GBP, places=2) == "23.46p/kWh"
        assert format_display_rate(Decimal("30"), GBP, places=0) == "30p/kWh"
        assert format_display_price(Decimal("8.5"), GBP, 1) == "8.5p"
        assert format_display_price(Decimal("125"), rate_unit("SEK"), 0) == "125\u00a0öre"
        # Without places, as before: as many decimals as the price has.
        assert format_display_rate(Decimal("24.5"), GBP) == "24.5p/kWh"


# -- the cheapest window --------------------------------------------------------------------


def test_cheapest_window_joins_the_night_across_midnight():
    rows = rate_rows(
        [
            period("2024-02-01T00:00:00Z", "2024-02-01T06:00:00Z", 0.085),
            period("2024-02-01T06:00:00Z", "2024-02-01T23:00:00Z", 0.287),
            period("2024-02-01T23:00:00Z", "2024-02-02T00:00:00Z", 0.085),
        ],
        GBP,
    )
    assert [(start.hour, end.hour) for start, end in cheapest_windows(rows)] == [(23, 6)]


def test_cheapest_windows_keep_separate_cheap_spells_apart():
    rows = rate_rows(
        [
            period("2024-02-01T00:00:00Z", "2024-02-01T04:00:00Z", 0.10),
            period("2024-02-01T04:00:00Z", "2024-02-01T06:00:00Z", 0.10),
            period("2024-02-01T06:00:00Z", "2024-02-01T13:00:00Z", 0.30),
            period("2024-02-01T13:00:00Z", "2024-02-01T15:00:00Z", 0.10),
            period("2024-02-01T15:00:00Z", "2024-02-02T00:00:00Z", 0.30),
        ],
        GBP,
    )
    windows = [(start.hour, end.hour) for start, end in cheapest_windows(rows)]
    assert windows == [(0, 6), (13, 15)]
    assert cheapest_windows([]) == []
