"""Numbers, prices, dates and times for the customer's locale (Babel), as Jinja filters.

Templates never format by hand: ``{{ cost | rate(currency) }}`` shows 0.245 GBP as "24.5p/kWh"
(webapp/money.py picks the familiar unit), and ``{{ start | time_of_day }}`` shows a rate's time
in the offset Connect gave it (the location's), not the server's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask_babel import get_locale

from webapp import money
from webapp.i18n import gettext as _
from webapp.money import RateUnit, finite_decimal, to_display

# Symbols written straight after the number ("24.5p"); longer ones get a space ("24,5 öre").
_TIGHT_SYMBOLS = {"p", "c", "¢"}
# Shown for a missing value: an en dash, which screen readers skip rather than read as "minus".
MISSING = "\u2013"
# An ISO 4217 code; anything else from upstream is not a currency Babel should be asked about.
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def current_locale() -> Locale:
    try:
        return get_locale() or Locale("en")
    except (RuntimeError, AttributeError):  # no request or no Babel: tests of pieces alone
        return Locale("en")


# Where a language without a region is spoken as a market, for the unit of a price: "de" is
# read as Germany's "ct/kWh", "fr" as France's "€/kWh" (webapp/money.py _MARKET_UNITS).
_LANGUAGE_MARKETS = {"de": "DE", "fr": "FR", "es": "ES", "it": "IT", "nl": "NL"}


def market() -> str | None:
    """The customer's market as the locale says it: its territory, else its language's home."""
    locale = current_locale()
    return locale.territory or _LANGUAGE_MARKETS.get(locale.language)


def rate_unit(currency_code: str | None) -> RateUnit:
    """How a price per kWh is written in this request's market (forms and pages alike)."""
    return money.rate_unit(currency_code, market())


def html_lang() -> str:
    """The BCP 47 tag for ``<html lang>``: en, en-GB, de-DE."""
    locale = current_locale()
    return "-".join(part for part in (locale.language, locale.territory) if part)


def format_number(value: Decimal | float | int | None, max_places: int = 2) -> str:
    """A locale-formatted number with up to ``max_places`` decimals and no trailing zeros."""
    number = finite_decimal(value)
    if number is None:
        return MISSING
    pattern = "#,##0." + "#" * max_places if max_places else "#,##0"
    return babel_numbers.format_decimal(
        number, format=pattern, locale=current_locale(), decimal_quantization=True
    )


def format_display_rate(
    value: Decimal | None, unit: RateUnit, with_unit: bool = True, places: int | None = None
) -> str:
    """A price already in the familiar unit (24.5 for GBP) -> "24.5p/kWh". ``places`` fixes the
    number of decimals (a page that shows several prices uses one, see :func:`price_places`);
    without it, as many as the price has, up to a sensible maximum."""
    if value is None:
        return MISSING
    number = _price_number(value, unit, places)
    if not with_unit:
        return number
    return f"{number}{_joiner(unit)}{unit.per_kwh}"


def format_display_price(value: Decimal | None, unit: RateUnit, places: int | None = None) -> str:
    """A price in the familiar unit without "/kWh", for sentences that say "a kWh" themselves:
    8.5 -> "8.5p"."""
    if value is None:
        return MISSING
    return f"{_price_number(value, unit, places)}{_joiner(unit)}{unit.symbol}"


# The most decimals a price is shown with: pence, cents and öre to two places, as bills print
# them; a price in major units (euros in France, Spain, Italy, the Netherlands; a currency
# without a familiar minor unit) to four, as French tariffs print them ("0,1952 €").
_MAX_PLACES_MINOR = 2
_MAX_PLACES_MAJOR = 4


def price_places(values: Iterable[Decimal | None], unit: RateUnit) -> int:
    """How many decimals every price on one page gets: as many as the most precise of
    ``values`` needs, up to the maximum for the unit. One number for the page, so a column of
    prices lines up and "8.5p" never sits next to "28.71p"."""
    cap = _MAX_PLACES_MINOR if unit.is_minor else _MAX_PLACES_MAJOR
    needed = 0
    for value in values:
        number = finite_decimal(value)
        if number is None:
            continue
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            needed = max(needed, -exponent)
    return min(needed, cap)


def _price_number(value: Decimal, unit: RateUnit, places: int | None) -> str:
    if places is None:
        return format_number(value, 3 if unit.is_minor else 4)
    number = finite_decimal(value)
    if number is None:
        return MISSING
    pattern = "#,##0." + "0" * places if places > 0 else "#,##0"
    return babel_numbers.format_decimal(
        number, format=pattern, locale=current_locale(), decimal_quantization=True
    )


def _joiner(unit: RateUnit) -> str:
    """Nothing between "24.5" and "p"; a no-break space before a longer symbol ("125 öre")."""
    return "" if unit.symbol in _TIGHT_SYMBOLS else "\u00a0"


def format_unit_amount(value: Decimal | None, unit: RateUnit) -> str:
    """A price already in the familiar unit, without "/kWh": 24.5 for GBP -> "24.5p", for a
    sentence that says "per kWh" itself ("Did you mean 24.5p?")."""
    if value is None:
        return MISSING
    number = format_number(value, 3 if unit.is_minor else 4)
    joiner = "" if unit.symbol in _TIGHT_SYMBOLS else "\u00a0"
    return f"{number}{joiner}{unit.symbol}"


def format_rate(major: Any, currency: str | None = None, with_unit: bool = True) -> str:
    """A price per kWh from Connect (major units) -> the familiar unit: 0.245 GBP -> 24.5p/kWh."""
    unit = rate_unit(currency)
    return format_display_rate(to_display(major, unit), unit, with_unit)


def format_money(amount: Any, currency: str | None = None) -> str:
    number = finite_decimal(amount)
    if number is None:
        return MISSING
    code = str(currency or "").strip().upper()
    return babel_numbers.format_currency(
        number, code if _CURRENCY_RE.match(code) else "GBP", locale=current_locale()
    )


def format_percent(value: Any) -> str:
    """18.5 (a percent number, as Connect sends it) -> "18.5%" in the customer's locale."""
    number = finite_decimal(value)
    if number is None:
        return MISSING
    return babel_numbers.format_percent(number / 100, format="#,##0.##%", locale=current_locale())


def parse_datetime(value: Any) -> datetime | None:
    """RFC 3339 from Connect ("2024-02-01T07:00:00+00:00", "…Z", with fractions) -> aware
    datetime; ``None`` for anything else."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def format_date(value: Any, style: str = "long") -> str:
    """A date (or RFC 3339 date-time, taken as its calendar date) -> "15 June 2026"."""
    if isinstance(value, datetime):
        value = value.date()
    elif not isinstance(value, date):
        parsed = parse_datetime(value)
        if parsed is None:
            return ""
        value = parsed.date()
    return babel_dates.format_date(value, format=style, locale=current_locale())


def format_moment(value: Any) -> str:
    """An RFC 3339 instant -> "30 Nov 2026, 01:48 UTC": the date in the customer's language and
    the time in UTC, said so (the app does not know the reader's zone)."""
    parsed = parse_datetime(value)
    if parsed is None:
        return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    moment = parsed.astimezone(UTC)
    day = babel_dates.format_date(moment.date(), format="medium", locale=current_locale())
    clock = babel_dates.format_time(moment.time(), format="short", locale=current_locale())
    return f"{day}, {clock} UTC"


def format_time_of_day(value: Any) -> str:
    """A time in its own offset (the location's): 07:00 stays 07:00 wherever the server is."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime | time):
        # No tzinfo argument: Babel then keeps the value's own offset instead of converting.
        return babel_dates.format_time(value, format="short", locale=current_locale())
    return ""


def format_time_range(start: Any, end: Any) -> str:
    """ "07:00 to 23:00" in the customer's locale and the rate's own offset. An end at 00:00 is
    the end of the day, so it reads "midnight" rather than a time that looks like the start."""
    end_moment = parse_datetime(end) if isinstance(end, str) else end
    if isinstance(end_moment, datetime | time) and (end_moment.hour, end_moment.minute) == (0, 0):
        end_text = _("midnight")
    else:
        end_text = format_time_of_day(end)
    return _("%(start)s to %(end)s", start=format_time_of_day(start), end=end_text)


def country_name(code: Any) -> str:
    """ "GB" -> "United Kingdom" in the customer's language; an unknown code is shown as is."""
    text = str(code or "").strip().upper()
    return current_locale().territories.get(text, text)


# Which tax a retail price includes, by the customer's market, for "including VAT" and friends.
# A price on a bill always includes it; what differs is the name. Countries where we know the
# name win over the currency (the euro is also spent outside the EU); anything unknown gets the
# neutral "taxes", which is never wrong.
_VAT_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU",
    "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
    "ZA",
})  # fmt: skip
_GST_COUNTRIES = frozenset({"AU", "NZ", "SG", "IN"})
_CURRENCY_TAX = {
    "GBP": "vat", "EUR": "vat", "CHF": "vat", "SEK": "vat", "NOK": "vat", "DKK": "vat",
    "PLN": "vat", "CZK": "vat", "ZAR": "vat", "AUD": "gst", "NZD": "gst",
}  # fmt: skip


def tax_kind(currency_code: str | None = None, country_code: str | None = None) -> str:
    """ "vat", "gst" or "taxes": how prices in the customer's market name their tax. The US (sales
    taxes and fees that vary by state) and Canada (GST, HST or PST by province) get "taxes"."""
    country = (country_code or "").strip().upper()
    if country in _VAT_COUNTRIES:
        return "vat"
    if country in _GST_COUNTRIES:
        return "gst"
    if country:
        return "taxes"
    return _CURRENCY_TAX.get((currency_code or "").strip().upper(), "taxes")
