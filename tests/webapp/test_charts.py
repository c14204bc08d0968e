"""Summary rates -> table rows and an accessible SVG bar chart, no chart library."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import html5lib
import pytest

from webapp.charts import bar_chart, describe, rate_days, rate_rows
from webapp.money import rate_unit

pytestmark = pytest.mark.unit  # no process: see tests/README.md

GBP = rate_unit("GBP")


def entry(start, end, cost, confidence=1):
    return {
        "valid_from": start,
        "valid_to": end,
        "tariff": {"cost": cost, "confidence": confidence},
    }


TODAY = [
    entry("2024-02-01T00:00:00+01:00", "2024-02-01T07:00:00+01:00", 0.0912),
    entry("2024-02-01T07:00:00+01:00", "2024-02-01T16:00:00+01:00", 0.20),
    entry("2024-02-01T16:00:00+01:00", "2024-02-01T19:00:00+01:00", 0.3041, confidence=0.8),
    entry("2024-02-01T19:00:00+01:00", "2024-02-02T00:00:00+01:00", 0.20),
]


def test_rows_in_familiar_unit_with_levels_and_now():
    now = datetime(2024, 2, 1, 8, 0, tzinfo=UTC)  # 09:00 at +01:00
    rows = rate_rows(TODAY, GBP, now)
    assert [r.cost for r in rows] == [Decimal("9.12"), 20, Decimal("30.41"), 20]
    assert [r.level for r in rows] == ["low", "mid", "high", "mid"]
    assert [r.is_now for r in rows] == [False, True, False, False]
    assert rows[2].is_forecast and not rows[0].is_forecast
    assert rows[0].start.utcoffset().total_seconds() == 3600


def test_unreadable_entries_are_skipped():
    rows = rate_rows([{"valid_from": "x"}, "nonsense", entry("bad", "worse", 1), *TODAY[:1]], GBP)
    assert len(rows) == 1


def test_chart_is_accessible_svg_without_inline_style():
    rows = rate_rows(TODAY, GBP, datetime(2024, 2, 1, 8, tzinfo=UTC))
    svg = str(bar_chart(rows, GBP, "c1", "Prices today"))
    html5lib.HTMLParser(strict=True).parseFragment(svg)
    assert 'role="img"' in svg and 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Prices today</title>' in svg
    assert "style=" not in svg and "<script" not in svg
    bars = re.findall(r'<rect class="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', svg)
    assert len(bars) == 4
    assert "chart__bar--now" in bars[1][0] and "chart__bar--forecast" in bars[2][0]
    # Bar widths follow the periods' lengths: 7 h, 9 h, 3 h, 5 h.
    widths = [float(b[3]) + 1 for b in bars]
    assert abs(widths[0] / widths[2] - 7 / 3) < 0.05
    # The dearest bar is the tallest (smallest y).
    assert (
        min(bars, key=lambda b: float(b[2]))[0].endswith("chart__bar--high")
        or "high" in min(bars, key=lambda b: float(b[2]))[0]
    )


def test_chart_escapes_its_label_and_handles_negative_prices():
    rows = rate_rows(
        [
            entry("2024-02-01T00:00:00+00:00", "2024-02-01T12:00:00+00:00", -0.05),
            entry("2024-02-01T12:00:00+00:00", "2024-02-02T00:00:00+00:00", 0.10),
        ],
        GBP,
    )
    svg = str(bar_chart(rows, GBP, "neg", "<b>Prices</b>"))
    assert "&lt;b&gt;Prices&lt;/b&gt;" in svg
    html5lib.HTMLParser(strict=True).parseFragment(svg)
    assert "-5p/kWh" in describe(rows, GBP)


def test_text_alternative():
    rows = rate_rows(TODAY, GBP)
    text = describe(rows, GBP)
    assert "Lowest 9.12p/kWh" in text and "highest 30.41p/kWh" in text
    flat = rate_rows([entry("2024-02-01T00:00:00Z", "2024-02-02T00:00:00Z", 0.245)], GBP)
    assert describe(flat, GBP) == "24.5p/kWh all day."


def test_days_keep_today_and_drop_empty_neighbours():
    days = rate_days({"yesterday": [], "today": TODAY, "tomorrow": []}, GBP)
    assert [d.key for d in days] == ["today"]
    days = rate_days({"yesterday": TODAY, "today": [], "tomorrow": TODAY}, GBP)
    assert [d.key for d in days] == ["yesterday", "today", "tomorrow"]
    assert days[1].rows == [] and str(days[1].chart) == ""
    assert days[0].lowest.cost < days[0].highest.cost
    assert rate_days(None, GBP)[0].key == "today"
