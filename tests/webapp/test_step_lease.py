"""The step lock as a lease, on a real redis-server: renewed while its owner lives, lapsing
within a lease once the owner is gone, never renewed by anyone but its owner, and capped.

The leases here are about a second, so a test waits a few of them; what is asserted is
behaviour (the lock still held after several leases, free again after its owner died, gone
after the cap), with margins wide enough for a busy two-core machine.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devstack.stack import ROOT, RedisServer
from webapp import extensions, steps
from webapp.config import from_env
from webapp.page import Page

LEASE = 1.5  # renewed every 0.5 s: a renewer would have to stall for a whole second to lose it
SLACK = 2.0  # scheduling delay on a loaded machine that a timing assertion tolerates

# A lock owner in a process of its own: wins the lock, says so, and waits to be killed.
OWNER = """
import sys, time
import redis
from webapp import steps
client = redis.Redis.from_url(sys.argv[1])
ledger = steps.Ledger(client, sys.argv[2], lock_cap=60.0, lock_wait=0.0, lease=float(sys.argv[3]))
lock = ledger.lock(1)
assert lock.acquire(blocking=False)
print("held", flush=True)
time.sleep(60)
"""


def ledger_for(
    client: redis.Redis, flow: str, *, lease: float = LEASE, cap: float = 60.0, wait: float = 0.0
) -> steps.Ledger:
    return steps.Ledger(client, flow, lock_cap=cap, lock_wait=wait, lease=lease)


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url(0))


@pytest.fixture
def flow() -> str:
    return "cot_" + secrets.token_hex(16)


def owner_of(client: redis.Redis, key: str) -> str | None:
    raw = client.get(key)
    return raw.decode() if raw is not None else None


def test_a_live_owner_keeps_its_lock_for_many_leases(client: redis.Redis, flow: str) -> None:
    ledger = ledger_for(client, flow)
    lock = ledger.lock(1)
    assert lock.acquire(blocking=False)
    try:
        assert 0 < client.pttl(lock.key) <= LEASE * 1000  # set for one lease, not the cap
        time.sleep(3 * LEASE)
        assert owner_of(client, lock.key) == lock.token, "the lease lapsed under a live owner"
        assert 0 < client.pttl(lock.key) <= LEASE * 1000
        assert not ledger.lock(1).acquire(blocking=False)
    finally:
        lock.release()
    assert client.exists(lock.key) == 0


def test_a_released_lock_is_no_longer_renewed(client: redis.Redis, flow: str) -> None:
    ledger = ledger_for(client, flow)
    version = ledger.observe(Page(route="provider_select", data={}))
    lock = ledger.lock(version)
    assert lock.acquire(blocking=False)
    assert lock in steps._renewer._held
    ledger.begin(Page(route="provider_select", data={}))
    ledger.observe(Page(route="tariff_select", data={}), stepped=True, release=lock)
    assert not lock.held
    assert lock not in steps._renewer._held  # given up with the answer: nothing to renew
    assert client.exists(lock.key) == 0


@pytest.fixture
def dead_owner(redis_server: RedisServer, flow: str) -> Iterator[subprocess.Popen[str]]:
    """A process of its own holding the flow's lock for page 1; the test kills it."""
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, redis_server.url(0), flow, str(LEASE)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "held"
        yield owner
    finally:
        if owner.poll() is None:
            owner.kill()
        owner.wait(timeout=10)


def test_a_dead_owners_lock_frees_itself_within_a_lease(
    client: redis.Redis, flow: str, dead_owner: subprocess.Popen[str]
) -> None:
    ledger = ledger_for(client, flow, wait=LEASE + 2 * SLACK)
    key = ledger.lock(1).key
    time.sleep(2 * LEASE)  # its own renewer (started in that process) keeps it
    assert client.exists(key) == 1 and not ledger.lock(1).acquire(blocking=False)

    dead_owner.send_signal(signal.SIGKILL)  # no finally, no release: only the lease is left
    dead_owner.wait(timeout=10)
    assert client.exists(key) == 1
    waiter = ledger.lock(1)
    started = time.monotonic()
    assert waiter.acquire(), "the orphaned lock outlived the waiter's wait"
    assert time.monotonic() - started < LEASE + SLACK
    waiter.release()


def test_only_the_owner_renews(client: redis.Redis, flow: str) -> None:
    """A lock that lapsed (here: deleted, as an expiry would) and went to another request
    keeps its new owner's lease: the old owner's renewal compares tokens and does nothing."""
    first = ledger_for(client, flow, lease=30.0).lock(1)
    assert first.acquire(blocking=False)
    client.delete(first.key)
    successor = ledger_for(client, flow, lease=LEASE).lock(1)
    assert successor.acquire(blocking=False)
    try:
        assert first.renew(time.monotonic()) is False  # not ours: nothing extended
        assert owner_of(client, first.key) == successor.token
        assert client.pttl(first.key) <= LEASE * 1000  # not the first one's 30 s
        # The renewer finds out on its own too, and stops renewing the lost lock.
        first.renew_at = 0.0
        with steps._renewer._cond:
            steps._renewer._cond.notify()
        deadline = time.monotonic() + 5
        while first in steps._renewer._held and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first not in steps._renewer._held
        assert owner_of(client, first.key) == successor.token
    finally:
        successor.release()
        first.release()  # not the owner any more: a no-op in Redis


def test_renewal_stops_at_the_cap(client: redis.Redis, flow: str) -> None:
    """A live owner that is stuck cannot hold the page for ever: the lease is renewed only up
    to the cap, and the lock is gone once the cap has passed."""
    cap = 3 * LEASE
    lock = ledger_for(client, flow, cap=cap).lock(1)
    assert lock.acquire(blocking=False)
    try:
        time.sleep(2 * LEASE)
        assert owner_of(client, lock.key) == lock.token  # renewed past its first lease
        deadline = time.monotonic() + cap + SLACK
        while client.exists(lock.key) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.exists(lock.key) == 0, "renewed past the cap"
        assert lock not in steps._renewer._held
    finally:
        lock.release()


def test_a_redis_failure_while_renewing_is_logged_once_and_harms_nothing(
    client: redis.Redis, flow: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The lease of a Redis that went away cannot be renewed; the renewer says so once (no
    token, no key), and keeps renewing the leases it still can."""
    healthy = ledger_for(client, flow).lock(1)
    assert healthy.acquire(blocking=False)
    with RedisServer(tmp_path) as doomed:
        # Short timeouts, as the app's own client has (2 s), so the test does not wait long.
        lost_client = redis.Redis.from_url(
            doomed.url(0), socket_timeout=0.5, socket_connect_timeout=0.5
        )
        lost = ledger_for(lost_client, flow).lock(1)
        assert lost.acquire(blocking=False)
        caplog.set_level(logging.WARNING, logger="webapp.steps")
        doomed.kill()
        time.sleep(2 * LEASE)  # several failed renewals
    try:
        warnings_logged = [r for r in caplog.records if r.name == "webapp.steps"]
        assert len(warnings_logged) == 1, [r.getMessage() for r in warnings_logged]
        message = warnings_logged[0].getMessage()
        assert lost.token not in message and healthy.token not in message
        assert flow not in message and lost.key not in message
        assert steps._renewer._thread is not None and steps._renewer._thread.is_alive()
        assert owner_of(client, healthy.key) == healthy.token  # still renewed
    finally:
        healthy.release()
        lost.forget()


def test_a_forked_child_renews_its_own_locks(redis_server: RedisServer, flow: str) -> None:
    """gunicorn forks its workers: a child inherits no renewer thread and no locks, and starts
    its own thread with the first lock it wins."""
    parent_client = redis.Redis.from_url(redis_server.url(0))
    parents = ledger_for(parent_client, flow).lock(1)
    assert parents.acquire(blocking=False)  # the parent's renewer is running
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            if steps._renewer.held() == 0:
                child = ledger_for(redis.Redis.from_url(redis_server.url(0)), flow).lock(2)
                if child.acquire(blocking=False):
                    time.sleep(2 * LEASE)
                    raw = child.ledger.client.get(child.key)
                    code = 0 if raw is not None and raw.decode() == child.token else 2
                    child.release()
        finally:
            os._exit(code)
    try:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child's lock was not renewed"
    finally:
        parents.release()


@pytest.mark.unit
def test_the_lease_fits_inside_a_waiters_wait() -> None:
    """With the shipped timeouts, and with a short read timeout: a waiter behind a dead owner
    always outlasts the lease, and a live owner may still hold the lock as long as before."""
    for read in ("10", "3", "0.5"):
        config = from_env({"FLATPEAK_READ_TIMEOUT": read})
        connect = float(config["FLATPEAK_CONNECT_TIMEOUT"])
        ledger = steps.Ledger.for_flow(redis.Redis(), "cot_x", config)
        assert ledger.lease <= ledger.lock_wait / 2
        assert ledger.lock_cap == 3 * (connect + float(read)) + 5
    assert steps.LEASE >= 3 * extensions.REDIS_TIMEOUT  # survives one hung renewal
