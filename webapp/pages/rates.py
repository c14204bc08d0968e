"""Reading rates the customer typed in the familiar unit (p, c, ¢) and checking them the way
Connect does, before the round trip."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from webapp.i18n import gettext as _
from webapp.money import RateUnit, parse_decimal, rate_unit, to_display
from webapp.pages.common import message_for


def unit_of(data: dict[str, Any]) -> RateUnit:
    return rate_unit(str(data.get("currency_code") or "GBP"))


def check_rate(typed: str) -> tuple[Decimal | None, str | None]:
    """A typed price per kWh -> (value, None) or (None, message). Zero and negative prices get
    Connect's own messages (cost_value_zero / cost_value_negative)."""
    if not typed.strip():
        return None, _("Enter the price per kWh.")
    value = parse_decimal(typed)
    if value is None:
        return None, _("Enter the price as a number, for example 24.5.")
    if value == 0:
        return None, message_for("cost_value_zero")
    if value < 0:
        return None, message_for("cost_value_negative")
    if value >= Decimal("100000"):
        return None, _("That price looks too high; check the unit.")
    return value, None


def display_text(major: Any, unit: RateUnit) -> str:
    """A major-unit price from Connect as the text to put back in an input ("24.5"); zero or
    missing means "not typed yet" and shows an empty field."""
    value = to_display(major, unit)
    if value is None or value == 0:
        return ""
    # normalize() drops trailing zeros (24.500 -> 24.5); "f" keeps 1E+1 as "10".
    return format(value.normalize(), "f")
