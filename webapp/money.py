"""Rates in the unit customers know.

Connect sends and receives prices in major currency units per kWh (0.245 GBP), but nobody reads a
tariff that way: a British bill says 24.5p, a German one 24,5 ct. Forms ask for, and pages show,
the familiar unit; the page adapters convert at the edge with :func:`to_major` and
:func:`to_display`. Decimal arithmetic keeps 24.5 -> 0.245 exact.
"""

from __future__ import annotations

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


def rate_unit(currency_code: str | None) -> RateUnit:
    code = (currency_code or "").strip().upper() or "GBP"
    symbol, factor = _MINOR_UNITS.get(code, (code, 1))
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


def parse_decimal(text: str | None) -> Decimal | None:
    """A typed number, accepting a decimal comma; ``None`` when it is not a finite number of
    sensible size."""
    if text is None:
        return None
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
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
