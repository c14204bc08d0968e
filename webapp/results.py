"""The partner's side of a completed flow: exchanged ids per partner customer reference.

This is what a partner integration exists for: after the exchange, ``customer_id`` and
``location_id`` are permanent FlatPeak ids the partner uses for every later API call. They are
kept in Redis without a TTL (the run command's Redis writes an append-only file), one JSON record
per customer reference, replaced by the latest completion.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import redis

_PREFIX = "connect:result:"


@dataclass(frozen=True)
class Result:
    customer_reference: str
    customer_id: str | None
    location_id: str | None
    complete_action: str | None
    is_tariff_processed: bool
    live_mode: bool
    completed_at: str


def save(
    client: redis.Redis,
    customer_reference: str,
    *,
    customer_id: str | None,
    location_id: str | None,
    complete_action: str | None,
    is_tariff_processed: bool,
    live_mode: bool,
) -> Result:
    result = Result(
        customer_reference=customer_reference,
        customer_id=customer_id,
        location_id=location_id,
        complete_action=complete_action,
        is_tariff_processed=is_tariff_processed,
        live_mode=live_mode,
        completed_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )
    client.set(_PREFIX + customer_reference, json.dumps(asdict(result)))
    return result


def get(client: redis.Redis, customer_reference: str) -> Result | None:
    raw = client.get(_PREFIX + customer_reference)
    if not raw:
        return None
    try:
        return Result(**json.loads(raw))
    except (TypeError, ValueError):
        return None
