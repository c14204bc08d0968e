"""What the summary pages share: reading the tariff Connect connected, for the customer to check
before saving. ``summary_fixed_confirm``, ``summary_tou_confirm`` and anode's ``tariff_summary``
differ only in how the price is shown (one big number, or today's rates).

The page leads with what a person checks at a glance, one line such as "8.5p to 28.7p a kWh;
cheapest 11:00 PM to 6:00 AM" and today's chart, then everything the customer entered (the
address, and a market tariff's region and extra charges, which the summary's page object does
not carry: the flow passes them in ``ctx["flow"]``). The tables and the other days wait behind
disclosures, so "Confirm and save" stays near the top on a phone. Every price on the page has
the same number of decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from babel.lists import format_list

from webapp.charts import RateDay, cheapest_windows, rate_costs, rate_days
from webapp.formatting import (
    country_name,
    current_locale,
    format_display_price,
    format_display_rate,
    format_percent,
    format_time_range,
    price_places,
)
from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.money import RateUnit, finite_decimal, to_display
from webapp.page import Page
from webapp.pages.base import FlowFacts, PageAdapter
from webapp.pages.common import ADDRESS_FIELDS, address_of, has_address
from webapp.pages.rates import unit_of

STRUCTURE_LABELS: dict[str, Any] = {
    "FIXED": _l("Fixed price"),
    "STATIC": _l("Fixed price"),
    "TIME_OF_DAY": _l("Time of use"),
    "MARKET": _l("Market price"),
    "DYNAMIC": _l("Dynamic price"),
}
#: Structures whose prices change from day to day: the lead line then says it is today's.
DAILY_STRUCTURES = frozenset({"MARKET", "DYNAMIC"})
#: The most cheapest-price windows the lead line names; a market day can have many.
MAX_WINDOWS = 2
#: Actions that are a peer of "Confirm and save" only on a location being managed: on a first
#: connection "Disconnect" would remove the tariff the customer just entered.
MANAGING_ONLY = ("DISCONNECT",)


@dataclass(frozen=True)
class PriceLine:
    """The one line the page leads with, as parts the template joins (the prices are kept whole
    on one line there): "8.5p to 28.7p a kWh; cheapest 11:00 PM to 6:00 AM"."""

    low: str
    high: str
    cheapest: str  # "" when the price is the same all day
    today: bool  # say "Today": the price changes from day to day


def tariff_of(data: Mapping[str, Any]) -> dict[str, Any]:
    tariff = data.get("tariff")
    return dict(tariff) if isinstance(tariff, Mapping) else {}


def structure_of(data: Mapping[str, Any]) -> str:
    return str(tariff_of(data).get("structure_type") or "").upper()


def price_line(day: RateDay | None, unit: RateUnit, places: int, daily: bool) -> PriceLine | None:
    """Today's prices in one line, or None when there are none to tell."""
    if day is None or day.lowest is None or day.highest is None:
        return None
    low = format_display_price(day.lowest.cost, unit, places)
    high = format_display_price(day.highest.cost, unit, places)
    if low == high:
        return PriceLine(low, high, "", daily)
    windows = [
        format_time_range(start, end) for start, end in cheapest_windows(day.rows)[:MAX_WINDOWS]
    ]
    return PriceLine(low, high, format_list(windows, locale=current_locale()), daily)


def entered_details(
    entered: Mapping[str, Any], market: bool, unit: RateUnit, places: int
) -> dict[str, str]:
    """What the customer entered earlier in the flow, as text for the details list: the address
    always, the region and extra charges only for a market tariff (a tariff changed to another
    structure keeps none of them)."""
    details: dict[str, str] = {}
    address = entered.get("postal_address")
    if isinstance(address, Mapping):
        details["address"] = address_text(address)
    if not market:
        return details
    region = entered.get("region")
    if isinstance(region, str) and region:
        details["region"] = region
    surcharge = entered.get("surcharge")
    if isinstance(surcharge, Mapping):
        details["surcharge"] = surcharge_text(surcharge, unit, places)
    return details


def address_text(address: Mapping[str, Any]) -> str:
    """An address on one line, country by name: "1 Test Street, London, SW1A 1AA, United
    Kingdom"."""
    parts = [
        str(address.get(name) or "").strip() for name in ADDRESS_FIELDS if name != "country_code"
    ]
    if address.get("country_code"):
        parts.append(country_name(address.get("country_code")))
    return ", ".join(part for part in parts if part)


def surcharge_text(surcharge: Mapping[str, Any], unit: RateUnit, places: int) -> str:
    """The extra charges as typed: "2p/kWh plus 5%", "2p/kWh", "5%", or "None"."""
    fixed = to_display(surcharge.get("fixed"), unit)
    percentage = finite_decimal(surcharge.get("percentage"))
    parts = []
    if fixed:
        parts.append(format_display_rate(fixed, unit, places=places))
    if percentage:
        parts.append(format_percent(percentage))
    if len(parts) == 2:
        return _("%(fixed)s plus %(percentage)s", fixed=parts[0], percentage=parts[1])
    return parts[0] if parts else _("None")


class SummaryAdapter(PageAdapter):
    """Action-only page (SAVE / EDIT / DISCONNECT ...): the base parse is the right one."""

    title: ClassVar[Any] = _l("Check your tariff")
    stage: ClassVar[int] = 6
    #: "fixed" pages show one big price; "tou" pages show the day's rates.
    layout: ClassVar[str] = "tou"

    def now(self) -> datetime:
        """The moment the rates table marks as "now"; tests pin it."""
        return datetime.now(UTC)

    def extra_context(
        self, page: Page, ctx: Mapping[str, Any], query: Mapping[str, str]
    ) -> dict[str, Any]:
        data = page.data
        flow = ctx.get("flow")
        flow = flow if isinstance(flow, FlowFacts) else FlowFacts()
        unit = unit_of(data)
        tariff = tariff_of(data)
        structure = structure_of(data) or ("FIXED" if self.layout == "fixed" else "")
        market = bool(data.get("market_rates_source")) or structure == "MARKET"
        show_fixed = structure in {"FIXED", "STATIC"}

        fixed_price = to_display(data.get("cost"), unit)
        surcharge = flow.entered.get("surcharge") if market else None
        surcharge_fixed = (
            to_display(surcharge.get("fixed"), unit) if isinstance(surcharge, Mapping) else None
        )
        # One number of decimals for every price the page shows.
        places = price_places([*rate_costs(data.get("rates"), unit), fixed_price], unit)
        places = max(places, price_places([surcharge_fixed], unit))
        days = rate_days(data.get("rates"), unit, self.now(), places=places)
        today = next((d for d in days if d.key == "today"), None)
        if fixed_price is None and today and today.rows:
            fixed_price = today.rows[0].cost

        # Connect's own address wins if a summary ever carries one; else the one the flow saw.
        own_address = address_of(data)
        entered = dict(flow.entered)
        if has_address(own_address):
            entered["postal_address"] = own_address

        end = tariff.get("contract_end_date")
        peers = [a for a in page.actions if flow.manages_location or a not in MANAGING_ONLY]
        return {
            "unit": unit,
            "currency": unit.currency,
            "places": places,
            "tariff": tariff,
            "tariff_name": str(tariff.get("name") or ""),
            "structure": structure,
            "structure_label": str(STRUCTURE_LABELS.get(structure, structure.title())),
            # Only an export tariff says what it is for: "electricity you buy" is a given.
            "exports": page.direction == "EXPORT",
            "market": market,
            "tiered": bool(tariff.get("tiered")),
            "show_fixed": show_fixed,
            "fixed_price": fixed_price,
            "contract_end": end if isinstance(end, str) else None,
            "no_end_date": isinstance(end, str) and end.startswith("0001-01-01"),
            "today": today,
            "line": price_line(today, unit, places, structure in DAILY_STRUCTURES or market),
            # Tomorrow first: it is the day a customer plans for.
            "other_days": sorted(
                (d for d in days if d.key != "today" and d.rows), key=lambda d: d.key != "tomorrow"
            ),
            "entered": entered_details(entered, market, unit, places),
            "manages_location": flow.manages_location,
            "peer_actions": peers,
            "quiet_actions": [a for a in page.actions if a not in peers],
        }
