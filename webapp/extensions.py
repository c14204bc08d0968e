"""The app's two connections to the outside, made once in ``create_app`` and read per request.

Views reach Redis and FlatPeak through these accessors rather than ``current_app.extensions``
keys spelled out in each module, so there is one place that says what each key holds.
"""

from __future__ import annotations

import redis
from flask import Flask, current_app

from webapp import steps
from webapp.flatpeak import FlatPeakClient

REDIS_KEY = "connect_redis"
FLATPEAK_KEY = "flatpeak"
# Client-side timeouts: a stalled Redis must turn into the 503 page within seconds, not hang a
# worker thread until gunicorn kills it.
REDIS_TIMEOUT = 2


def init_app(app: Flask) -> None:
    client = redis.Redis.from_url(
        app.config["REDIS_URL"],
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
        health_check_interval=30,
    )
    app.extensions[REDIS_KEY] = client
    app.extensions[FLATPEAK_KEY] = FlatPeakClient.from_config(app.config, client)


def redis_store() -> redis.Redis:
    """The app's Redis: sessions, flow handles, the step ledger, results, rate-limit counters."""
    return current_app.extensions[REDIS_KEY]


def flatpeak() -> FlatPeakClient:
    """The FlatPeak client for the partner's account (one per app, pooled per process)."""
    return current_app.extensions[FLATPEAK_KEY]


def ledger(connect_token: str) -> steps.Ledger:
    """The step ledger of one flow, with timeouts derived from the upstream's."""
    return steps.Ledger.for_flow(redis_store(), connect_token, current_app.config)
