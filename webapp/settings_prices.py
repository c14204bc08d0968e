"""Today's import prices for the settings page: FlatPeak's rates API in the location's own day,
a bar chart, and the next cheapest window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

from webapp.charts import RateRow, bar_chart, rate_rows
from webapp.extensions import flatpeak
from webapp.formatting import format_display_rate, format_time_range, price_places
from webapp.i18n import gettext as _
from webapp.money import RateUnit, rate_unit
from webapp.upstream_errors import RatesPending


@dataclass(frozen=True)
class Prices:
    """Today's import prices, or ``pending`` while a direct connection's data is on its way."""

    pending: bool
    rows: list[RateRow]
    chart: Markup
    unit: RateUnit | None
    places: int | None
    cheapest: str | None


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def todays_prices(location_id: str, now: datetime | None = None) -> Prices:
    """Today's import prices in the location's own day, and the next cheapest window.

    The location's time zone comes with the answer, so the request spans yesterday to tomorrow
    in UTC, which holds the location's whole today and the rest of its tomorrow whatever its
    offset; rows outside today are kept only for the next cheapest window.
    """
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = midnight - timedelta(days=1), midnight + timedelta(days=2)
    try:
        body = flatpeak().tariff_rates(
            location_id, _rfc3339(start), _rfc3339(end), direction="IMPORT"
        )
    except RatesPending:
        return Prices(True, [], Markup(""), None, None, None)
    zone = _zone(body.get("location_timezone"))
    unit = rate_unit(str(body.get("currency_code") or "GBP"))
    entries = []
    for item in body.get("data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("tariff"), dict):
            continue
        # charts.rate_rows reads Connect's summary shape, where the price is ``cost``.
        rate = item["tariff"]
        entries.append(
            {
                "valid_from": _local(item.get("valid_from"), zone),
                "valid_to": _local(item.get("valid_to"), zone),
                "tariff": {"cost": rate.get("rate"), "confidence": rate.get("confidence")},
            }
        )
    today = now.astimezone(zone).date()
    rows_all = rate_rows(entries, unit, now)
    # Banded again on today's rows alone: the chart's cheaper/dearer thirds are today's.
    rows = rate_rows([e for e in entries if _day_of(e["valid_from"]) == today], unit, now)
    places = price_places((row.cost for row in rows), unit)
    chart = bar_chart(rows, unit, "settings-rates", _("Prices today"), places)
    return Prices(False, rows, chart, unit, places, _next_cheapest(rows_all, now, today, unit))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(value: Any, zone: ZoneInfo) -> Any:
    try:
        return (
            datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(zone).isoformat()
        )
    except ValueError:
        return value


def _day_of(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None


def _next_cheapest(rows: list[RateRow], now: datetime, today: date, unit: RateUnit) -> str | None:
    """The first coming spell at the lowest price still ahead today or tomorrow."""
    ahead = [row for row in rows if row.end > now and row.start.date() <= today + timedelta(1)]
    if not ahead:
        return None
    lowest = min(row.cost for row in ahead)
    first = next(i for i, row in enumerate(ahead) if row.cost == lowest)
    start, end = ahead[first].start, ahead[first].end
    for row in ahead[first + 1 :]:
        if row.cost != lowest or row.start != end:
            break
        end = row.end
    day = _("Today") if start.date() <= today else _("Tomorrow")
    return _(
        "%(day)s, %(when)s, at %(price)s",
        day=day,
        when=format_time_range(max(start, now.astimezone(start.tzinfo)), end),
        price=format_display_rate(lowest, unit),
    )
