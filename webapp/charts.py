"""A summary's rates as table rows and a small bar chart drawn on the server as SVG.

No chart library and no inline style (the CSP forbids both): bars are ``<rect>`` elements with
CSS classes for their price band, sized with SVG attributes. The chart is decoration for sighted
customers; the table next to it is the real content, and the chart's ``<title>``/``<desc>`` give
a one-sentence text alternative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from babel.lists import format_list
from markupsafe import Markup, escape

from webapp.formatting import (
    current_locale,
    format_display_rate,
    format_time_of_day,
    format_time_range,
    parse_datetime,
    price_places,
)
from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.money import RateUnit, to_display

DAYS = (
    ("yesterday", _l("Yesterday"), _l("Prices yesterday")),
    ("today", _l("Today"), _l("Prices today")),
    ("tomorrow", _l("Tomorrow"), _l("Prices tomorrow")),
)

# Chart geometry in SVG user units; the SVG scales to its container's width. The bottom band
# holds the time labels in the locale's own time format, the tables' ("6:00 AM" or "06:00").
# Each label starts at its hour's tick mark, so four of the longest ("12:00 AM") fit side by
# side at a size still readable when a 320 px phone scales the chart down to two thirds.
WIDTH, HEIGHT = 480, 172
PLOT_TOP, PLOT_BOTTOM, PLOT_LEFT, PLOT_RIGHT = 12, 134, 4, 476
TICK_HOURS = (0, 6, 12, 18)


@dataclass(frozen=True)
class RateRow:
    start: datetime
    end: datetime
    cost: Decimal  # familiar unit (pence for GBP)
    confidence: float
    level: str  # "low" | "mid" | "high": a third of the day's price range each
    is_now: bool

    @property
    def is_forecast(self) -> bool:
        return self.confidence < 1


@dataclass(frozen=True)
class RateDay:
    key: str  # yesterday | today | tomorrow
    label: str
    rows: list[RateRow]
    chart: Markup
    lowest: RateRow | None
    highest: RateRow | None

    @property
    def levels(self) -> set[str]:
        """The price bands this day uses: the chart's legend names only these."""
        return {row.level for row in self.rows}


def rate_rows(entries: Iterable[Any], unit: RateUnit, now: datetime | None = None) -> list[RateRow]:
    """Connect's ``rates.<day>`` entries -> rows, skipping any entry we cannot read."""
    now = now or datetime.now(UTC)
    parsed = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        start, end = parse_datetime(entry.get("valid_from")), parse_datetime(entry.get("valid_to"))
        tariff = entry.get("tariff") if isinstance(entry.get("tariff"), Mapping) else {}
        cost = to_display(tariff.get("cost"), unit)
        if start is None or end is None or cost is None:
            continue
        try:
            confidence = float(tariff.get("confidence", 1))
        except (TypeError, ValueError):
            confidence = 1.0
        parsed.append((start, end, cost, confidence))
    if not parsed:
        return []
    low, high = min(p[2] for p in parsed), max(p[2] for p in parsed)
    band = (high - low) / 3
    rows = []
    for start, end, cost, confidence in parsed:
        if band == 0:
            level = "mid"
        elif cost < low + band:
            level = "low"
        elif cost < low + 2 * band:
            level = "mid"
        else:
            level = "high"
        is_now = _aware(start) <= now < _aware(end)
        rows.append(RateRow(start, end, cost, confidence, level, is_now))
    return rows


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bar_chart(
    rows: list[RateRow], unit: RateUnit, chart_id: str, label: str, places: int | None = None
) -> Markup:
    """An SVG bar chart of one day's rows; bar widths follow each period's length. ``places``:
    the page's number of decimals, for the text alternative."""
    if not rows:
        return Markup("")
    day_start = rows[0].start.replace(hour=0, minute=0, second=0, microsecond=0)
    span = timedelta(days=1).total_seconds()
    costs = [row.cost for row in rows]
    top, bottom = max(max(costs), Decimal(0)), min(min(costs), Decimal(0))
    scale = (top - bottom) or Decimal(1)
    plot_height = PLOT_BOTTOM - PLOT_TOP
    zero_y = PLOT_TOP + float(top / scale) * plot_height
    plot_width = PLOT_RIGHT - PLOT_LEFT

    def x_at(moment: datetime) -> float:
        offset = (moment - day_start).total_seconds()
        return PLOT_LEFT + max(0.0, min(offset / span, 1.0)) * plot_width

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" focusable="false" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(label)}</title>',
        f'<desc id="{chart_id}-desc">{escape(describe(rows, unit, places))}</desc>',
    ]
    for row in rows:
        x1, x2 = x_at(row.start), x_at(row.end if row.end > row.start else row.start)
        if row.end <= row.start or x2 <= x1:
            x2 = PLOT_RIGHT
        height = float(abs(row.cost) / scale) * plot_height
        y = zero_y - height if row.cost >= 0 else zero_y
        classes = f"chart__bar chart__bar--{row.level}"
        if row.is_now:
            classes += " chart__bar--now"
        if row.is_forecast:
            classes += " chart__bar--forecast"
        parts.append(
            f'<rect class="{classes}" x="{x1:.1f}" y="{y:.1f}" '
            f'width="{max(x2 - x1 - 1, 1):.1f}" height="{max(height, 1):.1f}"></rect>'
        )
    parts.append(
        f'<line class="chart__axis" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" '
        f'y1="{zero_y:.1f}" y2="{zero_y:.1f}"></line>'
    )
    for hour in TICK_HOURS:
        x = PLOT_LEFT + hour / 24 * plot_width
        tick = escape(format_time_of_day(time(hour)))
        parts.append(
            f'<line class="chart__axis" x1="{x:.1f}" x2="{x:.1f}" '
            f'y1="{PLOT_BOTTOM}" y2="{PLOT_BOTTOM + 8}"></line>'
            f'<text class="chart__tick" x="{x + 3:.1f}" y="{HEIGHT - 10}">{tick}</text>'
        )
    parts.append("</svg>")
    # Every interpolated value above is a number, a fixed class name, a caller-made id or
    # escaped text, so the joined markup is safe.
    return Markup("".join(parts))  # noqa: S704


def describe(rows: list[RateRow], unit: RateUnit, places: int | None = None) -> str:
    """One sentence a screen reader can say instead of the chart."""
    if not rows:
        return ""
    lowest = min(rows, key=lambda row: row.cost)
    highest = max(rows, key=lambda row: row.cost)
    if lowest.cost == highest.cost:
        return _("%(price)s all day.", price=format_display_rate(lowest.cost, unit, places=places))
    # Times as the table writes them ("7:00 AM to midnight"), and the cheapest spell as the
    # summary's line names it (a night across midnight is one spell).
    cheapest = [format_time_range(start, end) for start, end in cheapest_windows(rows)[:2]]
    return _(
        "Lowest %(low)s, %(low_when)s; highest %(high)s, %(high_when)s.",
        low=format_display_rate(lowest.cost, unit, places=places),
        low_when=format_list(cheapest, locale=current_locale()),
        high=format_display_rate(highest.cost, unit, places=places),
        high_when=format_time_range(highest.start, highest.end),
    )


def rate_days(
    rates: Any,
    unit: RateUnit,
    now: datetime | None = None,
    id_prefix: str = "rates",
    places: int | None = None,
) -> list[RateDay]:
    """The days with rates, in order; an empty yesterday or tomorrow is left out (tomorrow's
    prices may not be published yet), today is kept even when empty so the page can say so.
    ``places`` is the page's number of decimals; by default the one every day's prices need."""
    rates = rates if isinstance(rates, Mapping) else {}
    parsed = []
    for key, label, title in DAYS:
        entries = rates.get(key) or []
        rows = rate_rows(entries if isinstance(entries, list) else [], unit, now)
        if rows or key == "today":
            parsed.append((key, label, title, rows))
    if places is None:
        places = price_places((row.cost for *_, rows in parsed for row in rows), unit)
    return [
        RateDay(
            key=key,
            label=str(label),
            rows=rows,
            chart=bar_chart(rows, unit, f"{id_prefix}-{key}", str(title), places),
            lowest=min(rows, key=lambda r: r.cost) if rows else None,
            highest=max(rows, key=lambda r: r.cost) if rows else None,
        )
        for key, label, title, rows in parsed
    ]


def rate_costs(rates: Any, unit: RateUnit) -> list[Decimal]:
    """Every price in a summary's rates, in the familiar unit: what a page weighs up to decide
    its number of decimals (:func:`webapp.formatting.price_places`) before drawing the charts."""
    rates = rates if isinstance(rates, Mapping) else {}
    costs = []
    for key, _label, _title in DAYS:
        entries = rates.get(key)
        for row in rate_rows(entries if isinstance(entries, list) else [], unit):
            costs.append(row.cost)
    return costs


def cheapest_windows(rows: list[RateRow]) -> list[tuple[datetime, datetime]]:
    """When a day's lowest price applies, as (start, end) windows: neighbouring periods at that
    price joined, and the evening's window joined to the next morning's when the day starts and
    ends at that price (an Economy 7 night reads "11:00 PM to 6:00 AM", not two windows)."""
    if not rows:
        return []
    lowest = min(row.cost for row in rows)
    windows: list[tuple[datetime, datetime]] = []
    previous: RateRow | None = None
    for row in rows:
        if row.cost == lowest:
            if windows and previous is not None and previous.cost == lowest:
                windows[-1] = (windows[-1][0], row.end)
            else:
                windows.append((row.start, row.end))
        previous = row
    if len(windows) > 1 and rows[0].cost == lowest and rows[-1].cost == lowest:
        first, last = windows[0], windows[-1]
        windows = [(last[0], first[1]), *windows[1:-1]]
    return windows
