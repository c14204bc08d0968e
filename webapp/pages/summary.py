"""What the summary pages share: reading the tariff Connect connected, for the customer to check
before saving. ``summary_fixed_confirm``, ``summary_tou_confirm`` and anode's ``tariff_summary``
differ only in how the price is shown (one big number, or a day of rates)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from webapp.charts import rate_days
from webapp.i18n import lazy_gettext as _l
from webapp.page import Page
from webapp.pages.base import PageAdapter
from webapp.pages.rates import unit_of

STRUCTURE_LABELS: dict[str, Any] = {
    "FIXED": _l("Fixed price"),
    "STATIC": _l("Fixed price"),
    "TIME_OF_DAY": _l("Time of use"),
    "MARKET": _l("Market price"),
    "DYNAMIC": _l("Dynamic price"),
}
DIRECTION_LABELS: dict[str, Any] = {
    "IMPORT": _l("Electricity you buy"),
    "EXPORT": _l("Electricity you sell (export)"),
    "LOCAL": _l("Local energy"),
}
CONNECTION_LABELS: dict[str, Any] = {
    "DIRECT": _l("Connected through your provider account"),
    "LIBRARY": _l("From FlatPeak's tariff library"),
    "MARKET": _l("Based on market prices for your area"),
    "MANUAL": _l("Entered by you"),
}


def tariff_of(data: Mapping[str, Any]) -> dict[str, Any]:
    tariff = data.get("tariff")
    return dict(tariff) if isinstance(tariff, Mapping) else {}


def structure_of(data: Mapping[str, Any]) -> str:
    return str(tariff_of(data).get("structure_type") or "").upper()


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
        unit = unit_of(data)
        tariff = tariff_of(data)
        structure = structure_of(data) or ("FIXED" if self.layout == "fixed" else "")
        days = rate_days(data.get("rates"), unit, self.now())
        fixed_price = data.get("cost")
        if fixed_price is None:
            today = next((d for d in days if d.key == "today"), None)
            if today and today.rows:
                fixed_price = today.rows[0].cost / unit.factor
        end = tariff.get("contract_end_date")
        return {
            "unit": unit,
            "currency": unit.currency,
            "tariff": tariff,
            "tariff_name": str(tariff.get("name") or ""),
            "structure": structure,
            "structure_label": str(STRUCTURE_LABELS.get(structure, structure.title())),
            "direction_label": str(DIRECTION_LABELS.get(page.direction, page.direction.title())),
            "connection_label": str(CONNECTION_LABELS.get(str(data.get("connection_type")), "")),
            "market": bool(data.get("market_rates_source")),
            "tiered": bool(tariff.get("tiered")),
            "show_fixed": structure in {"FIXED", "STATIC"},
            "fixed_price": fixed_price,
            "contract_end": end if isinstance(end, str) else None,
            "no_end_date": isinstance(end, str) and end.startswith("0001-01-01"),
            "days": days,
        }
