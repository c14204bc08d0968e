"""Reading rates the customer typed in the familiar unit (p, c, ¢) and checking them the way
Connect does, before the round trip; then a soft check that the value is a plausible price.

The soft check ("That's £24.50 per kWh. Did you mean 24.5p?") stops a slip such as a missing
decimal point from reaching the summary, without refusing a real price that happens to be
unusual: next to the message the page shows a checkbox, ``confirm_<field>``, whose value is the
typed text it vouches for. Posted with the same text, the value goes through; changed, the check
runs again. It works without JavaScript and keeps what was typed. The bands are in
``webapp/money.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from webapp.formatting import format_money, format_percent, format_unit_amount, rate_unit
from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.money import (
    PLAUSIBLE_PERCENTAGE,
    Band,
    RateUnit,
    likely_meant,
    parse_decimal,
    price_band,
    surcharge_band,
    to_display,
)
from webapp.pages.common import message_for

# The sentence under a price page's title, in the tax wording of the customer's market (see
# formatting.tax_kind): a US bill has no VAT.
PRICE_INTROS: dict[str, Any] = {
    "vat": _l("Enter the unit rate from your bill, including VAT."),
    "gst": _l("Enter the unit rate from your bill, including GST."),
    "taxes": _l("Enter the unit rate from your bill, including taxes."),
}
PERIOD_INTROS: dict[str, Any] = {
    "vat": _l("Enter each time period and its price from your bill, including VAT."),
    "gst": _l("Enter each time period and its price from your bill, including GST."),
    "taxes": _l("Enter each time period and its price from your bill, including taxes."),
}


def unit_of(data: Mapping[str, Any]) -> RateUnit:
    return rate_unit(str(data.get("currency_code") or "GBP"))


# -- the soft check ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Doubt:
    """A typed value outside its plausible band: what we say, and the confirm checkbox's label."""

    message: str
    confirm: str


#: Typed text -> the doubt about it (``None``: plausible, or not a number at all).
Doubter = Callable[[str], Doubt | None]


def confirm_name(field: str) -> str:
    """The checkbox that vouches for ``field``'s typed value."""
    return f"confirm_{field}"


def is_confirmed(form: Mapping[str, Any], field: str, typed: str) -> bool:
    """The customer ticked "this is right" for exactly the value now in the field."""
    return bool(typed) and str(form.get(confirm_name(field)) or "").strip() == typed


def _amount(display_value: Decimal, unit: RateUnit) -> str:
    """A price as the sentence "That's … per kWh" needs it: a large one in money (£24.50,
    which shows how far off it is), a small one in the familiar unit (0.245p)."""
    major = display_value / unit.factor
    if major >= 1 or not unit.is_minor:
        return format_money(major, unit.currency)
    return format_unit_amount(display_value, unit)


def doubt_about_price(
    display_value: Decimal, unit: RateUnit, band: Band, *, surcharge: bool = False
) -> Doubt | None:
    """``None`` when the price (in the familiar unit) is plausible for its band, else what to ask.
    A surcharge is worded as an addition to the market price."""
    major = display_value / unit.factor
    if display_value <= 0 or band.contains(major):
        return None
    amount = _amount(display_value, unit)
    confirm = _("Yes, %(amount)s per kWh is right", amount=amount)
    meant = likely_meant(display_value, unit, band)
    if meant is not None:
        message = _(
            "That's %(amount)s per kWh. Did you mean %(suggestion)s? "
            "If %(amount)s is right, confirm it below.",
            amount=amount,
            suggestion=format_unit_amount(meant, unit),
        )
    elif major > band.high:
        message = (
            _(
                "That's %(amount)s per kWh on top of the market price, more than providers "
                "usually add. Check it, or confirm below that it is right.",
                amount=amount,
            )
            if surcharge
            else _(
                "That's %(amount)s per kWh, more than electricity usually costs. Check the "
                "price, or confirm below that it is right.",
                amount=amount,
            )
        )
    else:
        message = (
            _(
                "That's %(amount)s per kWh on top of the market price, less than providers "
                "usually add. Check it, or confirm below that it is right.",
                amount=amount,
            )
            if surcharge
            else _(
                "That's %(amount)s per kWh, less than electricity usually costs. Check the "
                "price, or confirm below that it is right.",
                amount=amount,
            )
        )
    return Doubt(message, confirm)


def doubt_about_percentage(percentage: Decimal) -> Doubt | None:
    if percentage <= PLAUSIBLE_PERCENTAGE:
        return None
    percent = format_percent(percentage)
    return Doubt(
        _(
            "That adds %(percent)s to the market price, more than providers usually add. "
            "Check it, or confirm below that it is right.",
            percent=percent,
        ),
        _("Yes, %(percent)s is right", percent=percent),
    )


def typed_price_doubt(unit: RateUnit, band: Band, *, surcharge: bool = False) -> Doubter:
    """A :data:`Doubter` for a price field: the doubt about what was typed, if it is a number."""

    def doubt(typed: str) -> Doubt | None:
        value = parse_decimal(typed)
        if value is None:
            return None
        return doubt_about_price(value, unit, band, surcharge=surcharge)

    return doubt


def typed_percentage_doubt(typed: str) -> Doubt | None:
    value = parse_decimal(typed)
    return doubt_about_percentage(value) if value is not None else None


def confirm_checks(
    values: Mapping[str, Any], errors: Mapping[str, str], fields: Iterable[tuple[str, Doubter]]
) -> dict[str, dict[str, Any]]:
    """The confirm checkboxes the template shows, by field: for a value in doubt that carries an
    error now (the check just fired), or that was confirmed already (a re-render for another
    field's sake keeps the tick, so the customer never confirms twice)."""
    checks: dict[str, dict[str, Any]] = {}
    for field, doubter in fields:
        typed = str(values.get(field) or "").strip()
        doubt = doubter(typed) if typed else None
        if doubt is None:
            continue
        confirmed = is_confirmed(values, field, typed)
        if confirmed or errors.get(field):
            checks[field] = {
                "name": confirm_name(field),
                "value": typed,
                "label": doubt.confirm,
                "checked": confirmed,
            }
    return checks


# -- the checks Connect would make, then ours ---------------------------------------------------


def check_rate(
    typed: str, unit: RateUnit, *, confirmed: bool = False
) -> tuple[Decimal | None, str | None]:
    """A typed price per kWh -> (value, None) or (None, message). Zero and negative prices get
    the messages of Connect's codes (cost_value_zero / cost_value_negative); a price outside
    its currency's band is refused until ``confirmed``."""
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
        # Past any band: not a price a customer can confirm.
        return None, _("That price looks too high; check the unit.")
    if not confirmed:
        doubt = doubt_about_price(value, unit, price_band(unit.currency))
        if doubt is not None:
            return None, doubt.message
    return value, None


def check_surcharge(
    typed: str, unit: RateUnit, *, confirmed: bool = False
) -> tuple[Decimal | None, str | None]:
    """A market tariff's optional fixed charge per kWh: blank is none."""
    if not typed:
        return Decimal(0), None
    value = parse_decimal(typed)
    if value is None:
        return None, _("Enter the charge as a number, for example 2.5.")
    if value < 0:
        return None, _("The charge cannot be negative.")
    if not confirmed:
        doubt = doubt_about_price(value, unit, surcharge_band(unit.currency), surcharge=True)
        if doubt is not None:
            return None, doubt.message
    return value, None


def display_text(major: Any, unit: RateUnit) -> str:
    """A major-unit price from Connect as the text to put back in an input ("24.5"); zero or
    missing means "not typed yet" and shows an empty field."""
    value = to_display(major, unit)
    if value is None or value == 0:
        return ""
    # normalize() drops trailing zeros (24.500 -> 24.5); "f" keeps 1E+1 as "10".
    return format(value.normalize(), "f")
