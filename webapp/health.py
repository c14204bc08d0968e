"""``GET /healthz`` for load balancers: Redis must answer; FlatPeak is deliberately not called,
so an upstream outage does not take every node out of rotation at once.

It never opens the session (see ``sessions.SESSIONLESS_ENDPOINTS``), so it answers within the
Redis client's 2 s timeout even when Redis accepts connections and then says nothing.
"""

from __future__ import annotations

import redis
from flask import Blueprint, Response, jsonify

from webapp.extensions import redis_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    try:
        redis_store().ping()
    except redis.RedisError:
        response = jsonify(status="unavailable", redis="down")
        response.status_code = 503
    else:
        response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"  # a cached answer says nothing about now
    return response
