"""A summary's rates as table rows and a small bar chart drawn on the server as SVG.

No chart library and no inline style (the CSP forbids both): bars are ``<rect>`` elements with
CSS classes for their price band, sized with SVG attributes. The chart is decoration for sighted
customers; the table next to it is the real content, and the chart's ``<title>``/``<desc>`` give
a one-sentence text alternative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from webapp.formatting import format_display_rate, format_time_of_day, parse_datetime
from webapp.i18n import gettext as _
from webapp.i18n import lazy_gettext as _l
from webapp.money import RateUnit, to_display

DAYS = (
    ("yesterday", _l("Yesterday"), _l("Prices yesterday")),
    ("today", _l("Today"), _l("Prices today")),
    ("tomorrow", _l("Tomorrow"), _l("Prices tomorrow")),
)

# Chart geometry in SVG user units; the SVG scales to its container's width.
WIDTH, HEIGHT = 480, 160
PLOT_TOP, PLOT_BOTTOM, PLOT_LEFT, PLOT_RIGHT = 12, 132, 4, 476


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


def bar_chart(rows: list[RateRow], unit: RateUnit, chart_id: str, label: str) -> Markup:
    """An SVG bar chart of one day's rows; bar widths follow each period's length."""
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
        f'<desc id="{chart_id}-desc">{escape(describe(rows, unit))}</desc>',
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
    for hour in (0, 6, 12, 18, 24):
        x = PLOT_LEFT + hour / 24 * plot_width
        anchor = "start" if hour == 0 else "end" if hour == 24 else "middle"
        parts.append(
            f'<text class="chart__tick" x="{x:.1f}" y="{HEIGHT - 6}" '
            f'text-anchor="{anchor}">{hour:02d}:00</text>'
        )
    parts.append("</svg>")
    # Every interpolated value above is a number, a fixed class name, a caller-made id or
    # escaped text, so the joined markup is safe.
    return Markup("".join(parts))  # noqa: S704


def describe(rows: list[RateRow], unit: RateUnit) -> str:
    """One sentence a screen reader can say instead of the chart."""
    if not rows:
        return ""
    lowest = min(rows, key=lambda row: row.cost)
    highest = max(rows, key=lambda row: row.cost)
    if lowest.cost == highest.cost:
        return _("%(price)s all day.", price=format_display_rate(lowest.cost, unit))
    return _(
        "Lowest %(low)s from %(low_start)s to %(low_end)s; "
        "highest %(high)s from %(high_start)s to %(high_end)s.",
        low=format_display_rate(lowest.cost, unit),
        low_start=format_time_of_day(lowest.start),
        low_end=format_time_of_day(lowest.end),
        high=format_display_rate(highest.cost, unit),
        high_start=format_time_of_day(highest.start),
        high_end=format_time_of_day(highest.end),
    )


def rate_days(
    rates: Any, unit: RateUnit, now: datetime | None = None, id_prefix: str = "rates"
) -> list[RateDay]:
    """The days with rates, in order; an empty yesterday or tomorrow is left out (tomorrow's
    prices may not be published yet), today is kept even when empty so the page can say so."""
    rates = rates if isinstance(rates, Mapping) else {}
    days = []
    for key, label, title in DAYS:
        entries = rates.get(key) or []
        rows = rate_rows(entries if isinstance(entries, list) else [], unit, now)
        if not rows and key != "today":
            continue
        days.append(
            RateDay(
                key=key,
                label=str(label),
                rows=rows,
                chart=bar_chart(rows, unit, f"{id_prefix}-{key}", str(title)),
                lowest=min(rows, key=lambda r: r.cost) if rows else None,
                highest=max(rows, key=lambda r: r.cost) if rows else None,
            )
        )
    return days
