"""``results.save`` with replicas asked for, against real redis-servers: it waits for the
replicas in sync and only for them (``durable_writes.write_durably``; docs/redis.md,
"Durability"). The Sentinel topology's version of this is in ``test_redis_failover.py``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import RedisServer
from webapp import results
from webapp.durable_writes import Durability, NotReplicated, online_replicas

# Generous: a replica on a busy CI machine may take a while to acknowledge. The silent replica
# is given a short wait, since it never answers.
ONE_REPLICA = Durability(replicas=1, timeout_ms=3000)
SHORT_WAIT = Durability(replicas=1, timeout_ms=300)


def save(server: RedisServer, ref: str, durability: Durability = ONE_REPLICA) -> results.Result:
    return results.save(
        server.client(),
        ref,
        customer_id="cus_1",
        location_id="loc_1",
        complete_action="SAVE",
        is_tariff_processed=True,
        live_mode=False,
        durability=durability,
    )


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer]]:
    primary = RedisServer(tmp_path / "primary")
    with primary, RedisServer(tmp_path / "replica", replica_of=primary) as replica:
        deadline = time.monotonic() + 10
        while online_replicas(primary.client()) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        yield primary, replica


def test_a_primary_without_replicas_stores_at_once_with_a_warning(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        saved = save(redis_server, "durability-alone")
    # A WAIT would take its whole 3 s here (no replica can answer); half of it is load slack.
    assert time.monotonic() - started < ONE_REPLICA.timeout_ms / 1000 / 2
    assert results.get(redis_server.client(), "durability-alone") == saved
    assert "no replica is in sync" in caplog.text
    assert "durability-alone" not in caplog.text  # a key names a customer


def test_a_replica_in_sync_has_the_record_when_save_returns(
    pair: tuple[RedisServer, RedisServer],
) -> None:
    primary, replica = pair
    saved = save(primary, "durability-pair")
    assert results.get(replica.client(), "durability-pair") == saved


def test_a_silent_replica_in_sync_refuses_the_save(pair: tuple[RedisServer, RedisServer]) -> None:
    primary, replica = pair
    replica.pause()
    try:
        with pytest.raises(NotReplicated):
            save(primary, "durability-silent", SHORT_WAIT)
    finally:
        replica.resume()
    # Refused, not lost: the record is on the primary and reaches the replica once it answers.
    assert results.get(primary.client(), "durability-silent") is not None
