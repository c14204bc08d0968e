"""``GET /healthz`` for load balancers: Redis must answer; FlatPeak is deliberately not called,
so an upstream outage does not take every node out of rotation at once."""

from __future__ import annotations

import redis
from flask import Blueprint, current_app

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    try:
        current_app.extensions["connect_redis"].ping()
    except redis.RedisError:
        return {"status": "unavailable", "redis": "down"}, 503
    return {"status": "ok"}, 200
