"""What we know about each connect token this app created or accepted, keyed by its hash.

The session cookie can be gone when the browser comes back from the provider login or lands on
the callback (Safari iframe, an in-app browser, another device). FlatPeak resumes by token, so
the app must too: this record says the token is one of ours, whose partner customer reference
it belongs to and where to send the customer at the end. Only a SHA-256 of the token names the
key, so this record does not reveal the token (the step ledger and lock are named the same way).

That does not make a copy of Redis harmless. The session (``connect:sess:<sid>``, whose key name
is the session cookie's value) holds the connect token and the customer's address in clear for
``SESSION_LIFETIME`` (an hour by default), and the bearer cache (``connect:bearer:*``) holds the
partner's FlatPeak bearer token. So Redis, its backups and its append-only file must be
protected like a credential store; docs/redis.md lists what a dump exposes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis

_PREFIX = "connect:cot:"


def digest(connect_token: str) -> str:
    """How every per-token Redis key names its token: never the token itself."""
    return hashlib.sha256(connect_token.encode()).hexdigest()


def _key(connect_token: str) -> str:
    return _PREFIX + digest(connect_token)


def remember(client: redis.Redis, connect_token: str, context: dict[str, Any], ttl: int) -> None:
    client.set(_key(connect_token), json.dumps(context), ex=max(60, int(ttl)))


def recall(client: redis.Redis, connect_token: str) -> dict[str, Any] | None:
    raw = client.get(_key(connect_token))
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def update(client: redis.Redis, connect_token: str, **changes: Any) -> None:
    context = recall(client, connect_token)
    if context is None:
        return
    context.update(changes)
    ttl = client.ttl(_key(connect_token))
    remember(client, connect_token, context, ttl if ttl and ttl > 0 else 3600)
