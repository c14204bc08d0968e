"""The step ledger's Redis primitives on a real redis-server: the lock won together with the
ledger, released only by its owner, and given up with the recorded answer in one script."""

from __future__ import annotations

import secrets

import redis

from devstack.stack import RedisServer
from webapp import steps
from webapp.page import Page

PAGE = Page(route="postal_address_capture", data={"postal_address": {}})
NEXT = Page(route="provider_select", data={"providers": []})


def fresh_ledger(redis_server: RedisServer) -> steps.Ledger:
    client = redis.Redis.from_url(redis_server.url(0))
    return steps.Ledger(client, "cot_" + secrets.token_hex(16), lock_cap=5.0, lock_wait=0.2)


def test_the_lock_comes_with_the_ledger_as_it_was_when_won(redis_server: RedisServer) -> None:
    ledger = fresh_ledger(redis_server)
    empty = ledger.lock(0)
    assert empty.acquire() and empty.state is None  # no record yet
    empty.release()

    version = ledger.observe(PAGE)
    lock = ledger.lock(version)
    assert lock.acquire()
    assert lock.state is not None
    assert (lock.state.version, lock.state.route) == (version, "postal_address_capture")
    assert lock.state.fp == steps.fingerprint(PAGE) and lock.state.pending is None
    lock.release()


def test_one_holder_per_page_and_only_the_owner_releases(redis_server: RedisServer) -> None:
    ledger = fresh_ledger(redis_server)
    version = ledger.observe(PAGE)
    first, second = ledger.lock(version), ledger.lock(version)
    assert first.acquire(blocking=False)
    assert not second.acquire()  # waits lock_wait, then gives up
    second.release()  # not the owner: a no-op
    assert not ledger.lock(version).acquire(blocking=False)
    assert ledger.lock(version + 1).acquire(blocking=False)  # another page, another lock
    first.release()
    assert second.acquire(blocking=False)
    second.release()


def test_recording_the_answer_gives_up_the_lock_in_the_same_step(redis_server: RedisServer) -> None:
    ledger = fresh_ledger(redis_server)
    version = ledger.observe(PAGE)
    lock = ledger.lock(version)
    assert lock.acquire()
    ledger.begin(PAGE)
    moved = ledger.observe(NEXT, stepped=True, release=lock)
    assert moved == version + 1 and not lock.held
    state = ledger.state()
    assert state is not None and state.route == "provider_select" and state.pending is None
    assert ledger.lock(version).acquire(blocking=False)  # free again
    lock.release()  # already released: nothing happens


def test_an_expired_lock_released_late_does_not_free_its_successor(
    redis_server: RedisServer,
) -> None:
    ledger = fresh_ledger(redis_server)
    ledger.lock_cap = 0.05
    slow = ledger.lock(1)
    assert slow.acquire()
    ledger.lock_cap = 5.0
    successor = ledger.lock(1)
    assert successor.acquire()  # waited out the first one's 50 ms
    slow.release()  # the first owner comes back late
    assert not ledger.lock(1).acquire(blocking=False)
    successor.release()


def test_scripts_survive_a_script_cache_flush(redis_server: RedisServer) -> None:
    ledger = fresh_ledger(redis_server)
    ledger.client.script_flush()  # as after a Redis restart
    lock = ledger.lock(0)
    assert lock.acquire()
    assert ledger.observe(PAGE, release=lock) == 1


def test_a_recorded_page_never_gets_a_version_below_the_floor(redis_server: RedisServer) -> None:
    """After lost writes, the ledger catches up with the version a form carried, so a number
    already handed out is not handed out again for another page."""
    ledger = fresh_ledger(redis_server)
    assert ledger.observe(PAGE) == 1
    assert ledger.observe(NEXT, at_least=7) == 7
    assert ledger.observe(NEXT) == 7  # the same page: no move
    assert ledger.observe(NEXT, stepped=True, at_least=3) == 7  # no pending note: no move
    assert ledger.observe(PAGE, at_least=2) == 8  # a floor below the version changes nothing
    assert ledger.state() == steps.State(
        version=8, fp=steps.fingerprint(PAGE), route=PAGE.route, pending=None
    )
