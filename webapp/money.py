"""Rates in the unit customers know.

Connect sends and receives prices in major currency units per kWh (0.245 GBP), but nobody reads a
tariff that way: a British bill says 24.5p, a German one 24,5 ct, a French one 0,245 €. Forms
ask for, and pages show, the familiar unit; the page adapters convert at the edge with
:func:`to_major` and :func:`to_display`. Decimal arithmetic keeps 24.5 -> 0.245 exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Currencies whose everyday electricity price is quoted in a minor unit, with that unit's short
# symbol. Anything else is shown in major units with its ISO code, which is always correct.
_MINOR_UNITS: dict[str, tuple[str, int]] = {
    "GBP": ("p", 100),
    "EUR": ("c", 100),
    "USD": ("¢", 100),
    "CAD": ("¢", 100),
    "AUD": ("c", 100),
    "NZD": ("c", 100),
    "SEK": ("öre", 100),
    "NOK": ("øre", 100),
    "DKK": ("øre", 100),
    "CHF": ("Rp.", 100),
    "PLN": ("gr", 100),
    "CZK": ("hal.", 100),
    "ZAR": ("c", 100),
}

# Markets that write a currency's price per kWh differently from the currency's default above,
# by (currency, market). The market is the customer's locale's territory, or its language's home
# ("de" -> DE; webapp/formatting.py). Looked up, not guessed (2026-11):
#   GB  p/kWh   Ofgem's price cap as published: "Unit rate: 27.35p per kWh"
#               (energysavingtrust.org.uk/what-is-the-energy-price-cap; ageuk.org.uk: "22.36p
#               per kWh").
#   DE  ct/kWh  "Er ist auf Stromrechnungen in Cent pro Kilowattstunde (ct/kWh) angegeben"
#               (strom.preisvergleich.de/info/8174/arbeitspreis; hirschzauber.de/arbeitspreis).
#   FR  €/kWh   the regulated Tarif Bleu is quoted "0,1952 € en option Base" per kWh, four
#               decimals (jechange.fr/energie/edf/tarifs/tarifs-reglementes; prix-elec.com:
#               "0.2062€ TTC"). Not "c€/kWh": French pages say "centimes" only in prose.
#   ES  €/kWh   "El término de consumo se expresa en euros por kilovatio hora consumido
#               (€/kWh)" (tarifasgasluz.com/faq/factura/termino-consumo; menosdeluz.com:
#               "0,14 €/kWh"; the CNMC: "0,202724 euros por kWh").
#   IT  €/kWh   bills and offers: "una quota energia (euro/kWh)"
#               (repower.com/it/guidaletturaplacet; a provider's CTE: "0,06050 €/kWh"). ARERA's
#               press releases say "centesimi di euro per kilowattora": the news, not the bill.
#   NL  €/kWh   providers' tariff sheets: "Per kWh €0,09877" (energieprijzen-vergelijken.nl);
#               people say "22 cent" (consumentenbond.nl), tariffs print euros.
#   US  ¢/kWh   the EIA publishes "Average revenue per kilowatthour (cents/kWh)"
#               (eia.gov/electricity/annual): USD's default above.
_MARKET_UNITS: dict[tuple[str, str], tuple[str, int]] = {
    ("EUR", "DE"): ("ct", 100),
    ("EUR", "AT"): ("ct", 100),  # Austria writes it as Germany does ("15,63 ct/kWh")
    ("EUR", "FR"): ("€", 1),
    ("EUR", "ES"): ("€", 1),
    ("EUR", "IT"): ("€", 1),
    ("EUR", "NL"): ("€", 1),
}

# Rates are stored upstream with up to 5 decimals of the major unit; keep one more for safety.
_MAJOR_PLACES = Decimal("0.000001")
# Orders of magnitude a price, charge or percentage can sensibly have (adjusted exponents).
# Beyond them a value is a typo or hostile ("1e999999999" is eleven characters, and formatting
# it would write out a billion digits), so it is treated as not a number at all.
_MAX_EXPONENT = 12
_MIN_EXPONENT = -12


@dataclass(frozen=True)
class RateUnit:
    """How a price per kWh is written for one currency."""

    currency: str
    symbol: str
    factor: int  # display units per major unit: 100 for pence, 1 for major units

    @property
    def per_kwh(self) -> str:
        return f"{self.symbol}/kWh"

    @property
    def is_minor(self) -> bool:
        return self.factor != 1


def rate_unit(currency_code: str | None, market: str | None = None) -> RateUnit:
    """How a price in ``currency_code`` is written for a customer in ``market`` (a country code,
    from the locale): the market's own way where it differs, else the currency's."""
    code = (currency_code or "").strip().upper() or "GBP"
    country = (market or "").strip().upper()
    symbol, factor = _MARKET_UNITS.get((code, country)) or _MINOR_UNITS.get(code, (code, 1))
    return RateUnit(currency=code, symbol=symbol, factor=factor)


def finite_decimal(value: Any) -> Decimal | None:
    """``value`` (a number or numeric text) as a Decimal of sensible size, else ``None``.

    Upstream JSON and form fields can hold anything: NaN, infinities, booleans, text, or
    exponents that would overflow the decimal context or take forever to format.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        text = str(value).strip()
        if not text or len(text) > 64:
            return None
        try:
            number = Decimal(text)
        except ArithmeticError:  # InvalidOperation, Overflow: every decimal signal
            return None
    else:
        return None
    if not number.is_finite():
        return None
    if number and not _MIN_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        return None
    return number


# What a person types as a number: ASCII digits, one decimal point, an optional sign. Python's
# Decimal also takes "1_000", "1e3" and digits of other scripts; a customer who typed any of
# those meant something we should ask about, not guess.
_TYPED_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def parse_decimal(text: str | None) -> Decimal | None:
    """A typed number, accepting a decimal comma; ``None`` when it is not a finite number of
    sensible size written with plain digits."""
    if text is None:
        return None
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    if not _TYPED_NUMBER.match(cleaned):
        return None
    return finite_decimal(cleaned)


def to_major(display_value: Decimal, unit: RateUnit) -> float:
    """24.5 (p) -> 0.245 (GBP), as the JSON number Connect expects."""
    major = (display_value / unit.factor).quantize(_MAJOR_PLACES, rounding=ROUND_HALF_UP)
    return float(major)


def to_display(major_value: float | int | str | None, unit: RateUnit) -> Decimal | None:
    """0.245 (GBP) -> 24.5 (p); ``None`` stays ``None`` so templates can show a dash."""
    major = finite_decimal(major_value)
    if major is None:
        return None
    value = major * unit.factor
    return value.normalize() if value == value.to_integral() else value


# -- plausible prices --------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """Where a retail price per kWh (taxes included) sensibly lies, in major units. Outside it a
    typed value is more likely a slip (a missing decimal point, pounds typed as pence) than a
    real price, so the form asks before sending it; the customer can still confirm it."""

    low: Decimal
    high: Decimal
    #: An everyday price, to pick the likeliest of several corrections; ``None``: suggest none.
    typical: Decimal | None

    def contains(self, major: Decimal) -> bool:
        return self.low <= major <= self.high


def _band(low: str, high: str, typical: str | None) -> Band:
    return Band(Decimal(low), Decimal(high), Decimal(typical) if typical else None)


# The one place the bands live. Generous on purpose (a soft check that nags real prices is worse
# than one that misses a slip): the 2022 price spikes, night rates and island prices fit inside.
PRICE_BANDS: dict[str, Band] = {
    "GBP": _band("0.01", "1.00", "0.25"),  # 1p to £1; the 2024 cap is about 25p
    "EUR": _band("0.01", "1.00", "0.30"),  # 1c to €1; German retail about 30c
    "USD": _band("0.01", "1.00", "0.16"),  # 1¢ to $1; Hawaii about 40¢
    "CAD": _band("0.01", "1.00", "0.14"),
    "AUD": _band("0.01", "1.50", "0.30"),
    "NZD": _band("0.01", "1.50", "0.30"),
    "CHF": _band("0.01", "1.50", "0.30"),
    "SEK": _band("0.05", "15", "1.50"),  # the Nordic spikes of 2022 reached 8 SEK
    "NOK": _band("0.05", "15", "1.20"),
    "DKK": _band("0.05", "15", "2.00"),
    "PLN": _band("0.05", "5", "1.00"),
    "CZK": _band("0.5", "30", "6"),
    "ZAR": _band("0.1", "20", "3"),
}
# Any other currency: only values no currency's kWh costs (a thousandth of a unit, or ten
# thousand units: Indonesian and Vietnamese prices run to a few thousand), and no suggestion.
DEFAULT_BAND = _band("0.001", "10000", None)


def price_band(currency_code: str | None) -> Band:
    """The plausible band of a price per kWh in this currency."""
    return PRICE_BANDS.get((currency_code or "").strip().upper(), DEFAULT_BAND)


def surcharge_band(currency_code: str | None) -> Band:
    """A market tariff's fixed charge per kWh: it may be small (a tenth of the lowest price) but
    not more than a whole price, and is typically a tenth of one."""
    band = price_band(currency_code)
    typical = band.typical / 10 if band.typical is not None else None
    return Band(band.low / 10, band.high, typical)


# A percentage added to the market price above this is almost certainly a slip (the fixed charge
# typed in the wrong box, or 1.5 typed as 150); percentages are the same in every currency.
PLAUSIBLE_PERCENTAGE = Decimal(100)

# The slips a correction undoes: a decimal point left out or misplaced, pence typed as pounds.
_SHIFTS = (Decimal(10), Decimal(100), Decimal(1000))


def likely_meant(display_value: Decimal, unit: RateUnit, band: Band) -> Decimal | None:
    """The correction of an implausible price most likely meant (24.5 for a typed 2450 pence),
    in the same unit as typed; ``None`` when no shift by a power of ten lands in the band or the
    band has no typical price to prefer one."""
    if band.typical is None or display_value <= 0:
        return None
    candidates = [
        shifted
        for factor in _SHIFTS
        for shifted in (display_value / factor, display_value * factor)
        if band.contains(shifted / unit.factor)
    ]
    if not candidates:
        return None
    typical = band.typical * unit.factor
    # Closest on a log scale: 24.5 beats 2.45 for a typical 25, whichever side it is on.
    best = min(candidates, key=lambda c: abs((c / typical).ln()))
    # Without trailing zeros, and 30 rather than normalize()'s 3E+1.
    return best.quantize(Decimal(1)) if best == best.to_integral() else best.normalize()
