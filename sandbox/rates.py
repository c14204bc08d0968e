"""Summary rates: what the customer's tariff costs yesterday, today and tomorrow.

The summary pages must show prices that follow from what the customer entered, in the location's
own timezone (periods are RFC 3339 with the local offset, and a day is 23 or 25 hours long when the
clocks change). Market prices come from a synthetic but deterministic wholesale curve, so the same
location shows the same prices on every request and in every worker.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

FIXED = "FIXED"
TIME_OF_DAY = "TIME_OF_DAY"
MARKET = "MARKET"

# Tomorrow's prices are a forecast: fixed and time-of-day prices are very likely to hold, the
# market price much less so.
FORECAST_CONFIDENCE = {FIXED: 0.95, TIME_OF_DAY: 0.95, MARKET: 0.7}


def _seconds(hhmmss: str) -> int:
    h, m, s = (int(part) for part in hhmmss.split(":"))
    return h * 3600 + m * 60 + s


def _local(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    """Local wall-clock time on ``day``, normalised through UTC so times in a DST gap resolve."""
    naive = datetime.combine(day, time()) + timedelta(seconds=seconds)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def _period(start: datetime, end: datetime, cost: float, confidence: float) -> dict[str, Any]:
    return {
        "valid_from": start.isoformat(),
        "valid_to": end.isoformat(),
        "tariff": {"cost": round(cost, 5), "confidence": confidence},
    }


def _tod_cost_at(hours: list[dict[str, Any]], seconds: int) -> float:
    for period in hours:
        start, end = _seconds(period["valid_from"]), _seconds(period["valid_to"])
        if end <= start:  # wraps midnight, or 00:00:00 meaning end of day
            if seconds >= start or seconds < end:
                return float(period["cost"])
        elif start <= seconds < end:
            return float(period["cost"])
    return float(hours[0]["cost"]) if hours else 0.0


def wholesale_price(moment: datetime, region: str, base: float) -> float:
    """A plausible wholesale price per kWh: cheap at night, peaking early evening, with jitter."""
    local_hour = moment.hour + moment.minute / 60
    shape = 0.55 + 0.25 * math.sin((local_hour - 10) / 24 * 2 * math.pi)
    if 16 <= local_hour < 19:
        shape += 0.45
    seed = f"{region}|{moment.astimezone(UTC).isoformat()}".encode()
    jitter = int.from_bytes(hashlib.sha256(seed).digest()[:2], "big") / 65535 - 0.5
    return base * (shape + 0.2 * jitter)


def day_rates(
    day: date,
    tz: ZoneInfo,
    tariff: dict[str, Any],
    confidence: float,
    region: str = "",
    market_base: float = 0.15,
) -> list[dict[str, Any]]:
    """Contiguous periods covering one local day, from local midnight to the next."""
    start_of_day = _local(day, 0, tz)
    end_of_day = _local(day + timedelta(days=1), 0, tz)
    structure = tariff["structure"]
    if structure == FIXED:
        return [_period(start_of_day, end_of_day, tariff["cost"], confidence)]
    if structure == TIME_OF_DAY:
        hours = tariff["hours"]
        cuts = (
            {0}
            | {_seconds(p["valid_from"]) for p in hours}
            | {_seconds(p["valid_to"]) for p in hours}
        )
        bounds = sorted(c for c in cuts if c < 86400)
        periods = []
        for i, cut in enumerate(bounds):
            start = _local(day, cut, tz)
            end = _local(day, bounds[i + 1], tz) if i + 1 < len(bounds) else end_of_day
            if end <= start:
                continue
            cost = _tod_cost_at(hours, cut)
            if periods and periods[-1]["tariff"]["cost"] == round(cost, 5):
                periods[-1]["valid_to"] = end.isoformat()  # same price: one longer period
            else:
                periods.append(_period(start, end, cost, confidence))
        return periods
    # MARKET: hourly wholesale price plus the customer's surcharge, fixed first then percentage.
    surcharge = tariff.get("surcharge") or {"fixed": 0, "percentage": 0}
    periods = []
    moment = start_of_day.astimezone(UTC)
    end_utc = end_of_day.astimezone(UTC)
    while moment < end_utc:
        nxt = moment + timedelta(hours=1)
        base = wholesale_price(moment.astimezone(tz), region, market_base)
        price = (base + float(surcharge["fixed"])) * (1 + float(surcharge["percentage"]) / 100)
        periods.append(_period(moment.astimezone(tz), nxt.astimezone(tz), price, confidence))
        moment = nxt
    return periods


def summary_rates(
    tariff: dict[str, Any],
    timezone: str,
    region: str = "",
    market_base: float = 0.15,
    now: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{"yesterday", "today", "tomorrow"}`` in the location's timezone."""
    tz = ZoneInfo(timezone)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    forecast = FORECAST_CONFIDENCE.get(tariff["structure"], 0.7)
    return {
        "yesterday": day_rates(today - timedelta(days=1), tz, tariff, 1, region, market_base),
        "today": day_rates(today, tz, tariff, 1, region, market_base),
        "tomorrow": day_rates(today + timedelta(days=1), tz, tariff, forecast, region, market_base),
    }
