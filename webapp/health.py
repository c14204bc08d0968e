"""``GET /healthz`` for load balancers: can this node store a customer's step right now?

It writes, rather than PINGs: a node whose Redis became a read-only replica (a failover it has
not followed, or a ``REDIS_URL`` naming a replica) answers PING happily while every customer's
write gets the 503 page. So it sets a short-lived key of its own (one per process, ``PX``, so
nothing accumulates) and answers 503 with the reason: ``redis: "read-only"`` (the server
refuses writes as a replica), ``"refusing-writes"`` (any other refusal: out of memory under
``noeviction``, a failed disk under ``stop-writes-on-bgsave-error``) or ``"down"`` (no answer).
Under Sentinel a demoted primary's READONLY makes the client ask the Sentinels again (one
reconnect, :mod:`webapp.redis_connection`), so the check reports what a customer's request
would meet: the current primary.

FlatPeak is deliberately not called, so an upstream outage does not take every node out of
rotation at once. It never opens the session (see ``sessions.SESSIONLESS_ENDPOINTS``) and uses
a client without the failover wait, so it answers within the Redis client's 2 s timeout even
when Redis accepts connections and then says nothing.
"""

from __future__ import annotations

import os
import secrets

import redis
from flask import Blueprint, Response, jsonify

from webapp.extensions import health_store

bp = Blueprint("health", __name__)

# One key per process (the pid alone could repeat across machines sharing the Redis).
PROBE_KEY = f"connect:health:{os.getpid()}:{secrets.token_hex(4)}"
PROBE_TTL_MS = 10_000


def _problem() -> str | None:
    try:
        health_store().set(PROBE_KEY, "1", px=PROBE_TTL_MS)
    except redis.ReadOnlyError:
        return "read-only"
    except redis.ResponseError:
        return "refusing-writes"
    except redis.RedisError:
        return "down"
    return None


@bp.get("/healthz")
def healthz() -> Response:
    problem = _problem()
    if problem is None:
        response = jsonify(status="ok")
    else:
        response = jsonify(status="unavailable", redis=problem)
        response.status_code = 503
    response.headers["Cache-Control"] = "no-store"  # a cached answer says nothing about now
    return response
