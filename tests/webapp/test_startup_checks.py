"""Start-up checks that need a real server to check against."""

from __future__ import annotations

import pytest

from devstack.stack import RedisServer, SandboxServer
from tests.webapp.conftest import APP_DB, app_config
from webapp import config, create_app


def test_production_refuses_a_real_redis_set_to_evict_any_key(
    redis_server: RedisServer, sandbox: SandboxServer
) -> None:
    """Against the real server: ``allkeys-lru`` would drop a partner's stored ids under memory
    pressure, so the app does not start on it."""
    client = redis_server.client(APP_DB)
    settings = app_config(
        redis_server,
        sandbox,
        APP_ENV="production",
        PUBLIC_URL="https://connect.example",
        DEMO_ENABLED=False,
    )
    before = client.config_get("maxmemory-policy")["maxmemory-policy"]
    client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        with pytest.raises(config.ConfigError, match="allkeys-lru"):
            create_app(settings)
    finally:
        client.config_set("maxmemory-policy", before)
    assert create_app(settings).config["APP_ENV"] == "production"
