"""Per-kind tariff elements on a location, and the two read endpoints built on them.

A location can carry one tariff of each kind (``commodity_import``, ``commodity_export``,
``non_commodity_import``; ``non_commodity_export`` is not supported). For compatibility with
locations saved before kinds existed, the ``commodity_import`` element lives in the record's
top-level ``status``/``provider``/``connection_type``/``tariff`` fields; the other kinds live in
``record["elements"][kind]``. See sandbox/README.md, "Location status and tariff rates".
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox import fixtures, rates

KINDS = ("commodity_import", "commodity_export", "non_commodity_import", "non_commodity_export")
PRIMARY = "commodity_import"
UNSUPPORTED = ("non_commodity_export",)
ELEMENT_KEYS = ("status", "provider", "connection_type", "tariff")
MAX_WINDOW = timedelta(days=90)

# Location-status values: CONNECTED, ERROR, NOT_CONNECTED and NOT_SUPPORTED are documented;
# PENDING and DISCONNECTED are inferred (see the README).
STATUS_NAMES = {
    "CONNECTED": "CONNECTED",
    "PENDING": "PENDING",
    "FAILED": "ERROR",
    "DISCONNECTED": "DISCONNECTED",
}


def kind_key(type_: str, direction: str) -> str:
    """``COMMODITY`` + ``EXPORT`` -> ``commodity_export``."""
    return f"{(type_ or 'COMMODITY').lower()}_{(direction or 'IMPORT').lower()}"


def element(location: dict[str, Any], kind: str) -> dict[str, Any]:
    """One kind's element: ``status`` (None when never connected), provider, type, tariff."""
    if kind == PRIMARY:
        return {key: location.get(key) for key in ELEMENT_KEYS}
    stored = (location.get("elements") or {}).get(kind) or {}
    return {key: stored.get(key) for key in ELEMENT_KEYS}


def set_element(location: dict[str, Any], kind: str, values: dict[str, Any]) -> None:
    """Replace one kind's element, leaving the other kinds as they were."""
    chosen = {key: values.get(key) for key in ELEMENT_KEYS}
    if kind == PRIMARY:
        location.update(chosen)
    else:
        location.setdefault("elements", {})[kind] = chosen


def merge(existing: dict[str, Any] | None, fresh: dict[str, Any], kind: str) -> dict[str, Any]:
    """The stored location after a session for ``kind`` completed with ``fresh``."""
    merged = dict(existing or {})
    if not existing:
        merged.update({key: None for key in ELEMENT_KEYS})
    for key in ("id", "customer_id", "location_reference_id"):
        merged[key] = fresh.get(key) or merged.get(key) or ""
    for key in ("address", "timezone"):
        merged[key] = fresh.get(key) or merged.get(key)
    set_element(merged, kind, fresh)
    return merged


def owner(location: dict[str, Any], default_account: str) -> str:
    """The account a location belongs to; one saved before locations recorded it (or made by
    the test hook without one) belongs to the default account."""
    return str(location.get("account_id") or default_account)


def tariff_id(location_id: str, kind: str, tariff: dict[str, Any]) -> str:
    """A stable ``trf_`` id for one location's tariff element (inferred: ids are opaque)."""
    seed = f"{location_id}|{kind}|{tariff.get('library_id', '')}|{tariff.get('name', '')}"
    return "trf_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _provider(chosen: dict[str, Any] | None, public_url: str) -> dict[str, str] | None:
    if not chosen:
        return None
    if chosen.get("custom_name"):
        return fixtures.custom_provider(chosen["custom_name"])
    provider = fixtures.PROVIDERS_BY_ID.get(chosen.get("id", ""))
    if provider is None:
        return None
    logo = f"{public_url}/_sandbox/logos/{provider.id}.svg" if provider.has_logo else ""
    return {"id": provider.id, "display_name": provider.name, "logo_url": logo}


def status_entry(location: dict[str, Any], kind: str, public_url: str) -> dict[str, Any]:
    """One ``tariff_status`` entry of the ``location_status`` object."""
    if kind in UNSUPPORTED:
        return {"status": "NOT_SUPPORTED"}
    found = element(location, kind)
    status = found.get("status")
    if not status:
        return {"status": "NOT_CONNECTED"}
    entry: dict[str, Any] = {"status": STATUS_NAMES.get(status, status)}
    if status == "DISCONNECTED":
        return entry
    entry["connection_type"] = found.get("connection_type") or "MANUAL"
    provider = _provider(found.get("provider"), public_url)
    if provider:
        entry["provider"] = provider
    tariff = found.get("tariff") or {}
    if tariff.get("structure"):
        entry["tariff"] = {
            "id": tariff_id(location["id"], kind, tariff),
            "display_name": tariff.get("name", ""),
            "structure_type": tariff["structure"],
            "contract_end_date": tariff.get("contract_end_date"),
        }
    return entry


def location_status(
    location: dict[str, Any], *, account_id: str, live_mode: bool, public_url: str
) -> dict[str, Any]:
    return {
        "id": location["id"],
        "object": "location_status",
        "live_mode": live_mode,
        "tariff_status": {
            **{kind: status_entry(location, kind, public_url) for kind in KINDS},
            "local": {"status": "NOT_SUPPORTED"},
        },
        "time_created": location.get("time_created") or _utc(datetime.now(UTC)),
        "account_id": account_id,
    }


# --- tariff rates ------------------------------------------------------------------------------
def parse_time(value: str) -> datetime | None:
    """An RFC 3339 time with ``Z`` or an offset; None when it is not one."""
    text = value.strip()
    if not text or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_time(moment: datetime, like: datetime) -> str:
    """In the request's format: Zulu when ``end_time`` was Zulu, else ``end_time``'s offset."""
    offset = like.utcoffset()
    if not offset:
        return _utc(moment)
    return moment.astimezone(like.tzinfo).isoformat()


def rate_periods(
    tariff: dict[str, Any],
    timezone: str,
    start: datetime,
    end: datetime,
    *,
    region: str,
    market_base: float,
    now: datetime,
) -> list[tuple[datetime, datetime, float, float]]:
    """(from, to, rate, confidence) covering [start, end), cut at the window's edges."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    forecast = rates.FORECAST_CONFIDENCE.get(tariff["structure"], 0.7)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    out: list[tuple[datetime, datetime, float, float]] = []
    while day <= last:
        confidence = 1 if day <= today else forecast
        for period in rates.day_rates(day, tz, tariff, confidence, region, market_base):
            lo = max(datetime.fromisoformat(period["valid_from"]), start)
            hi = min(datetime.fromisoformat(period["valid_to"]), end)
            if lo < hi:
                out.append((lo, hi, period["tariff"]["cost"], period["tariff"]["confidence"]))
        day += timedelta(days=1)
    return out


def tariff_rate(
    location: dict[str, Any],
    tariff: dict[str, Any],
    *,
    direction: str,
    start: datetime,
    end: datetime,
    request_echo: dict[str, Any],
    include_tariff: bool,
    account_id: str,
    live_mode: bool,
    rate_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The documented ``tariff_rate`` object for one connected element."""
    now = now or datetime.now(UTC)
    country = fixtures.COUNTRIES.get((location.get("address") or {}).get("country_code", "GB"))
    home = country or fixtures.COUNTRIES["GB"]
    timezone = location.get("timezone") or home.timezone
    periods = rate_periods(
        tariff,
        timezone,
        start,
        end,
        region=tariff.get("region", ""),
        market_base=home.market_base,
        now=now,
    )
    data = []
    for lo, hi, rate, confidence in periods:
        item: dict[str, Any] = {
            "valid_from": format_time(lo, end),
            "valid_to": format_time(hi, end),
        }
        if include_tariff:
            item["tariff"] = {"rate": rate, "confidence": confidence}
        data.append(item)
    tz = ZoneInfo(timezone)
    local_now = now.astimezone(tz)
    next_update = local_now.replace(hour=23, minute=0, second=0, microsecond=0)
    if next_update <= local_now:
        next_update += timedelta(days=1)
    return {
        "id": rate_id,
        "object": "tariff_rate",
        "live_mode": live_mode,
        "location_id": location["id"],
        "location_timezone": timezone,
        "currency_code": home.currency,
        "direction": direction,
        "last_updated": format_time(now.replace(minute=0, second=0, microsecond=0), end),
        "next_update": format_time(next_update, end),
        "request": request_echo,
        "data": data,
        "time_created": _utc(now),
        "account_id": account_id,
    }
