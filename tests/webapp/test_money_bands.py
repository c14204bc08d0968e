"""Item 1 of issue 12, the money side: typed numbers are plain digits ("1_000" is refused), and
the plausible band of a price per kWh lives in one place per currency (webapp/money.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.money import (
    DEFAULT_BAND,
    PRICE_BANDS,
    likely_meant,
    parse_decimal,
    price_band,
    rate_unit,
    surcharge_band,
)

pytestmark = pytest.mark.unit  # no process: see tests/README.md


# -- typed numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["1_000", "24_5", "1e3", "2E1", "٣", "NaN", "Infinity", "1.2.3"])
def test_typed_numbers_are_plain_digits(typed):
    assert parse_decimal(typed) is None


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("24.5", "24.5"),
        ("24,5", "24.5"),
        (" 24 ", "24"),
        (".5", "0.5"),
        ("-3", "-3"),
        ("1 000", "1000"),
    ],
)
def test_typed_numbers_accepted(typed, value):
    assert parse_decimal(typed) == Decimal(value)


# -- the bands, in one place ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "plausible", "implausible"),
    [
        ("GBP", ["0.01", "0.245", "0.85", "1.00"], ["24.50", "0.00245", "1.01"]),
        ("EUR", ["0.05", "0.3125", "0.95"], ["31.25", "0.003125", "2.50"]),
        ("USD", ["0.08", "0.1612", "0.45"], ["16.12", "0.001612"]),
        ("SEK", ["0.30", "1.25", "8.00"], ["125", "0.0125"]),
        ("JPY", ["30", "0.5", "9000"], ["0.0005", "50000"]),  # the default band
    ],
)
def test_price_bands(currency, plausible, implausible):
    band = price_band(currency)
    assert all(band.contains(Decimal(v)) for v in plausible)
    assert not any(band.contains(Decimal(v)) for v in implausible)


def test_bands_are_sane():
    assert price_band("xyz") == DEFAULT_BAND == price_band(None)
    assert price_band("gbp") == PRICE_BANDS["GBP"]
    for band in [*PRICE_BANDS.values(), DEFAULT_BAND]:
        assert 0 < band.low < band.high
        assert band.typical is None or band.contains(band.typical)
    fees = surcharge_band("GBP")
    assert fees.low < PRICE_BANDS["GBP"].low and fees.high == PRICE_BANDS["GBP"].high


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("2450", "24.5"), ("245", "24.5"), ("0.245", "24.5"), ("150", "15"), ("0.3", "30")],
)
def test_the_likely_correction_is_the_everyday_price(typed, meant):
    assert likely_meant(Decimal(typed), rate_unit("GBP"), price_band("GBP")) == Decimal(meant)


def test_no_correction_without_a_typical_price():
    assert likely_meant(Decimal("50000"), rate_unit("JPY"), price_band("JPY")) is None
