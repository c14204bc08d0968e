"""The request journal: what the Connect endpoint received for each token, for tests.

A client that must never submit one choice twice can only be tested against an upstream that
says what it got. Every Connect POST that reaches the state machine for a known token (faulted
requests never do) appends one entry, in the order the per-token lock let them through: the
route and action posted, the names of the ``data`` fields (never their values), the time, the
outcome (``applied`` or the error code answered) and the route answered. Entries live in Redis,
so every worker of the sandbox writes one journal, and expire with the token's session.

Only with the test hooks on (``SANDBOX_HOOKS`` not ``0``): a production-like sandbox keeps no
journal at all.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

PREFIX = "sandbox:journal:"
MAX_ENTRIES = 500  # per token; a flow is a dozen requests, a misbehaving client is capped
TTL = 8 * 86400  # about as long as the session it describes (token life plus a week's grace)


def record(
    client: redis.Redis,
    token: str,
    body: dict[str, Any],
    *,
    outcome: str,
    answered: str | None,
) -> None:
    data = body.get("data")
    entry = {
        "route": body.get("route") if isinstance(body.get("route"), str) else None,
        "action": body.get("action") if isinstance(body.get("action"), str) else None,
        "data_keys": sorted(str(key) for key in data) if isinstance(data, dict) else [],
        "time": round(time.time(), 3),
        "outcome": outcome,
        "answered": answered,
    }
    key = PREFIX + token
    pipe = client.pipeline()
    pipe.rpush(key, json.dumps(entry))
    pipe.ltrim(key, -MAX_ENTRIES, -1)
    pipe.expire(key, TTL)
    pipe.execute()


def entries(client: redis.Redis, token: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in client.lrange(PREFIX + token, 0, -1)]
