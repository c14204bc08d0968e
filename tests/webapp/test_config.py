"""Configuration: sandbox defaults, derived cookie settings, and refusing unsafe production."""

from __future__ import annotations

import pytest

from webapp import config


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
