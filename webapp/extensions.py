"""The app's two connections to the outside, made once in ``create_app`` and read per request.

Views reach Redis and FlatPeak through these accessors rather than ``current_app.extensions``
keys spelled out in each module, so there is one place that says what each key holds.
"""

from __future__ import annotations

import redis
from flask import Flask, current_app, request_started

from webapp import durable_writes, redis_connection, redis_url, steps
from webapp.flatpeak import FlatPeakClient

REDIS_KEY = "connect_redis"
HEALTH_REDIS_KEY = "connect_redis_health"
FLATPEAK_KEY = "flatpeak"
PRIMARY_WATCH_KEY = "connect_redis_primary_watch"
# Client-side timeouts: a stalled Redis must turn into the 503 page within seconds, not hang a
# worker thread until gunicorn kills it.
REDIS_TIMEOUT = 2


def init_app(app: Flask) -> None:
    """One client for everything (sessions, ledger, results, bearer cache), built from
    ``REDIS_URL`` by :mod:`webapp.redis_connection` (a single server or Sentinel), which also
    gives it the failover wait; and one for the health check, which never waits: a load
    balancer wants to know how this node is now, in well under its own timeout."""
    url = app.config["REDIS_URL"]
    budget = redis_connection.failover_wait(url, app.config.get("REDIS_FAILOVER_WAIT"))
    client = redis_connection.connect(url, timeout=REDIS_TIMEOUT, budget=budget)
    app.extensions[REDIS_KEY] = client
    app.extensions[HEALTH_REDIS_KEY] = redis_connection.connect(url, timeout=REDIS_TIMEOUT)
    app.extensions[FLATPEAK_KEY] = FlatPeakClient.from_config(app.config, client)
    if redis_url.is_sentinel(url):
        # A signal, not a before_request hook: it runs first without reordering those, and
        # never fails a request (redis_connection.PrimaryWatch).
        watch = redis_connection.PrimaryWatch(client)
        app.extensions[PRIMARY_WATCH_KEY] = watch
        request_started.connect(watch.check, app, weak=False)


def redis_store() -> redis.Redis:
    """The app's Redis: sessions, flow handles, the step ledger, results, rate-limit counters."""
    return current_app.extensions[REDIS_KEY]


def health_store() -> redis.Redis:
    """The same Redis for ``/healthz``: no failover wait, so the answer is about now."""
    return current_app.extensions[HEALTH_REDIS_KEY]


def durability() -> durable_writes.Durability:
    """How many replicas must acknowledge a stored result (``REDIS_RESULT_REPLICAS``)."""
    return durable_writes.Durability.from_config(current_app.config)


def flatpeak() -> FlatPeakClient:
    """The FlatPeak client for the partner's account (one per app, pooled per process)."""
    return current_app.extensions[FLATPEAK_KEY]


def ledger(connect_token: str) -> steps.Ledger:
    """The step ledger of one flow, with timeouts derived from the upstream's."""
    return steps.Ledger.for_flow(redis_store(), connect_token, current_app.config)
