"""Sandbox settings, read once from the environment (every variable is listed in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from sandbox.faults import Faults

DEFAULT_PORT = 8010
DEFAULT_ACCOUNT_ID = "acc_000000000000000000000001"
DEFAULT_API_KEY = "sk_test_sandbox_000000000000000000000001"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _accounts(value: str | None) -> tuple[tuple[str, str], ...]:
    """``SANDBOX_ACCOUNTS``: space-separated ``account_id:api_key`` pairs, more partners beside
    the default pair, so tests can show what one partner's token is worth to another."""
    pairs: list[tuple[str, str]] = []
    for word in (value or "").split():
        account_id, sep, api_key = word.partition(":")
        if not sep or not account_id or not api_key:
            raise ValueError("SANDBOX_ACCOUNTS must be space-separated account_id:api_key pairs")
        pairs.append((account_id, api_key))
    return tuple(pairs)


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/1"
    account_id: str = DEFAULT_ACCOUNT_ID
    api_key: str = DEFAULT_API_KEY
    # More partner accounts (account_id, api_key) beside the pair above; each token belongs to
    # the account whose bearer created it, and only that account can exchange it.
    accounts: tuple[tuple[str, str], ...] = ()
    token_ttl: int = 86400
    bearer_ttl: int = 3600
    # Base of the provider-login and logo URLs; empty: taken from each request's Host.
    public_url: str = ""
    # Names this instance's fault override in Redis; empty: the public URL, else "default".
    instance: str = ""
    faults: Faults = field(default_factory=Faults)
    offer_advanced: bool = False
    route_mismatch: str = "error"  # "error" (route_invalid) or "current" (re-send current page)
    exchange_once: bool = False  # True: a second exchange of the same token answers 404
    hooks: bool = True  # the /_sandbox/ test hooks (health and logos are always on)

    @property
    def live_mode(self) -> bool:
        return self.api_key.startswith("sk_live_")

    @property
    def credentials(self) -> tuple[tuple[str, str], ...]:
        """Every account the sandbox knows, the default pair first."""
        return ((self.account_id, self.api_key), *self.accounts)

    @property
    def fault_instance(self) -> str:
        return self.instance or self.public_url or "default"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        faults = Faults.from_mapping(
            {
                "latency_ms": env.get("SANDBOX_FAULT_LATENCY_MS"),
                "error_rate": env.get("SANDBOX_FAULT_ERROR_RATE"),
                "garbage_rate": env.get("SANDBOX_FAULT_GARBAGE_RATE"),
                "drop_rate": env.get("SANDBOX_FAULT_DROP_RATE"),
            }
        )
        mismatch = env.get("SANDBOX_ROUTE_MISMATCH", "error").strip().lower()
        if mismatch not in ("error", "current"):
            raise ValueError("SANDBOX_ROUTE_MISMATCH must be 'error' or 'current'")
        values: dict[str, Any] = {
            "redis_url": env.get("SANDBOX_REDIS_URL") or cls.redis_url,
            "account_id": env.get("SANDBOX_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID,
            "api_key": env.get("SANDBOX_API_KEY") or DEFAULT_API_KEY,
            "accounts": _accounts(env.get("SANDBOX_ACCOUNTS")),
            "token_ttl": int(env.get("SANDBOX_TOKEN_TTL") or 86400),
            "bearer_ttl": int(env.get("SANDBOX_BEARER_TTL") or 3600),
            "public_url": (env.get("SANDBOX_PUBLIC_URL") or "").rstrip("/"),
            "instance": env.get("SANDBOX_INSTANCE") or "",
            "faults": faults,
            "offer_advanced": _flag(env.get("SANDBOX_OFFER_ADVANCED")),
            "route_mismatch": mismatch,
            "exchange_once": _flag(env.get("SANDBOX_EXCHANGE_ONCE")),
            "hooks": env.get("SANDBOX_HOOKS", "1").strip() != "0",
        }
        values.update(overrides)
        if values["token_ttl"] < 1 or values["bearer_ttl"] < 1:
            raise ValueError("SANDBOX_TOKEN_TTL and SANDBOX_BEARER_TTL must be positive")
        return cls(**values)
