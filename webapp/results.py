"""The partner's side of a completed flow: exchanged ids per partner customer reference.

This is what a partner integration exists for: after the exchange, ``customer_id`` and
``location_id`` are permanent FlatPeak ids the partner uses for every later API call. They are
kept in Redis without a TTL (the run command's Redis writes an append-only file), one JSON record
per customer reference and tariff kind (:mod:`webapp.tariff_kinds`), replaced by the latest
completion of that kind. The import record keeps the key it always had, so records written before
kinds existed still read as the customer's import tariff.

With a replica (the production topology: primary, replica, Sentinels), a record is only as safe
as the copies that have it: replication is asynchronous, and a primary that dies a moment after
the write is replaced by a replica that never saw it. So ``save`` can ``WAIT`` for the replicas
in sync (``REDIS_RESULT_REPLICAS``), and a record a replica in sync did not acknowledge in time
fails the request (:class:`webapp.durable_writes.NotReplicated`, the 503 page) instead of
telling the customer they are connected: the flow's session still holds the token, and the
retry exchanges and stores again. With no replica in sync (just after a failover) there is none
that could be promoted without it, and the record is kept on the primary (docs/redis.md,
"Durability").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import redis
from flask import current_app, has_app_context

from webapp.durable_writes import Durability, write_durably
from webapp.tariff_kinds import COMMODITY_IMPORT, KINDS

_PREFIX = "connect:result:"
# Other kinds live under a prefix of their own: a reference may contain ":", so appending the
# kind to the import key could collide with another customer's import record.
_KIND_PREFIX = "connect:result-kind:"


def _key(customer_reference: str, kind: str) -> str:
    if kind == COMMODITY_IMPORT:
        return _PREFIX + customer_reference
    return f"{_KIND_PREFIX}{kind}:{customer_reference}"


@dataclass(frozen=True)
class Result:
    customer_reference: str
    customer_id: str | None
    location_id: str | None
    complete_action: str | None
    is_tariff_processed: bool
    live_mode: bool
    completed_at: str
    # Defaulted so a record stored before kinds existed still loads (it was an import).
    kind: str = COMMODITY_IMPORT


def save(
    client: redis.Redis,
    customer_reference: str,
    *,
    customer_id: str | None,
    location_id: str | None,
    complete_action: str | None,
    is_tariff_processed: bool,
    live_mode: bool,
    kind: str = COMMODITY_IMPORT,
    durability: Durability | None = None,
) -> Result:
    """Store the ids; with replicas asked for, only once they have them. ``durability``
    defaults to the app's settings in a request (so every writer of results gets it: the
    callback and the settings page's disconnect alike)."""
    if durability is None and has_app_context():
        durability = Durability.from_config(current_app.config)
    result = Result(
        customer_reference=customer_reference,
        customer_id=customer_id,
        location_id=location_id,
        complete_action=complete_action,
        is_tariff_processed=is_tariff_processed,
        live_mode=live_mode,
        completed_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        kind=kind,
    )
    key, value = _key(customer_reference, kind), json.dumps(asdict(result))
    write_durably(client, lambda pipe: pipe.set(key, value), durability, what="stored result")
    return result


def get(
    client: redis.Redis, customer_reference: str, kind: str = COMMODITY_IMPORT
) -> Result | None:
    raw = client.get(_key(customer_reference, kind))
    if not raw:
        return None
    try:
        return Result(**json.loads(raw))
    except (TypeError, ValueError):
        return None


def all_kinds(client: redis.Redis, customer_reference: str) -> dict[str, Result]:
    """Every stored result of the customer, by kind (one round trip)."""
    kinds = list(KINDS)
    raws = client.mget([_key(customer_reference, kind) for kind in kinds])
    found: dict[str, Result] = {}
    for kind, raw in zip(kinds, raws, strict=True):
        if not raw:
            continue
        try:
            found[kind] = Result(**json.loads(raw))
        except (TypeError, ValueError):
            continue
    return found


def location_of(client: redis.Redis, customer_reference: str) -> Result | None:
    """A stored result naming the customer's FlatPeak location, import first: every kind of
    tariff belongs to the same location, so any of them will do."""
    for result in all_kinds(client, customer_reference).values():
        if result.location_id:
            return result
    return None
