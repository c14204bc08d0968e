"""Configuration: sandbox defaults, derived cookie settings, and refusing unsafe production."""

from __future__ import annotations

import logging
from typing import cast

import pytest
import redis

from webapp import config

pytestmark = pytest.mark.unit  # no process: see tests/README.md


def test_defaults_point_at_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FLATPEAK_API_URL", "FLATPEAK_CONNECT_URL", "APP_ENV", "PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    loaded = config.load()
    assert loaded["FLATPEAK_API_URL"] == "http://127.0.0.1:8010"
    assert loaded["FLATPEAK_CONNECT_URL"] == "http://127.0.0.1:8010"
    assert loaded["FLATPEAK_ACCOUNT_ID"] == config.SANDBOX_ACCOUNT_ID
    assert loaded["PUBLIC_URL"] == "http://127.0.0.1:8000"
    assert loaded["SESSION_COOKIE_SECURE"] is False
    assert loaded["SESSION_REFRESH_EACH_REQUEST"] is False


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNER_ORIGINS", "https://a.example  https://b.example")
    monkeypatch.setenv("FLATPEAK_READ_TIMEOUT", "4.5")
    monkeypatch.setenv("PUBLIC_URL", "https://connect.example/")
    # An https address on a real host is a deployment: it needs a real secret (see below).
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    loaded = config.load()
    assert loaded["PARTNER_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert loaded["FLATPEAK_READ_TIMEOUT"] == 4.5
    assert loaded["PUBLIC_URL"] == "https://connect.example"
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["SESSION_COOKIE_NAME"] == "__Host-fpconnect"
    assert loaded["SESSION_COOKIE_SAMESITE"] == "None"


@pytest.mark.parametrize("secret", [None, config.DEFAULT_SECRET_KEY, "short-secret"])
def test_production_refuses_default_or_short_secret(secret: str | None) -> None:
    overrides = {"APP_ENV": "production", "PUBLIC_URL": "https://connect.example"}
    if secret is not None:
        overrides["SECRET_KEY"] = secret
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load(overrides)


def test_production_needs_https_public_url() -> None:
    with pytest.raises(config.ConfigError, match="https"):
        config.load({"APP_ENV": "production", "SECRET_KEY": "x" * 48})


def test_production_with_a_real_secret_starts() -> None:
    loaded = config.load(
        {"APP_ENV": "production", "SECRET_KEY": "x" * 48, "PUBLIC_URL": "https://c.example"}
    )
    assert loaded["SESSION_COOKIE_PARTITIONED"] is True


# -- a deployment that forgot APP_ENV=production ---------------------------------------------

LIVE_KEY = "sk_live_0123456789abcdef0123456789"
DEPLOYED = {
    "https-public-url": {"PUBLIC_URL": "https://connect.partner.example"},
    "live-key": {"FLATPEAK_API_KEY": LIVE_KEY, "FLATPEAK_API_URL": "https://api.flatpeak.com"},
    "live-key-on-the-sandbox": {"FLATPEAK_API_KEY": LIVE_KEY},
    "real-flatpeak": {
        "FLATPEAK_API_URL": "https://api.flatpeak.com",
        "FLATPEAK_CONNECT_URL": "https://connect.flatpeak.com",
    },
    "remote-connect-only": {"FLATPEAK_CONNECT_URL": "https://connect.flatpeak.com"},
}


@pytest.mark.parametrize("settings", DEPLOYED.values(), ids=DEPLOYED.keys())
@pytest.mark.parametrize("secret", [None, config.DEFAULT_SECRET_KEY, "short-secret"])
def test_a_deployment_without_app_env_refuses_the_development_secret(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], secret: str | None
) -> None:
    """With the secret from this repository, anyone could sign a start link for any customer:
    wherever the settings look real, the app does not start on it, whatever APP_ENV says."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    overrides = dict(settings)
    if secret is not None:
        overrides["SECRET_KEY"] = secret
    with pytest.raises(config.ConfigError, match=r"looks like a real deployment.*SECRET_KEY"):
        config.load(overrides)


@pytest.mark.parametrize("settings", DEPLOYED.values(), ids=DEPLOYED.keys())
def test_a_deployment_with_a_real_secret_starts(settings: dict[str, str]) -> None:
    assert config.load({**settings, "SECRET_KEY": "x" * 48})["APP_ENV"] == "development"


@pytest.mark.parametrize(
    "public_url",
    ["http://127.0.0.1:8000", "http://localhost", "https://localhost:8443", "http://[::1]:8000"],
)
def test_local_development_keeps_the_default_secret(
    monkeypatch: pytest.MonkeyPatch, public_url: str
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    for name in ("APP_ENV", "FLATPEAK_API_URL", "FLATPEAK_CONNECT_URL", "FLATPEAK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    loaded = config.load({"PUBLIC_URL": public_url})
    assert loaded["SECRET_KEY"] == config.DEFAULT_SECRET_KEY


PRODUCTION_BASE = {
    "APP_ENV": "production",
    "SECRET_KEY": "x" * 48,
    "PUBLIC_URL": "https://c.example",
}


@pytest.mark.parametrize(
    "settings",
    [
        {"FLATPEAK_API_URL": "http://api.flatpeak.com"},
        {
            "FLATPEAK_API_URL": "https://api.flatpeak.com",
            "FLATPEAK_CONNECT_URL": "http://connect.flatpeak.com",
        },
        {"FLATPEAK_API_URL": "http://10.0.0.5:3128"},
    ],
    ids=["api", "connect", "private-address"],
)
def test_production_refuses_plain_http_to_flatpeak(settings: dict[str, str]) -> None:
    """The API key and bearer tokens travel on these URLs: never in clear over a network."""
    with pytest.raises(config.ConfigError, match="unencrypted"):
        config.load({**PRODUCTION_BASE, **settings})


def test_a_live_key_refuses_plain_http_to_flatpeak_outside_production() -> None:
    with pytest.raises(config.ConfigError, match="unencrypted"):
        config.load(
            {"SECRET_KEY": "x" * 48, "FLATPEAK_API_KEY": LIVE_KEY,
             "FLATPEAK_API_URL": "http://api.flatpeak.com"}
        )  # fmt: skip


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8010", "http://localhost:3128", "http://[::1]:8010"]
)
def test_production_accepts_plain_http_to_a_loopback_address(url: str) -> None:
    """A local egress proxy that adds TLS, or a test rig's sandbox."""
    loaded = config.load({**PRODUCTION_BASE, "FLATPEAK_API_URL": url, "FLATPEAK_CONNECT_URL": url})
    assert loaded["FLATPEAK_API_URL"] == url


def test_the_benchmarks_production_settings_start() -> None:
    """bench/stack.py: production behind a pretend load balancer, the sandbox on loopback."""
    loaded = config.load(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "b" * 64,
            "PUBLIC_URL": "https://connect.bench.invalid",
            "FLATPEAK_API_URL": "http://127.0.0.1:45678",
            "FLATPEAK_CONNECT_URL": "http://127.0.0.1:45678",
        }
    )
    assert loaded["SESSION_COOKIE_NAME"] == "__Host-fpconnect"


def test_partner_origins_must_be_bare_origins() -> None:
    with pytest.raises(config.ConfigError, match="PARTNER_ORIGINS"):
        config.load({"PARTNER_ORIGINS": ["https://a.example/path"]})


def test_demo_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEMO_ENABLED", raising=False)
    assert config.load()["DEMO_ENABLED"] is False
    monkeypatch.setenv("DEMO_ENABLED", "true")
    assert config.load()["DEMO_ENABLED"] is True


def test_production_refuses_the_demo() -> None:
    """The demo page hands the partner's account to anyone: never in production."""
    with pytest.raises(config.ConfigError, match="DEMO_ENABLED"):
        config.load(
            {
                "APP_ENV": "production",
                "SECRET_KEY": "x" * 48,
                "PUBLIC_URL": "https://c.example",
                "DEMO_ENABLED": True,
            }
        )


def test_the_demo_is_refused_only_in_production() -> None:
    """Outside production it is the developer's choice, even with live credentials."""
    loaded = config.load(
        {
            "DEMO_ENABLED": True,
            "SECRET_KEY": "x" * 48,
            "FLATPEAK_API_KEY": "sk_live_0123456789abcdef0123456789",
            "FLATPEAK_API_URL": "https://api.flatpeak.com",
        }
    )
    assert loaded["DEMO_ENABLED"] is True


# -- maxmemory-policy ----------------------------------------------------------------------------


class _Redis:
    """Answers ``CONFIG GET maxmemory-policy`` the way a server (or a managed one) would."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    def config_get(self, pattern: str) -> dict[str, str]:
        assert pattern == "maxmemory-policy"
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"maxmemory-policy": str(self.answer)}


def answering(answer: object) -> redis.Redis:
    return cast(redis.Redis, _Redis(answer))


PRODUCTION = {"APP_ENV": "production"}


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_production_refuses_a_redis_that_evicts_results(policy: str) -> None:
    with pytest.raises(config.ConfigError, match="maxmemory-policy"):
        config.check_eviction_policy(answering(policy), PRODUCTION)


@pytest.mark.parametrize("policy", ["noeviction", "volatile-lru", "volatile-ttl"])
def test_policies_that_keep_results_are_accepted(policy: str) -> None:
    config.check_eviction_policy(answering(policy), PRODUCTION)


@pytest.mark.parametrize(
    "error",
    [
        redis.ResponseError("unknown command 'CONFIG'"),
        redis.ResponseError("NOPERM this user has no permissions to run the 'config' command"),
        redis.ConnectionError("Connection refused"),
    ],
    ids=["renamed", "no-permission", "unreachable"],
)
def test_an_unanswerable_policy_check_warns_and_starts(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    """A managed Redis may refuse CONFIG, and Redis may be down at start (the app then answers
    503 until it is back): neither stops the app; the log says what could not be checked."""
    caplog.set_level(logging.WARNING)
    config.check_eviction_policy(answering(error), PRODUCTION)
    assert "maxmemory-policy" in caplog.text and "noeviction" in caplog.text


def test_development_does_not_ask() -> None:
    config.check_eviction_policy(answering("allkeys-lru"), {"APP_ENV": "development"})


def test_a_misspelt_app_env_does_not_bring_the_demo_up_on_a_deployment() -> None:
    """``APP_ENV=prod`` (not "production") with the demo on and an https address: refused."""
    with pytest.raises(config.ConfigError, match="DEMO_ENABLED"):
        config.load(
            {
                "APP_ENV": "prod",
                "DEMO_ENABLED": True,
                "PUBLIC_URL": "https://connect.partner.example",
                "SECRET_KEY": "x" * 48,
            }
        )
