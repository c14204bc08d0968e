"""Prices, numbers, dates and times for the customer's locale."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from flask import Flask
from flask_babel import Babel

from webapp import formatting, templating

pytestmark = pytest.mark.unit  # no process: see tests/README.md


@pytest.fixture
def locale_ctx():
    """Yields a function that enters a request whose locale is the given tag."""
    app = Flask(__name__)
    chosen = {"locale": "en"}
    Babel(app, locale_selector=lambda: chosen["locale"])
    templating.init_app(app)

    def use(tag: str):
        # Flask-Babel caches the locale per app context: leave the previous one first.
        while stack:
            stack.pop().pop()
        chosen["locale"] = tag
        ctx = app.test_request_context("/")
        ctx.push()
        stack.append(ctx)
        return app

    stack: list = []
    yield use
    for ctx in reversed(stack):
        ctx.pop()


@pytest.mark.parametrize(
    ("locale", "major", "currency", "expected"),
    [
        ("en_GB", 0.245, "GBP", "24.5p/kWh"),
        ("en_GB", 0.3041, "GBP", "30.41p/kWh"),
        ("en_GB", 0.30, "GBP", "30p/kWh"),
        # Each market as its bills write it (webapp/money.py _MARKET_UNITS, with sources).
        ("de_DE", 0.3125, "EUR", "31,25\u00a0ct/kWh"),
        ("de", 0.3125, "EUR", "31,25\u00a0ct/kWh"),
        ("fr_FR", 0.1952, "EUR", "0,1952\u00a0€/kWh"),
        ("fr", 0.1952, "EUR", "0,1952\u00a0€/kWh"),
        ("es_ES", 0.14, "EUR", "0,14\u00a0€/kWh"),
        ("it_IT", 0.1234, "EUR", "0,1234\u00a0€/kWh"),
        ("nl_NL", 0.2512, "EUR", "0,2512\u00a0€/kWh"),
        # Euros in a market without its own way (Ireland, or English with no region): cents.
        ("en_IE", 0.3125, "EUR", "31.25c/kWh"),
        ("en", 0.3125, "EUR", "31.25c/kWh"),
        ("en_US", 0.1612, "USD", "16.12¢/kWh"),
        ("sv_SE", 1.25, "SEK", "125\u00a0öre/kWh"),
        ("en_GB", 12.5, "JPY", "12.5\u00a0JPY/kWh"),
        ("en_GB", None, "GBP", "\u2013"),
    ],
)
def test_rate_in_familiar_unit(locale_ctx, locale, major, currency, expected):
    locale_ctx(locale)
    assert formatting.format_rate(major, currency) == expected


def test_rate_without_unit_and_grouping(locale_ctx):
    locale_ctx("de_DE")
    assert formatting.format_rate(0.245, "EUR", with_unit=False) == "24,5"
    assert formatting.format_number(1234.5) == "1.234,5"


def test_money_and_percent(locale_ctx):
    locale_ctx("en_GB")
    assert formatting.format_money(12.5, "GBP") == "£12.50"
    assert formatting.format_percent(18.5) == "18.5%"
    locale_ctx("de_DE")
    assert formatting.format_money(12.5, "EUR") == "12,50\u00a0€"


def test_dates(locale_ctx):
    locale_ctx("en_GB")
    assert formatting.format_date("2026-06-15T00:00:00Z") == "15 June 2026"
    assert formatting.format_date("2026-06-15T00:00:00.000Z") == "15 June 2026"
    assert formatting.format_date("not a date") == ""
    locale_ctx("de_DE")
    assert formatting.format_date("2026-06-15T00:00:00Z") == "15. Juni 2026"


def test_times_stay_in_the_locations_offset(locale_ctx):
    locale_ctx("en_GB")
    paris = timezone(timedelta(hours=2))
    assert formatting.format_time_of_day(datetime(2024, 6, 1, 7, 0, tzinfo=paris)) == "07:00"
    assert formatting.format_time_of_day("2024-06-01T23:30:00-05:00") == "23:30"
    assert formatting.format_time_of_day(time(6, 15)) == "06:15"
    assert (
        formatting.format_time_range("2024-06-01T07:00:00+02:00", "2024-06-02T00:00:00+02:00")
        == "07:00 to midnight"
    )


def test_html_lang_and_country_name(locale_ctx):
    locale_ctx("en_GB")
    assert formatting.html_lang() == "en-GB"
    assert formatting.country_name("gb") == "United Kingdom"
    locale_ctx("de")
    assert formatting.html_lang() == "de"
    assert formatting.country_name("DE") == "Deutschland"
    assert formatting.country_name("Q1") == "Q1"


def test_filters_are_registered(locale_ctx):
    app = locale_ctx("en_GB")
    rendered = app.jinja_env.from_string(
        "{{ 0.245 | rate('GBP') }} {{ '2026-06-15T00:00:00Z' | date }} {{ html_lang() }}"
    ).render()
    assert rendered == "24.5p/kWh 15 June 2026 en-GB"


def test_works_outside_a_request():
    assert formatting.format_rate(0.245, "GBP") == "24.5p/kWh"


def test_forms_ask_in_the_markets_unit(locale_ctx):
    """The unit a form asks for is the one its page shows: a French customer types euros."""
    locale_ctx("fr_FR")
    unit = formatting.rate_unit("EUR")
    assert (unit.symbol, unit.factor, unit.is_minor) == ("€", 1, False)
    locale_ctx("de_DE")
    assert (formatting.rate_unit("EUR").symbol, formatting.rate_unit("EUR").factor) == ("ct", 100)
    locale_ctx("en_GB")
    assert formatting.rate_unit("GBP").per_kwh == "p/kWh"


def test_english_variants_write_dates_and_times_their_own_way(locale_ctx):
    locale_ctx("en_US")
    assert formatting.format_date("2026-06-15T00:00:00Z") == "June 15, 2026"
    assert formatting.format_time_of_day(time(19, 30)) == "7:30\u202fPM"
    assert formatting.html_lang() == "en-US"
    locale_ctx("en_GB")
    assert formatting.format_time_of_day(time(19, 30)) == "19:30"
    for tag in ("de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL"):
        locale_ctx(tag)
        assert formatting.format_time_of_day(time(19, 30)) == "19:30", tag
        assert formatting.format_number(1234.5) in ("1.234,5", "1\u202f234,5"), tag
