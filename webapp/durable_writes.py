"""Writes that must survive a failover: ``WAIT`` for the replicas in sync.

Replication is asynchronous, so a primary that dies a moment after a write is replaced by a
replica that never saw it. For most keys that costs little; for a stored result it would cost
the customer's connection (``webapp/results.py``, docs/redis.md "Durability"). So such writes
go through :func:`write_durably`, which waits on the write's own connection (``WAIT`` counts
that connection's writes) for the replicas that could be promoted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

log = logging.getLogger(__name__)


class NotReplicated(redis.RedisError):
    """A write that must be on a replica was not acknowledged by one in time.

    A ``RedisError``, so the request ends on the app's 503 page, which keeps the flow: the
    write is retried with the request. Its message names no key (keys carry customer
    references).
    """


@dataclass(frozen=True)
class Durability:
    """How many replicas must acknowledge a write (``WAIT``) and how long to wait for them."""

    replicas: int = 0
    timeout_ms: int = 1000

    @classmethod
    def from_config(cls, config: Any) -> Durability:
        return cls(
            replicas=int(config.get("REDIS_RESULT_REPLICAS") or 0),
            timeout_ms=int(config.get("REDIS_RESULT_WAIT_MS") or 1000),
        )


def online_replicas(client: redis.Redis) -> int:
    """Replicas linked to the primary and streaming (``state=online`` in ``INFO replication``);
    one still loading its first copy cannot acknowledge yet."""
    info = client.info("replication")
    return sum(
        1
        for name, value in info.items()
        if name.startswith("slave") and isinstance(value, dict) and value.get("state") == "online"
    )


def write_durably(
    client: redis.Redis,
    write: Callable[[Any], object],
    durability: Durability | None,
    *,
    what: str,
    required: bool = True,
) -> None:
    """Run ``write(pipe)`` and, when replicas are asked for, ``WAIT`` for those in sync (up to
    the number asked) in the same pipeline: ``WAIT`` counts the writes of its own connection,
    so it must share the write's.

    Too few acknowledgements: ``required`` raises :class:`NotReplicated`; otherwise a warning
    is logged (``what`` names the kind of record, never its key) and the write stands.
    """
    pipe = client.pipeline(transaction=False)
    write(pipe)
    asked = durability.replicas if durability else 0
    if asked <= 0:
        pipe.execute()
        return
    assert durability is not None
    # Wait for every replica that is in sync, up to the number asked for. A replica that is
    # not in sync cannot be promoted with an older copy of this record: Sentinel only elects a
    # replica that was linked a moment ago, and one that links again first takes the primary's
    # data. With none in sync (after a failover, until the old primary returns as a replica),
    # waiting could only fail, and refusing would stop every completion until an operator
    # brings a node back; the record is then on the primary and in its append-only file.
    wanted = min(asked, online_replicas(client))
    if wanted == 0:
        pipe.execute()
        log.warning("%s: no replica is in sync; kept on the primary alone until one is", what)
        return
    pipe.execute_command("WAIT", wanted, durability.timeout_ms)
    acknowledged = int(pipe.execute()[-1])
    if acknowledged >= wanted:
        return
    message = (
        f"{what}: {acknowledged} of {wanted} replicas acknowledged within "
        f"{durability.timeout_ms} ms"
    )
    if required:
        log.warning("%s; the request is refused so that it is retried", message)
        raise NotReplicated(message)
    log.warning("%s; kept on the primary only", message)
