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

A completed flow also leaves a **receipt**: what its "You're connected" page shows (the outcome,
the provider and tariff connected, the way back to the partner), under a random name of its own
that the done page's URL carries. The done page is shown after the flow's session has ended, and
the token must never be in a URL, so neither can name what that page shows.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Any

import redis

from webapp.durable_writes import Durability, write_durably

_PREFIX = "connect:cot:"
_RECEIPT_PREFIX = "connect:done:"
_RECEIPT_RE = re.compile(r"^[A-Za-z0-9_-]{24,64}$")


def digest(connect_token: str) -> str:
    """How every per-token Redis key names its token: never the token itself."""
    return hashlib.sha256(connect_token.encode()).hexdigest()


def _key(connect_token: str) -> str:
    return _PREFIX + digest(connect_token)


def _write_json(
    client: redis.Redis,
    key: str,
    value: dict[str, Any],
    ttl: int,
    durability: Durability | None,
    what: str,
) -> None:
    """Keep ``value`` for ``ttl`` seconds (at least a minute); with ``durability``, wait for
    replicas, but never fail for want of one: neither record here is what a completion must not
    lose (the stored result is)."""
    seconds = max(60, int(ttl))
    encoded = json.dumps(value)
    write_durably(
        client,
        lambda pipe: pipe.set(key, encoded, ex=seconds),
        durability,
        what=what,
        required=False,
    )


def _read_json(client: redis.Redis, key: str) -> dict[str, Any] | None:
    raw = client.get(key)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def remember(
    client: redis.Redis,
    connect_token: str,
    context: dict[str, Any],
    ttl: int,
    durability: Durability | None = None,
) -> None:
    """Keep ``context``: it helps a browser without its cookie find the token's flow."""
    _write_json(client, _key(connect_token), context, ttl, durability, "token record")


def recall(client: redis.Redis, connect_token: str) -> dict[str, Any] | None:
    return _read_json(client, _key(connect_token))


def update(
    client: redis.Redis,
    connect_token: str,
    durability: Durability | None = None,
    **changes: Any,
) -> None:
    context = recall(client, connect_token)
    if context is None:
        return
    context.update(changes)
    ttl = client.ttl(_key(connect_token))
    remember(client, connect_token, context, ttl if ttl and ttl > 0 else 3600, durability)


def issue_receipt(
    client: redis.Redis,
    summary: dict[str, Any],
    ttl: int,
    durability: Durability | None = None,
) -> str:
    """Keep ``summary`` for the done page; the returned name goes in that page's URL.

    Random, so it says nothing of the token, and unguessable, so nobody reads another
    customer's provider and tariff by trying names; stored under its hash like the token's.
    """
    receipt = secrets.token_urlsafe(24)
    # Without its receipt the done page still shows the outcome (its URL says it).
    key = _RECEIPT_PREFIX + digest(receipt)
    _write_json(client, key, summary, ttl, durability, "completion receipt")
    return receipt


def read_receipt(client: redis.Redis, receipt: str | None) -> dict[str, Any] | None:
    """The summary a receipt names; None for a name of the wrong shape, unknown or expired."""
    if not receipt or not _RECEIPT_RE.match(receipt):
        return None
    return _read_json(client, _RECEIPT_PREFIX + digest(receipt))


def locale_of(context: dict[str, Any]) -> str | None:
    """The language the partner chose for the token's flow, so a browser that adopts the flow
    (back from a provider login without its cookie) keeps reading it in that language."""
    value = context.get("locale")
    return value if isinstance(value, str) and value else None
