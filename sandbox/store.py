"""Sandbox state in Redis, so any worker of any sandbox process can serve any request.

Keys (all under ``sandbox:``): bearer tokens, connect-token sessions, locations, the customer
reference map, and the fault override. Sessions outlive their token by a week so that an expired
token answers ``token_expired`` rather than "unknown".
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import redis

PREFIX = "sandbox:"
SESSION_GRACE = 7 * 86400  # keep expired sessions this long so they can say "expired"
LOCATION_TTL = 90 * 86400


def new_id(prefix: str) -> str:
    """A FlatPeak-shaped id: prefix, underscore, 24 lowercase hex digits."""
    return f"{prefix}_{secrets.token_hex(12)}"


class Store:
    def __init__(self, url: str) -> None:
        self.redis = redis.Redis.from_url(url, decode_responses=True)

    def ping(self) -> bool:
        return bool(self.redis.ping())

    # --- JSON helpers
    def _get(self, key: str) -> dict[str, Any] | None:
        raw = self.redis.get(PREFIX + key)
        return json.loads(raw) if raw else None

    def _set(self, key: str, value: dict[str, Any], ttl: int) -> None:
        self.redis.set(PREFIX + key, json.dumps(value), ex=max(int(ttl), 1))

    # --- bearer tokens
    def save_bearer(self, bearer: str, record: dict[str, Any], ttl: int) -> None:
        self._set(f"bearer:{bearer}", record, ttl)

    def bearer(self, bearer: str) -> dict[str, Any] | None:
        return self._get(f"bearer:{bearer}")

    # --- connect sessions
    def session(self, token: str) -> dict[str, Any] | None:
        return self._get(f"cot:{token}")

    def save_session(self, session: dict[str, Any], now: float) -> None:
        ttl = session["expires_at"] - now + SESSION_GRACE
        self._set(f"cot:{session['token']}", session, int(ttl))

    @contextmanager
    def locked(self, token: str) -> Iterator[None]:
        """Serialise requests for one token across workers (a double-click must not step twice)."""
        lock = self.redis.lock(f"{PREFIX}lock:{token}", timeout=30, blocking_timeout=30)
        if not lock.acquire():
            raise TimeoutError("connect session is busy")
        try:
            yield
        finally:
            with suppress(redis.exceptions.LockError):  # expired under us: nothing to undo
                lock.release()

    # --- locations and customers
    def location(self, location_id: str) -> dict[str, Any] | None:
        return self._get(f"loc:{location_id}")

    def save_location(self, location: dict[str, Any]) -> None:
        self._set(f"loc:{location['id']}", location, LOCATION_TTL)

    def customer_for_reference(self, account_id: str, reference: str) -> str:
        """The customer id for a partner's own customer reference, created on first use."""
        key = f"{PREFIX}cusref:{account_id}:{reference}"
        self.redis.set(key, new_id("cus"), nx=True, ex=LOCATION_TTL)
        return str(self.redis.get(key))

    # --- faults override (per sandbox instance, shared by its workers)
    def faults(self, instance: str) -> dict[str, Any] | None:
        return self._get(f"faults:{instance}")

    def save_faults(self, instance: str, faults: dict[str, Any]) -> None:
        self._set(f"faults:{instance}", faults, 7 * 86400)

    def clear_faults(self, instance: str) -> None:
        self.redis.delete(f"{PREFIX}faults:{instance}")
